#include "bench/heal_latency_observers.h"

#include <httplib.h>
#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>

#include "bench/heal_latency_config.h"
#include "bench/heal_latency_targets.h"

namespace reflex::bench::heal {
namespace {

using nlohmann::json;

std::optional<json> get_status(int port) {
  httplib::Client client("127.0.0.1", port);
  client.set_connection_timeout(1);
  client.set_read_timeout(2);
  auto res = client.Get("/status");
  if (!res || res->status != 200) return std::nullopt;
  auto doc = json::parse(res->body, nullptr, false);
  if (!doc.is_object()) return std::nullopt;
  return doc;
}

// The entry of `array` whose `key` is `value`, or null.
const json* find(const json& doc, const char* array, const char* key, const std::string& value) {
  if (!doc.contains(array) || !doc[array].is_array()) return nullptr;
  for (const auto& e : doc[array]) {
    if (e.value(key, std::string()) == value) return &e;
  }
  return nullptr;
}

class ReflexObserver : public Observer {
 public:
  explicit ReflexObserver(int port) : port_(port) {}

  bool service_watched(pid_t pid, int64_t since_ns) override {
    return running(pid) && settled(kServiceCheck, kServiceRule, since_ns);
  }
  bool http_healthy(int64_t since_ns) override { return settled(kHttpCheck, kHttpRule, since_ns); }
  std::string last_seen() const override { return last_; }

 private:
  // The check's last result is OK and came after `since_ns`, its rule is inactive and no
  // remediation of the rule is running or verifying.
  bool settled(const std::string& check, const std::string& rule, int64_t since_ns) {
    auto doc = get_status(port_);
    if (!doc) {
      last_ = "no answer from GET /status";
      return false;
    }
    const json* c = find(*doc, "checks", "name", check);
    const std::string state = c ? c->value("state", "") : "";
    const int64_t last_run_ms = c ? c->value("last_run_ms", int64_t{0}) : 0;
    std::string phase = "inactive";
    if (doc->contains("rules")) {
      for (const auto& r : (*doc)["rules"]) {
        if (r.value("rule", "") == rule && r.value("state", "") != "inactive")
          phase = r["state"].get<std::string>();
      }
    }
    int in_flight = 0;
    for (const auto& r : (*doc)["remediation"]["running"]) in_flight += r.value("rule", "") == rule;
    std::ostringstream seen;
    seen << "check " << check << " " << (state.empty() ? "(not listed)" : state) << ", last run "
         << (last_run_ms - since_ns / 1'000'000) << " ms after the reference; rule " << rule << " "
         << phase << "; " << in_flight << " remediation(s) in flight";
    last_ = seen.str();
    return state == "OK" && last_run_ms >= since_ns / 1'000'000 && phase == "inactive" &&
           in_flight == 0;
  }

  int port_;
  std::string last_;
};

class MonitObserver : public Observer {
 public:
  MonitObserver(std::string log, const FlipServer& http, std::string path)
      : log_(std::move(log)), http_(http), path_(std::move(path)) {}

  bool service_watched(pid_t pid, int64_t) override {
    // Logged when Monit's process check succeeds again, i.e. once per restart: the pid
    // tells this restart's line from the earlier ones.
    const std::string line =
        "'" + std::string(kServiceCheck) + "' process is running with pid " + std::to_string(pid);
    std::ifstream in(log_);
    std::ostringstream text;
    text << in.rdbuf();
    const bool seen = text.str().find(line + "\n") != std::string::npos;
    last_ = seen ? "logged: " + line : "its log does not say \"" + line + "\" yet";
    return running(pid) && seen;
  }
  bool http_healthy(int64_t since_ns) override {
    // A 200 on Monit's path after `since_ns`: that cycle's test passed, so Monit is back
    // to "succeeded" (it acts on every state change; its exec ran when it failed).
    const int64_t ok = http_.last_ok_ns(path_);
    last_ = ok > since_ns ? "answered 200 on " + path_
                          : "not answered 200 on " + path_ + " since the reference";
    return ok > since_ns;
  }
  std::string last_seen() const override { return last_; }

 private:
  std::string log_;
  const FlipServer& http_;
  std::string path_;
  std::string last_;
};

}  // namespace

std::unique_ptr<Observer> reflex_observer(int status_port) {
  return std::make_unique<ReflexObserver>(status_port);
}

std::unique_ptr<Observer> monit_observer(std::string log_path, const FlipServer& http,
                                         std::string http_path) {
  return std::make_unique<MonitObserver>(std::move(log_path), http, std::move(http_path));
}

std::optional<Phases> reflex_phases(int status_port, int64_t kill_ns, int64_t stamp_ns) {
  auto doc = get_status(status_port);
  if (!doc) return std::nullopt;
  const json* c = find(*doc, "checks", "name", kServiceCheck);
  const json* r = find(*doc, "rules", "rule", kServiceRule);
  if (!c || !r || c->value("state", "") != "CRITICAL" || r->value("state", "") != "firing") {
    return std::nullopt;
  }
  const double kill_ms = static_cast<double>(kill_ns) / 1e6;
  const auto checked = static_cast<double>(c->value("last_run_ms", int64_t{0}));
  const auto firing = static_cast<double>(r->value("since_ms", int64_t{0}));
  // The check's result must belong to this kill (not to a run before it).
  if (checked + 1 < kill_ms || firing + 1 < checked) return std::nullopt;
  return Phases{checked - kill_ms, firing - checked, static_cast<double>(stamp_ns) / 1e6 - firing};
}

}  // namespace reflex::bench::heal
