// The `api` section of hub.yaml: tokens with roles, read from files or inline, every
// problem naming its key, and a non-loopback HTTP address that refuses to be open.
#include "hub/api_tokens.h"

#include <catch2/catch.hpp>

#include "tests/support/process.h"

using namespace reflex;
using namespace reflex::hub;
using reflex::testing::TempDir;

namespace {

Result<HubConfig> parse(const std::string& yaml) {
  auto root = config::parse_yaml(yaml, "hub.yaml");
  if (!root) return root.status();
  return read_hub_config(*root, "hub.yaml");
}

std::string error_of(const std::string& yaml) {
  auto cfg = parse(yaml);
  return cfg ? "" : cfg.status().message();
}

bool has(const std::string& text, const std::string& part) {
  INFO(text);
  return text.find(part) != std::string::npos;
}

std::string load_error(const ApiConfig& api) {
  auto t = load_token_table(api);
  return t ? "" : t.status().message();
}

ApiTokenConfig file_token(const std::string& name, const std::string& role,
                          const std::string& file) {
  return {.name = name, .role = role, .token_file = file, .token = ""};
}

}  // namespace

TEST_CASE("api tokens are read with their names and roles, from files or inline",
          "[hub-config][api-tokens]") {
  TempDir dir;
  const std::string alice = dir.write("alice", "  alice-0123456789abcdef\n");
  auto cfg = parse(
      "http: 0.0.0.0:7180\n"
      "api:\n"
      "  tokens:\n"
      "    - {name: alice, role: responder, token_file: " +
      alice +
      "}\n"
      "    - {name: grafana, role: viewer, token: grafana-0123456789abcdef}\n"
      "    - {name: ops@example.org, role: admin, token: 'ops-0123456789abcdef'}\n");
  INFO((cfg ? "" : cfg.status().message()));
  REQUIRE(cfg);
  REQUIRE(cfg->api.tokens.size() == 3);
  CHECK(cfg->api.tokens[0].name == "alice");
  CHECK(cfg->api.tokens[0].role == "responder");
  CHECK(cfg->api.tokens[0].token_file == alice);
  CHECK(cfg->api.tokens[1].token == "grafana-0123456789abcdef");
  CHECK_FALSE(cfg->api.insecure_open);

  auto table = load_token_table(cfg->api);
  REQUIRE(table);
  CHECK(table->find("alice-0123456789abcdef") ==
        ApiIdentity{.name = "alice", .role = ApiRole::kResponder});
  CHECK(table->find("grafana-0123456789abcdef") ==
        ApiIdentity{.name = "grafana", .role = ApiRole::kViewer});
  CHECK(table->find("ops-0123456789abcdef")->role == ApiRole::kAdmin);
  CHECK_FALSE(table->find("  alice-0123456789abcdef\n"));
}

TEST_CASE("api token config errors name the key", "[hub-config][api-tokens]") {
  CHECK(
      has(error_of("api: {tokens: [{name: a, role: boss, token: a-0123456789abcdef}]}\n"),
          "hub.yaml:1: api.tokens[0].role: must be one of admin, responder, viewer, got \"boss\""));
  CHECK(has(error_of("api:\n  tokens:\n"
                     "    - {name: alice, role: viewer, token: a-0123456789abcdef}\n"
                     "    - {name: alice, role: admin, token: b-0123456789abcdef}\n"),
            "hub.yaml:4: api.tokens[1].name: \"alice\" is already the name of api.tokens[0]"));
  CHECK(has(error_of("api: {tokens: [{role: viewer, token: a-0123456789abcdef}]}\n"),
            "api.tokens[0].name: missing required key"));
  CHECK(has(error_of("api: {tokens: [{name: a, token: a-0123456789abcdef}]}\n"),
            "api.tokens[0].role: missing required key"));
  CHECK(has(error_of("api: {tokens: [{name: a, role: viewer}]}\n"),
            "api.tokens[0]: needs token_file (or an inline token)"));
  CHECK(has(error_of("api: {tokens: [{name: a, role: viewer, token: x, token_file: /f}]}\n"),
            "api.tokens[0]: give token_file or token, not both"));
  CHECK(has(error_of("api: {tokens: [{name: 'a b', role: viewer, token: a-0123456789abcdef}]}\n"),
            "api.tokens[0].name: \"a b\" may hold only"));
  CHECK(has(error_of("api: {tokens: [{name: reflex, role: viewer, token: a-0123456789abcdef}]}\n"),
            "api.tokens[0].name: \"reflex\" is the hub's own actor name"));
  CHECK(has(error_of("api: {tokens: [{name: a, role: viewer, token: x, colour: red}]}\n"),
            "api.tokens[0].colour"));
  CHECK(has(error_of("api: {tokens: {name: a}}\n"), "api.tokens: expected a list"));
  CHECK(has(error_of("api: {open: true}\n"), "api.open"));
}

