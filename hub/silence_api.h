// The silence routes of the hub's HTTP API (JSON). Reads go to the store through a
// connection of this API's own (the last committed state); creating and expiring go to
// the loop (Correlator) and are answered once the silence row is committed, so an answer
// always means durable.
//
//   POST   /api/v1/silences              create (body below) -> 201 {"id": 7, "silence": {...}}
//   GET    /api/v1/silences?state=       active, pending or expired; all when absent
//   GET    /api/v1/silences/{id}
//   DELETE /api/v1/silences/{id}         expire now; actor from ?actor= or {"actor": ...}
//   POST   /api/v1/silences/{id}/expire  {"actor": "bob"}, the same
//
// Create body: {"matchers": ["service=\"checkout\"", "env=~prod"], "duration": "2h",
// "created_by": "alice", "comment": "deploying"}. Matchers are texts (as in hub.yaml) or
// objects {"name", "value", "op": "=" | "!=" | "=~" | "!~"} (Alertmanager's
// {"name", "value", "isRegex", "isEqual"} is read too). Times: `ends_at` (RFC 3339) or
// `duration` (from `starts_at`, default now); `starts_at` optional. `actor` is accepted
// for `created_by`. Errors are {"error": {"code", "message"}} naming the field: 400 for
// bad input (nothing changes), 404 unknown id, 409 already expired, 503 not committed.
// Until bearer tokens supply it, the actor comes from the body.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/loop.h"
#include "common/status.h"
#include "hub/config.h"
#include "hub/incidents/silences.h"
#include "hub/silence_reader.h"
#include "hub/suppress.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace reflex::hub {

// Hands a silence command to the correlator; runs on the loop thread.
using SubmitSilence = std::function<void(SilenceCommand, std::shared_ptr<SilenceAnswer>)>;

class SilenceApi {
 public:
  // Opens a reader on the store `cfg` names (open_store() must have migrated it).
  // `door`, `clock` (read on the HTTP threads, so thread-safe) must
  // outlive the SilenceApi.
  static Result<std::unique_ptr<SilenceApi>> open(const StoreConfig& cfg, LoopDoor& door,
                                                  const Clock& clock, SubmitSilence submit);
  // Before the server listens.
  void add_routes(httplib::Server& server);

 private:
  SilenceApi(LoopDoor& door, const Clock& clock, SubmitSilence submit,
             std::unique_ptr<SilenceReader> reader);
  void create(const httplib::Request& req, httplib::Response& res);
  void list(const httplib::Request& req, httplib::Response& res);
  void show(const httplib::Request& req, httplib::Response& res);
  void expire(const httplib::Request& req, httplib::Response& res);
  // Sends `command` to the loop and waits for its commit.
  Result<incidents::Silence> run(SilenceCommand command);

  LoopDoor& door_;
  const Clock& clock_;
  SubmitSilence submit_;
  std::unique_ptr<SilenceReader> reader_;
};

// ---- the parts that decide, tested without a server ----

// The body of POST /api/v1/silences, as a command. `now_ms` places `duration` when no
// starts_at is given. Errors are "invalid_body" naming the field ("matchers[1]: ...").
// `token_actor` is request_actor() (api_auth.h): with a bearer token the creator is the
// token's name, and created_by/actor may be left out (if given, it must be that name);
// without one (an open API) created_by or actor is required.
Result<SilenceCommand> parse_silence_create(std::string_view body, int64_t now_ms,
                                            std::string_view token_actor = {});
// The actor of an expiry: the bearer token's name, else `?actor=` or a JSON body
// {"actor": ...} (an empty body is allowed with the query). Errors name the field.
Result<std::string> parse_expire_actor(std::string_view body,
                                       const std::multimap<std::string, std::string>& params,
                                       std::string_view token_actor = {});
// GET's `state` filter; nullopt: every silence. Unknown parameters are refused.
Result<std::optional<incidents::SilenceState>> parse_silence_query(
    const std::multimap<std::string, std::string>& params);
// 400, 404, 409, 503 or 500.
int silence_http_status(const Status& st);

nlohmann::json silence_json(const incidents::Silence& silence, int64_t now_ms);

}  // namespace reflex::hub
