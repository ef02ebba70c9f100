// What each workflow call sends, waits for or skips (hub/policy/step_calls.h), and the
// Slack button signature (hub/slack_actions.h): pure functions, no I/O.
#include <catch2/catch.hpp>

#include "hub/policy/ci_job.h"
#include "hub/policy/step_calls.h"
#include "hub/slack_actions.h"

using namespace reflex;
using namespace reflex::hub;
using namespace reflex::hub::policy;
using nlohmann::json;

namespace {

IncidentFacts facts() {
  IncidentFacts f;
  f.id = 42;
  f.title = "HighErrorRate on checkout";
  f.status = "triggered";
  f.severity = protocol::Severity::kHigh;
  f.labels = {{"service", "checkout"}, {"env", "prod"}, {"problem_id", "-123_456V2"}};
  f.affected_hosts = 3;
  return f;
}

WorkflowCall call(std::string kind, std::map<std::string, std::string> with,
                  std::string step = "s") {
  WorkflowCall c;
  c.seq = 1;
  c.kind = std::move(kind);
  c.step = std::move(step);
  c.with = std::move(with);
  c.integration = integration_for(c.kind, c.with);
  return c;
}

WorkflowObject ready(json data, uint64_t seq = 1) {
  return {.state = ObjectState::kReady, .call_seq = seq, .data = std::move(data)};
}
WorkflowObject pending(uint64_t seq = 1) {
  return {.state = ObjectState::kPending, .call_seq = seq, .data = json::object()};
}

}  // namespace

TEST_CASE("a chat post renders its templates, escapes for Slack and carries the buttons",
          "[workflow]") {
  auto plan = plan_call(call("chat.post",
                             {{"channel", "#{{service}}"},
                              {"text", "{{title}} <{{affected_hosts}} & more>"},
                              {"buttons", "acknowledge, start_mim"}},
                             "post"),
                        facts(), {});
  REQUIRE(plan.verdict == CallPlan::Verdict::kSend);
  CHECK(plan.operation == "slack.chat.postMessage");
  CHECK(plan.creates == "message:post");
  CHECK(plan.payload["channel"] == "#checkout");
  CHECK(plan.payload["text"] == "HighErrorRate on checkout &lt;3 &amp; more&gt;");
  const json& buttons = plan.payload["blocks"][1]["elements"];
  REQUIRE(buttons.size() == 2);
  CHECK(buttons[0]["action_id"] == "reflex:acknowledge");
  CHECK(buttons[1]["text"]["text"] == "Start major incident");
  CHECK(buttons[1]["value"] == "42");

  IncidentFacts resolved = facts();
  resolved.status = "resolved";
  auto closed = plan_call(
      call("chat.post", {{"channel", "C1"}, {"text", "x"}, {"buttons", "resolve"}}), resolved, {});
  CHECK(closed.payload["blocks"].size() == 1);  // no buttons on a resolved incident
}

TEST_CASE("calls on an object wait while it is being created and are skipped without it",
          "[workflow]") {
  const auto comment = call("ticket.comment", {{"text", "more"}});
  CHECK(plan_call(comment, facts(), {}).verdict == CallPlan::Verdict::kSkip);
  CHECK(plan_call(comment, facts(), {}).reason == "no ticket was created for this incident");
  CHECK(plan_call(comment, facts(), {{"ticket", pending()}}).verdict == CallPlan::Verdict::kWait);
  auto sent = plan_call(comment, facts(), {{"ticket", ready({{"key", "OPS-7"}})}});
  REQUIRE(sent.verdict == CallPlan::Verdict::kSend);
  CHECK(sent.operation == "jira.comment");
  CHECK(sent.payload == json{{"issue", "OPS-7"}, {"body", "more"}});

  WorkflowObject failed = pending();
  failed.state = ObjectState::kFailed;
  CHECK(plan_call(comment, facts(), {{"ticket", failed}}).reason ==
        "the ticket could not be created");
}

