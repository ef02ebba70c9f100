// The agent's local reports: /metrics must be valid Prometheus text, /status valid JSON
// with the documented fields, and `reflex-agent status` a table of both (or a refusal).
#include "agent/status_report.h"

#include <catch2/catch.hpp>
#include <cctype>
#include <map>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>
#include <string>
#include <vector>

#include "common/clock.h"

using namespace reflex;
using namespace reflex::agent;
using nlohmann::json;

namespace {

// One sample line of the text format, parsed.
struct Sample {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;  // values unescaped
  double value = 0;
};

struct Exposition {
  std::map<std::string, std::string> types;  // metric name -> TYPE
  std::set<std::string> helps;
  std::vector<Sample> samples;
  std::vector<std::string> problems;  // empty when the text is valid
};

bool name_char(char c, bool first, bool metric) {
  if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') return true;
  if (metric && c == ':') return true;
  return !first && std::isdigit(static_cast<unsigned char>(c));
}

// Parses the Prometheus text exposition format (0.0.4) strictly: metric and label names,
// label value escapes (only \\, \" and \n), a TYPE before a metric's first sample, at
// most one HELP and TYPE per metric, every metric's lines in one group, and no label
// name twice in a sample.
Exposition parse_exposition(const std::string& text) {
  Exposition e;
  std::set<std::string> closed;  // metrics whose group has ended
  std::string current;
  auto enter = [&](const std::string& name, const std::string& line) {
    if (name == current) return;
    if (closed.count(name)) e.problems.push_back("metric lines not in one group: " + line);
    if (!current.empty()) closed.insert(current);
    current = name;
  };
  std::istringstream in(text);
  std::string line;
  if (!text.empty() && text.back() != '\n') e.problems.push_back("no final line break");
  while (std::getline(in, line)) {
    if (line.empty()) continue;
    if (line.rfind("# HELP ", 0) == 0 || line.rfind("# TYPE ", 0) == 0) {
      std::istringstream words(line.substr(7));
      std::string name, rest;
      words >> name;
      std::getline(words, rest);
      enter(name, line);
      if (line[2] == 'H') {
        if (!e.helps.insert(name).second) e.problems.push_back("second HELP: " + line);
      } else {
        const std::string type = rest.empty() ? "" : rest.substr(1);
        static const std::set<std::string> kTypes = {"counter", "gauge", "histogram", "summary",
                                                     "untyped"};
        if (!kTypes.count(type)) e.problems.push_back("bad TYPE: " + line);
        if (!e.types.emplace(name, type).second) e.problems.push_back("second TYPE: " + line);
      }
      continue;
    }
    if (line[0] == '#') continue;
    Sample s;
    size_t i = 0;
    while (i < line.size() && name_char(line[i], i == 0, true)) s.name += line[i++];
    if (s.name.empty()) {
      e.problems.push_back("bad metric name: " + line);
      continue;
    }
    enter(s.name, line);
    if (!e.types.count(s.name)) e.problems.push_back("sample before its TYPE: " + line);
    if (i < line.size() && line[i] == '{') {
      ++i;
      std::set<std::string> seen;
      while (i < line.size() && line[i] != '}') {
        std::string label;
        const size_t start = i;
        while (i < line.size() && name_char(line[i], i == start, false)) label += line[i++];
        if (label.empty() || label.rfind("__", 0) == 0 || i + 1 >= line.size() || line[i] != '=' ||
            line[i + 1] != '"') {
          e.problems.push_back("bad label name: " + line);
          break;
        }
        if (!seen.insert(label).second) e.problems.push_back("label twice: " + line);
        i += 2;
        std::string value;
        bool closed_quote = false;
        while (i < line.size()) {
          const char c = line[i++];
          if (c == '"') {
            closed_quote = true;
            break;
          }
          if (c == '\\') {
            const char next = i < line.size() ? line[i++] : '\0';
            if (next == '\\' || next == '"') {
              value += next;
            } else if (next == 'n') {
              value += '\n';
            } else {
              e.problems.push_back("bad escape: " + line);
            }
          } else {
            value += c;
          }
        }
        if (!closed_quote) {
          e.problems.push_back("unterminated label value: " + line);
          break;
        }
        s.labels.emplace_back(label, value);
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size() || line[i] != '}') {
        e.problems.push_back("unterminated labels: " + line);
        continue;
      }
      ++i;
    }
    if (i >= line.size() || line[i] != ' ') {
      e.problems.push_back("no value: " + line);
      continue;
    }
    const std::string value = line.substr(i + 1);
    try {
      size_t used = 0;
      s.value = std::stod(value, &used);
      if (used != value.size()) e.problems.push_back("bad value: " + line);
    } catch (const std::exception&) {
      if (value != "NaN" && value != "+Inf" && value != "-Inf") {
        e.problems.push_back("bad value: " + line);
      }
    }
    e.samples.push_back(std::move(s));
  }
  return e;
}

std::string label(const Sample& s, const std::string& name) {
  for (const auto& [k, v] : s.labels) {
    if (k == name) return v;
  }
  return "(absent)";
}

// The samples of `name` whose `series` label is `series`.
std::vector<Sample> samples_of(const Exposition& e, const std::string& name,
                               const std::string& series) {
  std::vector<Sample> out;
  for (const auto& s : e.samples) {
    if (s.name == name && label(s, "series") == series) out.push_back(s);
  }
  return out;
}

// A snapshot with two checks, two rule states and real windows of three series.
AgentSnapshot make_snapshot(SimulatedTime& time, WindowStore& windows) {
  const Labels web_labels = {{"service", "check\"out"}, {"path-name", "/a\\b\nc"}};
  for (int i = 1; i <= 100; ++i) {
    windows.event("web", web_labels, i % 4 == 0, static_cast<double>(i));
  }
  windows.state("web", web_labels, CheckState::kWarning, "slow");
  windows.gauge("host.disk_used", {{"mount", "/var"}, {"dev.name", "sda1"}}, 81.5, "%");
  windows.counter("app.requests", {}, 12);
  time.advance(Millis(100));

  AgentSnapshot s;
  s.id = "web-1";
  s.hostname = "web-1.prod";
  s.version = "9.9.9";
  s.now_ms = time.now_ms();
  s.uptime_ms = 61'000;
  s.hub_endpoint = "tcp://127.0.0.1:7171";
  s.registered = true;
  s.in_flight = 3;
  s.spool_depth = 7;
  s.spool_bytes = 4096;
  s.spool_last_seq = 42;
  s.spool_acked_seq = 35;
  s.spool_dropped = 1;

  CheckStatus web;
  web.name = "web";
  web.type = "http";
  web.runs = 100;
  web.failures = 25;
  web.timeouts = 2;
  web.bad_input = {{"overlapping_run_skipped", 4}};
  web.last_state = CheckState::kWarning;
  web.last_message = "HTTP 500";
  web.last_latency_ms = 12.5;
  web.last_run_ms = s.now_ms - 3000;
  CheckStatus app;
  app.name = "app";
  app.type = "statsd";
  app.runs = 9;
  app.last_state = CheckState::kOk;
  s.checks = {web, app};

  RuleStatus firing;
  firing.rule = "web-errors";
  firing.series = "web";
  firing.labels = {{"service", "checkout"}, {"series", "web"}};
  firing.fingerprint = "0123456789abcdef";
  firing.phase = RulePhase::kFiring;
  firing.since_ms = s.now_ms - 10'000;
  firing.last_value = 0.25;
  RuleStatus quiet;
  quiet.rule = "disk-full";
  quiet.series = "host.disk_used";
  quiet.fingerprint = "fedcba9876543210";
  s.rules = {firing, quiet};

  s.series = windows.snapshot(time.monotonic_ms());
  s.dropped_series = windows.dropped_series();
  return s;
}

struct Fixture {
  SimulatedTime time;
  WindowStore windows{time, WindowConfig{}};
  AgentSnapshot snapshot = make_snapshot(time, windows);
};

}  // namespace

