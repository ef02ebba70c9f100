#include "hub/incident_api.h"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <future>
#include <set>

#include "common/duration.h"
#include "common/json_text.h"
#include "hub/api_auth.h"
#include "hub/http_api.h"
#include "hub/incident_report.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/grouping.h"
#include "hub/policy/policy.h"
#include "hub/policy/workflow_state.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

// How long a handler waits for the loop: a read is quick; an action waits for its
// commit, which may be retried while the store is busy.
constexpr auto kLoopAnswerTimeout = std::chrono::seconds(2);
constexpr auto kActionTimeout = std::chrono::seconds(8);
constexpr size_t kMaxActor = 200;
constexpr size_t kMaxText = 64 * 1024;
constexpr size_t kMaxListLimit = 1000;
constexpr size_t kMaxAlertLimit = 10'000;

Status bad_query(const std::string& param, const std::string& what) {
  return Status::error("invalid_query", param + ": " + what);
}

Status bad_body(const std::string& field, const std::string& what) {
  return Status::error("invalid_body", field + ": " + what);
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

Result<size_t> parse_limit(const std::string& text, size_t max) {
  auto v = parse_u64(text);
  if (!v || *v < 1 || *v > max) {
    return bad_query("limit", "expected a whole number from 1 to " + std::to_string(max) +
                                  ", got \"" + text + "\"");
  }
  return static_cast<size_t>(*v);
}

void send_status(httplib::Response& res, const Status& st) {
  json_error(res, http_status_of(st), st.code(), st.message());
}

const char* action_path(IncidentAction::Kind kind) {
  switch (kind) {
    case IncidentAction::Kind::kAcknowledge:
      return "ack";
    case IncidentAction::Kind::kResolve:
      return "resolve";
    case IncidentAction::Kind::kAssign:
      return "assign";
    case IncidentAction::Kind::kNote:
      return "notes";
    case IncidentAction::Kind::kRespond:
      return "respond";
  }
  return "";
}

uint32_t hosts_of(const std::unordered_map<std::string, uint32_t>& known, const std::string& svc) {
  auto it = known.find(svc);
  return it == known.end() ? 0 : it->second;
}

// The {id} of the route, or nullopt (too large to be an id: no such incident).
std::optional<uint64_t> route_id(const httplib::Request& req) {
  if (req.matches.size() < 2) return std::nullopt;
  return parse_u64(req.matches[1].str());
}

Status no_incident(const std::string& id) {
  return Status::error("not_found", "no incident " + id);
}

Status no_incident(uint64_t id) {
  return no_incident(std::to_string(id));
}

}  // namespace

Result<int64_t> parse_since(const std::string& value, int64_t now_ms) {
  if (auto ms = parse_u64(value); ms && *ms <= static_cast<uint64_t>(INT64_MAX)) {
    return static_cast<int64_t>(*ms);
  }
  if (auto ago = parse_duration(value)) return now_ms - ago->count();
  return bad_query("since",
                   "expected epoch milliseconds or a duration back from now such as 30m or 2h, "
                   "got \"" +
                       value + "\"");
}

Result<IncidentQuery> parse_incident_query(const std::multimap<std::string, std::string>& params,
                                           int64_t now_ms) {
  IncidentQuery q;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (!seen.insert(name).second) return bad_query(name, "given more than once");
    if (name == "status") {
      if (value == "open") {
        q.open_only = true;
      } else if (auto s = incidents::parse_incident_status(value)) {
        q.status = *s;
      } else {
        return bad_query(
            "status", "expected triggered, acknowledged, resolved or open, got \"" + value + "\"");
      }
    } else if (name == "service") {
      q.service = value;
    } else if (name == "severity") {
      auto s = incidents::parse_severity(value, "severity");
      if (!s) return Status::error("invalid_query", s.status().message());
      q.min_severity = *s;
    } else if (name == "since") {
      auto since = parse_since(value, now_ms);
      if (!since) return since.status();
      q.since_ms = *since;
    } else if (name == "limit") {
      auto limit = parse_limit(value, kMaxListLimit);
      if (!limit) return limit.status();
      q.limit = *limit;
    } else {
      return bad_query(name, "unknown parameter (known: limit, service, severity, since, status)");
    }
  }
  return q;
}