TEST_CASE("a template naming another step's object waits for it, then sees its fields",
          "[workflow]") {
  auto c = call("monitoring.comment", {{"text", "ticket {{ticket.url}}, chat {{channel.name}}"}});
  CHECK(plan_call(c, facts(), {{"ticket", pending()}}).verdict == CallPlan::Verdict::kWait);
  std::map<std::string, WorkflowObject> objects = {
      {"ticket", ready({{"key", "OPS-7"}, {"url", "https://jira/browse/OPS-7"}})},
      {"channel", ready({{"id", "C9"}, {"name", "inc-42"}})}};
  IncidentFacts f = facts();
  f.refs = object_refs(objects);
  auto plan = plan_call(c, f, objects);
  REQUIRE(plan.verdict == CallPlan::Verdict::kSend);
  CHECK(plan.operation == "dynatrace.comment");
  CHECK(plan.payload["problem_id"] == "-123_456V2");
  CHECK(plan.payload["message"] == "ticket https://jira/browse/OPS-7, chat inc-42");
  CHECK(plan.payload["context"] == "Reflex incident 42");
}

TEST_CASE(
    "updates and replies go to the incident's first message, refreshes re-render its "
    "template",
    "[workflow]") {
  std::map<std::string, WorkflowObject> objects = {
      {"message:second", ready({{"channel", "C2"}, {"ts", "2.0"}}, 5)},
      {"message:first",
       ready({{"channel", "C1"}, {"ts", "1.0"}, {"template", "{{affected_hosts}} hosts"}}, 2)}};
  CHECK(first_message(objects) == "message:first");
  auto update = plan_call(call("chat.update", {{"text", "done"}}), facts(), objects);
  CHECK(update.operation == "slack.chat.update");
  CHECK(update.payload == json{{"channel", "C1"}, {"ts", "1.0"}, {"text", "done"}});
  auto reply = plan_call(call("chat.reply", {{"text", "hi"}}), facts(), objects);
  CHECK(reply.payload["thread_ts"] == "1.0");
  auto refresh = plan_call(call("refresh", {}, "message:first"), facts(), objects);
  CHECK(refresh.payload["text"] == "3 hosts");
}

TEST_CASE("each step kind goes to its vendor's operation with the vendor's fields", "[workflow]") {
  auto ticket = plan_call(
      call("ticket.create",
           {{"project", "OPS"}, {"summary", "{{title}}\nsecond line"}, {"priority", "High"}}),
      facts(), {});
  CHECK(ticket.operation == "jira.create_issue");
  CHECK(ticket.creates == "ticket");
  CHECK(ticket.payload["fields"]["summary"] == "HighErrorRate on checkout");
  CHECK(ticket.payload["fields"]["issuetype"]["name"] == "Task");
  CHECK(ticket.payload["fields"]["priority"]["name"] == "High");

  auto status = plan_call(
      call("status.create",
           {{"name", "{{service}} errors"}, {"status", "investigating"}, {"components", "c1, c2"}}),
      facts(), {});
  CHECK(status.operation == "statuspage.create_incident");
  CHECK(status.payload["incident"]["component_ids"] == json{"c1", "c2"});
  auto resolve =
      plan_call(call("status.resolve", {}), facts(), {{"status_page", ready({{"id", "sp1"}})}});
  CHECK(resolve.payload == json{{"incident_id", "sp1"}, {"incident", {{"status", "resolved"}}}});

  auto page = plan_call(call("page", {{"policy", "checkout-oncall"}}), facts(), {});
  CHECK(page.operation == "pagerduty.event");
  CHECK(page.payload["event_action"] == "trigger");
  CHECK(page.payload["dedup_key"] == "reflex-incident-42");
  CHECK(page.payload["payload"]["severity"] == "error");
  auto ack = plan_call(call("pager.acknowledge", {}), facts(),
                       {{"page", ready({{"dedup_key", "reflex-incident-42"}})}});
  CHECK(ack.payload == json{{"event_action", "acknowledge"}, {"dedup_key", "reflex-incident-42"}});

  auto channel =
      plan_call(call("chat.create_channel", {{"name", "#INC {{id}}: {{service}}!"}}), facts(), {});
  CHECK(channel.payload["name"] == "inc-42-checkout");

  auto rollback = plan_call(call("rollback", {{"action", "rollback"}}), facts(), {});
  CHECK(rollback.verdict == CallPlan::Verdict::kSkip);
}