TEST_CASE("metrics_text is valid Prometheus text with a HELP and TYPE for every metric",
          "[agent][status-report]") {
  Fixture f;
  const std::string text = metrics_text(f.snapshot);
  const Exposition e = parse_exposition(text);
  INFO(text);
  for (const auto& p : e.problems) {
    INFO(p);
    CHECK(false);
  }
  REQUIRE_FALSE(e.samples.empty());
  for (const auto& s : e.samples) {
    INFO(s.name);
    CHECK(e.helps.count(s.name) == 1);
    CHECK(e.types.count(s.name) == 1);
  }
}

TEST_CASE("metrics_text escapes label values and sanitizes label names", "[agent][status-report]") {
  Fixture f;
  const Exposition e = parse_exposition(metrics_text(f.snapshot));
  REQUIRE(e.problems.empty());
  const auto events = samples_of(e, "reflex_series_events", "web");
  REQUIRE(events.size() == 1);
  // The parser unescapes: the values come back exactly.
  CHECK(label(events[0], "service") == "check\"out");
  CHECK(label(events[0], "path_name") == "/a\\b\nc");
  const auto disk = samples_of(e, "reflex_series_value", "host.disk_used");
  REQUIRE(disk.size() == 1);
  CHECK(label(disk[0], "dev_name") == "sda1");
  CHECK(disk[0].value == 81.5);
}

