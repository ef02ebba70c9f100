#include "common/signals.h"

#include <csignal>

namespace reflex {

ProcessSignals::ProcessSignals(EventLoop& loop, std::function<void()> on_stop,
                               std::function<void()> on_reload) {
  std::signal(SIGPIPE, SIG_IGN);
  term_ = std::make_unique<SignalHandler>(loop, SIGTERM, on_stop);
  int_ = std::make_unique<SignalHandler>(loop, SIGINT, on_stop);
  hup_ = std::make_unique<SignalHandler>(loop, SIGHUP, std::move(on_reload));
}

}  // namespace reflex