TEST_CASE("a monitoring comment without a problem_id label is skipped", "[workflow]") {
  IncidentFacts f = facts();
  f.labels.erase("problem_id");
  auto plan = plan_call(call("monitoring.comment", {{"text", "x"}}), f, {});
  CHECK(plan.verdict == CallPlan::Verdict::kSkip);
  CHECK(plan.reason.find("problem_id") != std::string::npos);
}

TEST_CASE("a workflow document survives its JSON form, and a damaged one names the field",
          "[workflow]") {
  IncidentWorkflow w;
  w.incident_id = 42;
  w.facts = facts();
  w.next_seq = 3;
  w.calls.push_back(call("chat.post", {{"channel", "C1"}, {"text", "t"}}, "post"));
  w.calls[0].state = CallState::kSent;
  w.calls[0].outbox_id = 9;
  w.objects["message:post"] = pending();
  auto back = parse_workflow(workflow_json(w));
  REQUIRE(back);
  CHECK(*back == w);
  json bad = workflow_json(w);
  bad["calls"][0]["state"] = "lost";
  CHECK(parse_workflow(bad).status().message() == "calls[0].state: unknown state");
}

TEST_CASE("a Slack click is accepted only with Slack's signature over the raw body, recently",
          "[workflow][slack]") {
  const std::string secret = "8f742231b10e8888abcd99yyyzzz85a5";
  const std::string payload = R"({"type":"block_actions","user":{"id":"U1","username":"alice"},)"
                              R"("actions":[{"action_id":"reflex:start_mim","value":"42"}]})";
  std::string body = "payload=";
  for (char c : payload) {  // form encoding of the JSON
    if (std::isalnum(static_cast<unsigned char>(c))) {
      body += c;
    } else {
      char hex[4];
      std::snprintf(hex, sizeof hex, "%%%02X", static_cast<unsigned char>(c));
      body += hex;
    }
  }
  const int64_t now = 1'700'000'000;
  const std::string ts = std::to_string(now);
  const std::string sig = slack_signature(secret, ts, body);
  CHECK(sig.starts_with("v0="));
  CHECK(verify_slack_request(secret, ts, body, sig, now));
  CHECK(verify_slack_request(secret, ts, body, sig, now + 299));
  CHECK_FALSE(verify_slack_request(secret, ts, body, sig, now + 301));  // a replay
  CHECK_FALSE(verify_slack_request("other", ts, body, sig, now));
  CHECK_FALSE(verify_slack_request(secret, ts, body + "x", sig, now));
  CHECK_FALSE(verify_slack_request(secret, "", body, sig, now));
  CHECK(verify_slack_request(secret, ts, body, "", now).message().find("X-Slack-Signature") !=
        std::string::npos);

  auto action = parse_slack_action(body);
  REQUIRE(action);
  CHECK(action->kind == IncidentAction::Kind::kRespond);
  CHECK(action->option == "start_mim");
  CHECK(action->incident_id == 42);
  CHECK(action->actor == "slack:alice");
  CHECK(parse_slack_action("payload=%7B%7D").status().message().find("payload.type") !=
        std::string::npos);
  CHECK(parse_slack_action("other=1").status().code() == "invalid_body");
}

