// The Microsoft Teams incoming-webhook integration: its Adaptive Card posts, its
// classification of the hook's answers (a pure function, with the connector's throttle
// hidden in a 200), the hook URL read as a secret, and the shared integration kit and
// the outbox against the fake Teams, as a connector and as a Workflows hook.
#include "hub/integrations/teams.h"

#include <catch2/catch.hpp>

#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_teams.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;
using reflex::testing::FakeTeams;

namespace {

using hub::testing::answer;

const std::string kHook =
    "https://contoso.webhook.office.com/webhookb2/0f3c9a2e-aaaa@72f988bf-bbbb/IncomingWebhook/"
    "5c1e6f0a9b8d4c3e8f7a6b5c4d3e2f1a/3b2a1c0d-cccc";

OutboxRow row(json payload, const std::string& operation = "teams.post") {
  return hub::testing::outbox_row("teams", operation, std::move(payload));
}

TeamsIntegration teams(bool card = true, const std::string& url = kHook) {
  return TeamsIntegration({.url = url, .adaptive_card = card, .timeout = Millis(2000)});
}

OutboxRequest post(const std::string& key, const std::string& text) {
  return {.integration = "teams",
          .operation = "teams.post",
          .idempotency_key = key,
          .incident_id = 7,
          .payload = {{"text", text}}};
}

}  // namespace