Result<IncidentAction> parse_action(IncidentAction::Kind kind, uint64_t id, std::string_view body,
                                    std::string_view token_actor) {
  IncidentAction a;
  a.kind = kind;
  a.incident_id = id;
  const bool by_token = !token_actor.empty();
  const json doc = by_token && body.empty() ? json::object() : json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    return Status::error("invalid_body",
                         "the body is not JSON: send an object such as {\"actor\": \"alice\"}");
  }
  if (!doc.is_object()) {
    return Status::error("invalid_body",
                         "the body must be a JSON object such as {\"actor\": "
                         "\"alice\"}");
  }
  std::set<std::string> known = {"actor"};
  if (kind == IncidentAction::Kind::kAssign) known.insert("owner");
  if (kind == IncidentAction::Kind::kNote) known.insert("text");
  if (kind == IncidentAction::Kind::kRespond) known.insert("option");
  for (const auto& [name, _] : doc.items()) {
    if (known.count(name) == 0) {
      std::string list;
      for (const auto& k : known) list += (list.empty() ? "" : ", ") + k;
      return bad_body(name, "unknown field (known here: " + list + ")");
    }
  }
  // Fields in a fixed order, so the first problem reported is always the same one.
  auto string_field = [&](const std::string& name, bool required, bool may_be_empty, size_t max,
                          std::string& out) -> Status {
    auto it = doc.find(name);
    if (it == doc.end()) {
      return required ? bad_body(name, "required") : Status::ok();
    }
    if (!it->is_string()) return bad_body(name, "must be a string");
    out = it->get<std::string>();
    if (out.empty() && !may_be_empty) return bad_body(name, "must not be empty");
    if (out.size() > max) {
      return bad_body(name, "longer than " + std::to_string(max) + " bytes");
    }
    return Status::ok();
  };
  REFLEX_RETURN_IF_ERROR(string_field("actor", !by_token, false, kMaxActor, a.actor));
  if (by_token) {
    if (!a.actor.empty() && a.actor != token_actor) {
      return bad_body("actor", "\"" + a.actor + "\" is not \"" + std::string(token_actor) +
                                   "\", the name of the bearer token sent; leave actor out "
                                   "(the token says who acts)");
    }
    a.actor = std::string(token_actor);
  }
  if (kind == IncidentAction::Kind::kAssign) {
    REFLEX_RETURN_IF_ERROR(string_field("owner", true, true, kMaxActor, a.owner));
  }
  if (kind == IncidentAction::Kind::kNote) {
    REFLEX_RETURN_IF_ERROR(string_field("text", true, false, kMaxText, a.text));
  }
  if (kind == IncidentAction::Kind::kRespond) {
    REFLEX_RETURN_IF_ERROR(string_field("option", true, false, kMaxActor, a.option));
    if (!policy::valid_event("response:" + a.option)) {
      return bad_body("option", "\"" + a.option +
                                    "\" is not an option name (lowercase letters, digits "
                                    "and _, such as start_mim)");
    }
  }
  return a;
}

int http_status_of(const Status& st) {
  const std::string& c = st.code();
  if (c == "invalid_body" || c == "invalid_query" || c == "invalid_argument") return 400;
  if (c == "not_found") return 404;
  if (c == "conflict") return 409;
  if (c == "unavailable") return 503;
  return 500;
}

json incident_json(const incidents::IncidentRow& r, uint32_t known_hosts) {
  // An open incident shows the hosts affected now; a resolved one the most it had.
  const uint32_t affected = r.open() ? r.affected_hosts : r.peak_hosts;
  return {{"id", r.id},
          {"title", r.title},
          {"status", incidents::incident_status_name(r.status)},
          {"severity", protocol::severity_name(r.severity)},
          {"service", r.service},
          {"group", r.group_labels},
          {"opened_ms", r.opened_ms},
          {"first_alert_ms", r.first_alert_ms},
          {"last_alert_ms", r.last_alert_ms},
          {"acknowledged_ms", r.acknowledged_ms},
          {"acknowledged_by", r.acknowledged_by},
          {"resolved_ms", r.resolved_ms},
          {"resolved_by", r.resolved_by},
          {"owner", r.owner},
          {"reopen_count", r.reopen_count},
          {"flapping", r.flapping},
          {"members", r.members},
          {"firing", r.firing},
          {"affected_hosts", r.affected_hosts},
          {"peak_hosts", r.peak_hosts},
          {"known_hosts", known_hosts},
          {"hosts", incidents::describe_hosts(affected, known_hosts)},
          {"resolve_due_ms", r.resolve_due_ms},
          {"reopen_until_ms", r.reopen_until_ms}};
}