TEST_CASE(
    "an escalation's notifications go to the person's Slack with an Acknowledge button "
    "and to their phone gateway",
    "[workflow][oncall]") {
  CHECK(integration_for("escalate", {}) == "oncall");
  const std::map<std::string, std::string> common = {
      {"text", "{{severity}}: {{title}} <now>"}, {"level", "level 2"}, {"to", "Alice"}};
  auto with = [&](std::string key, std::string value) {
    auto w = common;
    w[key] = value;
    return w;
  };
  const WorkflowCall dm_call = call("notify.chat", with("channel", "U0ALICE"));
  CHECK(dm_call.integration == "slack");
  auto dm = plan_call(dm_call, facts(), {});
  REQUIRE(dm.verdict == CallPlan::Verdict::kSend);
  CHECK(dm.operation == "slack.chat.postMessage");
  CHECK(dm.creates.empty());  // nothing later acts on a page's message
  CHECK(dm.payload["channel"] == "U0ALICE");
  CHECK(dm.payload["text"] == "high: HighErrorRate on checkout &lt;now&gt; (level 2)");
  const json& buttons = dm.payload["blocks"][1]["elements"];
  REQUIRE(buttons.size() == 1);
  CHECK(buttons[0]["action_id"] == "reflex:acknowledge");
  CHECK(buttons[0]["value"] == "42");

  const WorkflowCall phone_call = call("notify.webhook", with("url", "https://sms.example/alice"));
  CHECK(phone_call.integration == "webhook");
  auto phone = plan_call(phone_call, facts(), {});
  CHECK(phone.operation == "webhook.post");
  CHECK(phone.payload["url"] == "https://sms.example/alice");
  CHECK(phone.payload["body"]["text"] == "high: HighErrorRate on checkout <now>");
  CHECK(phone.payload["body"]["to"] == "Alice");
  CHECK(phone.payload["body"]["level"] == "level 2");
  CHECK(phone.payload["body"]["incident"]["id"] == 42);

  // Someone reachable only by email gets an email.
  const WorkflowCall mail_call = call("notify.email", with("address", "carol@example.com"));
  CHECK(mail_call.integration == "email");
  auto mail = plan_call(mail_call, facts(), {});
  REQUIRE(mail.verdict == CallPlan::Verdict::kSend);
  CHECK(mail.operation == "email.send");
  CHECK(mail.creates.empty());
  CHECK(mail.payload["to"] == json::array({"carol@example.com"}));
  CHECK(mail.payload["subject"] == "high: HighErrorRate on checkout <now> (level 2)");
  const std::string body = mail.payload["body"];
  CHECK(body.rfind("high: HighErrorRate on checkout <now>\n", 0) == 0);  // no Slack escaping
  CHECK(body.find("incident 42 (level 2 of its escalation policy)") != std::string::npos);
  CHECK(body.find("Acknowledge it in Reflex") != std::string::npos);
  CHECK(plan_call(call("notify.email", with("address", "carol")), facts(), {}).verdict ==
        CallPlan::Verdict::kSkip);
}

TEST_CASE(
    "a rollback job goes to Jenkins or GitHub by its prefix, and an agent action to the "
    "agents",
    "[workflow][ci]") {
  CHECK(integration_for("rollback", {{"job", "jenkins:deploy/{{service}}-rollback"}}) == "jenkins");
  CHECK(integration_for("rollback", {{"job", " github:acme/shop/rollback.yml@v2"}}) == "github");
  CHECK(integration_for("rollback", {{"job", "{{labels.ci_job}}"}}).empty());
  CHECK(integration_for("rollback", {{"action", "rollback"}}) == "agents");  // the runner's own
  CHECK(not_run_reason("rollback", {{"job", "{{labels.ci_job}}"}})
            .find("must start with jenkins: or github:") != std::string::npos);
  CHECK(not_run_reason("retire", {}) == "retire steps are not run by this hub version");
}

