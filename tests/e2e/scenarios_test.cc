// The three flows Reflex is built around (self-healing, rollback after a failed canary,
// fix forward), each played end to end by a real reflex-hub running the shipped
// examples/hub.yaml (scenario_fixture.h: vendors pointed at their contract fakes, timers
// shortened) and, where the flow has one, a real reflex-agent. What the example does not
// do as the scenario needs is changed here in one place and says why.
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <filesystem>
#include <nlohmann/json.hpp>
#include <regex>
#include <string>

#include "tests/e2e/scenario_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Problems arriving from a monitoring tool (generic events), one per host.
json problem(const std::string& name, const std::string& severity, const std::string& env,
             const std::vector<std::string>& hosts, const std::string& state = "firing",
             const json& extra_labels = json::object()) {
  json alerts = json::array();
  for (const auto& host : hosts) {
    json labels = {{"service", "checkout"}, {"env", env}};
    labels.update(extra_labels);
    alerts.push_back({{"name", name},
                      {"state", state},
                      {"severity", severity},
                      {"labels", labels},
                      {"host", host}});
  }
  return {{"source", "monitoring"}, {"alerts", alerts}};
}

void send_problem(const HubProcess& hub, const json& body) {
  const Reply r = post_json(hub, "/api/v1/events", body);
  INFO(r.body);
  REQUIRE(r.status == 200);
}

bool has_step(const json& detail, const std::string& text) {
  for (const auto& t : timeline_texts(detail, "step")) {
    if (t.find(text) != std::string::npos) return true;
  }
  return false;
}

std::string base64(const std::string& in) {
  static const char* const kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8) | uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0}) out += kAlphabet[(n >> shift) & 63];
  }
  if (i + 1 == in.size()) {
    const uint32_t n = uint8_t(in[i]) << 16;
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63], '=', '='};
  } else if (i + 2 == in.size()) {
    const uint32_t n = (uint8_t(in[i]) << 16) | (uint8_t(in[i + 1]) << 8);
    out += std::string{kAlphabet[(n >> 18) & 63], kAlphabet[(n >> 12) & 63],
                       kAlphabet[(n >> 6) & 63], '='};
  }
  return out;
}

// Nobody was paged: no Slack direct message, no PagerDuty event, no phone call.
void check_nobody_paged(const ScenarioVendors& v) {
  CHECK(slack_dms(v.slack).empty());
  CHECK(v.pagerduty.received().empty());
  CHECK(v.phones.received().empty());
}

size_t jira_creates_in(const FakeJira& jira, const std::string& project) {
  size_t n = 0;
  for (const auto& r : jira.received()) {
    if (r.request.method != "POST" || r.request.path != "/rest/api/2/issue") continue;
    const json fields = r.request.body.value("fields", json::object());
    n += fields.value("project", json::object()).value("key", "") == project ? 1 : 0;
  }
  return n;
}

}  // namespace

TEST_CASE(
    "self-healing: an agent heals its failing check by itself, the hub records the "
    "remediation on an incident that resolves by itself, and nobody is paged",
    "[e2e][scenario]") {
  ScenarioVendors v;
  HubProcess hub(to_yaml(example_hub_config(v)));
  // The check fails until the healthy file exists; the rule's remediation creates it.
  // Severity warning: the example files a ticket for the next morning (the next test
  // has a critical one, which the example holds while the agent heals).
  const std::string healthy = hub.dir().file("app.healthy");
  const std::string agent_yaml =
      "checks: [{name: app, type: command, interval: 500ms, timeout: 500ms, command: [/bin/sh, -c, "
      "'test -f " +
      healthy +
      " || exit 2']}]\n"
      "actions: [{name: fix-app, type: exec, command: [/usr/bin/touch, " +
      healthy +
      "], verify_within: 10s, cooldown: 0s}]\n"
      "rules: [{name: app-down, series: app, when: 'state == CRITICAL', severity: warning, "
      "heal: [fix-app]}]\n";
  auto agent =
      hub.start_agent("web-1", HubProcess::AgentSpec{.hostname = "web-1",
                                                     .labels = "{service: checkout, env: prod}",
                                                     .heartbeat = "200ms",
                                                     .extra_yaml = agent_yaml});

  const uint64_t id = wait_incident(hub, [](const json& i) { return i["service"] == "checkout"; });
  REQUIRE(id != 0);
  // The agent reports each remediation decision; the hub puts it on the timeline.
  CHECK(wait_timeline(hub, id, "remediation", "fix-app app on web-1: started"));
  CHECK(wait_timeline(hub, id, "remediation", "fix-app app on web-1: succeeded"));
  CHECK(wait_timeline(hub, id, "remediation", "fix-app app on web-1: recovered"));
  CHECK(std::filesystem::exists(healthy));
  // The alert resolved, so the incident resolves by itself (incidents.resolve_after).
  REQUIRE(wait_until([&] { return incident_detail(hub, id)["incident"]["status"] == "resolved"; },
                     15s));
  const json d = incident_detail(hub, id);
  CHECK(d["incident"]["resolved_by"] == "reflex");
  CHECK(d["incident"]["severity"] == "warning");

  // The route's non-paging step ran: a ticket for the next business day...
  REQUIRE(wait_calls_settled(hub, id));
  const auto issues = v.jira.issues();
  REQUIRE(issues.size() == 1);
  CHECK(issues[0].key == "OPS-1");
  CHECK(issues[0].summary == d["incident"]["title"]);
  CHECK(has_step(incident_detail(hub, id), "next-morning/ticket (ticket.create) on opened: done"));
  // ...and nothing else: no chat, no page, no command from the hub.
  CHECK(v.slack.received().empty());
  check_nobody_paged(v);
  const json calls = incident_detail(hub, id)["workflow"]["calls"];
  CHECK(calls.size() == 1);
  for (const auto& c : calls) {
    CHECK(c["kind"] == "ticket.create");
  }
}

