// Test support: driving a real EventLoop from the test thread until something happens.
#pragma once

#include <chrono>
#include <functional>

#include "common/loop.h"

namespace reflex::testing {

// Runs `loop` one turn at a time (never blocking longer than a few milliseconds per turn)
// until `cond` holds or `timeout` passes; returns whether it held.
bool run_loop_until(EventLoop& loop, std::function<bool()> cond, std::chrono::milliseconds timeout);

}  // namespace reflex::testing