TEST_CASE(
    "a rollback by a Jenkins job renders the job path and its parameters and adds the "
    "incident's id",
    "[workflow][ci]") {
  auto plan =
      plan_call(call("rollback",
                     {{"job", "jenkins:deploy/{{service}}-rollback"},
                      {"parameters", "SERVICE={{service}}, ENV={{env}}, WHY={{title}}, now"},
                      {"hosts", "{{labels.env}}-hosts"}},
                     "undo"),
                facts(), {});
  REQUIRE(plan.verdict == CallPlan::Verdict::kSend);
  CHECK(plan.operation == "jenkins.build");
  CHECK(plan.creates == "ci:undo");
  CHECK(plan.payload == json{{"job", "deploy/checkout-rollback"},
                             {"parameters",
                              {{"SERVICE", "checkout"},
                               {"ENV", "prod"},
                               {"WHY", "HighErrorRate on checkout, now"},
                               {"REFLEX_HOSTS", "prod-hosts"},
                               {"REFLEX_INCIDENT", "42"}}}});

  // Done: the queue item is kept on the incident and described on its timeline.
  const json data = object_data(
      "ci:undo", plan.payload,
      {{"job", "deploy/checkout-rollback"}, {"queue_url", "https://ci.example.com/queue/item/7/"}},
      {});
  CHECK(data["queue_url"] == "https://ci.example.com/queue/item/7/");
  CHECK(describe_ci(data) ==
        "jenkins build of deploy/checkout-rollback queued: https://ci.example.com/queue/item/7/");
  CHECK(object_data("ci:undo", plan.payload, nullptr, {})["merged"] == false);
  json merged = data;
  merged["merged"] = true;
  CHECK(describe_ci(merged).find("merged into an identical one already waiting") !=
        std::string::npos);
}

TEST_CASE("a rollback by a GitHub workflow dispatches it on its ref, main by default",
          "[workflow][ci]") {
  auto plan = plan_call(
      call("rollback", {{"job", "github:acme/{{service}}/rollback.yml"}, {"parameters", "A=1"}},
           "undo"),
      facts(), {});
  REQUIRE(plan.verdict == CallPlan::Verdict::kSend);
  CHECK(plan.operation == "github.dispatch");
  CHECK(plan.creates == "ci:undo");
  CHECK(plan.payload == json{{"repo", "acme/checkout"},
                             {"workflow", "rollback.yml"},
                             {"ref", "main"},
                             {"inputs", {{"A", "1"}, {"REFLEX_INCIDENT", "42"}}}});
  auto on_tag = plan_call(call("rollback", {{"job", "github:acme/shop/161335@release/{{env}}"}}),
                          facts(), {});
  CHECK(on_tag.payload["workflow"] == "161335");
  CHECK(on_tag.payload["ref"] == "release/prod");
  CHECK(on_tag.payload["inputs"] == json{{"REFLEX_INCIDENT", "42"}});
  const json data = object_data("ci:undo", on_tag.payload, on_tag.payload, {});
  CHECK(describe_ci(data) == "github workflow acme/shop/161335 dispatched on release/prod");
}

TEST_CASE("a rollback job or parameters that render malformed are skipped saying why",
          "[workflow][ci]") {
  IncidentFacts f = facts();
  f.labels["ci_repo"] = "";
  auto no_repo =
      plan_call(call("rollback", {{"job", "github:{{labels.ci_repo}}/rollback.yml"}}), f, {});
  CHECK(no_repo.verdict == CallPlan::Verdict::kSkip);
  CHECK(no_repo.reason.find("github:<owner>/<repo>/<workflow file>") != std::string::npos);
  auto empty_job = plan_call(call("rollback", {{"job", "jenkins:{{labels.ci_repo}}"}}), f, {});
  CHECK(empty_job.verdict == CallPlan::Verdict::kSkip);
  CHECK(empty_job.reason.find("no job path") != std::string::npos);
  auto bad_parameters = plan_call(
      call("rollback", {{"job", "jenkins:rollback"}, {"parameters", "{{service}}"}}), f, {});
  CHECK(bad_parameters.verdict == CallPlan::Verdict::kSkip);
  CHECK(bad_parameters.reason.find("parameters: \"checkout\" is not NAME=value") !=
        std::string::npos);
}

