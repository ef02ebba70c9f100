// The incident routes of the hub's HTTP API (JSON). Reads go to the store through the
// HubReader on the HTTP threads; actions go to the loop (Correlator) and are answered
// once their changes are committed, so an OK always means durable.
//
//   GET  /api/v1/incidents?status=&service=&severity=&since=&limit=
//   GET  /api/v1/incidents/{id}          the incident, its members and its timeline
//   POST /api/v1/incidents/{id}/ack      {"actor": "alice"}
//   POST /api/v1/incidents/{id}/resolve  {"actor": "alice"}
//   POST /api/v1/incidents/{id}/assign   {"actor": "alice", "owner": "bob"} ("" unassigns)
//   POST /api/v1/incidents/{id}/notes    {"actor": "alice", "text": "..."}
//   GET  /api/v1/alerts?limit=           pending and firing alerts
//   GET  /api/v1/incidents/{id}/report   the post-incident report, text/markdown
//                                        (see incident_report.h)
//
// Errors are {"error": {"code": ..., "message": ...}}, the message naming the field or
// parameter: 400 for a bad body or query (nothing changes), 404 for an unknown id, 409
// for an action the incident's state refuses, 503 when the change could not be
// committed. With bearer tokens (api_auth.h) the token's name is the actor; without,
// `actor` is required in the body.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>

#include "common/clock.h"
#include "common/loop.h"
#include "common/status.h"
#include "hub/agents.h"
#include "hub/correlate.h"
#include "hub/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace reflex::hub {

// Hands an action to the correlator; runs on the loop thread.
using SubmitAction = std::function<void(IncidentAction, std::shared_ptr<ActionAnswer>)>;

class IncidentApi {
 public:
  // All must outlive the IncidentApi. `registry` is read on the loop thread only;
  // `clock` is read on the HTTP threads (for `since`), so it must be thread-safe.
  IncidentApi(LoopDoor& door, const Clock& clock, const AgentRegistry& registry, HubReader& reader,
              SubmitAction submit);
  void add_routes(httplib::Server& server);

 private:
  void list(const httplib::Request& req, httplib::Response& res);
  void show(const httplib::Request& req, httplib::Response& res);
  void act(IncidentAction::Kind kind, const httplib::Request& req, httplib::Response& res);
  void alerts(const httplib::Request& req, httplib::Response& res);
  void report(const httplib::Request& req, httplib::Response& res);
  // Hosts per service from the registry (asked of the loop); nullopt if it did not answer.
  std::optional<std::unordered_map<std::string, uint32_t>> known_hosts();

  LoopDoor& door_;
  const Clock& clock_;
  const AgentRegistry& registry_;
  HubReader& reader_;
  SubmitAction submit_;
};

// ---- the parts that decide, tested without a server ----

// The query of GET /api/v1/incidents. status: triggered, acknowledged, resolved or
// open; service: exact; severity: this or higher; since: epoch ms, or a duration back
// from `now_ms` ("2h"); limit: 1 to 1000 (default 100). Unknown parameters are refused.
// A `since` query parameter: epoch ms, or a duration back from `now_ms` ("2h"). The error
// is "invalid_query" naming `since`.
Result<int64_t> parse_since(const std::string& value, int64_t now_ms);
Result<IncidentQuery> parse_incident_query(const std::multimap<std::string, std::string>& params,
                                           int64_t now_ms);
// The body of an action on incident `id`: a JSON object with a non-empty string
// `actor`, plus `owner` (assign, a string) or `text` (notes, non-empty). Unknown fields
// are refused. Errors are "invalid_body" and name the field.
//
// `token_actor` is the name of the bearer token the request came with (request_actor();
// "" when the API is open). With one, the token is the actor: `actor` may be left out
// (and an ack or resolve may have an empty body), and if given must equal the token's
// name, else a 400 naming `actor`. Refusing a mismatch rather than ignoring it surfaces
// a script that believes it acts as someone else (a shared or misplaced token) instead
// of silently recording a different name than the one it sent.
Result<IncidentAction> parse_action(IncidentAction::Kind kind, uint64_t id, std::string_view body,
                                    std::string_view token_actor = {});
// HTTP status for a refusal: 400, 404, 409, 503 or 500.
int http_status_of(const Status& st);

// JSON documents. `known_hosts` is n in "k of n hosts" (0: unknown).
nlohmann::json incident_json(const incidents::IncidentRow& row, uint32_t known_hosts);
nlohmann::json incident_detail_json(const IncidentDetail& detail, uint32_t known_hosts);
nlohmann::json alert_json(const incidents::AlertRow& row);

}  // namespace reflex::hub
