// Who may call what: the role rule as a pure function, the decision for one request, and
// the check as a real HTTP server applies it before every route.
#include "hub/api_auth.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <thread>

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;

namespace {

const std::string kAliceToken = "alice-0123456789abcdef";
const std::string kGrafanaToken = "grafana-0123456789abcdef";
const std::string kRootToken = "root-0123456789abcdef";

TokenTable three_tokens() {
  TokenTable t;
  t.add({.name = "alice", .role = ApiRole::kResponder}, kAliceToken);
  t.add({.name = "grafana", .role = ApiRole::kViewer}, kGrafanaToken);
  t.add({.name = "root", .role = ApiRole::kAdmin}, kRootToken);
  return t;
}

std::string role_or_open(std::string_view method, std::string_view path) {
  auto r = required_role(method, path);
  return r ? api_role_name(*r) : "open";
}

}  // namespace

TEST_CASE(
    "reads need a viewer, writes under /api/ a responder, admin routes an admin, and "
    "health and metrics are open",
    "[hub][api-auth]") {
  CHECK(role_or_open("GET", "/healthz") == "open");
  // Signed by GitHub, checked by the route.
  CHECK(role_or_open("POST", "/api/v1/changes/github") == "open");
  CHECK(role_or_open("GET", "/api/v1/changes/github") == "viewer");
  CHECK(role_or_open("HEAD", "/healthz") == "open");
  CHECK(role_or_open("GET", "/metrics") == "open");
  CHECK(role_or_open("POST", "/metrics") == "admin");  // only reading them is open
  CHECK(role_or_open("GET", "/healthz/../api/v1/incidents") == "viewer");

  CHECK(role_or_open("GET", "/api/v1/incidents") == "viewer");
  CHECK(role_or_open("HEAD", "/api/v1/agents") == "viewer");
  CHECK(role_or_open("GET", "/api/v1/incidents/7/report") == "viewer");
  CHECK(role_or_open("GET", "/dashboard") == "viewer");

  // Routes other engineers add need no registration to be covered.
  for (const char* path :
       {"/api/v1/incidents/7/ack", "/api/v2/alerts", "/api/v1/events", "/api/v1/changes",
        "/api/v1/changes/jenkins", "/api/v1/silences", "/api/v1/silences/12"}) {
    CHECK(role_or_open("POST", path) == "responder");
  }
  CHECK(role_or_open("DELETE", "/api/v1/silences/12") == "responder");
  CHECK(role_or_open("PUT", "/api/v1/silences/12") == "responder");
  CHECK(role_or_open("PATCH", "/api/v1/incidents/7") == "responder");

  CHECK(role_or_open("POST", "/api/v1/admin/reload") == "admin");
  CHECK(role_or_open("GET", "/api/v1/admin/tokens") == "admin");
  CHECK(role_or_open("POST", "/api/v12/admin") == "admin");
  CHECK(role_or_open("POST", "/api/v1/administrators") == "responder");
  CHECK(role_or_open("POST", "/-/reload") == "admin");  // a write outside /api/
}

TEST_CASE("without tokens every request passes and no actor is named", "[hub][api-auth]") {
  const TokenTable empty;
  for (const TokenTable* t : {static_cast<const TokenTable*>(nullptr), &empty}) {
    auto d = authorize(t, "POST", "/api/v1/incidents/1/ack", "");
    CHECK(d.http_status == 0);
    CHECK(d.actor.empty());
  }
}

TEST_CASE("a missing, non-bearer or unknown token is refused with 401 and WWW-Authenticate",
          "[hub][api-auth]") {
  const TokenTable t = three_tokens();
  auto missing = authorize(&t, "GET", "/api/v1/incidents", "");
  CHECK(missing.http_status == 401);
  CHECK(missing.code == "unauthorized");
  CHECK(missing.authenticate == "Bearer realm=\"reflex-hub\"");
  CHECK(missing.message.find("Authorization: Bearer") != std::string::npos);

  auto basic = authorize(&t, "GET", "/api/v1/incidents", "Basic YWxpY2U6eA==");
  CHECK(basic.http_status == 401);

  auto unknown = authorize(&t, "GET", "/api/v1/incidents", "Bearer " + kAliceToken + "x");
  CHECK(unknown.http_status == 401);
  CHECK(unknown.authenticate == "Bearer realm=\"reflex-hub\", error=\"invalid_token\"");
  CHECK(unknown.message.find(kAliceToken) == std::string::npos);

  auto prefix = authorize(&t, "GET", "/api/v1/incidents", "Bearer alice");
  CHECK(prefix.http_status == 401);

  // Open routes never look at the header.
  CHECK(authorize(&t, "GET", "/healthz", "Bearer nonsense").http_status == 0);
  CHECK(authorize(&t, "GET", "/metrics", "").http_status == 0);
}