json alert_json(const incidents::AlertRow& row) {
  json j = {{"fingerprint", row.fingerprint},
            {"state", protocol::alert_state_name(row.record.state)},
            {"severity", protocol::severity_name(row.record.severity)},
            {"host", row.record.host},
            {"since_ms", row.record.since_ms},
            {"last_ms", row.record.last_ms},
            {"incident_id", row.record.incident_id}};
  if (row.detail) {
    j["source"] = row.detail->source;
    j["rule"] = row.detail->rule;
    j["labels"] = row.detail->labels;
    j["annotations"] = row.detail->annotations;
  }
  return j;
}

json incident_detail_json(const IncidentDetail& d, uint32_t known_hosts) {
  json members = json::array();
  for (const auto& m : d.members) {
    members.push_back(
        {{"fingerprint", m.fingerprint}, {"host", m.host}, {"joined_ms", m.joined_ms}});
  }
  json alerts = json::array();
  for (const auto& a : d.alerts) alerts.push_back(alert_json(a));
  json timeline = json::array();
  for (const auto& e : d.timeline) {
    timeline.push_back({{"at_ms", e.at_ms},
                        {"kind", incidents::timeline_kind_name(e.kind)},
                        {"actor", e.actor},
                        {"text", e.text},
                        {"fingerprint", e.fingerprint},
                        {"host", e.host},
                        {"suppressed", e.suppressed}});
  }
  json doc = {{"incident", incident_json(d.incident, known_hosts)},
              {"members", members},
              {"alerts", alerts},
              {"timeline", timeline}};
  // What changed before it: the suspect named when it opened, and recent changes.
  if (d.suspect) {
    const auto& s = d.suspect->suspect;
    doc["suspect"] = {{"change", incidents::change_to_json(s.change)},
                      {"on_dependency", s.on_dependency},
                      {"lead_ms", s.lead_ms},
                      {"summary", s.summary},
                      {"evidence", s.evidence},
                      {"named_ms", d.suspect->at_ms}};
  } else {
    doc["suspect"] = nullptr;
  }
  json changes = json::array();
  for (const auto& c : d.changes) changes.push_back(incidents::change_to_json(c));
  doc["changes"] = changes;
  // What its workflows ran (calls) and created (objects: ticket, channel, messages, ...).
  if (d.workflow) {
    json w = policy::workflow_json(*d.workflow);
    doc["workflow"] = {{"calls", w["calls"]}, {"objects", w["objects"]}};
  } else {
    doc["workflow"] = nullptr;
  }
  return doc;
}

IncidentApi::IncidentApi(LoopDoor& door, const Clock& clock, const AgentRegistry& registry,
                         HubReader& reader, SubmitAction submit)
    : door_(door),
      clock_(clock),
      registry_(registry),
      reader_(reader),
      submit_(std::move(submit)) {}

void IncidentApi::add_routes(httplib::Server& server) {
  server.Get("/api/v1/incidents",
             [this](const httplib::Request& req, httplib::Response& res) { list(req, res); });
  server.Get(R"(/api/v1/incidents/(\d+))",
             [this](const httplib::Request& req, httplib::Response& res) { show(req, res); });
  for (auto kind : {IncidentAction::Kind::kAcknowledge, IncidentAction::Kind::kResolve,
                    IncidentAction::Kind::kAssign, IncidentAction::Kind::kNote,
                    IncidentAction::Kind::kRespond}) {
    server.Post(
        std::string(R"(/api/v1/incidents/(\d+)/)") + action_path(kind),
        [this, kind](const httplib::Request& req, httplib::Response& res) { act(kind, req, res); });
  }
  server.Get("/api/v1/alerts",
             [this](const httplib::Request& req, httplib::Response& res) { alerts(req, res); });
  server.Get(R"(/api/v1/incidents/(\d+)/report)",
             [this](const httplib::Request& req, httplib::Response& res) { report(req, res); });
}

std::optional<std::unordered_map<std::string, uint32_t>> IncidentApi::known_hosts() {
  auto answer =
      door_.call([this] { return incidents::known_hosts_by_service(registry_.snapshot()); });
  if (answer.wait_for(kLoopAnswerTimeout) != std::future_status::ready) return std::nullopt;
  return answer.get();
}

void IncidentApi::list(const httplib::Request& req, httplib::Response& res) {
  const int64_t now = clock_.now_ms();
  auto q = parse_incident_query(req.params, now);
  if (!q) return send_status(res, q.status());
  auto known = known_hosts();
  if (!known)
    return json_error(res, 503, "unavailable", "the hub's event loop did not answer in time");
  auto rows = reader_.incidents(*q);
  if (!rows) return send_status(res, rows.status());
  json list = json::array();
  for (const auto& r : *rows) list.push_back(incident_json(r, hosts_of(*known, r.service)));
  res.set_content(json_text(json{{"incidents", list}, {"now_ms", now}}), "application/json");
}

