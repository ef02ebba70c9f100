// What the workflow runner (runner.h) keeps about one incident, as a value that is
// stored whole as one JSON document per incident (table incident_workflows), written in
// the same group commit as the incident change and the outbox rows it causes:
//
//  - facts: the incident as routing and templates last saw it (title, status, severity,
//    labels, affected hosts, whether a suspect change was named);
//  - calls: every step the incident's workflows ran, in order, each waiting (queued
//    behind an earlier call to the same integration, or for an object a template names),
//    sent (an outbox row), done, failed or skipped, with a note saying why;
//  - objects: what earlier calls created and later calls act on: "message:<step>" (a
//    chat message: integration, channel, ts), "channel" (a chat channel: integration, id,
//    name), "ticket" (key, url), "status_page" (id, url), "page" (a PagerDuty dedup key).
//
// The table holds one row per incident the runner ever acted for; `active` rows (the
// incident is held by the engine, or a call is unfinished) are loaded at start.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/sqlite.h"
#include "common/status.h"
#include "hub/policy/policy.h"

namespace reflex::hub::policy {

enum class CallState { kWaiting, kSent, kDone, kFailed, kSkipped };
const char* call_state_name(CallState s);

// One step run for one event, or a call the runner adds by itself ("refresh": a chat
// message updated in place after the incident changed).
struct WorkflowCall {
  uint64_t seq = 0;   // per incident, from 1; the outbox key is wf:<incident>:<seq>
  std::string event;  // "opened", "response:start_mim", "" for refresh
  std::string route;  // "" for refresh
  std::string step;   // the step's name; refresh: the message object's name
  std::string kind;   // a step kind name ("chat.post"), or "refresh"
  std::map<std::string, std::string> with;  // the step's templates, rendered when sent
  std::string integration;                  // which vendor it goes to ("slack")
  CallState state = CallState::kWaiting;
  uint64_t outbox_id = 0;  // kSent and after
  std::string note;        // why it waits, was skipped or failed; what it created
  int64_t at_ms = 0;       // when the event happened

  bool finished() const { return state != CallState::kWaiting && state != CallState::kSent; }
  bool operator==(const WorkflowCall&) const = default;
};

enum class ObjectState { kPending, kReady, kFailed };

struct WorkflowObject {
  ObjectState state = ObjectState::kPending;
  uint64_t call_seq = 0;  // the call that creates it
  nlohmann::json data;    // see the header comment; chat messages also keep "template"

  bool operator==(const WorkflowObject&) const = default;
};

struct IncidentWorkflow {
  uint64_t incident_id = 0;
  IncidentFacts facts;
  bool held = true;  // the engine holds the incident (not released)
  uint64_t next_seq = 1;
  std::vector<WorkflowCall> calls;
  std::map<std::string, WorkflowObject> objects;
  int64_t updated_ms = 0;  // hub clock; the table's column, not part of the document

  bool active() const;
  bool operator==(const IncidentWorkflow&) const = default;
};

nlohmann::json workflow_json(const IncidentWorkflow& w);
// Errors name the field ("calls[2].state").
Result<IncidentWorkflow> parse_workflow(const nlohmann::json& doc);

extern const std::string_view kWorkflowSchemaSql;

// On a database (and, for writes, a transaction) someone else owns; one thread at a time.
class WorkflowTables {
 public:
  static Result<WorkflowTables> prepare(sqlite::Database& db);
  Status upsert(const IncidentWorkflow& w);
  Result<std::vector<IncidentWorkflow>> load_active();
  Result<std::optional<IncidentWorkflow>> find(uint64_t incident_id);

 private:
  explicit WorkflowTables(sqlite::Database& db) : db_(&db) {}
  sqlite::Database* db_;
  std::unique_ptr<sqlite::Statement> upsert_;
};

}  // namespace reflex::hub::policy