TEST_CASE("a token whose role is too low is refused with 403 naming both roles",
          "[hub][api-auth]") {
  const TokenTable t = three_tokens();
  auto viewer_ack = authorize(&t, "POST", "/api/v1/incidents/1/ack", "Bearer " + kGrafanaToken);
  CHECK(viewer_ack.http_status == 403);
  CHECK(viewer_ack.code == "forbidden");
  CHECK(viewer_ack.message ==
        "token \"grafana\" has role viewer; POST /api/v1/incidents/1/ack needs responder");

  auto responder_admin = authorize(&t, "POST", "/api/v1/admin/reload", "Bearer " + kAliceToken);
  CHECK(responder_admin.http_status == 403);

  auto ok = authorize(&t, "POST", "/api/v1/incidents/1/ack", "bearer   " + kAliceToken + " ");
  CHECK(ok.http_status == 0);
  CHECK(ok.actor == "alice");
  CHECK(authorize(&t, "GET", "/api/v1/incidents", "Bearer " + kGrafanaToken).actor == "grafana");
  auto admin = authorize(&t, "POST", "/api/v1/admin/reload", "Bearer " + kRootToken);
  CHECK(admin.http_status == 0);
  CHECK(admin.actor == "root");
  CHECK(authorize(&t, "DELETE", "/api/v1/silences/3", "Bearer " + kRootToken).http_status == 0);
}

TEST_CASE("the token table finds the identity of a presented token and nothing else",
          "[hub][api-auth]") {
  const TokenTable t = three_tokens();
  CHECK(t.size() == 3);
  CHECK(t.find(kGrafanaToken) == ApiIdentity{.name = "grafana", .role = ApiRole::kViewer});
  CHECK(t.find(kRootToken) == ApiIdentity{.name = "root", .role = ApiRole::kAdmin});
  CHECK_FALSE(t.find(""));
  CHECK_FALSE(t.find(kRootToken.substr(0, kRootToken.size() - 1)));
  CHECK_FALSE(t.find(kRootToken + " "));
}

namespace {

// A real httplib server with the check installed and routes added after it, like the
// routes other parts of the hub add.
struct GuardedServer {
  GuardedServer() {
    auth.install(server);
    auto echo = [](const httplib::Request& req, httplib::Response& res) {
      res.set_content(json{{"actor", request_actor(req)}, {"body", req.body}}.dump(),
                      "application/json");
    };
    server.Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
      res.set_content("ok\n", "text/plain");
    });
    server.Get("/api/v1/things", echo);
    server.Post("/api/v9/brand-new", echo);
    port = server.bind_to_any_port("127.0.0.1");
    REQUIRE(port > 0);
    thread = std::thread([this] { server.listen_after_bind(); });
    for (int i = 0; i < 5000 && !server.is_running(); ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(1));
    }
    REQUIRE(server.is_running());
  }
  ~GuardedServer() {
    server.stop();
    thread.join();
  }
  ApiAuth auth;
  httplib::Server server;
  int port = 0;
  std::thread thread;
};

}  // namespace

TEST_CASE("over HTTP the check runs before every route and request_actor gives the verified name",
          "[hub][api-auth]") {
  GuardedServer s;
  s.auth.set_tokens(std::make_shared<const TokenTable>(three_tokens()));
  httplib::Client c("127.0.0.1", s.port);
  c.set_keep_alive(true);

  auto health = c.Get("/healthz");
  REQUIRE(health);
  CHECK(health->status == 200);

  // Refused before the body is read; the same client goes on afterwards.
  auto anon = c.Post("/api/v9/brand-new", std::string(100'000, 'x'), "text/plain");
  REQUIRE(anon);
  CHECK(anon->status == 401);
  CHECK(anon->get_header_value("WWW-Authenticate").rfind("Bearer", 0) == 0);
  CHECK(json::parse(anon->body)["error"]["code"] == "unauthorized");

  // A client cannot name itself: the pseudo-header it sends is dropped.
  httplib::Headers spoof = {{"Authorization", "Bearer " + kGrafanaToken},
                            {"REFLEX_API_ACTOR", "root"}};
  auto viewer = c.Get("/api/v1/things", spoof);
  REQUIRE(viewer);
  CHECK(viewer->status == 200);
  CHECK(json::parse(viewer->body)["actor"] == "grafana");

  auto viewer_write = c.Post("/api/v9/brand-new", spoof, "{}", "application/json");
  REQUIRE(viewer_write);
  CHECK(viewer_write->status == 403);
  CHECK(json::parse(viewer_write->body)["error"]["code"] == "forbidden");

  auto write = c.Post("/api/v9/brand-new", {{"Authorization", "Bearer " + kAliceToken}},
                      "{\"a\":1}", "application/json");
  REQUIRE(write);
  CHECK(write->status == 200);
  CHECK(json::parse(write->body) == json{{"actor", "alice"}, {"body", "{\"a\":1}"}});
}

TEST_CASE("replacing the tokens takes effect on the next request, and none opens the API",
          "[hub][api-auth]") {
  GuardedServer s;
  s.auth.set_tokens(std::make_shared<const TokenTable>(three_tokens()));
  httplib::Client c("127.0.0.1", s.port);
  const httplib::Headers alice = {{"Authorization", "Bearer " + kAliceToken}};
  REQUIRE(c.Get("/api/v1/things", alice)->status == 200);

  TokenTable rotated;
  rotated.add({.name = "alice", .role = ApiRole::kResponder}, "alice-rotated-0123456789");
  s.auth.set_tokens(std::make_shared<const TokenTable>(std::move(rotated)));
  CHECK(c.Get("/api/v1/things", alice)->status == 401);
  auto fresh = c.Get("/api/v1/things", {{"Authorization", "Bearer alice-rotated-0123456789"}});
  REQUIRE(fresh);
  CHECK(fresh->status == 200);

  s.auth.set_tokens(nullptr);
  auto open = c.Get("/api/v1/things", {{"REFLEX_API_ACTOR", "mallory"}});
  REQUIRE(open);
  CHECK(open->status == 200);
  CHECK(json::parse(open->body)["actor"] == "");
}
