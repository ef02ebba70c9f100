#include "tests/support/loop_helpers.h"

namespace reflex::testing {
namespace {
constexpr uint64_t kTick = 5;  // ms
}  // namespace

bool run_loop_until(EventLoop& loop, const std::function<bool()>& cond,
                    std::chrono::milliseconds timeout) {
  if (cond()) return true;
  const auto deadline = std::chrono::steady_clock::now() + timeout;
  auto* wake = new uv_timer_t;
  uv_timer_init(loop.raw(), wake);
  // A turn runs due timers before it waits for I/O, so a condition made true by a timer
  // would otherwise be noticed only at the next event: wake every few ms to look.
  uv_timer_start(
      wake, [](uv_timer_t*) {}, kTick, kTick);
  bool held = false;
  while (!(held = cond()) && std::chrono::steady_clock::now() < deadline) {
    uv_run(loop.raw(), UV_RUN_ONCE);
  }
  uv_timer_stop(wake);
  close_and_delete(wake);  // freed on the loop's next turn (or by ~EventLoop)
  return held;
}

}  // namespace reflex::testing
