// Time as an injected service: a Clock to read it and Timers to be called back later.
//
// Decision code takes `now` as an argument; the loop code that calls it reads the Clock.
// main builds the real pair (SystemClock + UvTimers); tests build SimulatedTime and
// advance it instead of sleeping.
#pragma once

#include <cstdint>
#include <functional>
#include <map>

#include "common/duration.h"

namespace reflex {

class Clock {
 public:
  virtual ~Clock() = default;
  // Wall clock, milliseconds since the Unix epoch: for records and the wire.
  virtual int64_t now_ms() const = 0;
  // Monotonic milliseconds from an arbitrary origin: for intervals and deadlines.
  virtual int64_t monotonic_ms() const = 0;
};

class SystemClock final : public Clock {
 public:
  int64_t now_ms() const override;
  int64_t monotonic_ms() const override;
};

using TimerId = uint64_t;

// Callbacks on the owning loop's thread. Not thread-safe: call from that thread only.
class Timers {
 public:
  virtual ~Timers() = default;
  // Calls `fn` after `delay`, then every `repeat` if it is non-zero, until cancelled.
  virtual TimerId start(Millis delay, Millis repeat, std::function<void()> fn) = 0;
  // Cancelling an unknown or finished timer is a no-op; safe from inside its callback.
  virtual void cancel(TimerId id) = 0;
};

// A clock and timer wheel that move only when told to. Single-threaded.
class SimulatedTime final : public Clock, public Timers {
 public:
  explicit SimulatedTime(int64_t start_epoch_ms = 1'700'000'000'000) : wall0_(start_epoch_ms) {}

  int64_t now_ms() const override { return wall0_ + mono_; }
  int64_t monotonic_ms() const override { return mono_; }
  TimerId start(Millis delay, Millis repeat, std::function<void()> fn) override;
  void cancel(TimerId id) override;

  // Moves time forward by `d`, firing every timer that falls due, in time order, each
  // with the clock set to its due time.
  void advance(Millis d);
  size_t pending() const { return timers_.size(); }

 private:
  struct Entry {
    int64_t due;
    Millis repeat;
    std::function<void()> fn;
  };
  int64_t wall0_;
  int64_t mono_ = 0;
  TimerId next_id_ = 1;
  std::map<TimerId, Entry> timers_;
};

}  // namespace reflex