namespace {

// An agent whose check `app` fails until `healthy` exists, with a critical rule healed
// by `fix` (an exec action's command).
std::unique_ptr<Child> critical_agent(HubProcess& hub, const std::string& healthy,
                                      const std::string& fix) {
  const std::string agent_yaml =
      "checks: [{name: app, type: command, interval: 500ms, timeout: 500ms, command: [/bin/sh, -c, "
      "'test -f " +
      healthy +
      " || exit 2']}]\n"
      "actions: [{name: fix-app, type: exec, command: " +
      fix +
      ", verify_within: 3s, cooldown: 0s}]\n"
      "rules: [{name: app-down, series: app, when: 'state == CRITICAL', severity: critical, "
      "heal: [fix-app]}]\n";
  return hub.start_agent("web-1", HubProcess::AgentSpec{.hostname = "web-1",
                                                        .labels = "{service: checkout, env: prod}",
                                                        .heartbeat = "200ms",
                                                        .extra_yaml = agent_yaml});
}

}  // namespace

TEST_CASE(
    "self-healing, critical: the example holds its page while the agent heals, and the "
    "healed incident wakes nobody",
    "[e2e][scenario]") {
  ScenarioVendors v;
  HubProcess hub(to_yaml(example_hub_config(v)));
  const std::string healthy = hub.dir().file("app.healthy");
  auto agent = critical_agent(hub, healthy, "[/usr/bin/touch, " + healthy + "]");

  const uint64_t id = wait_incident(hub, [](const json& i) { return i["service"] == "checkout"; });
  REQUIRE(id != 0);
  CHECK(wait_timeline(hub, id, "step",
                      "route urgent: opened steps held for up to 5m while agents heal (fix-app "
                      "on web-1)"));
  CHECK(wait_timeline(hub, id, "remediation", "fix-app app on web-1: recovered"));
  REQUIRE(wait_until([&] { return incident_detail(hub, id)["incident"]["status"] == "resolved"; },
                     15s));
  CHECK(wait_timeline(hub, id, "step",
                      "route urgent: resolved while agents healed it; its held steps are not run"));
  const json d = incident_detail(hub, id);
  CHECK(d["incident"]["severity"] == "critical");
  CHECK(d["workflow"]["calls"].empty());
  CHECK(v.slack.received().empty());
  CHECK(v.jira.issues().empty());
  check_nobody_paged(v);
}

TEST_CASE(
    "self-healing, critical: when the agent's remediation is exhausted, the held page goes "
    "out at once",
    "[e2e][scenario]") {
  ScenarioVendors v;
  HubProcess hub(to_yaml(example_hub_config(v)));
  const std::string healthy = hub.dir().file("app.healthy");
  auto agent = critical_agent(hub, healthy, "[/bin/false]");

  const uint64_t id = wait_incident(hub, [](const json& i) { return i["service"] == "checkout"; });
  REQUIRE(id != 0);
  CHECK(wait_timeline(hub, id, "step", "opened steps held for up to 5m"));
  CHECK(wait_timeline(hub, id, "remediation", "exhausted"));
  CHECK(wait_timeline(hub, id, "step",
                      "route urgent: healing did not fix it (the incident escalated): running "
                      "its held opened steps"));
  // Well before the 5m hold would have ended: the on-call's Slack DM and the channel post.
  REQUIRE(wait_until([&] { return !slack_dms(v.slack).empty(); }, 20s));
  CHECK(wait_timeline(hub, id, "step", "urgent/post (chat.post) on opened: done"));
  CHECK(incident_detail(hub, id)["incident"]["status"] == "triggered");
}

