#include "hub/api_auth.h"

#include <httplib.h>

#include <cctype>

#include "hub/dashboard.h"
#include "hub/http_api.h"

namespace reflex::hub {
namespace {

// Set by the pre-routing handler only (it removes any the client sent first).
constexpr const char* kActorHeader = "REFLEX_API_ACTOR";
constexpr const char* kRealm = "Bearer realm=\"reflex-hub\"";

bool is_read(std::string_view method) {
  return method == "GET" || method == "HEAD";
}

// /api/v<digits>/admin or /api/v<digits>/admin/...
bool is_admin_path(std::string_view path) {
  constexpr std::string_view prefix = "/api/v";
  if (path.substr(0, prefix.size()) != prefix) return false;
  size_t i = prefix.size();
  const size_t digits = i;
  while (i < path.size() && std::isdigit(static_cast<unsigned char>(path[i]))) ++i;
  if (i == digits) return false;
  const std::string_view rest = path.substr(i);
  constexpr std::string_view admin = "/admin";
  return rest.substr(0, admin.size()) == admin &&
         (rest.size() == admin.size() || rest[admin.size()] == '/');
}

bool iequals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i) {
    if (std::tolower(static_cast<unsigned char>(a[i])) !=
        std::tolower(static_cast<unsigned char>(b[i]))) {
      return false;
    }
  }
  return true;
}

AuthDecision unauthorized(std::string message, bool invalid_token) {
  return {.http_status = 401,
          .code = "unauthorized",
          .message = std::move(message),
          .authenticate = invalid_token ? std::string(kRealm) + ", error=\"invalid_token\""
                                        : std::string(kRealm),
          .actor = ""};
}

}  // namespace

std::optional<ApiRole> required_role(std::string_view method, std::string_view path) {
  if (is_read(method) && (path == "/healthz" || path == "/metrics")) return std::nullopt;
  // The dashboard's static files hold no data; what they show comes from the API.
  if (is_read(method) && is_dashboard_path(path)) return std::nullopt;
  // Slack's buttons carry Slack's signature instead of a token (slack_actions.h).
  if (method == "POST" && path == kSlackActionsPath) return std::nullopt;
  if (method == "POST" && path == kGitHubChangesPath) return std::nullopt;
  if (is_admin_path(path)) return ApiRole::kAdmin;
  if (is_read(method)) return ApiRole::kViewer;
  if (path.substr(0, 5) == "/api/") return ApiRole::kResponder;
  return ApiRole::kAdmin;
}

AuthDecision authorize(const TokenTable* tokens, std::string_view method, std::string_view path,
                       std::string_view authorization) {
  if (!tokens || tokens->empty()) return {};
  const auto needed = required_role(method, path);
  if (!needed) return {};
  if (authorization.empty()) {
    return unauthorized("this needs a bearer token: send the header Authorization: Bearer <token>",
                        false);
  }
  const size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "Bearer")) {
    return unauthorized("only bearer tokens are accepted: Authorization: Bearer <token>", false);
  }
  std::string_view token = authorization.substr(space);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  const auto who = tokens->find(token);
  if (!who) return unauthorized("unknown bearer token", true);
  if (who->role < *needed) {
    return {.http_status = 403,
            .code = "forbidden",
            .message = "token \"" + who->name + "\" has role " + api_role_name(who->role) + "; " +
                       std::string(method) + " " + std::string(path) + " needs " +
                       api_role_name(*needed),
            .authenticate = std::string(kRealm) + ", error=\"insufficient_scope\"",
            .actor = who->name};
  }
  return {.http_status = 0, .code = "", .message = "", .authenticate = "", .actor = who->name};
}

void ApiAuth::set_tokens(std::shared_ptr<const TokenTable> tokens) {
  std::lock_guard lock(mu_);
  tokens_ = std::move(tokens);
}

std::shared_ptr<const TokenTable> ApiAuth::tokens() const {
  std::lock_guard lock(mu_);
  return tokens_;
}

std::optional<ApiIdentity> ApiAuth::identify(std::string_view authorization) const {
  const auto table = tokens();
  if (!table || table->empty()) return std::nullopt;
  const size_t space = authorization.find(' ');
  if (space == std::string_view::npos || !iequals(authorization.substr(0, space), "Bearer")) {
    return ApiIdentity{};
  }
  std::string_view token = authorization.substr(space);
  while (!token.empty() && token.front() == ' ') token.remove_prefix(1);
  while (!token.empty() && token.back() == ' ') token.remove_suffix(1);
  return table->find(token).value_or(ApiIdentity{});
}

void ApiAuth::install(httplib::Server& server) {
  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // The server hands every handler the same request object, which it owns as a
    // mutable local: the one place the verified name is written into it.
    auto& writable = const_cast<httplib::Request&>(req);
    writable.headers.erase(kActorHeader);
    const auto table = tokens();
    const bool jenkins_token =
        req.method == "POST" && req.path == kJenkinsChangesPath && req.has_param("token");
    AuthDecision d = jenkins_token ? AuthDecision{}
                                   : authorize(table.get(), req.method, req.path,
                                               req.has_header("Authorization")
                                                   ? req.get_header_value("Authorization")
                                                   : std::string());
    if (d.http_status != 0) {
      if (!d.authenticate.empty()) res.set_header("WWW-Authenticate", d.authenticate);
      // The body of a refused request is never read: do not reuse the connection.
      res.set_header("Connection", "close");
      json_error(res, d.http_status, d.code, d.message);
      return httplib::Server::HandlerResponse::Handled;
    }
    if (!d.actor.empty()) writable.set_header(kActorHeader, d.actor);
    return httplib::Server::HandlerResponse::Unhandled;
  });
}

std::string request_actor(const httplib::Request& req) {
  return req.has_header(kActorHeader) ? req.get_header_value(kActorHeader) : std::string();
}

}  // namespace reflex::hub
