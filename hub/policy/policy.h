// Routes and workflows: which incidents engage whom, and what is done on each step of
// their life. Declared in hub.yaml (policy_config.h) and decided here as pure functions
// of what routing knows about an incident, so `reflexctl route test` can show what an
// incident would get without sending anything.
//
//  - A route matches on severity, service, env, label matchers and whether a suspect
//    change was named. Routes are tried in order; the first that matches applies, and
//    when it says `continue`, the next matching one applies too, and so on.
//  - A route names a workflow: steps, each run on some incident events (opened,
//    escalated, acknowledged, resolved, reopened, response:<option>) when its optional
//    condition holds, each of one kind (chat.post, ticket.create, page, ...) with its
//    parameters as Mustache templates over the incident (templates.h).
//  - A route with `hold_while_healing` holds its opened/reopened steps while agents
//    heal the incident's alerts themselves (runner.h): nobody is woken for what a host
//    fixes on its own.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "hub/incidents/incident.h"
#include "hub/incidents/maintenance.h"
#include "hub/incidents/matchers.h"
#include "protocol/messages.h"

namespace reflex::hub::policy {

// "opened", "escalated", "acknowledged", "resolved", "reopened", or "response:<option>"
// with an option of lowercase letters, digits and _ ("response:start_mim").
bool valid_event(std::string_view event);
extern const char* const kEventsHelp;  // for error messages: the list above

enum class StepKind : uint8_t {
  kChatPost,
  kChatUpdate,
  kChatReply,
  kChatCreateChannel,
  kChatInvite,
  kChatArchive,
  kTicketCreate,
  kTicketComment,
  kTicketTransition,
  kStatusCreate,
  kStatusUpdate,
  kStatusResolve,
  kMonitoringComment,
  kPage,
  kRemediate,
  kRollback,
  kWebhook,
  kEmail,
};
// "chat.post", "chat.update", ..., "email": the name used in hub.yaml.
const char* step_kind_name(StepKind kind);
std::optional<StepKind> parse_step_kind(std::string_view name);
std::vector<std::string> step_kind_names();

// The parameters (`with:` keys) a kind requires and those it also accepts. `one_of`:
// exactly one of these must be given (a rollback runs an agent action or a CI job).
struct StepParams {
  std::vector<std::string> required;
  std::vector<std::string> optional;
  std::vector<std::string> one_of;
};
const StepParams& step_params(StepKind kind);

struct Step {
  std::string name;             // unique within its workflow
  std::vector<std::string> on;  // events, each valid_event()
  // `if`: every matcher must hold over condition_labels() of the incident.
  incidents::Matchers condition;
  StepKind kind = StepKind::kChatPost;
  std::map<std::string, std::string> with;  // parameter -> Mustache template
};

struct Workflow {
  std::string name;
  std::vector<Step> steps;
};

struct RouteMatch {
  std::vector<protocol::Severity> severities;  // any of them; empty: any severity
  std::vector<std::string> services;           // any of them; empty: any service
  std::vector<std::string> envs;               // any of them; empty: any env
  incidents::Matchers labels;                  // all must match condition_labels()
  std::optional<bool> has_suspect;             // absent: either
};

struct Route {
  std::string name;
  RouteMatch match;
  std::string workflow;  // a key of PolicyConfig::workflows
  bool continue_matching = false;
  // Up to how long opened/reopened steps wait while every firing alert of the incident
  // is being healed by its agent; 0: they never wait.
  Millis hold_while_healing{0};
};

struct PolicyConfig {
  std::vector<Route> routes;
  std::map<std::string, Workflow> workflows;
  // When people work (hub.yaml business_hours), for tickets queued for the next morning;
  // Monday to Friday 09:00-17:00 UTC unless configured.
  incidents::Recurrence business_hours = default_business_hours();

  static incidents::Recurrence default_business_hours();
};

// What routing knows about an incident.
struct IncidentFacts {
  uint64_t id = 0;
  std::string title;
  std::string status = "triggered";
  protocol::Severity severity = protocol::Severity::kWarning;
  // Its group labels (service, env, ...) over the labels of the alert that opened it
  // (alertname, team, ...: a group label wins), plus deploy_strategy and problem_id.
  protocol::Labels labels;
  protocol::Labels alert_labels;  // the labels of the alert that opened it
  bool has_suspect = false;
  uint32_t affected_hosts = 0;
  // What earlier steps created, for templates: "ticket" -> {"key": "OPS-7", "url": ...},
  // "channel" -> {"id", "name"}, "status_page" -> {"id", "url"}.
  std::map<std::string, std::map<std::string, std::string>> refs;
  // The suspect change, when one was named, is one of them too: "suspect" -> {"id",
  // "service", "version", "hosts" (comma separated), "strategy", "commit", "author",
  // "link", "summary"}.
  // Who is on call now per schedule: "checkout-primary" -> {"id", "name", "slack",
  // "email"}; absent when nobody is. Set when a call is sent, not stored.
  std::map<std::string, std::map<std::string, std::string>> oncall;
  // When business hours next begin, on their clock ("2026-11-27 09:00"), and that day
  // ("2026-11-27"), or now and today during business hours: set_business_times().
  std::string business_start;
  std::string business_day;

  bool operator==(const IncidentFacts&) const = default;
};

// The label that carries the source monitoring problem an alert names (Dynatrace's
// problem id), for monitoring.comment: kept on the facts beside the group labels.
inline constexpr const char* kProblemLabel = "problem_id";

// Sets what the incident's row says: id, title, status, severity, affected hosts (the
// peak once resolved), and the labels: the opening alert's under the group labels,
// keeping deploy_strategy and problem_id when they are set.
void set_facts(IncidentFacts& facts, const incidents::IncidentRow& row);
// Whether set_facts(facts, row) would change nothing. The runner asks it for every
// incident row of every batch, most of which change nothing a workflow sees, so it
// copies nothing.
bool facts_current(const IncidentFacts& facts, const incidents::IncidentRow& row);

// The labels routes and conditions match against: the incident's labels, plus
// `severity` (its name) and `has_suspect` ("true"/"false"), which replace labels of the
// same names.
protocol::Labels condition_labels(const IncidentFacts& facts);

bool matches(const RouteMatch& match, const IncidentFacts& facts);
// The routes that apply, in order (see the header comment); empty when none matches.
std::vector<const Route*> select_routes(const PolicyConfig& config, const IncidentFacts& facts);
// Sets facts.business_start and business_day for `now_ms`.
void set_business_times(IncidentFacts& facts, const incidents::Recurrence& hours, int64_t now_ms);
// Whether the step's `if` holds for this incident.
bool condition_holds(const Step& step, const IncidentFacts& facts);
// The steps of `workflow` that run on `event` for this incident, in order.
std::vector<const Step*> steps_for(const Workflow& workflow, std::string_view event,
                                   const IncidentFacts& facts);

}  // namespace reflex::hub::policy
