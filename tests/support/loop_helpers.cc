#include "tests/support/loop_helpers.h"

namespace reflex::testing {

bool run_loop_until(EventLoop& loop, std::function<bool()> cond,
                    std::chrono::milliseconds timeout) {
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  // A repeating 10 ms timer wakes each UV_RUN_ONCE even when nothing else is due.
  auto* tick = new uv_timer_t;
  uv_timer_init(loop.raw(), tick);
  uv_timer_start(
      tick, [](uv_timer_t*) {}, 10, 10);
  bool held = cond();
  while (!held && std::chrono::steady_clock::now() < deadline) {
    uv_run(loop.raw(), UV_RUN_ONCE);
    held = cond();
  }
  uv_timer_stop(tick);
  close_and_delete(tick);  // freed on a later loop turn (at the latest, ~EventLoop)
  return held;
}

}  // namespace reflex::testing
