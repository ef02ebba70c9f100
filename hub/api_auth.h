// Who may call what on the hub's HTTP API: bearer tokens with roles, enforced in one
// place (a cpp-httplib pre-routing handler) from the method and path alone, so a new
// route is covered the moment it is added.
//
// The rule (required_role):
//   GET|HEAD /healthz, /metrics          open, always (load balancers, Prometheus)
//   GET|HEAD /, /ui, /ui/...             open: the dashboard's static files (dashboard.h)
//   POST /api/v1/integrations/slack/actions  open: Slack signs it (slack_actions.h)
//   POST /api/v1/changes/github          open: GitHub signs it (external_api.h)
//   POST /api/v1/changes/jenkins?token=  open: the route checks the token (external_api.h)
//   any method under /api/vN/admin/...   admin
//   other GET|HEAD                       viewer
//   other methods under /api/            responder (incidents, silences, changes,
//                                        external alerts and events, ...)
//   other methods elsewhere              admin (future routes such as a reload)
// Roles are ordered viewer < responder < admin. With no tokens configured every request
// passes (the API is open, as hub.yaml allows only on loopback or with insecure_open).
//
// Refusals: 401 {"error":{"code":"unauthorized"}} with `WWW-Authenticate: Bearer` when
// the token is missing or unknown; 403 {"error":{"code":"forbidden"}} when its role is
// too low.
//
// The actor. Every write records who made it: a route calls request_actor(req), which
// returns the token's name, or "" when the API is open (then the route takes the actor
// from the body, as before tokens). The pre-routing handler writes the name into the
// request as a pseudo-header (like httplib's own REMOTE_ADDR) after removing any the
// client sent, so the name can only come from a verified token.
#pragma once

#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include "hub/api_tokens.h"

namespace httplib {
class Server;
struct Request;
}  // namespace httplib

namespace reflex::hub {

// Where Slack posts button clicks (slack_actions.h); signed by Slack, not by a token.
inline constexpr std::string_view kSlackActionsPath = "/api/v1/integrations/slack/actions";

// Deploy webhooks whose senders cannot send a bearer token: GitHub signs its deliveries
// (X-Hub-Signature-256, always checked: the route refuses them without
// changes.github_secret_file); the Jenkins Notification plugin's URL carries ?token=,
// which the route checks against changes.jenkins_secret_file, refusing a token it has no
// secret to check against. A Jenkins request without ?token= needs a bearer token.
inline constexpr std::string_view kGitHubChangesPath = "/api/v1/changes/github";
inline constexpr std::string_view kJenkinsChangesPath = "/api/v1/changes/jenkins";

// The role `method` on `path` needs; nullopt: open to anyone.
std::optional<ApiRole> required_role(std::string_view method, std::string_view path);

// What to do with one request.
struct AuthDecision {
  int http_status = 0;       // 0: let it through; else 401 or 403
  std::string code;          // "unauthorized" or "forbidden"
  std::string message;       // for the error body; never quotes a token
  std::string authenticate;  // the WWW-Authenticate value to send, if any
  std::string actor;         // the token's name when one was verified
};

// Pure: `tokens` null or empty means the API is open. `authorization` is the
// Authorization header's value ("" when absent).
AuthDecision authorize(const TokenTable* tokens, std::string_view method, std::string_view path,
                       std::string_view authorization);

// Holds the current token table and installs the check on a server. set_tokens() may be
// called from any thread (the loop, on reload) while requests are served.
class ApiAuth {
 public:
  // Replaces the table; null or empty opens the API.
  void set_tokens(std::shared_ptr<const TokenTable> tokens);
  // Sets the server's pre-routing handler. `this` must outlive the server's serving.
  void install(httplib::Server& server);
  // Who `authorization` (the header's value) names: nullopt when the API is open (no
  // tokens), else the identity, or an empty name when the token is unknown. Any thread.
  std::optional<ApiIdentity> identify(std::string_view authorization) const;

 private:
  std::shared_ptr<const TokenTable> tokens() const;

  mutable std::mutex mu_;
  std::shared_ptr<const TokenTable> tokens_;
};

// The name of the token `req` was authenticated with; "" when the API is open (or the
// route is one of the open ones). Call it from any route that writes, and record it as
// the actor: with tokens configured it is never empty on an /api/ route.
std::string request_actor(const httplib::Request& req);

}  // namespace reflex::hub
