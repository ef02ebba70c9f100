// Test support: running a real EventLoop until something has happened (never for a
// fixed time).
#pragma once

#include <chrono>
#include <functional>

#include "common/loop.h"

namespace reflex::testing {

// Runs `loop` one turn at a time (UV_RUN_ONCE) until `cond` holds or `timeout` passes;
// returns whether it held. The loop thread is the caller's. A short repeating timer
// keeps a turn from blocking long after the condition came true or the deadline passed.
bool run_loop_until(EventLoop& loop, const std::function<bool()>& cond,
                    std::chrono::milliseconds timeout = std::chrono::seconds(10));

}  // namespace reflex::testing
