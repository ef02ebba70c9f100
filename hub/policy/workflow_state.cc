#include "hub/policy/workflow_state.h"

#include <iterator>

#include "hub/incidents/alert_signal.h"
#include "hub/store_rows.h"

namespace reflex::hub::policy {
namespace {

using nlohmann::json;

constexpr const char* kCallStates[] = {"waiting", "sent", "done", "failed", "skipped"};
constexpr const char* kObjectStates[] = {"pending", "ready", "failed"};
static_assert(std::size(kCallStates) == static_cast<size_t>(CallState::kSkipped) + 1);
static_assert(std::size(kObjectStates) == static_cast<size_t>(ObjectState::kFailed) + 1);

template <class Enum, size_t N>
std::optional<Enum> parse_enum(const json& v, const char* const (&names)[N]) {
  if (!v.is_string()) return std::nullopt;
  for (size_t i = 0; i < N; ++i) {
    if (v.get<std::string>() == names[i]) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

Status bad(const std::string& field, const std::string& why) {
  return Status::error("invalid_workflow", field + ": " + why);
}

// Reads `doc[name]` into `out` when present and of the right type.
template <class T>
Status read(const json& doc, const std::string& path, const char* name, T& out) {
  auto it = doc.find(name);
  if (it == doc.end()) return bad(path + name, "missing");
  try {
    out = it->get<T>();
  } catch (const json::exception&) {
    return bad(path + name, "wrong type");
  }
  return Status::ok();
}

json facts_json(const IncidentFacts& f) {
  return {{"id", f.id},
          {"title", f.title},
          {"status", f.status},
          {"severity", protocol::severity_name(f.severity)},
          {"labels", f.labels},
          {"alert_labels", f.alert_labels},
          {"has_suspect", f.has_suspect},
          {"affected_hosts", f.affected_hosts}};
}

Result<IncidentFacts> parse_facts(const json& doc) {
  IncidentFacts f;
  REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "id", f.id));
  REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "title", f.title));
  REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "status", f.status));
  std::string severity;
  REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "severity", severity));
  auto s = incidents::parse_severity(severity, "facts.severity");
  if (!s) return s.status();
  f.severity = *s;
  REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "labels", f.labels));
  if (doc.contains("alert_labels")) {  // documents written before it was kept have none
    REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "alert_labels", f.alert_labels));
  }
  REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "has_suspect", f.has_suspect));
  REFLEX_RETURN_IF_ERROR(read(doc, "facts.", "affected_hosts", f.affected_hosts));
  return f;
}

}  // namespace

const char* call_state_name(CallState s) {
  const auto i = static_cast<size_t>(s);
  return i < std::size(kCallStates) ? kCallStates[i] : "unknown";
}

bool IncidentWorkflow::active() const {
  if (held) return true;
  for (const auto& c : calls) {
    if (!c.finished()) return true;
  }
  return false;
}

json workflow_json(const IncidentWorkflow& w) {
  json calls = json::array();
  for (const auto& c : w.calls) {
    calls.push_back({{"seq", c.seq},
                     {"event", c.event},
                     {"route", c.route},
                     {"step", c.step},
                     {"kind", c.kind},
                     {"with", c.with},
                     {"integration", c.integration},
                     {"state", call_state_name(c.state)},
                     {"outbox_id", c.outbox_id},
                     {"note", c.note},
                     {"at_ms", c.at_ms}});
  }
  json objects = json::object();
  for (const auto& [name, o] : w.objects) {
    objects[name] = {{"state", kObjectStates[static_cast<size_t>(o.state)]},
                     {"call_seq", o.call_seq},
                     {"data", o.data}};
  }
  return {{"incident_id", w.incident_id},
          {"facts", facts_json(w.facts)},
          {"held", w.held},
          {"next_seq", w.next_seq},
          {"calls", calls},
          {"objects", objects}};
}

