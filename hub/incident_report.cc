#include "hub/incident_report.h"

#include <algorithm>
#include <cctype>
#include <set>
#include <sstream>

#include "hub/incidents/grouping.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub {
namespace {

using incidents::TimelineEntry;
using incidents::TimelineKind;

// Text for one line or table cell: nothing in it can end the cell, start a section or
// become HTML when the Markdown is rendered.
std::string esc(const std::string& s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    switch (c) {
      case '|':
        out += "\\|";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '\r':
        if (i + 1 < s.size() && s[i + 1] == '\n') ++i;
        out += "<br>";
        break;
      case '\n':
        out += "<br>";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string at(int64_t ms) {
  return ms > 0 ? incidents::format_rfc3339_ms(ms) : "-";
}

std::string or_dash(const std::string& s) {
  return s.empty() ? "-" : esc(s);
}

std::string label_of(const protocol::Labels& labels, std::initializer_list<const char*> names) {
  for (const char* n : names) {
    if (auto it = labels.find(n); it != labels.end() && !it->second.empty()) return it->second;
  }
  return "";
}

std::string environment_of(const IncidentDetail& d) {
  std::string env = label_of(d.incident.group_labels, {"env", "environment"});
  if (env.empty() && !d.alerts.empty() && d.alerts.front().detail) {
    env = label_of(d.alerts.front().detail->labels, {"env", "environment"});
  }
  return env;
}

// Hosts of the members, in joining order, each once.
std::vector<std::string> member_hosts(const IncidentDetail& d) {
  std::vector<std::string> hosts;
  std::set<std::string> seen;
  for (const auto& m : d.members) {
    if (!m.host.empty() && seen.insert(m.host).second) hosts.push_back(m.host);
  }
  return hosts;
}

std::string join(const std::vector<std::string>& parts, const std::string& sep) {
  std::string out;
  for (const auto& p : parts) out += (out.empty() ? "" : sep) + p;
  return out;
}

std::string duration_line(const incidents::IncidentRow& r, int64_t now_ms) {
  if (r.open()) return describe_duration(now_ms - r.opened_ms) + " so far (still open)";
  return describe_duration(r.resolved_ms - r.opened_ms);
}

void summary(std::ostream& out, const IncidentDetail& d, const ReportContext& ctx) {
  const auto& r = d.incident;
  const uint32_t affected = r.open() ? r.affected_hosts : r.peak_hosts;
  out << "## Summary\n\n| | |\n|---|---|\n";
  out << "| Service | " << or_dash(r.service) << " |\n";
  out << "| Environment | " << or_dash(environment_of(d)) << " |\n";
  out << "| Status | " << incidents::incident_status_name(r.status)
      << (r.flapping ? " (flapping)" : "") << " |\n";
  out << "| Severity | " << protocol::severity_name(r.severity) << " |\n";
  out << "| Opened | " << at(r.opened_ms) << " |\n";
  if (r.acknowledged_ms > 0) {
    out << "| Acknowledged | " << at(r.acknowledged_ms) << " by " << or_dash(r.acknowledged_by)
        << ", " << describe_duration(r.acknowledged_ms - r.opened_ms) << " after opening |\n";
  } else {
    out << "| Acknowledged | not acknowledged |\n";
  }
  if (!r.open()) {
    out << "| Resolved | " << at(r.resolved_ms) << " by " << or_dash(r.resolved_by) << " |\n";
  } else {
    out << "| Resolved | not yet |\n";
  }
  out << "| Duration | " << duration_line(r, ctx.now_ms) << " |\n";
  out << "| Hosts | " << incidents::describe_hosts(affected, ctx.known_hosts)
      << (r.open() ? " affected now" : " affected at the peak") << " |\n";
  out << "| Owner | " << (r.owner.empty() ? "unassigned" : esc(r.owner)) << " |\n";
  if (r.reopen_count > 0) out << "| Reopened | " << r.reopen_count << " times |\n";
  out << "\n";
}

void impact(std::ostream& out, const IncidentDetail& d, const ReportContext& ctx) {
  const auto& r = d.incident;
  const auto hosts = member_hosts(d);
  out << "## Impact\n\n";
  out << "- Hosts: " << incidents::describe_hosts(r.peak_hosts, ctx.known_hosts) << " at the peak";
  if (r.open())
    out << ", " << incidents::describe_hosts(r.affected_hosts, ctx.known_hosts) << " now";
  out << "\n";
  if (!hosts.empty()) {
    std::vector<std::string> escaped;
    for (const auto& h : hosts) escaped.push_back(esc(h));
    out << "- Hosts with alerts: " << join(escaped, ", ") << "\n";
  }
  out << "- Duration: " << duration_line(r, ctx.now_ms) << "\n";
  out << "- Alerts: " << r.members << " joined, " << r.firing << " firing "
      << (r.open() ? "now" : "when it was resolved") << "\n\n";
}

void suspect(std::ostream& out, const ReportContext& ctx) {
  out << "## Suspect change\n\n";
  if (!ctx.suspect) {
    out << "none recorded\n\n";
    return;
  }
  const auto& s = *ctx.suspect;
  const auto& c = s.change;
  out << "- " << esc(s.summary) << "\n";
  out << "- Change: " << or_dash(c.id) << " of " << or_dash(c.service);
  if (!c.environment.empty()) out << " in " << esc(c.environment);
  if (!c.version.empty()) out << ", version " << esc(c.version);
  out << ", at " << at(c.at_ms) << ", " << describe_duration(s.lead_ms)
      << " before the incident opened";
  if (s.on_dependency) out << " (a dependency of the incident's service)";
  out << "\n";
  if (c.strategy != incidents::DeployStrategy::kUnspecified) {
    out << "- Strategy: " << incidents::deploy_strategy_name(c.strategy) << "\n";
  }
  if (!c.author.empty()) out << "- Author: " << esc(c.author) << "\n";
  if (!c.commit.empty()) out << "- Commit: " << esc(c.commit) << "\n";
  if (!c.link.empty()) out << "- Link: " << esc(c.link) << "\n";
  if (!c.hosts.empty()) {
    std::vector<std::string> escaped;
    for (const auto& h : c.hosts) escaped.push_back(esc(h));
    out << "- Hosts changed: " << join(escaped, ", ") << "\n";
  }
  if (!s.evidence.empty()) out << "- Evidence: " << esc(s.evidence) << "\n";
  out << "\n";
}

void timeline(std::ostream& out, const std::vector<TimelineEntry>& entries) {
  out << "## Timeline\n\n";
  if (entries.empty()) {
    out << "none recorded\n\n";
    return;
  }
  out << "| Time (UTC) | Event | Actor | Host | Details |\n|---|---|---|---|---|\n";
  for (const auto& e : entries) {
    std::string text = e.text;
    if (!e.suppressed.empty()) text += " (notifies nobody: " + e.suppressed + ")";
    out << "| " << at(e.at_ms) << " | " << incidents::timeline_kind_name(e.kind) << " | "
        << or_dash(e.actor) << " | " << or_dash(e.host) << " | " << or_dash(text) << " |\n";
  }
  out << "\n";
}

void remediation(std::ostream& out, const std::vector<TimelineEntry>& entries) {
  out << "## Remediation attempts\n\n";
  std::vector<const TimelineEntry*> attempts;
  for (const auto& e : entries) {
    if (e.kind == TimelineKind::kRemediation) attempts.push_back(&e);
  }
  if (attempts.empty()) {
    out << "none recorded\n\n";
    return;
  }
  std::vector<std::pair<std::string, int>> tally;  // outcome -> count, in order of first
  for (const auto* e : attempts) {
    std::string outcome = remediation_outcome(e->text);
    if (outcome.empty()) outcome = "unknown";
    auto it =
        std::find_if(tally.begin(), tally.end(), [&](const auto& t) { return t.first == outcome; });
    if (it == tally.end()) {
      tally.emplace_back(outcome, 1);
    } else {
      ++it->second;
    }
  }
  std::vector<std::string> counts;
  for (const auto& [outcome, n] : tally) counts.push_back(std::to_string(n) + " " + outcome);
  out << attempts.size() << (attempts.size() == 1 ? " attempt: " : " attempts: ")
      << join(counts, ", ") << "\n\n";
  out << "| Time (UTC) | By | Host | Outcome | Details |\n|---|---|---|---|---|\n";
  for (const auto* e : attempts) {
    const std::string outcome = remediation_outcome(e->text);
    out << "| " << at(e->at_ms) << " | " << or_dash(e->actor) << " | " << or_dash(e->host) << " | "
        << (outcome.empty() ? "unknown" : outcome) << " | " << or_dash(e->text) << " |\n";
  }
  out << "\n";
}

void responders(std::ostream& out, const std::vector<TimelineEntry>& entries) {
  out << "## Responders\n\n";
  const auto people = incident_responders(entries);
  if (people.empty()) {
    out << "none recorded\n";
    return;
  }
  out << "| Responder | First action (UTC) | Actions |\n|---|---|---|\n";
  for (const auto& p : people) {
    out << "| " << esc(p.actor) << " | " << at(p.first_ms) << " | " << join(p.actions, ", ")
        << " |\n";
  }
}

}  // namespace

std::string describe_duration(int64_t ms) {
  int64_t s = std::max<int64_t>(ms, 0) / 1000;
  const int64_t d = s / 86'400, h = s / 3600 % 24, m = s / 60 % 60;
  s %= 60;
  std::string out;
  if (d > 0) out += std::to_string(d) + "d ";
  if (d > 0 || h > 0) out += std::to_string(h) + "h ";
  if (d > 0 || h > 0 || m > 0) out += std::to_string(m) + "m ";
  return out + std::to_string(s) + "s";
}

std::string remediation_outcome(const std::string& text) {
  // The entry reads "<action> [<target>] [on <host>]: <outcome>[ (attempt n)]...":
  // the first ": " followed by an outcome's name.
  for (size_t pos = text.find(": "); pos != std::string::npos; pos = text.find(": ", pos + 1)) {
    const size_t start = pos + 2;
    size_t end = start;
    while (end < text.size() &&
           (std::islower(static_cast<unsigned char>(text[end])) || text[end] == '_')) {
      ++end;
    }
    const std::string word = text.substr(start, end - start);
    for (auto o = static_cast<unsigned>(protocol::RemediationOutcome::kStarted);
         o <= static_cast<unsigned>(protocol::RemediationOutcome::kExhausted); ++o) {
      if (word ==
          protocol::remediation_outcome_name(static_cast<protocol::RemediationOutcome>(o))) {
        return word;
      }
    }
  }
  return "";
}

std::vector<Responder> incident_responders(const std::vector<TimelineEntry>& entries) {
  std::vector<Responder> out;
  for (const auto& e : entries) {
    const bool by_person = e.kind == TimelineKind::kAcknowledged ||
                           e.kind == TimelineKind::kResolved || e.kind == TimelineKind::kAssigned ||
                           e.kind == TimelineKind::kNote || e.kind == TimelineKind::kResponse;
    if (!by_person || e.actor.empty() || e.actor == "reflex") continue;
    auto it =
        std::find_if(out.begin(), out.end(), [&](const auto& r) { return r.actor == e.actor; });
    if (it == out.end()) {
      out.push_back({.actor = e.actor, .first_ms = e.at_ms, .actions = {}});
      it = std::prev(out.end());
    }
    const std::string kind = incidents::timeline_kind_name(e.kind);
    if (std::find(it->actions.begin(), it->actions.end(), kind) == it->actions.end()) {
      it->actions.push_back(kind);
    }
  }
  return out;
}

std::string render_incident_report(const IncidentDetail& d, const ReportContext& ctx) {
  std::ostringstream out;
  std::string title = d.incident.title;
  std::replace(title.begin(), title.end(), '\n', ' ');
  std::replace(title.begin(), title.end(), '\r', ' ');
  out << "# Incident " << d.incident.id << ": " << esc(title) << "\n\n";
  summary(out, d, ctx);
  impact(out, d, ctx);
  suspect(out, ctx);
  timeline(out, d.timeline);
  remediation(out, d.timeline);
  responders(out, d.timeline);
  return out.str();
}

}  // namespace reflex::hub
