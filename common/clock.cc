#include "common/clock.h"

#include <chrono>

namespace reflex {

int64_t SystemClock::now_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(system_clock::now().time_since_epoch()).count();
}

int64_t SystemClock::monotonic_ms() const {
  using namespace std::chrono;
  return duration_cast<milliseconds>(steady_clock::now().time_since_epoch()).count();
}

TimerId SimulatedTime::start(Millis delay, Millis repeat, std::function<void()> fn) {
  TimerId id = next_id_++;
  timers_[id] = Entry{mono_ + delay.count(), repeat, std::move(fn)};
  return id;
}

void SimulatedTime::cancel(TimerId id) {
  timers_.erase(id);
}

void SimulatedTime::advance(Millis d) {
  const int64_t target = mono_ + d.count();
  for (;;) {
    // The earliest due timer; ties go to the one started first.
    auto next = timers_.end();
    for (auto it = timers_.begin(); it != timers_.end(); ++it) {
      if (it->second.due <= target &&
          (next == timers_.end() || it->second.due < next->second.due)) {
        next = it;
      }
    }
    if (next == timers_.end()) break;
    mono_ = next->second.due;
    auto fn = next->second.fn;  // copy: the callback may cancel or restart timers
    if (next->second.repeat.count() > 0) {
      next->second.due += next->second.repeat.count();
    } else {
      timers_.erase(next);
    }
    fn();
  }
  mono_ = target;
}

}  // namespace reflex
