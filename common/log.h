// Process logging on spdlog: human-readable lines by default, JSON lines on request.
//
// Logging is the one process-wide facility: setup_logging() configures spdlog's default
// logger once in main (and again on reload); library code logs through spdlog::info etc.
#pragma once

#include <string>

#include "common/config.h"
#include "common/status.h"

namespace reflex {

struct LogConfig {
  std::string level = "info";   // trace, debug, info, warn, error, off
  std::string format = "text";  // text or json
};

// Reads the `log` section ({level, format}) of a hub or agent config.
void read_log_config(config::MapReader& section, LogConfig& out);

// Applies `cfg` to the default logger (stderr). Safe to call again on reload.
Status setup_logging(const LogConfig& cfg, const std::string& process_name);

}  // namespace reflex