namespace {

// examples/hub.yaml rolls back with the agents' `rollback` action and verifies for 10m;
// this scenario rolls back with the Jenkins job the example's integrations.jenkins
// comment describes, and verifies for `verify_within`.
std::string rollback_by_jenkins(const ScenarioVendors& v, const std::string& verify_within) {
  YAML::Node config = example_hub_config(v);
  YAML::Node with = example_step(config, "roll-back", "roll-back")["with"];
  REQUIRE(with["action"].as<std::string>() == "rollback");
  with.remove("action");
  with["job"] = "jenkins:deploy/{{service}}-rollback";
  with["parameters"] = "SERVICE={{service}}, ENV={{env}}";
  with["verify_within"] = verify_within;
  return to_yaml(config);
}

// A canary of checkout 4.3.0 on web-1 and web-2, then errors on both: the incident.
uint64_t failed_canary(const HubProcess& hub) {
  const Reply change = post_json(hub, "/api/v1/changes",
                                 {{"service", "checkout"},
                                  {"environment", "prod"},
                                  {"version", "4.3.0"},
                                  {"hosts", {"web-1", "web-2"}},
                                  {"strategy", "canary"},
                                  {"author", "alice"}});
  INFO(change.body);
  REQUIRE(change.status == 201);
  send_problem(hub, problem("HighErrorRate", "warning", "prod", {"web-1", "web-2"}));
  const uint64_t id = wait_incident(hub, [](const json& i) { return i["service"] == "checkout"; });
  REQUIRE(id != 0);
  const json d = incident_detail(hub, id);
  REQUIRE(d["suspect"].is_object());
  CHECK(d["suspect"]["change"]["id"] == change.doc["change"]["id"]);
  CHECK(d["suspect"]["change"]["strategy"] == "canary");
  CHECK(d["incident"]["affected_hosts"] == 2);
  return id;
}

// The one build queued on the fake Jenkins, checked as Jenkins would see the call.
void check_rollback_job(const ScenarioVendors& v, uint64_t id) {
  REQUIRE(wait_until([&] { return !v.jenkins.queue().empty(); }));
  const auto queue = v.jenkins.queue();
  REQUIRE(queue.size() == 1);
  CHECK(queue[0].job == "deploy/checkout-rollback");
  CHECK(queue[0].parameters ==
        std::map<std::string, std::string>{
            {"SERVICE", "checkout"}, {"ENV", "prod"}, {"REFLEX_INCIDENT", std::to_string(id)}});
  size_t triggers = 0;
  for (const auto& r : v.jenkins.received()) {
    if (r.request.method != "POST") continue;
    ++triggers;
    CHECK(r.request.path == "/job/deploy/job/checkout-rollback/buildWithParameters");
    CHECK(r.request.header("Authorization") ==
          "Basic " + base64(v.jenkins.user() + ":" + v.jenkins.token()));
    CHECK(r.status == 201);
  }
  CHECK(triggers == 1);
}

}  // namespace