TEST_CASE("metrics_text carries every series' window stats", "[agent][status-report]") {
  Fixture f;
  const Exposition e = parse_exposition(metrics_text(f.snapshot));
  REQUIRE(e.problems.empty());

  REQUIRE(samples_of(e, "reflex_series_events", "web").size() == 1);
  CHECK(samples_of(e, "reflex_series_events", "web")[0].value == 100);
  CHECK(samples_of(e, "reflex_series_errors", "web")[0].value == 25);
  CHECK(samples_of(e, "reflex_series_error_ratio", "web")[0].value == Approx(0.25));
  CHECK(samples_of(e, "reflex_series_state", "web")[0].value == 1);

  std::map<std::string, double> quantiles;
  for (const auto& s : samples_of(e, "reflex_series_latency_ms", "web")) {
    quantiles[label(s, "quantile")] = s.value;
  }
  REQUIRE(quantiles.size() == 4);
  CHECK(quantiles.at("0.5") == Approx(50).epsilon(0.02));
  CHECK(quantiles.at("0.95") == Approx(95).epsilon(0.02));
  CHECK(quantiles.at("0.99") == Approx(99).epsilon(0.02));
  CHECK(quantiles.at("1") == Approx(100).epsilon(0.02));

  REQUIRE(samples_of(e, "reflex_series_counter_rate", "app.requests").size() == 1);
  CHECK(samples_of(e, "reflex_series_counter_rate", "app.requests")[0].value > 0);
  // A gauge-only series has no event stats.
  CHECK(samples_of(e, "reflex_series_events", "host.disk_used").empty());

  // The agent's own health, checks and rules.
  auto find = [&](const std::string& name, const std::string& key, const std::string& value) {
    for (const auto& s : e.samples) {
      if (s.name == name && (key.empty() || label(s, key) == value)) return s.value;
    }
    return -1.0;
  };
  CHECK(find("reflex_agent_uptime_seconds", "", "") == 61);
  CHECK(find("reflex_agent_spool_pending_events", "", "") == 7);
  CHECK(find("reflex_agent_check_runs_total", "check", "web") == 100);
  CHECK(find("reflex_agent_check_failures_total", "check", "web") == 25);
  CHECK(find("reflex_agent_check_timeouts_total", "check", "web") == 2);
  CHECK(find("reflex_agent_check_bad_input_total", "reason", "overlapping_run_skipped") == 4);
  CHECK(find("reflex_agent_rule_state", "rule", "web-errors") == 2);
  CHECK(find("reflex_agent_rule_state", "rule", "disk-full") == 0);
  CHECK(find("reflex_agent_series", "", "") == 3);
}

TEST_CASE("metrics_text keeps the series label its own when a check label is named alike",
          "[agent][status-report]") {
  SimulatedTime time;
  WindowStore windows(time, WindowConfig{});
  windows.event("web", {{"series", "spoof"}, {"quantile", "x"}, {"a-b", "1"}, {"a_b", "2"}}, false,
                5.0);
  AgentSnapshot s;
  s.series = windows.snapshot(time.monotonic_ms());
  const Exposition e = parse_exposition(metrics_text(s));
  for (const auto& p : e.problems) {
    INFO(p);
    CHECK(false);
  }
  const auto latency = samples_of(e, "reflex_series_latency_ms", "web");
  REQUIRE(latency.size() == 4);
  std::set<std::string> quantiles;
  for (const auto& q : latency) quantiles.insert(label(q, "quantile"));
  CHECK(quantiles == std::set<std::string>{"0.5", "0.95", "0.99", "1"});
}

