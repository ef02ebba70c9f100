#include "hub/policy/policy.h"

#include <algorithm>
#include <array>
#include <cctype>

namespace reflex::hub::policy {
namespace {

struct KindEntry {
  StepKind kind;
  const char* name;
  StepParams params;
};

// Parameters follow the vendors' vocabulary where one exists (a Jira project, a
// Statuspage status); `integration` picks among configured ones of the same family.
const std::array<KindEntry, 18>& kinds() {
  static const std::array<KindEntry, 18> table{{
      {StepKind::kChatPost, "chat.post", {{"channel", "text"}, {"integration", "buttons"}, {}}},
      {StepKind::kChatUpdate, "chat.update", {{"text"}, {"integration"}, {}}},
      {StepKind::kChatReply, "chat.reply", {{"text"}, {"integration"}, {}}},
      {StepKind::kChatCreateChannel,
       "chat.create_channel",
       {{"name"}, {"integration", "topic"}, {}}},
      {StepKind::kChatInvite, "chat.invite", {{"users"}, {"integration"}, {}}},
      {StepKind::kChatArchive, "chat.archive", {{}, {"integration", "text"}, {}}},
      {StepKind::kTicketCreate,
       "ticket.create",
       {{"project", "summary"}, {"issue_type", "description", "priority", "duedate"}, {}}},
      {StepKind::kTicketComment, "ticket.comment", {{"text"}, {}, {}}},
      {StepKind::kTicketTransition, "ticket.transition", {{"transition"}, {"comment"}, {}}},
      {StepKind::kStatusCreate,
       "status.create",
       {{"name", "status"}, {"body", "impact", "components"}, {}}},
      {StepKind::kStatusUpdate, "status.update", {{"status"}, {"body"}, {}}},
      {StepKind::kStatusResolve, "status.resolve", {{}, {"body"}, {}}},
      {StepKind::kMonitoringComment, "monitoring.comment", {{"text"}, {}, {}}},
      {StepKind::kPage, "page", {{"policy"}, {"message"}, {}}},
      {StepKind::kRemediate,
       "remediate",
       {{"action"}, {"hosts", "target", "parameters", "timeout"}, {}}},
      {StepKind::kRollback,
       "rollback",
       {{}, {"hosts", "target", "parameters", "timeout", "verify_within"}, {"action", "job"}}},
      {StepKind::kWebhook, "webhook", {{"url"}, {"body"}, {}}},
      {StepKind::kEmail, "email", {{"to", "subject"}, {"body"}, {}}},
  }};
  return table;
}

const KindEntry& entry(StepKind kind) {
  for (const auto& e : kinds()) {
    if (e.kind == kind) return e;
  }
  return kinds()[0];  // unreachable: every kind has an entry
}

template <class T>
bool any_or_empty(const std::vector<T>& allowed, const T& value) {
  return allowed.empty() || std::find(allowed.begin(), allowed.end(), value) != allowed.end();
}

bool all_match(const incidents::Matchers& matchers, const protocol::Labels& labels) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const incidents::Matcher& m) { return m.matches(labels); });
}

std::string label_or_empty(const protocol::Labels& labels, const std::string& name) {
  auto it = labels.find(name);
  return it == labels.end() ? std::string() : it->second;
}

}  // namespace

const char* const kEventsHelp =
    "opened, escalated, acknowledged, resolved, reopened, or response:<option> "
    "(lowercase letters, digits and _)";

bool valid_event(std::string_view event) {
  for (std::string_view e : {"opened", "escalated", "acknowledged", "resolved", "reopened"}) {
    if (event == e) return true;
  }
  constexpr std::string_view kResponse = "response:";
  if (event.substr(0, kResponse.size()) != kResponse) return false;
  const std::string_view option = event.substr(kResponse.size());
  return !option.empty() && std::all_of(option.begin(), option.end(), [](char c) {
    return std::islower(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c)) || c == '_';
  });
}

const char* step_kind_name(StepKind kind) {
  return entry(kind).name;
}

std::optional<StepKind> parse_step_kind(std::string_view name) {
  for (const auto& e : kinds()) {
    if (name == e.name) return e.kind;
  }
  return std::nullopt;
}

std::vector<std::string> step_kind_names() {
  std::vector<std::string> names;
  for (const auto& e : kinds()) names.emplace_back(e.name);
  return names;
}

const StepParams& step_params(StepKind kind) {
  return entry(kind).params;
}

protocol::Labels condition_labels(const IncidentFacts& facts) {
  protocol::Labels labels = facts.labels;
  labels["severity"] = protocol::severity_name(facts.severity);
  labels["has_suspect"] = facts.has_suspect ? "true" : "false";
  return labels;
}