TEST_CASE(
    "canary rollback: errors after a canary deploy run the Jenkins rollback job, and a "
    "rollback that does not resolve the incident in time pages the on-call",
    "[e2e][scenario]") {
  ScenarioVendors v;
  HubProcess hub(rollback_by_jenkins(v, "2s"));
  const std::string oncall = oncall_slack_id(hub);
  REQUIRE(!oncall.empty());
  const uint64_t id = failed_canary(hub);
  check_rollback_job(v, id);
  CHECK(wait_timeline(hub, id, "step",
                      "suspect-deploy/roll-back (rollback) on opened: done: jenkins build of "
                      "deploy/checkout-rollback queued"));
  REQUIRE(wait_timeline(hub, id, "step", "rollback done: watching the incident for 2s"));
  // A warning opens a ticket for the morning (the next-morning route) but pages nobody.
  CHECK(slack_dms(v.slack).empty());
  REQUIRE(wait_until([&] { return v.jira.issues().size() == 1; }));

  // The errors go on: the verification window passes, the incident escalates, and the
  // example's escalation policy messages whoever is on call.
  CHECK(wait_timeline(hub, id, "step",
                      "the rollback did not resolve the incident within 2s: escalating"));
  CHECK(wait_timeline(hub, id, "step",
                      "suspect-deploy/rollback-failed (escalate) on escalated: done: escalation "
                      "policy checkout-oncall started"));
  CHECK(wait_timeline(hub, id, "step", "escalation checkout-oncall, level 1: "));
  REQUIRE(wait_until([&] { return !slack_dms(v.slack).empty(); }));
  const auto dms = slack_dms(v.slack);
  REQUIRE(dms.size() == 1);
  CHECK(dms[0].body["channel"] == oncall);
  CHECK(dms[0].status == 200);
  CHECK(button_actions(dms[0].body) == std::vector<std::string>{"reflex:acknowledge"});
  CHECK(incident_detail(hub, id)["workflow"]["objects"]["verify"]["data"]["state"] == "failed");
  CHECK(v.pagerduty.received().empty());
  CHECK(v.jenkins.queue().size() == 1);
}

TEST_CASE(
    "canary rollback: an incident that resolves within the verification window verifies "
    "the rollback and pages nobody",
    "[e2e][scenario]") {
  ScenarioVendors v;
  HubProcess hub(rollback_by_jenkins(v, "30s"));
  const uint64_t id = failed_canary(hub);
  check_rollback_job(v, id);
  REQUIRE(wait_timeline(hub, id, "step", "rollback done: watching the incident for 30s"));
  // The rollback worked: the errors stop on both hosts, the incident resolves by itself.
  send_problem(hub, problem("HighErrorRate", "warning", "prod", {"web-1", "web-2"}, "resolved"));
  CHECK(wait_timeline(hub, id, "step",
                      "rollback verified: the incident resolved within 30s of the rollback"));
  const json d = incident_detail(hub, id);
  CHECK(d["incident"]["status"] == "resolved");
  CHECK(d["workflow"]["objects"]["verify"]["data"]["state"] == "verified");
  CHECK_FALSE(has_step(d, "escalating"));
  REQUIRE(wait_calls_settled(hub, id));
  check_nobody_paged(v);
}

namespace {

const char* const kHighProblem = "FailureRateIncrease";

// A high problem from Dynatrace on checkout in prod, naming its problem; its incident.
uint64_t high_problem(const HubProcess& hub) {
  send_problem(hub, problem(kHighProblem, "high", "prod", {"web-1"}, "firing",
                            {{"problem_id", "-123_456V2"}}));
  const uint64_t id = wait_incident(
      hub, [](const json& i) { return i["group"]["env"] == "prod" && i["severity"] == "high"; });
  REQUIRE(id != 0);
  return id;
}

// The incident's post in #checkout-prod, once there is one.
FakeSlack::Received channel_post(const FakeSlack& slack) {
  REQUIRE(wait_until(
      [&] { return !slack_calls(slack, "chat.postMessage", "#checkout-prod").empty(); }));
  return slack_calls(slack, "chat.postMessage", "#checkout-prod")[0];
}

bool due_on_a_business_day(const std::string& date) {
  std::tm tm{};
  if (!strptime(date.c_str(), "%Y-%m-%d", &tm)) return false;
  tm.tm_hour = 12;
  const std::time_t due = timegm(&tm);
  std::tm back{};
  gmtime_r(&due, &back);
  const std::time_t now = std::time(nullptr);
  return back.tm_wday >= 1 && back.tm_wday <= 5 && due > now - 86400 && due < now + 5 * 86400;
}

}  // namespace

