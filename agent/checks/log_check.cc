#include "agent/checks/log_check.h"

#include <set>

#include "agent/checks/file_follower.h"
#include "agent/checks/log_pattern.h"

namespace reflex::agent {
namespace {

// Checks that `pattern` has the named group `name`; "" (no capture wanted) always passes.
Status require_group(const LogPattern& pattern, const std::string& name, const char* key) {
  if (name.empty() || pattern.group(name)) return Status::ok();
  return Status::error(
      "config", std::string("the pattern has no named capture (?<") + name + ">...) for " + key);
}

class LogCheck final : public StreamingCheck {
 public:
  LogCheck(CheckSpec spec, LogCheckConfig config, LogPattern pattern, CheckContext& ctx)
      : spec_(std::move(spec)),
        config_(std::move(config)),
        pattern_(std::move(pattern)),
        ctx_(ctx),
        follower_(config_.path, {.from_start = config_.from_start},
                  {.on_line = [this](std::string_view line) { on_line(line); },
                   .on_too_long = [this] { on_too_long(); }}) {
    if (!config_.status_capture.empty()) status_group_ = pattern_.group(config_.status_capture);
    if (!config_.latency_capture.empty()) {
      latency_group_ = pattern_.group(config_.latency_capture);
    }
    status_.name = spec_.name;
    status_.type = spec_.type.empty() ? "log" : spec_.type;
  }
  ~LogCheck() override { stop(); }

  const CheckSpec& spec() const override { return spec_; }
  const CheckStatus& status() const override { return status_; }

  Status start() override {
    if (poll_timer_ != 0) return Status::ok();
    follower_.open_initial();
    update_state();
    poll_timer_ =
        ctx_.timers.start(config_.poll_interval, config_.poll_interval, [this] { poll(); });
    return Status::ok();
  }

  void stop() override {
    ctx_.timers.cancel(poll_timer_);
    ctx_.timers.cancel(catch_up_timer_);
    poll_timer_ = catch_up_timer_ = 0;
  }

 private:
  void poll() {
    const bool more = follower_.poll();
    update_state();
    // A backlog larger than one poll's budget continues on the next loop turn, not after
    // a whole interval, while other handles still get their turn in between.
    if (more && catch_up_timer_ == 0) {
      catch_up_timer_ = ctx_.timers.start(Millis(0), Millis(0), [this] {
        catch_up_timer_ = 0;
        poll();
      });
    }
  }

  void update_state() {
    status_.last_state = follower_.is_open() ? CheckState::kOk : CheckState::kUnknown;
    status_.last_message = follower_.is_open() ? "following " + config_.path : follower_.problem();
  }

  void on_line(std::string_view line) {
    ++status_.runs;
    status_.last_run_ms = ctx_.clock.now_ms();
    if (!pattern_.match(line)) {
      ++status_.bad_input["unmatched_line"];
      return;
    }
    bool error = false;
    if (status_group_) {
      auto status = pattern_.capture(*status_group_);
      error = status && status_matches(*status, config_.error_status);
    }
    std::optional<double> latency_ms;
    if (latency_group_) {
      if (auto text = pattern_.capture(*latency_group_)) {
        latency_ms = parse_latency_ms(*text, config_.latency_unit);
        if (!latency_ms) ++status_.bad_input["bad_latency"];
      }
    }
    if (error) ++status_.failures;
    if (latency_ms) status_.last_latency_ms = latency_ms;
    ctx_.recorder.event(spec_.name, spec_.labels, error, latency_ms);
  }

  void on_too_long() {
    ++status_.runs;
    status_.last_run_ms = ctx_.clock.now_ms();
    ++status_.bad_input["line_too_long"];
  }

  CheckSpec spec_;
  LogCheckConfig config_;
  LogPattern pattern_;
  CheckContext& ctx_;
  FileFollower follower_;
  std::optional<int> status_group_;
  std::optional<int> latency_group_;
  CheckStatus status_;
  TimerId poll_timer_ = 0;
  TimerId catch_up_timer_ = 0;
};

}  // namespace

std::string effective_pattern(const LogCheckConfig& config) {
  if (!config.format.empty()) return ready_pattern(config.format).value_or("");
  return config.pattern;
}

void read_log_check(config::MapReader& r, LogCheckConfig& out) {
  auto& errors = r.errors();
  r.get("path", out.path);
  r.require("path");
  if (r.has("path") && out.path.empty()) errors.add(r.take("path"), r.path_of("path"), "is empty");
  r.get("pattern", out.pattern);
  const auto names = ready_pattern_names();
  r.get_enum("format", out.format, std::set<std::string>(names.begin(), names.end()));
  const bool has_latency_capture = r.has("latency_capture");
  const bool has_latency_unit = r.has("latency_unit");
  r.get("status_capture", out.status_capture);
  r.get("error_status", out.error_status);
  r.get("latency_capture", out.latency_capture);
  r.get_enum("latency_unit", out.latency_unit, {"s", "ms"});
  r.get("poll_interval", out.poll_interval);
  r.get("from_start", out.from_start);

  if (out.poll_interval < Millis(10)) {
    errors.add(r.take("poll_interval"), r.path_of("poll_interval"), "must be at least 10ms");
  }
  for (size_t i = 0; i < out.error_status.size(); ++i) {
    if (!valid_status_pattern(out.error_status[i])) {
      errors.add(r.take("error_status")[i],
                 r.path_of("error_status") + "[" + std::to_string(i) + "]",
                 "expected a status like 5xx, 404 or ERROR, got \"" + out.error_status[i] + "\"");
    }
  }
  if (r.has("pattern") == r.has("format")) {
    errors.add(r.take("pattern"), r.path_of("pattern"),
               "set exactly one of pattern (a regex) and format (a ready pattern)");
    return;
  }
  if (r.has("format") && out.format.empty()) return;  // an unknown format, reported above
  const bool nginx = out.format == "nginx_combined";
  if (nginx && !has_latency_capture) out.latency_capture = "request_time";
  if (!has_latency_unit) out.latency_unit = nginx ? "s" : "ms";

  const std::string key = r.has("pattern") ? "pattern" : "format";
  auto compiled = LogPattern::compile(effective_pattern(out));
  if (!compiled) {
    errors.add(r.take(key), r.path_of(key), "invalid regex: " + compiled.status().message());
    return;
  }
  for (auto [capture, name] : {std::pair{&out.status_capture, "status_capture"},
                               std::pair{&out.latency_capture, "latency_capture"}}) {
    if (auto s = require_group(*compiled, *capture, name); !s) {
      errors.add(r.take(r.has(name) ? name : key), r.path_of(r.has(name) ? name : key),
                 s.message());
    }
  }
}

Result<std::unique_ptr<StreamingCheck>> make_log_check(CheckSpec spec, LogCheckConfig config,
                                                       CheckContext& ctx) {
  const std::string context = "check " + spec.name;
  auto compiled = LogPattern::compile(effective_pattern(config));
  if (!compiled) return compiled.status().with_context(context);
  REFLEX_RETURN_IF_ERROR(
      require_group(*compiled, config.status_capture, "status_capture").with_context(context));
  REFLEX_RETURN_IF_ERROR(
      require_group(*compiled, config.latency_capture, "latency_capture").with_context(context));
  if (config.latency_unit.empty()) {
    config.latency_unit = config.format == "nginx_combined" ? "s" : "ms";
  }
  return std::unique_ptr<StreamingCheck>(
      std::make_unique<LogCheck>(std::move(spec), std::move(config), std::move(*compiled), ctx));
}

}  // namespace reflex::agent