incidents::Recurrence PolicyConfig::default_business_hours() {
  auto hours = incidents::Recurrence::make({.weekdays = {"mon", "tue", "wed", "thu", "fri"},
                                            .start = "09:00",
                                            .end = "17:00",
                                            .duration_ms = 0,
                                            .time_zone = "UTC"});
  return hours ? std::move(hours).value() : incidents::Recurrence();
}

void set_business_times(IncidentFacts& facts, const incidents::Recurrence& hours, int64_t now_ms) {
  const incidents::Occurrence next = hours.next(now_ms);
  const int64_t at_s = std::max(next.start_ms, now_ms) / 1000;
  facts.business_start = incidents::format_local_minute(hours.zone(), at_s);
  facts.business_day = facts.business_start.substr(0, 10);
}

bool matches(const RouteMatch& match, const IncidentFacts& facts) {
  if (!any_or_empty(match.severities, facts.severity)) return false;
  if (!any_or_empty(match.services, label_or_empty(facts.labels, "service"))) return false;
  if (!any_or_empty(match.envs, label_or_empty(facts.labels, "env"))) return false;
  if (match.has_suspect && *match.has_suspect != facts.has_suspect) return false;
  return match.labels.empty() || all_match(match.labels, condition_labels(facts));
}

// The labels set_facts keeps from the facts when they are set (not empty) and neither the
// opening alert nor the group labels set them: written by the runner, not by the row.
constexpr const char* kKeptLabels[] = {"deploy_strategy", kProblemLabel};

void set_facts(IncidentFacts& f, const incidents::IncidentRow& r) {
  f.id = r.id;
  f.title = r.title;
  f.status = incidents::incident_status_name(r.status);
  f.severity = r.severity;
  std::array<std::string, std::size(kKeptLabels)> kept;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (auto it = f.labels.find(kKeptLabels[i]); it != f.labels.end()) kept[i] = it->second;
  }
  f.labels = f.alert_labels;
  for (const auto& [name, value] : r.group_labels) f.labels[name] = value;
  for (size_t i = 0; i < kept.size(); ++i) {
    if (!kept[i].empty()) f.labels.emplace(kKeptLabels[i], std::move(kept[i]));
  }
  f.affected_hosts = r.open() ? r.affected_hosts : r.peak_hosts;
}

bool facts_current(const IncidentFacts& f, const incidents::IncidentRow& r) {
  if (f.id != r.id || f.title != r.title || f.status != incidents::incident_status_name(r.status) ||
      f.severity != r.severity ||
      f.affected_hosts != (r.open() ? r.affected_hosts : r.peak_hosts)) {
    return false;
  }
  // The labels set_facts would make: the group labels, the alert's that they leave, and
  // the kept ones (unless one of those sets it, or it is empty: then it goes).
  size_t expected = 0;
  auto has = [&](const std::string& name, const std::string& value) {
    auto it = f.labels.find(name);
    return it != f.labels.end() && it->second == value;
  };
  for (const auto& [name, value] : r.group_labels) {
    if (!has(name, value)) return false;
    ++expected;
  }
  for (const auto& [name, value] : f.alert_labels) {
    if (r.group_labels.contains(name)) continue;
    if (!has(name, value)) return false;
    ++expected;
  }
  for (const char* name : kKeptLabels) {
    if (r.group_labels.contains(name) || f.alert_labels.contains(name)) continue;
    auto it = f.labels.find(name);
    if (it == f.labels.end()) continue;
    if (it->second.empty()) return false;
    ++expected;
  }
  return f.labels.size() == expected;
}

std::vector<const Route*> select_routes(const PolicyConfig& config, const IncidentFacts& facts) {
  std::vector<const Route*> out;
  for (const auto& route : config.routes) {
    if (!matches(route.match, facts)) continue;
    out.push_back(&route);
    if (!route.continue_matching) break;
  }
  return out;
}

bool condition_holds(const Step& step, const IncidentFacts& facts) {
  return step.condition.empty() || all_match(step.condition, condition_labels(facts));
}

std::vector<const Step*> steps_for(const Workflow& workflow, std::string_view event,
                                   const IncidentFacts& facts) {
  std::vector<const Step*> out;
  for (const auto& step : workflow.steps) {
    if (std::find(step.on.begin(), step.on.end(), event) == step.on.end()) continue;
    if (!condition_holds(step, facts)) continue;
    out.push_back(&step);
  }
  return out;
}

}  // namespace reflex::hub::policy