TEST_CASE(
    "fix forward: a warning gets only a ticket due on the next business day, and a high "
    "problem pages the on-call and posts to the service channel with response buttons",
    "[e2e][scenario]") {
  ScenarioVendors v;
  HubProcess hub(to_yaml(example_hub_config(v)));
  const std::string oncall = oncall_slack_id(hub);
  REQUIRE(!oncall.empty());

  send_problem(hub, problem("SlowQueries", "warning", "staging", {"db-1"}));
  const uint64_t low =
      wait_incident(hub, [](const json& i) { return i["group"]["env"] == "staging"; });
  REQUIRE(low != 0);
  REQUIRE(wait_calls_settled(hub, low));
  REQUIRE(v.jira.issues().size() == 1);
  CHECK(v.jira.issues()[0].summary == incident_detail(hub, low)["incident"]["title"]);
  const json fields = v.jira.received().at(0).request.body["fields"];
  CHECK(fields["project"]["key"] == "OPS");
  INFO("duedate " << fields["duedate"]);
  CHECK(due_on_a_business_day(fields.value("duedate", "")));
  CHECK(v.slack.received().empty());
  check_nobody_paged(v);

  const uint64_t high = high_problem(hub);
  const auto post = channel_post(v.slack);
  CHECK(post.body["text"].get<std::string>().rfind("high: " + std::string(kHighProblem), 0) == 0);
  CHECK(button_actions(post.body) ==
        std::vector<std::string>{"reflex:acknowledge", "reflex:start_mim", "reflex:resolve"});
  for (const auto& block : post.body["blocks"]) {
    if (block["type"] != "actions") continue;
    for (const auto& button : block["elements"]) CHECK(button["value"] == std::to_string(high));
  }
  REQUIRE(wait_until([&] { return !slack_dms(v.slack).empty(); }));
  CHECK(slack_dms(v.slack)[0].body["channel"] == oncall);
  CHECK(wait_timeline(hub, high, "step", "escalation checkout-oncall, level 1: "));
  REQUIRE(wait_calls_settled(hub, high));
  CHECK(v.jira.issues().size() == 1);  // no ticket for the high one until someone asks
  CHECK(v.pagerduty.received().empty());
}

