// Test support: driving a real EventLoop until something has happened.
#pragma once

#include <chrono>
#include <functional>

#include "common/loop.h"

namespace reflex::testing {

// Runs `loop` one turn at a time (UV_RUN_ONCE) until `cond` holds or `timeout` passes;
// returns whether it held. A short timer keeps each turn from blocking past the deadline.
bool run_loop_until(EventLoop& loop, std::function<bool()> cond, std::chrono::milliseconds timeout);

}  // namespace reflex::testing