TEST_CASE("status_json round-trips through a JSON parser with the documented fields",
          "[agent][status-report]") {
  Fixture f;
  const json doc = json::parse(status_json(f.snapshot));
  CHECK(doc["agent"]["id"] == "web-1");
  CHECK(doc["agent"]["hostname"] == "web-1.prod");
  CHECK(doc["agent"]["version"] == "9.9.9");
  CHECK(doc["agent"]["uptime_ms"] == 61'000);
  CHECK(doc["now_ms"] == f.snapshot.now_ms);
  CHECK(doc["uplink"]["endpoint"] == "tcp://127.0.0.1:7171");
  CHECK(doc["uplink"]["registered"] == true);
  CHECK(doc["uplink"]["in_flight"] == 3);
  CHECK(doc["spool"]["pending_events"] == 7);
  CHECK(doc["spool"]["bytes"] == 4096);
  CHECK(doc["spool"]["last_seq"] == 42);
  CHECK(doc["spool"]["acked_seq"] == 35);
  CHECK(doc["spool"]["dropped_total"] == 1);
  CHECK(doc["series"]["count"] == 3);
  CHECK(doc["series"]["dropped_total"] == 0);

  REQUIRE(doc["checks"].size() == 2);
  const json& web = doc["checks"][0];
  CHECK(web["name"] == "web");
  CHECK(web["type"] == "http");
  CHECK(web["state"] == "WARNING");
  CHECK(web["message"] == "HTTP 500");
  CHECK(web["latency_ms"] == 12.5);
  CHECK(web["last_run_ms"] == f.snapshot.now_ms - 3000);
  CHECK(web["runs"] == 100);
  CHECK(web["failures"] == 25);
  CHECK(web["timeouts"] == 2);
  CHECK(web["bad_input"]["overlapping_run_skipped"] == 4);
  CHECK(doc["checks"][1]["latency_ms"].is_null());  // no latency: null, not 0

  REQUIRE(doc["rules"].size() == 2);
  const json& rule = doc["rules"][0];
  CHECK(rule["rule"] == "web-errors");
  CHECK(rule["series"] == "web");
  CHECK(rule["labels"]["service"] == "checkout");
  CHECK(rule["fingerprint"] == "0123456789abcdef");
  CHECK(rule["state"] == "firing");
  CHECK(rule["since_ms"] == f.snapshot.now_ms - 10'000);
  CHECK(rule["value"] == 0.25);
  CHECK(doc["rules"][1]["state"] == "inactive");
  CHECK(doc["rules"][1]["value"].is_null());
}

TEST_CASE("status_json replaces a plugin's bytes that are not UTF-8 instead of failing",
          "[agent][status-report]") {
  Fixture f;
  f.snapshot.checks[0].last_message = std::string("caf\xe9 down");  // Latin-1
  const json doc = json::parse(status_json(f.snapshot));
  CHECK(doc["checks"][0]["message"] == "caf\xef\xbf\xbd down");
}

TEST_CASE("status_table prints the agent, its checks and its rules", "[agent][status-report]") {
  Fixture f;
  const std::string table = status_table(status_json(f.snapshot));
  INFO(table);
  CHECK(table.find("agent web-1 on web-1.prod") != std::string::npos);
  CHECK(table.find("registered") != std::string::npos);
  CHECK(table.find("CHECK") != std::string::npos);
  CHECK(table.find("web ") != std::string::npos);
  CHECK(table.find("WARNING") != std::string::npos);
  CHECK(table.find("12.5ms") != std::string::npos);
  CHECK(table.find("HTTP 500 [4 bad input]") != std::string::npos);
  CHECK(table.find("3s ago") != std::string::npos);
  CHECK(table.find("app ") != std::string::npos);
  CHECK(table.find("RULE") != std::string::npos);
  CHECK(table.find("web-errors") != std::string::npos);
  CHECK(table.find("firing") != std::string::npos);
  CHECK(table.find("10s ago") != std::string::npos);
  CHECK(table.find("disk-full") != std::string::npos);
}

TEST_CASE("status_table refuses a document that is not a status document",
          "[agent][status-report]") {
  const std::string refusal = "the agent's answer is not a status document\n";
  for (const char* text :
       {"", "not json", "[]", "{}", "{\"agent\": 1}", "{\"agent\": {\"id\": \"a\"}}",
        "{\"agent\": {}, \"uplink\": {}, \"spool\": {}, \"checks\": {}, \"rules\": 3}",
        "{\"agent\": {\"id\": 7}, \"uplink\": {}, \"spool\": {}, \"checks\": [], \"rules\": []}",
        "{\"agent\": {}, \"uplink\": {}, \"spool\": {}, \"checks\": [{\"runs\": \"x\"}], "
        "\"rules\": []}"}) {
    INFO(text);
    CHECK(status_table(text) == refusal);
  }
}

TEST_CASE("status_table prints dashes for fields a check or rule leaves out",
          "[agent][status-report]") {
  const std::string table = status_table(
      "{\"agent\": {\"id\": \"a\"}, \"uplink\": {}, \"spool\": {}, "
      "\"checks\": [{\"name\": \"bare\"}], \"rules\": [{\"rule\": \"r\"}]}");
  INFO(table);
  CHECK(table.find("agent a on") != std::string::npos);
  CHECK(table.find("bare ") != std::string::npos);
  CHECK(table.find("r ") != std::string::npos);
  CHECK(table.find("not a status document") == std::string::npos);
}
