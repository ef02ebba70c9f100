#include "agent/checks/check_config.h"

#include <algorithm>
#include <regex>
#include <set>

namespace reflex::agent {
namespace {

const std::set<std::string> kTypes = {"http", "tcp", "command", "process", "host", "log", "statsd"};

bool streaming(const std::string& type) {
  return type == "log" || type == "statsd";
}

void read_kind(config::MapReader& r, const std::string& type, CheckConfig& out) {
  if (type == "http") {
    read_http_check(r, out.kind.emplace<HttpCheckConfig>());
  } else if (type == "tcp") {
    read_tcp_check(r, out.kind.emplace<TcpCheckConfig>());
  } else if (type == "command") {
    read_command_check(r, out.kind.emplace<CommandCheckConfig>());
  } else if (type == "process") {
    read_process_check(r, out.kind.emplace<ProcessCheckConfig>());
  } else if (type == "host") {
    read_host_check(r, out.kind.emplace<HostCheckConfig>());
  } else if (type == "log") {
    read_log_check(r, out.kind.emplace<LogCheckConfig>());
  } else if (type == "statsd") {
    read_statsd_check(r, out.kind.emplace<StatsdCheckConfig>());
  }
}

}  // namespace

void read_checks(config::MapReader& top, std::vector<CheckConfig>& out) {
  config::Errors& errors = top.errors();
  YAML::Node list = top.take("checks");
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) {
    errors.add(list, top.path_of("checks"), "expected a list of checks");
    return;
  }
  static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = top.path_of("checks") + "[" + std::to_string(i) + "]";
    config::MapReader r(list[i], path, errors);
    CheckConfig check;
    CheckSpec& spec = check.spec;
    r.require("name");
    r.get("name", spec.name);
    r.require("type");
    r.get_enum("type", spec.type, kTypes);
    r.get("interval", spec.interval);
    r.get("timeout", spec.timeout);
    r.get("labels", spec.labels);
    if (!spec.name.empty()) {
      if (!std::regex_match(spec.name, name_re)) {
        errors.add(r.take("name"), r.path_of("name"),
                   "\"" + spec.name +
                       "\" is not a valid check name (letters, digits, '_', '-'; at most 64; it "
                       "names the check's series, so no '.')");
      } else if (!names.insert(spec.name).second) {
        errors.add(r.take("name"), r.path_of("name"),
                   "another check is already named \"" + spec.name + "\"");
      }
    }
    if (!streaming(spec.type)) {
      if (spec.interval < Millis(100)) {
        errors.add(r.take("interval"), r.path_of("interval"), "must be at least 100ms");
      }
      // A timeout longer than the interval is allowed (the runs it overlaps are skipped),
      // but only when asked for: the default never outlasts a short interval.
      if (!r.has("timeout")) {
        spec.timeout = std::min(spec.timeout, spec.interval);
      } else if (spec.timeout < Millis(10)) {
        errors.add(r.take("timeout"), r.path_of("timeout"), "must be at least 10ms");
      }
    }
    if (kTypes.count(spec.type)) read_kind(r, spec.type, check);
    r.finish();
    out.push_back(std::move(check));
  }
}

CheckSet::CheckSet(CheckContext& context) : context_(context) {}

CheckSet::~CheckSet() {
  for (auto& s : streaming_) s->stop();
}

Result<std::unique_ptr<CheckSet>> CheckSet::start(const std::vector<CheckConfig>& checks,
                                                  Services services) {
  CheckContext& ctx = services.context;
  std::unique_ptr<CheckSet> set(new CheckSet(ctx));
  set->runner_ = std::make_unique<CheckRunner>(ctx.clock, ctx.timers, ctx.recorder);
  for (const auto& c : checks) {
    set->order_.push_back(c.spec.name);
    std::unique_ptr<StreamingCheck> stream;
    if (const auto* k = std::get_if<HttpCheckConfig>(&c.kind)) {
      set->runner_->add(make_http_check(c.spec, *k, services.http));
    } else if (const auto* k = std::get_if<TcpCheckConfig>(&c.kind)) {
      set->runner_->add(make_tcp_check(c.spec, *k, ctx.loop, ctx.timers));
    } else if (const auto* k = std::get_if<CommandCheckConfig>(&c.kind)) {
      set->runner_->add(make_command_check(c.spec, *k, services.processes));
    } else if (const auto* k = std::get_if<ProcessCheckConfig>(&c.kind)) {
      set->runner_->add(make_process_check(c.spec, *k, services.processes, ctx.loop));
    } else if (const auto* k = std::get_if<HostCheckConfig>(&c.kind)) {
      set->runner_->add(make_host_check(c.spec, *k));
    } else if (const auto* k = std::get_if<LogCheckConfig>(&c.kind)) {
      auto made = make_log_check(c.spec, *k, ctx);
      if (!made) return made.status().with_context("check " + c.spec.name);
      stream = std::move(made).value();
    } else if (const auto* k = std::get_if<StatsdCheckConfig>(&c.kind)) {
      stream = make_statsd_check(c.spec, *k, ctx);
    }
    if (stream) {
      if (Status st = stream->start(); !st) return st.with_context("check " + c.spec.name);
      set->streaming_.push_back(std::move(stream));
    }
  }
  return set;
}

std::vector<CheckStatus> CheckSet::status() const {
  std::vector<CheckStatus> all = runner_->status();
  for (const auto& s : streaming_) all.push_back(s->status());
  std::vector<CheckStatus> ordered;
  for (const auto& name : order_) {
    for (auto& st : all) {
      if (st.name == name) ordered.push_back(std::move(st));
    }
  }
  return ordered;
}

}  // namespace reflex::agent