TEST_CASE(
    "loading tokens refuses a missing file, an empty or short token and a shared token, "
    "naming the key and never the token",
    "[hub-config][api-tokens]") {
  TempDir dir;
  const std::string good = dir.write("good", "good-0123456789abcdef\n");
  const std::string empty = dir.write("empty", "\n\n");
  const std::string shorty = dir.write("short", "hunter2\n");
  const std::string spaced = dir.write("spaced", "two words-0123456789\n");
  const std::string missing = dir.file("nowhere");

  CHECK(has(load_error({.tokens = {file_token("a", "viewer", missing)}, .insecure_open = false}),
            "api.tokens[0].token_file: cannot read " + missing));
  CHECK(
      has(load_error({.tokens = {file_token("a", "viewer", good), file_token("b", "viewer", empty)},
                      .insecure_open = false}),
          "api.tokens[1].token_file: the token is empty in " + empty));
  const std::string short_error =
      load_error({.tokens = {file_token("a", "viewer", shorty)}, .insecure_open = false});
  CHECK(has(short_error, "api.tokens[0].token_file: the token is shorter than 16 characters"));
  CHECK_FALSE(has(short_error, "hunter2"));
  CHECK(has(load_error({.tokens = {file_token("a", "viewer", spaced)}, .insecure_open = false}),
            "api.tokens[0].token_file: the token holds whitespace"));
  CHECK(has(load_error({.tokens = {{.name = "a", .role = "viewer", .token_file = "", .token = ""}},
                        .insecure_open = false}),
            "api.tokens[0].token: the token is empty"));
  const std::string shared = load_error(
      {.tokens =
           {file_token("a", "viewer", good),
            {.name = "b", .role = "admin", .token_file = "", .token = "good-0123456789abcdef"}},
       .insecure_open = false});
  CHECK(has(shared, "api.tokens[1].token: the same token as api.tokens[0]"));
  CHECK_FALSE(has(shared, "good-0123456789abcdef"));
}

TEST_CASE("a non-loopback HTTP address needs api tokens unless insecure_open says otherwise",
          "[hub-config][api-tokens]") {
  CHECK(has(error_of("http: 0.0.0.0:7180\n"),
            "hub.yaml:1: http: a non-loopback HTTP address needs api.tokens"));
  CHECK(has(error_of("http: '[2001:db8::1]:7180'\n"), "needs api.tokens"));
  CHECK(has(error_of("http: 10.0.0.5:7180\napi: {tokens: []}\n"), "needs api.tokens"));
  CHECK(parse("http: 0.0.0.0:7180\napi: {insecure_open: true}\n"));
  CHECK(
      parse("http: 0.0.0.0:7180\napi: {tokens: [{name: a, role: viewer, token: "
            "a-0123456789abcdef}]}\n"));
  CHECK(parse("http: 127.0.0.1:7180\n"));
  CHECK(parse("http: '[::1]:7180'\n"));
  CHECK(parse("http: localhost:7180\n"));
}

TEST_CASE("loading a hub config file reads its token files, so check-config finds a missing one",
          "[hub-config][api-tokens]") {
  TempDir dir;
  const std::string path =
      dir.write("hub.yaml",
                "api: {tokens: [{name: a, role: viewer, token_file: " + dir.file("gone") + "}]}\n");
  auto cfg = load_hub_config(path);
  REQUIRE_FALSE(cfg);
  CHECK(has(cfg.status().message(), path + ": api.tokens[0].token_file: cannot read"));
  dir.write("gone", "a-0123456789abcdef\n");
  CHECK(load_hub_config(path));
}