TEST_CASE(
    "an email step sends to the rendered list with the subject's first line and a default "
    "body",
    "[workflow][email]") {
  CHECK(integration_for("email", {}) == "email");
  auto plan = plan_call(call("email", {{"to", "oncall@example.com, {{service}}-team@example.com"},
                                       {"subject", "{{severity}}: {{title}}\nsecond line"},
                                       {"body", "Hosts: {{affected_hosts}} <all>"}}),
                        facts(), {});
  REQUIRE(plan.verdict == CallPlan::Verdict::kSend);
  CHECK(plan.operation == "email.send");
  CHECK(plan.creates.empty());
  CHECK(plan.payload == json{{"to", {"oncall@example.com", "checkout-team@example.com"}},
                             {"subject", "high: HighErrorRate on checkout"},
                             {"body", "Hosts: 3 <all>"}});
  auto no_body = plan_call(call("email", {{"to", "a@example.com"}, {"subject", "s"}}), facts(), {});
  CHECK(no_body.payload["body"] ==
        "HighErrorRate on checkout\n\nIncident 42: high, triggered, 3 affected hosts of "
        "checkout (prod).\n");

  auto nobody =
      plan_call(call("email", {{"to", "{{labels.owner}}"}, {"subject", "s"}}), facts(), {});
  CHECK(nobody.verdict == CallPlan::Verdict::kSkip);
  CHECK(nobody.reason == "nobody to email: to rendered empty");
  auto bad =
      plan_call(call("email", {{"to", "ops@example.com, ops"}, {"subject", "s"}}), facts(), {});
  CHECK(bad.verdict == CallPlan::Verdict::kSkip);
  CHECK(bad.reason == "to: \"ops\" is not an address like alice@example.com");
}

TEST_CASE(
    "a chat post through Mattermost or Teams sends the text unescaped and creates no "
    "message, and the other chat kinds are refused",
    "[workflow][chat]") {
  const std::map<std::string, std::string> post = {{"channel", "#{{service}}-{{env}}"},
                                                   {"text", "{{title}} <{{affected_hosts}}>"},
                                                   {"integration", "mattermost"}};
  const WorkflowCall mm = call("chat.post", post, "post");
  CHECK(mm.integration == "mattermost");
  auto plan = plan_call(mm, facts(), {});
  REQUIRE(plan.verdict == CallPlan::Verdict::kSend);
  CHECK(plan.operation == "mattermost.post");
  CHECK(plan.creates.empty());  // nothing to update or refresh later
  CHECK(plan.payload ==
        json{{"text", "HighErrorRate on checkout <3>"}, {"channel", "checkout-prod"}});

  auto teams_with = post;
  teams_with["integration"] = "teams";
  auto teams = plan_call(call("chat.post", teams_with, "post"), facts(), {});
  REQUIRE(teams.verdict == CallPlan::Verdict::kSend);
  CHECK(teams.operation == "teams.post");
  CHECK(teams.payload == json{{"text", "HighErrorRate on checkout <3>"}});

  for (const char* kind : {"chat.update", "chat.reply", "chat.invite", "chat.archive",
                           "chat.create_channel", "chat.say", "refresh"}) {
    INFO(kind);
    auto refused = plan_call(call(kind, {{"text", "t"}, {"integration", "teams"}}), facts(), {});
    CHECK(refused.verdict == CallPlan::Verdict::kSkip);
    CHECK(refused.reason.find("Teams incoming webhooks never return") != std::string::npos);
    CHECK(chat_refusal("mattermost", kind).find("can only post (chat.post)") != std::string::npos);
  }
  CHECK(chat_refusal("slack", "chat.update").empty());
  CHECK(chat_refusal("mattermost", "chat.post").empty());
}

TEST_CASE(
    "a webhook body that renders to a JSON object is sent with the incident in it, and any "
    "other body as text beside it",
    "[workflow]") {
  auto body_of = [](const std::string& body) {
    auto plan = plan_call(call("webhook", {{"url", "https://hooks.example.com/x"}, {"body", body}}),
                          facts(), {});
    REQUIRE(plan.verdict == CallPlan::Verdict::kSend);
    CHECK(plan.operation == "webhook.post");
    CHECK(plan.payload["body"]["incident"]["id"] == 42);
    return plan.payload["body"];
  };
  CHECK(body_of(R"({"team": "{{service}}"})")["team"] == "checkout");
  CHECK(body_of("checkout is down")["text"] == "checkout is down");
  // Valid JSON that is not an object: a label rendered to a number, an array, a boolean.
  for (const char* body : {"42", "[1, 2]", "true", "\"quoted\""}) {
    INFO(body);
    CHECK(body_of(body)["text"] == body);
  }
}