TEST_CASE("a Teams post is an Adaptive Card message with the text, or plain text", "[teams]") {
  auto req = teams().prepare(row({{"text", "**high**: checkout"}}));
  REQUIRE(req);
  CHECK(req->method == "POST");
  CHECK(req->url == kHook);
  CHECK(req->headers == HttpHeaders{{"Content-Type", "application/json"}});
  const json body = json::parse(req->body);
  CHECK(body == teams_body("**high**: checkout", true));
  CHECK(body["type"] == "message");
  const json& a = body["attachments"][0];
  CHECK(a["contentType"] == "application/vnd.microsoft.card.adaptive");
  CHECK(a["content"]["type"] == "AdaptiveCard");
  CHECK(a["content"]["body"][0] ==
        json{{"type", "TextBlock"}, {"text", "**high**: checkout"}, {"wrap", true}});
  CHECK(json::parse(teams(false).prepare(row({{"text", "t"}}))->body) == json{{"text", "t"}});
  // A long text is cut to fit Teams' message size, on a character boundary.
  std::string long_text(23'999, 'x');
  long_text += "éé";
  const json cut = json::parse(teams(false).prepare(row({{"text", long_text}}))->body);
  CHECK(cut["text"].get<std::string>() == std::string(23'999, 'x') + "...");
  CHECK(teams().rate_key(row({{"text", "t"}})) == "hook");
  CHECK(teams_limits(4).rate_per_key == 1.0);
  CHECK(teams_limits(4).burst_per_key == 4.0);
}

TEST_CASE("a Teams post without text is refused naming the field", "[teams]") {
  for (const json& payload : {json::object(), json{{"text", ""}}, json{{"text", 1}}}) {
    auto req = teams().prepare(row(payload));
    REQUIRE_FALSE(req);
    CHECK(req.status().message().find("payload.text") != std::string::npos);
  }
  CHECK(teams()
            .prepare(row({{"text", "t"}}, "teams.update"))
            .status()
            .message()
            .find("unknown operation") != std::string::npos);
}

TEST_CASE("Teams' answers are classified: 1 or empty done, a 429 in the body retried", "[teams]") {
  using K = Outcome::Kind;
  CHECK(classify_teams(answer(200, "1")).kind == K::kDone);
  CHECK(classify_teams(answer(202, "")).kind == K::kDone);  // Workflows
  auto throttled = classify_teams(
      answer(200, "Microsoft Teams endpoint returned HTTP error 429 with ContextId tcid=0"));
  CHECK(throttled.kind == K::kRetry);
  CHECK(throttled.error.find("throttled") != std::string::npos);
  auto odd = classify_teams(answer(200, "Webhook message delivery failed with error: ..."));
  CHECK(odd.kind == K::kPermanent);
  CHECK(classify_teams(answer(429, "", {{"Retry-After", "2"}})).retry_after == Millis(2000));
  CHECK(classify_teams(answer(502, "")).kind == K::kRetry);
  auto bad = classify_teams(answer(400, "Summary or Text is required."));
  CHECK(bad.kind == K::kPermanent);
  CHECK(bad.error == "teams teams.post: HTTP 400: Summary or Text is required.");
  CHECK(classify_teams(answer(404, "")).error.find("removed or retired") != std::string::npos);
}

TEST_CASE("the Teams hook URL is read from url_file or url_env and its parts are secrets",
          "[teams][config]") {
  reflex::testing::TempDir dir;
  TeamsConfig cfg;
  cfg.enabled = true;
  cfg.url_file = dir.write("hook", kHook + "\n");
  auto s = teams_settings(cfg);
  REQUIRE(s);
  CHECK(s->url == kHook);
  CHECK(s->adaptive_card);
  cfg.format = "text";
  CHECK_FALSE(teams_settings(cfg)->adaptive_card);
  const auto secrets = teams().secrets();
  for (const char* part : {"5c1e6f0a9b8d4c3e8f7a6b5c4d3e2f1a", "0f3c9a2e-aaaa@72f988bf-bbbb"}) {
    INFO(part);
    CHECK(std::find(secrets.begin(), secrets.end(), part) != secrets.end());
  }
  const auto workflows =
      teams(true,
            "https://prod.westus.logic.azure.com/workflows/abc/triggers/manual/paths/"
            "invoke?api-version=2016-06-01&sig=AbCdEfGhIjKlMnOp")
          .secrets();
  CHECK(std::find(workflows.begin(), workflows.end(), "AbCdEfGhIjKlMnOp") != workflows.end());
}

TEST_CASE("the Teams integration passes the shared integration kit against the fake connector",
          "[teams][kit]") {
  FakeTeams fake;
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& url) {
    return std::make_unique<TeamsIntegration>(
        TeamsSettings{.url = url, .adaptive_card = true, .timeout = Millis(5000)});
  };
  c.base_url = fake.hook_url();
  c.secrets = teams(true, fake.hook_url()).secrets();
  c.sample = post("incident-42/post", "high: checkout is down");
  c.answer_next = [&](int status, HttpHeaders headers, std::string body) {
    fake.fail_next(1, {.status = status, .headers = std::move(headers), .body = std::move(body)});
  };
  c.check_request = [&] {
    auto posts = fake.posts();
    REQUIRE(posts.size() == 1);
    CHECK(posts[0].shape == "adaptive_card");
    CHECK(posts[0].text == "high: checkout is down");
  };
  c.permanent_status = 400;
  hub::testing::run_integration_kit(c);
}

TEST_CASE(
    "Teams posts through the outbox: a throttled connector post is retried, a Workflows "
    "hook's 202 is done, and plain text is refused by Workflows",
    "[teams][outbox]") {
  FakeTeams connector;
  FakeTeams workflows(FakeTeams::Kind::kWorkflows);
  auto add = [](const std::string& url, bool card) {
    return [url, card](Outbox& o) {
      o.add_integration(std::make_unique<TeamsIntegration>(TeamsSettings{
                            .url = url, .adaptive_card = card, .timeout = Millis(5000)}),
                        {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
    };
  };
  hub::testing::OutboxHarness h(add(connector.hook_url(), true));
  connector.throttle_next(1);
  auto r = h.enqueue(post("throttled", "checkout is down"));
  REQUIRE(r);
  REQUIRE(h.wait_attempt(r->id, OutboxState::kPending, 1));
  CHECK(h.row(r->id).last_error.find("429") != std::string::npos);
  CHECK(connector.posts().empty());
  h.advance(Millis(60'000));
  REQUIRE(h.wait_state(r->id, OutboxState::kDone));
  CHECK(h.row(r->id).result == json{{"status", 200}});
  REQUIRE(connector.posts().size() == 1);

  // An answer quoting the hook URL is scrubbed before it is cut to fit the record, so
  // no piece of the URL is left.
  connector.fail_next(
      1, {.status = 400,
          .headers = {},
          .body = "bad request to " + std::string(150, '-') + " " + connector.hook_url()});
  auto echoed = h.enqueue(post("echoed", "x"));
  REQUIRE(echoed);
  REQUIRE(h.wait_state(echoed->id, OutboxState::kDead));
  CHECK(h.row(echoed->id).last_error.find("[redacted]") != std::string::npos);
  CHECK(h.row(echoed->id).last_error.find("3b2a1") == std::string::npos);

  hub::testing::OutboxHarness flow(add(workflows.hook_url(), true));
  auto w = flow.enqueue(post("flow", "checkout is down"));
  REQUIRE(w);
  REQUIRE(flow.wait_state(w->id, OutboxState::kDone));
  CHECK(flow.row(w->id).result == json{{"status", 202}});
  REQUIRE(workflows.posts().size() == 1);
  CHECK(workflows.posts()[0].text == "checkout is down");

  hub::testing::OutboxHarness text(add(workflows.hook_url(), false));
  auto t = text.enqueue(post("text", "checkout is down"));
  REQUIRE(t);
  REQUIRE(text.wait_state(t->id, OutboxState::kDead));
  CHECK(text.row(t->id).last_error.find("HTTP 400") != std::string::npos);
  CHECK(text.row(t->id).last_error.find("sig=") == std::string::npos);
}