Result<IncidentWorkflow> parse_workflow(const json& doc) {
  if (!doc.is_object()) return bad("workflow", "not an object");
  IncidentWorkflow w;
  REFLEX_RETURN_IF_ERROR(read(doc, "", "incident_id", w.incident_id));
  auto facts = doc.find("facts");
  if (facts == doc.end() || !facts->is_object()) return bad("facts", "missing");
  auto f = parse_facts(*facts);
  if (!f) return f.status();
  w.facts = std::move(f).value();
  REFLEX_RETURN_IF_ERROR(read(doc, "", "held", w.held));
  REFLEX_RETURN_IF_ERROR(read(doc, "", "next_seq", w.next_seq));
  auto calls = doc.find("calls");
  if (calls == doc.end() || !calls->is_array()) return bad("calls", "missing");
  for (size_t i = 0; i < calls->size(); ++i) {
    const json& c = (*calls)[i];
    const std::string path = "calls[" + std::to_string(i) + "].";
    if (!c.is_object()) return bad(path, "not an object");
    WorkflowCall call;
    REFLEX_RETURN_IF_ERROR(read(c, path, "seq", call.seq));
    REFLEX_RETURN_IF_ERROR(read(c, path, "event", call.event));
    REFLEX_RETURN_IF_ERROR(read(c, path, "route", call.route));
    REFLEX_RETURN_IF_ERROR(read(c, path, "step", call.step));
    REFLEX_RETURN_IF_ERROR(read(c, path, "kind", call.kind));
    REFLEX_RETURN_IF_ERROR(read(c, path, "with", call.with));
    REFLEX_RETURN_IF_ERROR(read(c, path, "integration", call.integration));
    auto state = parse_enum<CallState>(c.value("state", json()), kCallStates);
    if (!state) return bad(path + "state", "unknown state");
    call.state = *state;
    REFLEX_RETURN_IF_ERROR(read(c, path, "outbox_id", call.outbox_id));
    REFLEX_RETURN_IF_ERROR(read(c, path, "note", call.note));
    REFLEX_RETURN_IF_ERROR(read(c, path, "at_ms", call.at_ms));
    w.calls.push_back(std::move(call));
  }
  auto objects = doc.find("objects");
  if (objects == doc.end() || !objects->is_object()) return bad("objects", "missing");
  for (const auto& [name, o] : objects->items()) {
    const std::string path = "objects." + name + ".";
    if (!o.is_object()) return bad(path, "not an object");
    WorkflowObject obj;
    auto state = parse_enum<ObjectState>(o.value("state", json()), kObjectStates);
    if (!state) return bad(path + "state", "unknown state");
    obj.state = *state;
    REFLEX_RETURN_IF_ERROR(read(o, path, "call_seq", obj.call_seq));
    obj.data = o.value("data", json::object());
    w.objects.emplace(name, std::move(obj));
  }
  return w;
}

const std::string_view kWorkflowSchemaSql = R"sql(
CREATE TABLE incident_workflows (
  incident_id INTEGER PRIMARY KEY,
  active INTEGER NOT NULL,     -- 1: loaded when the hub starts
  doc TEXT NOT NULL,           -- JSON: workflow_json()
  updated_ms INTEGER NOT NULL
) STRICT;
CREATE INDEX incident_workflows_active ON incident_workflows(active);
)sql";

Result<WorkflowTables> WorkflowTables::prepare(sqlite::Database& db) {
  WorkflowTables t(db);
  auto upsert = db.prepare(
      "INSERT INTO incident_workflows (incident_id, active, doc, updated_ms) VALUES (?, ?, ?, ?) "
      "ON CONFLICT(incident_id) DO UPDATE SET active = excluded.active, doc = excluded.doc, "
      "updated_ms = excluded.updated_ms");
  if (!upsert) return upsert.status();
  t.upsert_ = std::make_unique<sqlite::Statement>(std::move(upsert).value());
  return t;
}

Status WorkflowTables::upsert(const IncidentWorkflow& w) {
  REFLEX_RETURN_IF_ERROR(rows::bind_values(*upsert_, rows::workflow_values(w)));
  return upsert_->run();
}

namespace {

Result<std::vector<IncidentWorkflow>> select_workflows(sqlite::Database& db, std::string_view sql,
                                                       std::optional<int64_t> id) {
  auto st = db.prepare(sql);
  if (!st) return st.status();
  if (id) REFLEX_RETURN_IF_ERROR(st->bind_all(*id));
  std::vector<IncidentWorkflow> out;
  for (;;) {
    auto row = st->step();
    if (!row) return row.status();
    if (!*row) break;
    auto w = rows::read_workflow(*st);
    if (!w) return w.status();
    out.push_back(std::move(w).value());
  }
  return out;
}

}  // namespace

Result<std::vector<IncidentWorkflow>> WorkflowTables::load_active() {
  return select_workflows(
      *db_,
      "SELECT doc, incident_id, updated_ms FROM incident_workflows WHERE active = 1 "
      "ORDER BY incident_id",
      std::nullopt);
}

Result<std::optional<IncidentWorkflow>> WorkflowTables::find(uint64_t incident_id) {
  auto rows = select_workflows(
      *db_, "SELECT doc, incident_id, updated_ms FROM incident_workflows WHERE incident_id = ?",
      static_cast<int64_t>(incident_id));
  if (!rows) return rows.status();
  if (rows->empty()) return std::optional<IncidentWorkflow>();
  return std::optional<IncidentWorkflow>(std::move(rows->front()));
}

}  // namespace reflex::hub::policy
