// The signals a Reflex daemon answers: SIGTERM/SIGINT stop it gracefully, SIGHUP reloads
// its configuration. Delivered on the loop thread. SIGPIPE is ignored (sockets report it).
#pragma once

#include <functional>
#include <memory>

#include "common/loop.h"

namespace reflex {

class ProcessSignals {
 public:
  ProcessSignals(EventLoop& loop, std::function<void()> on_stop, std::function<void()> on_reload);

 private:
  std::unique_ptr<SignalHandler> term_, int_, hup_;
};

}  // namespace reflex