void IncidentApi::show(const httplib::Request& req, httplib::Response& res) {
  auto id = route_id(req);
  if (!id) return send_status(res, no_incident(req.matches[1].str()));
  auto detail = reader_.incident(*id);
  if (!detail) return send_status(res, detail.status());
  if (!*detail) return send_status(res, no_incident(*id));
  auto known = known_hosts();
  if (!known)
    return json_error(res, 503, "unavailable", "the hub's event loop did not answer in time");
  json doc = incident_detail_json(**detail, hosts_of(*known, (*detail)->incident.service));
  doc["now_ms"] = clock_.now_ms();
  res.set_content(json_text(doc), "application/json");
}

void IncidentApi::act(IncidentAction::Kind kind, const httplib::Request& req,
                      httplib::Response& res) {
  auto id = route_id(req);
  if (!id) return send_status(res, no_incident(req.matches[1].str()));
  auto action = parse_action(kind, *id, req.body, request_actor(req));
  if (!action) return send_status(res, action.status());
  auto answer = std::make_shared<ActionAnswer>();
  auto done = answer->get_future();
  door_.post([submit = submit_, a = std::move(action).value(), answer]() mutable {
    submit(std::move(a), std::move(answer));
  });
  if (done.wait_for(kActionTimeout) != std::future_status::ready) {
    return json_error(res, 503, "unavailable",
                      "the hub did not confirm the change within " +
                          std::to_string(kActionTimeout.count()) +
                          " s; it may still be applied: look at the incident");
  }
  Status st;
  try {
    st = done.get();
  } catch (const std::future_error&) {
    st = Status::error("unavailable", "the hub is stopping");
  }
  if (!st && st.code() == "not_found") {
    // The engine holds open and recently resolved incidents; older ones are closed.
    auto stored = reader_.incident(*id);
    if (!stored) return send_status(res, stored.status());
    if (!*stored) return send_status(res, no_incident(*id));
    if (kind != IncidentAction::Kind::kResolve) {
      return send_status(res, Status::error("conflict", "incident " + std::to_string(*id) +
                                                            " is closed (resolved, past its reopen "
                                                            "window); only notes can be added"));
    }
    st = Status::ok();  // resolving a resolved incident changes nothing
  }
  if (!st) return send_status(res, st);
  auto detail = reader_.incident(*id);
  if (!detail) return send_status(res, detail.status());
  if (!*detail) return send_status(res, no_incident(*id));
  auto known = known_hosts();
  const uint32_t n = known ? hosts_of(*known, (*detail)->incident.service) : 0;
  res.set_content(json_text(json{{"incident", incident_json((*detail)->incident, n)}}),
                  "application/json");
}

void IncidentApi::alerts(const httplib::Request& req, httplib::Response& res) {
  size_t limit = 1000;
  for (const auto& [name, value] : req.params) {
    if (name != "limit") {
      return send_status(res, bad_query(name, "unknown parameter (known: limit)"));
    }
    auto l = parse_limit(value, kMaxAlertLimit);
    if (!l) return send_status(res, l.status());
    limit = *l;
  }
  auto rows = reader_.open_alerts(limit);
  if (!rows) return send_status(res, rows.status());
  json list = json::array();
  for (const auto& r : *rows) list.push_back(alert_json(r));
  res.set_content(json_text(json{{"alerts", list}}), "application/json");
}

void IncidentApi::report(const httplib::Request& req, httplib::Response& res) {
  auto id = route_id(req);
  if (!id) return send_status(res, no_incident(req.matches[1].str()));
  auto detail = reader_.incident(*id);
  if (!detail) return send_status(res, detail.status());
  if (!*detail) return send_status(res, no_incident(*id));
  auto known = known_hosts();
  if (!known)
    return json_error(res, 503, "unavailable", "the hub's event loop did not answer in time");
  const ReportContext ctx{
      .known_hosts = hosts_of(*known, (*detail)->incident.service),
      .now_ms = clock_.now_ms(),
      .suspect = (*detail)->suspect ? std::optional((*detail)->suspect->suspect) : std::nullopt};
  res.set_content(render_incident_report(**detail, ctx), "text/markdown; charset=utf-8");
}

}  // namespace reflex::hub
