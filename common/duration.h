// Durations as operators write them in config files: "250ms", "5s", "1m30s", "2h", "1d".
#pragma once

#include <chrono>
#include <string>
#include <string_view>

#include "common/status.h"

namespace reflex {

using Millis = std::chrono::milliseconds;

// Parses a non-negative duration made of <number><unit> parts (units ms, s, m, h, d).
// A bare number is an error: the unit is never guessed.
Result<Millis> parse_duration(std::string_view text);

// The shortest exact spelling that parse_duration reads back ("1m30s", "250ms", "0s").
std::string format_duration(Millis d);

}  // namespace reflex
