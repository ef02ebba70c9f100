#include "tests/support/loop_helpers.h"

#include <thread>

namespace reflex::testing {

bool run_loop_until(EventLoop& loop, std::function<bool()> cond,
                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    if (cond()) return true;
    if (std::chrono::steady_clock::now() >= deadline) return false;
    // NOWAIT plus a short pause rather than ONCE: ONCE would block indefinitely on a loop
    // whose only handles are idle listeners.
    uv_run(loop.raw(), UV_RUN_NOWAIT);
    if (cond()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(2));
  }
}

}  // namespace reflex::testing
