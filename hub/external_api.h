// The routes by which the world outside the agents reaches the hub: alerts from
// monitoring tools and changes (deploys). Bodies are parsed on the HTTP threads (pure
// parsers under hub/incidents/), handed to the Correlator through the loop door, and
// answered only once committed, so an OK always means durable; a failed commit is
// answered 503 and keeps nothing.
//
//   POST /api/v2/alerts                  Alertmanager-compatible (Prometheus can point its
//                                        alertmanagers here); replies as Alertmanager does
//                                        (alertmanager_in.h); 503 when the commit fails
//   GET  /api/v2/status                  a minimal Alertmanager status document
//   GET  /-/healthy, /-/ready            200 "OK"
//   POST /api/v1/events                  generic events, or an Alertmanager webhook body
//                                        (generic_events.h): 200 {"accepted": n}
//   POST /api/v1/alertmanager/webhook    an Alertmanager webhook body: 200 {"accepted": n}
//   POST /api/v1/changes                 a change (changes.h): 201 {"change": {...}}, or 200
//                                        with "duplicate": true when its id is known
//   GET  /api/v1/changes?service=&since=&limit=   newest first: {"changes": [...]}
//   POST /api/v1/changes/jenkins[?token=]  Jenkins Notification plugin (change_webhooks.h)
//   POST /api/v1/changes/github          GitHub deployment_status, X-Hub-Signature-256
//                                        checked against changes.github_secret_file; a
//                                        missing or bad signature is 401
// Webhooks that record nothing (a failed build, a ping) are 200 {"ignored": "<why>"}.
// Errors on the /api/v1 routes are {"error": {"code", "message"}} naming the field:
// 400 bad body or query, 401 bad signature or token, 503 commit failed or timed out.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include "common/clock.h"
#include "common/loop.h"
#include "common/status.h"
#include "hub/config.h"
#include "hub/correlate.h"
#include "hub/store.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace reflex::hub {

// Hands external input to the correlator; runs on the loop thread.
using SubmitInput = std::function<void(ExternalInput, std::shared_ptr<InputAnswer>)>;

// What the routes need from hub.yaml, with the secrets read from their files.
struct ExternalSettings {
  int64_t resolve_timeout_ms = 5 * 60'000;
  std::string github_secret;   // "": GitHub deliveries are refused
  std::string jenkins_secret;  // "": Jenkins notifications need no token
};

// Reads the secret files `cfg` names; errors name the key and the file.
Result<ExternalSettings> external_settings(const HubConfig& cfg);
// A secret file's content without trailing whitespace; an empty secret is an error.
Result<std::string> read_secret_file(const std::string& path);

// The query of GET /api/v1/changes. service: exact; since: epoch ms or a duration back
// from `now_ms` ("2h"); limit: 1 to 1000 (default 100). Unknown parameters are refused
// ("invalid_query", naming the parameter).
Result<ChangeQuery> parse_change_query(const std::multimap<std::string, std::string>& params,
                                       int64_t now_ms);

class ExternalApi {
 public:
  // All must outlive the ExternalApi; `clock` is read on the HTTP threads, so it must be
  // thread-safe. `submit` runs on the loop thread (through `door`).
  ExternalApi(LoopDoor& door, const Clock& clock, HubReader& reader, SubmitInput submit,
              ExternalSettings settings);
  void add_routes(httplib::Server& server);

  // Applies to requests from now on (reload). Any thread.
  void configure(ExternalSettings settings);
  // Who is adding a change through POST /api/v1/changes, when the body names no author;
  // "api" until set (bearer tokens will name the caller). Set before serving.
  void set_actor(std::function<std::string(const httplib::Request&)> actor_of) {
    actor_of_ = std::move(actor_of);
  }

 private:
  void post_alerts(const httplib::Request& req, httplib::Response& res);
  void post_events(const httplib::Request& req, httplib::Response& res, bool webhook_only);
  void post_change(const httplib::Request& req, httplib::Response& res);
  void list_changes(const httplib::Request& req, httplib::Response& res);
  void post_jenkins(const httplib::Request& req, httplib::Response& res);
  void post_github(const httplib::Request& req, httplib::Response& res);
  // Hands `input` to the loop and waits for its commit (or a timeout).
  Result<InputReceipt> commit(ExternalInput input);
  // Commits a change and answers with it.
  void answer_change(incidents::Change change, httplib::Response& res);
  ExternalSettings settings() const;

  LoopDoor& door_;
  const Clock& clock_;
  HubReader& reader_;
  SubmitInput submit_;
  std::function<std::string(const httplib::Request&)> actor_of_;
  mutable std::mutex mu_;
  ExternalSettings settings_;  // guarded by mu_
  int64_t started_ms_ = 0;
};

}  // namespace reflex::hub
