// On-call end to end: a real hub with people, schedules and escalation policies in its
// hub.yaml, asked over HTTP with a viewer token and with reflexctl who is on call; a
// SIGHUP applies a new override, an invalid file is refused and the running schedules
// stay; check-config names the key path of a mistake.
#include <httplib.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using nlohmann::json;

namespace {

const char* kOncall = R"(
people:
  alice: {name: Alice Doe, slack: U012ABC, email: alice@example.com, phone_webhook: https://sms.example/alice}
  bob:   {slack: U034DEF, email: bob@example.com}
  carol: {email: carol@example.com}
schedules:
  checkout-primary:
    time_zone: Europe/Berlin
    layers:
      - name: weekly
        rotation: weekly
        handoff: "mon 09:00"
        start: 2026-01-05
        members: [alice, bob]
      - name: weekend-cover
        rotation: daily
        handoff: "09:00"
        start: 2026-01-03
        members: [carol]
        restrict: {days: [sat, sun]}
    overrides:
      - {user: bob, start: 2026-12-24T09:00:00+01:00, end: 2026-12-27T09:00:00+01:00}
  db:
    time_zone: UTC
    layers: [{name: solo, rotation: daily, handoff: "00:00", start: 2026-01-01, members: [carol]}]
escalation_policies:
  checkout-oncall:
    repeat: 2
    levels:
      - {delay: 0s, targets: [{schedule: checkout-primary}]}
      - {delay: 10m, targets: [{user: alice}, {channel: "#checkout-leads"}]}
)";

const std::string kViewer = "viewer-e2e-0123456789abcdef";

// Runs of spaces as one, so a table's rows can be matched whatever its column widths.
std::string squeezed(const std::string& text) {
  std::string out;
  for (char c : text) {
    if (c == ' ' && !out.empty() && out.back() == ' ') continue;
    out += c;
  }
  return out;
}

int port_of(const HubProcess& hub) {
  return std::stoi(hub.url().substr(hub.url().rfind(':') + 1));
}

}  // namespace

