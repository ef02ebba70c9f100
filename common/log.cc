#include "common/log.h"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <chrono>
#include <nlohmann/json.hpp>

namespace reflex {
namespace {

// One JSON object per line: {"ts":..., "level":..., "logger":..., "msg":...}.
class JsonFormatter final : public spdlog::formatter {
 public:
  void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
    nlohmann::json line;
    line["ts_ms"] =
        std::chrono::duration_cast<std::chrono::milliseconds>(msg.time.time_since_epoch()).count();
    auto level = spdlog::level::to_string_view(msg.level);
    line["level"] = std::string(level.data(), level.size());
    line["logger"] = std::string(msg.logger_name.data(), msg.logger_name.size());
    line["msg"] = std::string(msg.payload.data(), msg.payload.size());
    std::string text = line.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    text += '\n';
    dest.append(text.data(), text.data() + text.size());
  }
  std::unique_ptr<spdlog::formatter> clone() const override {
    return std::make_unique<JsonFormatter>();
  }
};

}  // namespace

void read_log_config(config::MapReader& section, LogConfig& out) {
  section.get_enum("level", out.level, {"trace", "debug", "info", "warn", "error", "off"});
  section.get_enum("format", out.format, {"text", "json"});
}

Status setup_logging(const LogConfig& cfg, const std::string& process_name) {
  auto level = spdlog::level::from_str(cfg.level);
  if (level == spdlog::level::off && cfg.level != "off") {
    return Status::error("config", "log.level: unknown level \"" + cfg.level + "\"");
  }
  auto logger = spdlog::get(process_name);
  if (!logger) {
    logger = std::make_shared<spdlog::logger>(process_name,
                                              std::make_shared<spdlog::sinks::stderr_sink_mt>());
    spdlog::register_logger(logger);
  }
  if (cfg.format == "json") {
    logger->set_formatter(std::make_unique<JsonFormatter>());
  } else if (cfg.format == "text") {
    logger->set_pattern("%Y-%m-%dT%H:%M:%S.%e%z %n %^%l%$ %v");
  } else {
    return Status::error("config", "log.format: must be text or json");
  }
  logger->set_level(level);
  logger->flush_on(spdlog::level::warn);
  spdlog::set_default_logger(logger);
  return Status::ok();
}

}  // namespace reflex