TEST_CASE(
    "fix forward: a signed Slack button starts major-incident management once across a "
    "hub crash, a wrongly signed one changes nothing, and resolving closes all of it",
    "[e2e][scenario]") {
  ScenarioVendors v;
  HubProcess hub(to_yaml(example_hub_config(v)));
  const uint64_t id = high_problem(hub);
  channel_post(v.slack);
  REQUIRE(wait_calls_settled(hub, id));
  const size_t calls_before = incident_detail(hub, id)["workflow"]["calls"].size();

  // A click signed with another secret is refused before anything is read.
  const Reply forged =
      click_slack_button(hub, "not-the-signing-secret", "start_mim", id, "mallory");
  CHECK(forged.status == 401);
  const json untouched = incident_detail(hub, id);
  CHECK(timeline_texts(untouched, "response").empty());
  CHECK(untouched["workflow"]["calls"].size() == calls_before);

  // Statuspage is down while the major incident starts: the hub is killed with its
  // status page incident (and the monitoring comment that links it) still to do.
  v.statuspage.down();
  const Reply clicked = click_slack_button(hub, v.slack_signing_secret, "start_mim", id, "alice");
  INFO(clicked.body);
  REQUIRE(clicked.status == 200);
  CHECK_FALSE(clicked.doc.contains("text"));  // no refusal shown to the clicker
  CHECK(wait_timeline(hub, id, "response", "start_mim by slack:alice"));
  const std::string room = "mim-" + std::to_string(id) + "-checkout";
  REQUIRE(wait_until([&] { return slack_calls(v.slack, "conversations.invite").size() == 1; }));
  REQUIRE(wait_until([&] { return slack_calls(v.slack, "chat.postMessage", "#noc").size() == 1; }));
  REQUIRE(v.jira.issue("SD-1"));
  const auto created = slack_calls(v.slack, "conversations.create");
  REQUIRE(created.size() == 1);
  CHECK(created[0].body["name"] == room);
  const std::string room_id = created[0].answer["channel"]["id"];
  const auto invite = slack_calls(v.slack, "conversations.invite")[0];
  CHECK(invite.body["channel"] == room_id);
  CHECK(invite.body["users"] == oncall_slack_id(hub) + ",U0COMMANDER");  // who is on call now
  REQUIRE(
      wait_until([&] { return slack_calls(v.slack, "chat.postMessage", room_id).size() == 1; }));
  CHECK(slack_calls(v.slack, "chat.postMessage", room_id)[0].body["text"] ==
        std::string(kHighProblem) + " on checkout: 1 hosts of checkout (prod)");
  CHECK(slack_calls(v.slack, "chat.postMessage", "#noc")[0].body["text"] ==
        "Major incident " + std::to_string(id) + " on checkout: join #" + room + ", ticket SD-1");
  const auto sd = *v.jira.issue("SD-1");
  CHECK(sd.issuetype == "Incident");
  CHECK(sd.priority == "Highest");
  CHECK(sd.summary == "MIM: " + std::string(kHighProblem) + " on checkout");
  CHECK(v.dynatrace.comments("-123_456V2").empty());

  hub.stop(SIGKILL);
  v.statuspage.up();
  hub.start();
  REQUIRE(wait_until([&] { return v.statuspage.incidents().size() == 1; }, 15s));
  REQUIRE(wait_until([&] { return v.dynatrace.comments("-123_456V2").size() == 1; }, 15s));
  REQUIRE(wait_calls_settled(hub, id));
  const auto page = v.statuspage.incidents()[0];
  CHECK(page.name == "Degraded checkout");
  CHECK(page.status == "investigating");
  const std::string comment = v.dynatrace.comments("-123_456V2")[0].message;
  CHECK_THAT(comment, Catch::Contains("Reflex major incident " + std::to_string(id)));
  CHECK_THAT(comment, Catch::Contains(v.jira.base_url() + "browse/SD-1"));
  CHECK_THAT(comment, Catch::Contains("#" + room));
  CHECK_THAT(comment, Catch::Contains("http://stspg.io/"));

  // Resolved by a responder: the ticket is done, the status page resolved, the message
  // says so, and the room gets a last word before it is archived.
  const auto resolved = hub.ctl({"incident", "resolve", std::to_string(id), "--actor", "alice"});
  INFO(resolved.out << resolved.err);
  REQUIRE(resolved.exit_code == 0);
  REQUIRE(wait_until([&] { return v.jira.issue("SD-1")->status == "Done"; }));
  REQUIRE(wait_until([&] { return v.statuspage.incidents()[0].status == "resolved"; }));
  REQUIRE(wait_until([&] { return slack_calls(v.slack, "conversations.archive").size() == 1; }));
  REQUIRE(wait_calls_settled(hub, id));
  CHECK_THAT(v.jira.issue("SD-1")->comments.at(0), Catch::StartsWith("Resolved: "));
  CHECK(v.statuspage.incidents()[0].updates.back().second == "checkout is working normally again.");
  bool updated = false;
  for (const auto& u : slack_calls(v.slack, "chat.update")) {
    updated =
        updated || u.body["text"] == "resolved: " + std::string(kHighProblem) + " on checkout";
  }
  CHECK(updated);
  // In the room: its details, the invitations, a last word, then the archive.
  std::vector<std::string> in_room;
  for (const auto& r : v.slack.delivered()) {
    if (r.body.value("channel", "") == room_id) in_room.push_back(r.method);
  }
  CHECK(in_room == std::vector<std::string>{"chat.postMessage", "conversations.invite",
                                            "chat.postMessage", "conversations.archive"});
  CHECK_THAT(
      slack_calls(v.slack, "chat.postMessage", room_id).back().body["text"].get<std::string>(),
      Catch::StartsWith("Resolved: "));

  // Nothing was posted or created twice, across the crash or after it.
  CHECK(jira_creates_in(v.jira, "SD") == 1);
  CHECK(v.jira.issues().size() == 1);
  CHECK(slack_calls(v.slack, "conversations.create").size() == 1);
  CHECK(slack_calls(v.slack, "conversations.invite").size() == 1);
  CHECK(slack_calls(v.slack, "chat.postMessage", "#noc").size() == 1);
  CHECK(slack_calls(v.slack, "chat.postMessage", "#checkout-prod").size() == 1);
  CHECK(slack_dms(v.slack).size() == 1);
  CHECK(v.statuspage.incidents().size() == 1);
  CHECK(v.dynatrace.comments("-123_456V2").size() == 1);
  CHECK(v.pagerduty.received().empty());

  // The timeline keeps every step, each done.
  const json d = incident_detail(hub, id);
  for (const char* step :
       {"urgent/page (escalate) on opened: done", "urgent/post (chat.post) on opened: done",
        "mim-ticket (ticket.create) on response:start_mim: done: ticket SD-1",
        "mim-channel (chat.create_channel) on response:start_mim: done",
        "mim-invite (chat.invite) on response:start_mim: done",
        "mim-noc (chat.post) on response:start_mim: done",
        "mim-status (status.create) on response:start_mim: done",
        "mim-monitoring (monitoring.comment) on response:start_mim: done",
        "close (chat.update) on resolved: done",
        "mim-ticket-done (ticket.transition) on resolved: done",
        "mim-status-resolved (status.resolve) on resolved: done",
        "mim-channel-closed (chat.archive) on resolved: done"}) {
    INFO(step);
    CHECK(has_step(d, step));
  }
  CHECK(timeline_texts(d, "resolved").size() == 1);
}