TEST_CASE("a viewer sees who is on call over the API and with reflexctl oncall", "[e2e][oncall]") {
  TempDir tokens;
  const std::string viewer = tokens.write("viewer", kViewer + "\n");
  HubProcess hub("api:\n  tokens:\n    - {name: grafana, role: viewer, token_file: " + viewer +
                 "}\n" + kOncall);

  Output all = hub.ctl({"--token-file", viewer, "oncall", "--at", "2026-01-07T12:00:00Z"});
  INFO(all.out << all.err);
  REQUIRE(all.exit_code == 0);
  CHECK_THAT(all.out, Catch::Contains("SCHEDULE"));
  CHECK_THAT(squeezed(all.out),
             Catch::Contains("checkout-primary alice (Alice Doe) 2026-01-05 09:00 2026-01-10 00:00 "
                             "carol Europe/Berlin\n"));
  CHECK_THAT(squeezed(all.out), Catch::Contains("db carol 2026-01-01 00:00 - - UTC\n"));

  Output one = hub.ctl({"--token-file", viewer, "oncall", "checkout-primary", "--at",
                        "2026-12-25T12:00:00Z", "--next", "2"});
  INFO(one.out << one.err);
  REQUIRE(one.exit_code == 0);
  CHECK_THAT(squeezed(one.out),
             Catch::Contains("checkout-primary bob 2026-12-24 09:00 2026-12-27 09:00 carol "
                             "Europe/Berlin\n"));
  CHECK_THAT(squeezed(one.out),
             Catch::Contains("next shifts:\nWHO FROM UNTIL LAYER\n"
                             "carol 2026-12-27 09:00 2026-12-28 00:00 weekend-cover\n"
                             "alice (Alice Doe) 2026-12-28 00:00 2026-12-28 09:00 weekly\n"));

  Output as_json = hub.ctl({"--token-file", viewer, "oncall", "checkout-primary", "--at",
                            "2026-12-25T12:00:00Z", "--json"});
  REQUIRE(as_json.exit_code == 0);
  const json doc = json::parse(as_json.out);
  CHECK(doc["now"]["user"] == "bob");
  CHECK(doc["now"]["source"] == "override");
  CHECK(doc["now"]["end"] == "2026-12-27T08:00:00Z");

  Output unknown = hub.ctl({"--token-file", viewer, "oncall", "nosuch"});
  CHECK(unknown.exit_code != 0);
  CHECK_THAT(unknown.err, Catch::Contains("no schedule 'nosuch' (HTTP 404)"));
  Output bad_at = hub.ctl({"--token-file", viewer, "oncall", "--at", "yesterday"});
  CHECK(bad_at.exit_code != 0);
  CHECK_THAT(bad_at.err, Catch::Contains("at: \"yesterday\" is not an RFC 3339"));

  httplib::Client http("127.0.0.1", port_of(hub));
  const httplib::Headers bearer = {{"Authorization", "Bearer " + kViewer}};
  auto listed = http.Get("/api/v1/oncall/checkout-primary?at=2026-01-10T12:00:00Z&next=1", bearer);
  REQUIRE(listed);
  REQUIRE(listed->status == 200);
  const json sat = json::parse(listed->body);
  CHECK(sat["now"]["user"] == "carol");
  CHECK(sat["now"]["start"] == "2026-01-09T23:00:00Z");
  CHECK(sat["next"][0]["user"] == "alice");

  auto missing = http.Get("/api/v1/oncall/nosuch", bearer);
  REQUIRE(missing);
  CHECK(missing->status == 404);
  const json error = json::parse(missing->body);
  CHECK(error["error"]["code"] == "not_found");
  CHECK(error["error"]["message"] == "no schedule 'nosuch'");

  auto bad_next = http.Get("/api/v1/oncall?next=many", bearer);
  REQUIRE(bad_next);
  CHECK(bad_next->status == 400);
  CHECK(json::parse(bad_next->body)["error"]["code"] == "invalid_query");

  auto anonymous = http.Get("/api/v1/oncall");
  REQUIRE(anonymous);
  CHECK(anonymous->status == 401);
}

TEST_CASE(
    "a reload applies a new override, an invalid one keeps the running schedules, and "
    "check-config names the mistake",
    "[e2e][oncall]") {
  HubProcess hub(kOncall);
  const std::string base = read_file(hub.config_path());
  auto on_call_at = [&](const std::string& at) {
    const json doc = hub.api_get("/api/v1/oncall/checkout-primary?at=" + at);
    return doc.is_object() ? doc["now"]["user"].get<std::string>() : std::string("(no answer)");
  };
  REQUIRE(on_call_at("2026-01-07T12:00:00Z") == "alice");

  std::string next = base;
  const std::string overrides = "    overrides:\n";
  next.insert(next.find(overrides) + overrides.size(),
              "      - {user: bob, start: 2026-01-07T00:00:00Z, end: 2026-01-08T00:00:00Z}\n");
  hub.dir().write("hub.yaml", next);
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric(R"(reflex_hub_config_reloads_total{result="ok"})") == 1; }));
  CHECK(on_call_at("2026-01-07T12:00:00Z") == "bob");

  std::string broken = next;
  broken.replace(broken.find("members: [alice, bob]"), std::string("members: [alice, bob]").size(),
                 "members: [alice, zed]");
  const std::string broken_path = hub.dir().write("hub.yaml", broken);
  hub.child().signal(SIGHUP);
  REQUIRE(wait_until(
      [&] { return hub.metric(R"(reflex_hub_config_reloads_total{result="rejected"})") == 1; }));
  CHECK(on_call_at("2026-01-07T12:00:00Z") == "bob");
  const std::string mistake =
      "schedules.checkout-primary.layers[0].members[1]: no person 'zed' "
      "(declared: alice, bob, carol)";
  CHECK_THAT(hub.log(), Catch::Contains(mistake));

  Output check = run({hub_binary(), "check-config", broken_path});
  CHECK(check.exit_code == 1);
  CHECK_THAT(check.err, Catch::Contains(mistake));
}
