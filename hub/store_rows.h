// The hub store's own rows (agents, suspects, outbox, workflows) as both backends write
// and read them (hub/sqlite_store.cc and its table modules; hub/pg_store.cc and
// hub/pg_tables.cc). Same shape as hub/incidents/incident_rows.h, whose helpers these use:
// a column list, the values a row binds in that order, and a reader templated over the
// backend's row type.
#pragma once

#include <algorithm>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <vector>

#include "common/json_text.h"
#include "hub/incidents/incident_rows.h"
#include "hub/outbox/outbox_row.h"
#include "hub/policy/workflow_state.h"
#include "hub/store.h"

namespace reflex::hub::rows {

using incidents::rows::bind_values;
using incidents::rows::flag;

// The severity names at or above `min`, as SQL string literals for an IN list (the
// incidents list's filter, the same text in both dialects).
inline std::string severities_from(protocol::Severity min) {
  std::string out;
  for (auto s : {protocol::Severity::kInfo, protocol::Severity::kWarning, protocol::Severity::kHigh,
                 protocol::Severity::kCritical}) {
    if (s < min) continue;
    if (!out.empty()) out += ", ";
    out += std::string("'") + protocol::severity_name(s) + "'";
  }
  return out;
}

// What an incident's detail lists as changes: the newest `limit` changes of `service` and
// of the services `dependencies` names, newest first. `list(service, limit)` reads one
// service's newest; both readers pass their own.
template <class List>
Result<std::vector<incidents::Change>> recent_changes(const std::string& service,
                                                      const DependenciesFn& dependencies,
                                                      size_t limit, List&& list) {
  std::vector<std::string> services{service};
  if (dependencies) {
    for (auto& dep : dependencies(service)) {
      if (std::find(services.begin(), services.end(), dep) == services.end()) {
        services.push_back(std::move(dep));
      }
    }
  }
  std::vector<incidents::Change> out;
  for (const auto& s : services) {
    Result<std::vector<incidents::Change>> some = list(s, limit);
    if (!some) return some.status();
    out.insert(out.end(), some->begin(), some->end());
  }
  std::stable_sort(out.begin(), out.end(),
                   [](const auto& a, const auto& b) { return a.at_ms > b.at_ms; });
  if (out.size() > limit) out.resize(limit);
  return out;
}

// ---- agents ----

inline constexpr std::string_view kAgentColumns =
    "id, hostname, version, labels, first_seen_ms, last_seen_ms, state, state_since_ms, "
    "heartbeat_ms, spool_depth, open_circuits, acked_seq";

inline AgentState parse_agent_state(std::string_view s) {
  return s == "lost" ? AgentState::kLost : AgentState::kAlive;
}

// In kAgentColumns order.
inline auto agent_values(const AgentRecord& a) {
  return std::make_tuple(a.id, a.hostname, a.version, incidents::rows::labels_json(a.labels),
                         a.first_seen_ms, a.last_seen_ms, std::string(agent_state_name(a.state)),
                         a.state_since_ms, a.heartbeat_ms, static_cast<int64_t>(a.spool_depth),
                         static_cast<int64_t>(a.open_circuits), static_cast<int64_t>(a.acked_seq));
}

// Agents' labels as they have always been read: what is not a JSON object of strings is
// left out.
inline protocol::Labels lenient_labels(std::string_view text) {
  protocol::Labels out;
  auto labels = nlohmann::json::parse(text, nullptr, false);
  if (labels.is_object()) {
    for (auto& [k, v] : labels.items()) {
      if (v.is_string()) out[k] = v.get<std::string>();
    }
  }
  return out;
}

template <class Row>
AgentRecord read_agent(const Row& st) {
  AgentRecord a;
  a.id = st.column_text(0);
  a.hostname = st.column_text(1);
  a.version = st.column_text(2);
  a.labels = lenient_labels(st.column_text_view(3));
  a.first_seen_ms = st.column_int64(4);
  a.last_seen_ms = st.column_int64(5);
  a.state = parse_agent_state(st.column_text_view(6));
  a.state_since_ms = st.column_int64(7);
  a.heartbeat_ms = st.column_int64(8);
  a.spool_depth = static_cast<uint64_t>(st.column_int64(9));
  a.open_circuits = static_cast<uint32_t>(st.column_int64(10));
  a.acked_seq = static_cast<uint64_t>(st.column_int64(11));
  return a;
}

// (agent_id, state, at_ms, reason)
inline auto state_change_values(const AgentStateChange& c) {
  return std::make_tuple(c.agent_id, std::string(agent_state_name(c.state)), c.at_ms, c.reason);
}

// ---- incident_suspects ----

inline std::vector<std::string> lenient_hosts(std::string_view text) {
  std::vector<std::string> out;
  const auto hosts = nlohmann::json::parse(text, nullptr, false);
  if (hosts.is_array()) {
    for (const auto& h : hosts) {
      if (h.is_string()) out.push_back(h.get<std::string>());
    }
  }
  return out;
}

// (incident_id, change_id, on_dependency, lead_ms, summary, evidence, at_ms)
inline auto suspect_values(const SuspectRecord& r) {
  return std::make_tuple(static_cast<int64_t>(r.incident_id), r.suspect.change.id,
                         r.suspect.on_dependency, r.suspect.lead_ms, r.suspect.summary,
                         r.suspect.evidence, r.at_ms);
}

// An incident's suspect with its change as stored: incident_suspects s JOIN changes c.
inline constexpr std::string_view kSuspectJoinColumns =
    "s.change_id, s.on_dependency, s.lead_ms, s.summary, s.evidence, s.at_ms, c.service, "
    "c.environment, c.version, c.hosts, c.strategy, c.active_color, c.commit_sha, c.author, "
    "c.link, c.source, c.at_ms";

// Columns in kSuspectJoinColumns order. Hosts or a strategy that no longer parse are
// left out rather than failing the incident's detail.
template <class Row>
SuspectRecord read_suspect(const Row& st, uint64_t incident_id) {
  SuspectRecord r;
  r.incident_id = incident_id;
  incidents::Change& c = r.suspect.change;
  c.id = st.column_text(0);
  r.suspect.on_dependency = flag(st, 1);
  r.suspect.lead_ms = st.column_int64(2);
  r.suspect.summary = st.column_text(3);
  r.suspect.evidence = st.column_text(4);
  r.at_ms = st.column_int64(5);
  c.service = st.column_text(6);
  c.environment = st.column_text(7);
  c.version = st.column_text(8);
  c.hosts = lenient_hosts(st.column_text_view(9));
  if (!st.column_text_view(10).empty()) {
    auto s = incidents::parse_deploy_strategy(st.column_text_view(10), "strategy");
    if (s) c.strategy = *s;
  }
  c.active_color = st.column_text(11);
  c.commit = st.column_text(12);
  c.author = st.column_text(13);
  c.link = st.column_text(14);
  c.source = st.column_text(15);
  c.at_ms = st.column_int64(16);
  return r;
}

// ---- outbox ----

inline constexpr std::string_view kOutboxColumns =
    "id, integration, operation, idempotency_key, incident_id, payload, state, attempts, "
    "next_attempt_ms, last_error, result, created_ms, updated_ms";

// In kOutboxColumns order.
inline auto outbox_values(const OutboxRow& r) {
  std::optional<int64_t> incident;
  if (r.incident_id) incident = static_cast<int64_t>(*r.incident_id);
  return std::make_tuple(static_cast<int64_t>(r.id), r.integration, r.operation, r.idempotency_key,
                         incident, json_text(r.payload), std::string(outbox_state_name(r.state)),
                         static_cast<int64_t>(r.attempts), r.next_attempt_ms, r.last_error,
                         json_text(r.result), r.created_ms, r.updated_ms);
}

// (id, state, attempts, next_attempt_ms, last_error, result, updated_ms)
inline auto outbox_update_values(const OutboxUpdate& u) {
  return std::make_tuple(static_cast<int64_t>(u.id), std::string(outbox_state_name(u.state)),
                         static_cast<int64_t>(u.attempts), u.next_attempt_ms, u.last_error,
                         json_text(u.result), u.updated_ms);
}

// Lenient: text that no longer parses as JSON reads as null.
inline nlohmann::json outbox_json(std::string_view text) {
  auto v = nlohmann::json::parse(text, nullptr, false);
  return v.is_discarded() ? nlohmann::json() : v;
}

// Columns: kOutboxColumns.
template <class Row>
OutboxRow read_outbox(const Row& st) {
  OutboxRow r;
  r.id = static_cast<uint64_t>(st.column_int64(0));
  r.integration = st.column_text(1);
  r.operation = st.column_text(2);
  r.idempotency_key = st.column_text(3);
  if (!st.column_is_null(4)) r.incident_id = static_cast<uint64_t>(st.column_int64(4));
  r.payload = outbox_json(st.column_text_view(5));
  r.state = parse_outbox_state(st.column_text_view(6)).value_or(OutboxState::kPending);
  r.attempts = static_cast<uint32_t>(st.column_int64(7));
  r.next_attempt_ms = st.column_int64(8);
  r.last_error = st.column_text(9);
  r.result = outbox_json(st.column_text_view(10));
  r.created_ms = st.column_int64(11);
  r.updated_ms = st.column_int64(12);
  return r;
}

inline Status missing_outbox_row(uint64_t id) {
  return Status::error("constraint", "outbox row " + std::to_string(id) + " does not exist");
}

// ---- incident_workflows ----

// (incident_id, active, doc, updated_ms)
inline auto workflow_values(const policy::IncidentWorkflow& w) {
  return std::make_tuple(static_cast<int64_t>(w.incident_id), w.active(),
                         json_text(policy::workflow_json(w)), w.updated_ms);
}

// Columns: doc, incident_id, updated_ms.
template <class Row>
Result<policy::IncidentWorkflow> read_workflow(const Row& st) {
  const nlohmann::json doc = nlohmann::json::parse(st.column_text_view(0), nullptr, false);
  auto w = policy::parse_workflow(doc);
  if (!w) return w.status().with_context("incident_workflows row " + st.column_text(1));
  w->updated_ms = st.column_int64(2);
  return w;
}

}  // namespace reflex::hub::rows
