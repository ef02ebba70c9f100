#include "agent/status_report.h"

#include <cctype>
#include <cstdio>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "common/metrics.h"

namespace reflex::agent {
namespace {

using LabelList = std::vector<std::pair<std::string, std::string>>;
using nlohmann::json;

json optional_number(const std::optional<double>& v) {
  return v ? json(*v) : json(nullptr);
}

// A label name as Prometheus allows it: characters other than letters, digits and '_'
// (and a leading digit) become '_'.
std::string prometheus_label_name(const std::string& name) {
  std::string out = name;
  for (size_t i = 0; i < out.size(); ++i) {
    const auto c = static_cast<unsigned char>(out[i]);
    if (!(std::isalpha(c) || c == '_' || (i > 0 && std::isdigit(c)))) out[i] = '_';
  }
  return out;
}

// `series` first, then the series' own labels under valid names. Labels come from
// configs and from StatsD tags, so two may sanitize to the same name, or one may be named
// `series` or `quantile`: a sample may carry a name only once, so those are left out.
LabelList series_labels(const SeriesStats& s) {
  LabelList out{{"series", s.name}};
  std::set<std::string> taken = {"series", "quantile"};
  for (const auto& [k, v] : s.labels) {
    std::string name = prometheus_label_name(k);
    if (name.empty() || !taken.insert(name).second) continue;
    out.emplace_back(std::move(name), v);
  }
  return out;
}

// A column of fixed width, cut with "…" when too long.
std::string cell(std::string text, size_t width) {
  if (text.size() > width) text = text.substr(0, width - 3) + "...";
  text.resize(width, ' ');
  return text;
}

std::string ago(int64_t now_ms, int64_t then_ms) {
  if (then_ms <= 0) return "-";
  const int64_t s = std::max<int64_t>(0, (now_ms - then_ms) / 1000);
  if (s < 120) return std::to_string(s) + "s ago";
  if (s < 7200) return std::to_string(s / 60) + "m ago";
  return std::to_string(s / 3600) + "h ago";
}

json remediation_json(const heal::HealStatus& h) {
  json circuits = json::array();
  for (const auto& c : h.circuits) {
    circuits.push_back({{"scope", c.host ? "host" : "target"},
                        {"target", c.target},
                        {"action", c.action},
                        {"reason", heal::skip_reason_name(c.reason)},
                        {"opened_at_ms", c.opened_at_ms},
                        {"closes_at_ms", c.closes_at_ms}});
  }
  json running = json::array();
  for (const auto& r : h.running) {
    running.push_back({{"action", r.action},
                       {"target", r.target},
                       {"rule", r.rule},
                       {"command_id", r.command_id},
                       {"started_ms", r.started_ms},
                       {"phase", r.verifying ? "verifying" : "running"}});
  }
  json actions = json::array();
  for (const auto& a : h.actions) {
    actions.push_back({{"name", a.name},
                       {"type", a.type},
                       {"dry_run", a.dry_run},
                       {"budget", std::to_string(a.max_runs) + " per " + format_duration(a.window)},
                       {"outcomes", a.outcomes}});
  }
  json recent = json::array();
  for (const auto& r : h.recent) {
    recent.push_back({{"action", r.action},
                      {"target", r.target},
                      {"rule", r.rule},
                      {"outcome", protocol::remediation_outcome_name(r.outcome)},
                      {"reason", r.reason},
                      {"attempt", r.attempt},
                      {"duration_ms", r.duration_ms},
                      {"dry_run", r.dry_run}});
  }
  return {{"dry_run", h.dry_run},
          {"paused", h.paused_all},
          {"paused_targets", h.paused_targets},
          {"host_runs_in_window", h.host_runs_in_window},
          {"host_max_runs", h.host_max_runs},
          {"open_circuits", circuits},
          {"running", running},
          {"actions", actions},
          {"recent", recent}};
}

}  // namespace

std::string status_json(const AgentSnapshot& s) {
  json checks = json::array();
  for (const auto& c : s.checks) {
    checks.push_back({{"name", c.name},
                      {"type", c.type},
                      {"state", state_name(c.last_state)},
                      {"message", c.last_message},
                      {"latency_ms", optional_number(c.last_latency_ms)},
                      {"last_run_ms", c.last_run_ms},
                      {"runs", c.runs},
                      {"failures", c.failures},
                      {"timeouts", c.timeouts},
                      {"bad_input", c.bad_input}});
  }
  json rules = json::array();
  for (const auto& r : s.rules) {
    rules.push_back({{"rule", r.rule},
                     {"series", r.series},
                     {"labels", r.labels},
                     {"fingerprint", r.fingerprint},
                     {"state", phase_name(r.phase)},
                     {"since_ms", r.since_ms},
                     {"value", optional_number(r.last_value)}});
  }
  json doc = {
      {"remediation", remediation_json(s.heal)},
      {"agent",
       {{"id", s.id},
        {"hostname", s.hostname},
        {"version", s.version},
        {"uptime_ms", s.uptime_ms}}},
      {"now_ms", s.now_ms},
      {"uplink",
       {{"endpoint", s.hub_endpoint}, {"registered", s.registered}, {"in_flight", s.in_flight}}},
      {"spool",
       {{"pending_events", s.spool_depth},
        {"bytes", s.spool_bytes},
        {"last_seq", s.spool_last_seq},
        {"acked_seq", s.spool_acked_seq},
        {"dropped_total", s.spool_dropped}}},
      {"checks", checks},
      {"rules", rules},
      {"series", {{"count", s.series.size()}, {"dropped_total", s.dropped_series}}}};
  // Replaced, not thrown: a plugin may print bytes that are not UTF-8.
  return doc.dump(2, ' ', false, json::error_handler_t::replace) + "\n";
}

std::string metrics_text(const AgentSnapshot& s) {
  std::string out;
  auto help = [&](const char* name, const char* type, const char* text) {
    out += std::string("# HELP ") + name + " " + text + "\n# TYPE " + name + " " + type + "\n";
  };
  help("reflex_agent_uptime_seconds", "gauge", "Seconds since the agent started.");
  metrics::append_sample(out, "reflex_agent_uptime_seconds", {}, s.uptime_ms / 1000.0);
  help("reflex_agent_uplink_registered", "gauge", "1 while registered with a hub.");
  metrics::append_sample(out, "reflex_agent_uplink_registered", {{"endpoint", s.hub_endpoint}},
                         s.registered ? 1 : 0);
  help("reflex_agent_spool_pending_events", "gauge", "Events not yet acknowledged by the hub.");
  metrics::append_sample(out, "reflex_agent_spool_pending_events", {},
                         static_cast<double>(s.spool_depth));
  help("reflex_agent_spool_bytes", "gauge", "Bytes of the events in the spool.");
  metrics::append_sample(out, "reflex_agent_spool_bytes", {}, static_cast<double>(s.spool_bytes));
  help("reflex_agent_spool_dropped_total", "counter",
       "Events the spool dropped over its limits (each reported in a gap record).");
  metrics::append_sample(out, "reflex_agent_spool_dropped_total", {},
                         static_cast<double>(s.spool_dropped));

  help("reflex_agent_check_runs_total", "counter", "Check runs (lines, datagrams) finished.");
  for (const auto& c : s.checks) {
    metrics::append_sample(out, "reflex_agent_check_runs_total",
                           {{"check", c.name}, {"type", c.type}}, static_cast<double>(c.runs));
  }
  help("reflex_agent_check_failures_total", "counter", "Check runs whose state was not OK.");
  for (const auto& c : s.checks) {
    metrics::append_sample(out, "reflex_agent_check_failures_total",
                           {{"check", c.name}, {"type", c.type}}, static_cast<double>(c.failures));
  }
  help("reflex_agent_check_timeouts_total", "counter", "Check runs given up at their timeout.");
  for (const auto& c : s.checks) {
    metrics::append_sample(out, "reflex_agent_check_timeouts_total",
                           {{"check", c.name}, {"type", c.type}}, static_cast<double>(c.timeouts));
  }
  help("reflex_agent_check_bad_input_total", "counter",
       "Input a check could not use (malformed datagrams, unmatched lines, bad perfdata).");
  for (const auto& c : s.checks) {
    for (const auto& [reason, n] : c.bad_input) {
      metrics::append_sample(out, "reflex_agent_check_bad_input_total",
                             {{"check", c.name}, {"reason", reason}}, static_cast<double>(n));
    }
  }
  help("reflex_agent_check_state", "gauge", "Last state: 0 OK, 1 WARNING, 2 CRITICAL, 3 UNKNOWN.");
  for (const auto& c : s.checks) {
    metrics::append_sample(out, "reflex_agent_check_state", {{"check", c.name}},
                           static_cast<double>(c.last_state));
  }
  help("reflex_agent_rule_state", "gauge",
       "Rule state per series: 0 inactive, 1 pending, 2 firing.");
  for (const auto& r : s.rules) {
    metrics::append_sample(out, "reflex_agent_rule_state",
                           {{"rule", r.rule}, {"series", r.series}, {"fingerprint", r.fingerprint}},
                           static_cast<double>(r.phase));
  }
  help("reflex_agent_remediation_total", "counter",
       "Remediation decisions by action and outcome (skipped ones by reason).");
  for (const auto& a : s.heal.actions) {
    for (const auto& [outcome, n] : a.outcomes) {
      metrics::append_sample(out, "reflex_agent_remediation_total",
                             {{"action", a.name}, {"outcome", outcome}}, static_cast<double>(n));
    }
  }
  help("reflex_agent_remediation_open_circuits", "gauge",
       "Open remediation circuits (a spent budget; the host's counts as one).");
  metrics::append_sample(out, "reflex_agent_remediation_open_circuits", {},
                         static_cast<double>(s.heal.circuits.size()));
  help("reflex_agent_remediation_running", "gauge",
       "Remediations running or waiting for verification.");
  metrics::append_sample(out, "reflex_agent_remediation_running", {},
                         static_cast<double>(s.heal.running.size()));
  help("reflex_agent_remediation_host_runs", "gauge",
       "Remediation runs inside the host budget's window.");
  metrics::append_sample(out, "reflex_agent_remediation_host_runs", {},
                         static_cast<double>(s.heal.host_runs_in_window));
  help("reflex_agent_remediation_paused", "gauge", "1 while remediation is paused on the host.");
  metrics::append_sample(out, "reflex_agent_remediation_paused", {}, s.heal.paused_all ? 1 : 0);

  help("reflex_agent_series", "gauge", "Series with windows.");
  metrics::append_sample(out, "reflex_agent_series", {}, static_cast<double>(s.series.size()));
  help("reflex_agent_series_dropped_total", "counter", "New series refused at windows.max_series.");
  metrics::append_sample(out, "reflex_agent_series_dropped_total", {},
                         static_cast<double>(s.dropped_series));

  // Each metric's samples form one group after its HELP and TYPE, as the text format
  // requires, so the series are walked once per metric.
  std::vector<LabelList> labels;
  labels.reserve(s.series.size());
  for (const auto& series : s.series) labels.push_back(series_labels(series));
  auto per_series = [&](const char* name, const char* text, auto value_of) {
    help(name, "gauge", text);
    for (size_t i = 0; i < s.series.size(); ++i) {
      const std::optional<double> v = value_of(s.series[i].stats);
      if (v) metrics::append_sample(out, name, labels[i], *v);
    }
  };
  using Value = std::optional<double>;
  auto with_events = [](const WindowStats& w, double v) -> Value {
    return w.count > 0 || w.errors > 0 ? Value(v) : std::nullopt;
  };
  per_series("reflex_series_events", "Events (requests, probes) in the window.",
             [&](const WindowStats& w) { return with_events(w, static_cast<double>(w.count)); });
  per_series("reflex_series_errors", "Failed events in the window.",
             [&](const WindowStats& w) { return with_events(w, static_cast<double>(w.errors)); });
  per_series("reflex_series_error_ratio", "Failed events / events in the window.",
             [&](const WindowStats& w) { return with_events(w, w.error_rate); });
  per_series("reflex_series_rate", "Events per second over the window.",
             [&](const WindowStats& w) { return with_events(w, w.rate); });

  help("reflex_series_latency_ms", "gauge",
       "Latency quantiles over the window (1% relative error); quantile 1 is the maximum.");
  for (size_t i = 0; i < s.series.size(); ++i) {
    const WindowStats& w = s.series[i].stats;
    const std::pair<const char*, const Value*> quantiles[] = {
        {"0.5", &w.p50}, {"0.95", &w.p95}, {"0.99", &w.p99}, {"1", &w.max}};
    for (const auto& [q, v] : quantiles) {
      if (!*v) continue;
      LabelList ql = labels[i];
      ql.emplace_back("quantile", q);
      metrics::append_sample(out, "reflex_series_latency_ms", ql, **v);
    }
  }

  per_series("reflex_series_counter_rate", "Counter increments per second over the window.",
             [](const WindowStats& w) {
               return w.counter_sum != 0 ? Value(w.counter_rate) : std::nullopt;
             });
  per_series("reflex_series_value", "Latest gauge reading.",
             [](const WindowStats& w) { return w.value; });
  per_series("reflex_series_state", "Latest check state: 0 OK .. 3 UNKNOWN.",
             [](const WindowStats& w) {
               return w.state ? Value(static_cast<double>(*w.state)) : std::nullopt;
             });
  return out;
}

namespace {

// The tables of a document that has the status document's shape; a field of the wrong
// type throws json::type_error, which status_table turns into its refusal.
std::string render_table(const json& doc) {
  const json kNull;
  // A member of an object, or null when absent: const operator[] must not see a
  // missing key.
  auto field = [&](const json& o, const char* key) -> const json& {
    auto it = o.find(key);
    return it == o.end() ? kNull : *it;
  };
  std::ostringstream out;
  const int64_t now = doc.value("now_ms", int64_t{0});
  const json& a = doc.at("agent");
  const json& u = doc.at("uplink");
  const json& sp = doc.at("spool");
  out << "agent " << a.value("id", "") << " on " << a.value("hostname", "") << " (version "
      << a.value("version", "") << ", up " << a.value("uptime_ms", int64_t{0}) / 1000 << "s)\n";
  out << "hub   " << u.value("endpoint", "") << " "
      << (u.value("registered", false) ? "registered" : "NOT REGISTERED") << ", "
      << u.value("in_flight", uint64_t{0})
      << " in flight; spool: " << sp.value("pending_events", uint64_t{0}) << " pending, "
      << sp.value("dropped_total", uint64_t{0}) << " dropped\n\n";

  out << cell("CHECK", 20) << cell("TYPE", 8) << cell("STATE", 9) << cell("LATENCY", 10)
      << cell("RUNS", 8) << cell("FAILED", 8) << cell("LAST RUN", 10) << "MESSAGE\n";
  for (const auto& c : doc.at("checks")) {
    char latency[32] = "-";
    if (field(c, "latency_ms").is_number()) {
      std::snprintf(latency, sizeof latency, "%.1fms", field(c, "latency_ms").get<double>());
    }
    std::string message = c.value("message", "");
    uint64_t bad = 0;
    const json bad_input = c.value("bad_input", json::object());
    for (const auto& [reason, n] : bad_input.items()) bad += n.get<uint64_t>();
    if (bad > 0) message += " [" + std::to_string(bad) + " bad input]";
    out << cell(c.value("name", ""), 20) << cell(c.value("type", ""), 8)
        << cell(c.value("state", ""), 9) << cell(latency, 10)
        << cell(std::to_string(c.value("runs", uint64_t{0})), 8)
        << cell(std::to_string(c.value("failures", uint64_t{0})), 8)
        << cell(ago(now, c.value("last_run_ms", int64_t{0})), 10) << message << "\n";
  }
  if (!doc.at("rules").empty()) {
    out << "\n"
        << cell("RULE", 20) << cell("SERIES", 24) << cell("STATE", 10) << cell("SINCE", 10)
        << "VALUE\n";
    for (const auto& r : doc.at("rules")) {
      char value[32] = "-";
      if (field(r, "value").is_number()) {
        std::snprintf(value, sizeof value, "%g", field(r, "value").get<double>());
      }
      out << cell(r.value("rule", ""), 20) << cell(r.value("series", ""), 24)
          << cell(r.value("state", ""), 10) << cell(ago(now, r.value("since_ms", int64_t{0})), 10)
          << value << "\n";
    }
  }
  const json& rem = field(doc, "remediation");
  if (rem.is_object()) {
    out << "\nremediation: " << (rem.value("paused", false) ? "PAUSED" : "active")
        << (rem.value("dry_run", false) ? " (dry run)" : "") << ", "
        << rem.value("host_runs_in_window", int64_t{0}) << " of "
        << rem.value("host_max_runs", int64_t{0}) << " host runs used";
    const json targets = rem.value("paused_targets", json::array());
    if (!targets.empty()) out << "; paused: " << targets.dump();
    out << "\n";
    for (const auto& c : rem.value("open_circuits", json::array())) {
      out << "  circuit open: " << c.value("scope", "") << " " << c.value("target", "") << " ("
          << c.value("action", "") << ", " << c.value("reason", "") << ")\n";
    }
    const json recent = rem.value("recent", json::array());
    if (!recent.empty()) {
      out << cell("ACTION", 16) << cell("TARGET", 24) << cell("OUTCOME", 14) << "REASON\n";
      for (const auto& r : recent) {
        out << cell(r.value("action", ""), 16) << cell(r.value("target", ""), 24)
            << cell(r.value("outcome", ""), 14) << r.value("reason", "") << "\n";
      }
    }
  }
  return out.str();
}

}  // namespace

std::string status_table(const std::string& text) {
  const std::string refusal = "the agent's answer is not a status document\n";
  const json doc = json::parse(text, nullptr, false);
  auto is = [&](const char* key, json::value_t type) {
    return doc.contains(key) && doc.at(key).type() == type;
  };
  if (doc.is_discarded() || !doc.is_object() || !is("agent", json::value_t::object) ||
      !is("uplink", json::value_t::object) || !is("spool", json::value_t::object) ||
      !is("checks", json::value_t::array) || !is("rules", json::value_t::array)) {
    return refusal;
  }
  try {
    return render_table(doc);
  } catch (const json::exception&) {
    return refusal;  // a field of the wrong type or a row that is not an object
  }
}

}  // namespace reflex::agent
