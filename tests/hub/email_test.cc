// The email integration: its submissions (envelope, message, AUTH), its classification of
// SMTP replies (a pure function), and the shared integration kit and the outbox against
// the fake SMTP server over real TCP with libcurl.
#include "hub/integrations/email.h"

#include <catch2/catch.hpp>

#include "hub/integrations/mail_message.h"
#include "hub/integrations/vendor_http.h"
#include "tests/hub/integration_kit.h"
#include "tests/hub/outbox_harness.h"
#include "tests/support/fake_smtp.h"

using namespace reflex;
using namespace reflex::hub;
using nlohmann::json;
using reflex::testing::FakeSmtp;

namespace {

const std::string kPassword = "s3cr3t-smtp-pa55word";

OutboxRow row(json payload, const std::string& operation = "email.send") {
  OutboxRow r = hub::testing::outbox_row("email", operation, std::move(payload));
  r.idempotency_key = "wf:42:3";  // the Message-ID is made from it
  return r;
}

EmailSettings settings(const std::string& url, std::string user = "", std::string password = "") {
  return {.url = url,
          .from = "reflex@example.com",
          .user = std::move(user),
          .password = std::move(password),
          .starttls = MailEnvelope::StartTls::kOff,
          .timeout = Millis(5000)};
}

HttpResponse reply(int code, const std::string& error = "") {
  HttpResponse r;
  r.status = code;
  r.error = error;
  return r;
}

const json kMail = {{"to", {"oncall@example.com", "lead@example.com"}},
                    {"subject", "high: HighErrorRate on checkout"},
                    {"body", "3 hosts"}};

OutboxRequest request(const std::string& key, json payload = kMail) {
  return {.integration = "email",
          .operation = "email.send",
          .idempotency_key = key,
          .incident_id = 42,
          .payload = std::move(payload)};
}

}  // namespace

TEST_CASE("an email is an SMTP submission with the envelope, the message and AUTH", "[email]") {
  SimulatedTime clock(1'795'707'710'000);
  EmailSettings s = settings("smtp://mail.example.com:587", "reflex", kPassword);
  s.starttls = MailEnvelope::StartTls::kRequired;
  EmailIntegration email(s, clock);
  auto req = email.prepare(row(kMail));
  REQUIRE(req);
  CHECK(req->url == "smtp://mail.example.com:587");
  REQUIRE(req->mail);
  CHECK(req->mail->from == "reflex@example.com");
  CHECK(req->mail->recipients ==
        std::vector<std::string>{"oncall@example.com", "lead@example.com"});
  CHECK(req->mail->starttls == MailEnvelope::StartTls::kRequired);
  CHECK(req->mail->user == "reflex");
  CHECK(req->mail->password == kPassword);
  CHECK(req->timeout == Millis(5000));
  CHECK(req->body == build_mail_message({.from = "reflex@example.com",
                                         .to = {"oncall@example.com", "lead@example.com"},
                                         .subject = "high: HighErrorRate on checkout",
                                         .body = "3 hosts",
                                         .idempotency_key = "wf:42:3",
                                         .date_ms = 1'795'707'710'000}));
  CHECK(req->body.find(kPassword) == std::string::npos);
  CHECK(email.secrets() ==
        std::vector<std::string>{kPassword, base64_encode(std::string("\0reflex\0", 8) + kPassword),
                                 base64_encode(kPassword)});
  CHECK(EmailIntegration(settings("smtp://x"), clock).secrets().empty());
}

TEST_CASE("an email with a bad recipient, subject or body is refused naming the field", "[email]") {
  SimulatedTime clock;
  EmailIntegration email(settings("smtp://x"), clock);
  auto check = [&](json payload, const std::string& field, const std::string& op = "email.send") {
    auto req = email.prepare(row(std::move(payload), op));
    REQUIRE_FALSE(req);
    INFO(req.status().message());
    CHECK(req.status().message().find(field) != std::string::npos);
  };
  check({{"subject", "s"}}, "payload.to is required");
  check({{"to", json::array()}, {"subject", "s"}}, "payload.to must be a non-empty list");
  check({{"to", {"a@b", "Eve <e@x>"}}, {"subject", "s"}}, "payload.to[1]");
  check({{"to", {"a@b\r\nRCPT TO:<x@y>"}}, {"subject", "s"}}, "payload.to[0]");
  check({{"to", {"a@b"}}}, "payload.subject is required");
  check({{"to", {"a@b"}}, {"subject", 7}}, "payload.subject must be a string");
  check({{"to", {"a@b"}}, {"subject", "s"}, {"body", json::object()}}, "payload.body");
  check(kMail, "unknown operation", "email.forward");
}

TEST_CASE("SMTP replies are classified: 4xx and no reply retried, 5xx permanent", "[email]") {
  using K = Outcome::Kind;
  CHECK(classify_email(reply(250)).kind == K::kDone);
  for (int code : {421, 450, 451, 452, 454}) {
    INFO(code);
    auto o = classify_email(reply(code, "MAIL failed: " + std::to_string(code)));
    CHECK(o.kind == K::kRetry);
    CHECK(o.error.find("SMTP " + std::to_string(code)) != std::string::npos);
  }
  CHECK(classify_email(reply(0, "Failed to connect (CURLE_COULDNT_CONNECT)")).kind == K::kRetry);
  CHECK(classify_email(reply(0, "timed out: ... (CURLE_OPERATION_TIMEDOUT)")).kind == K::kRetry);
  CHECK(classify_email(reply(250, "Recv failure (CURLE_RECV_ERROR)")).kind == K::kRetry);
  const std::map<int, std::string> hints = {{535, "check integrations.email.user"},
                                            {530, "requires AUTH"},
                                            {550, "refused an address"},
                                            {554, "SMTP 554"}};
  for (const auto& [code, hint] : hints) {
    INFO(code);
    auto o = classify_email(reply(code, "RCPT failed: " + std::to_string(code)));
    CHECK(o.kind == K::kPermanent);
    CHECK(o.error.find(hint) != std::string::npos);
  }
  auto no_tls = classify_email(reply(250, "STARTTLS not supported. (CURLE_USE_SSL_FAILED)"));
  CHECK(no_tls.kind == K::kPermanent);
  CHECK(no_tls.error.find("integrations.email.starttls") != std::string::npos);
}

TEST_CASE("the SMTP password is read from password_file or password_env, and is optional",
          "[email][config]") {
  reflex::testing::TempDir dir;
  EmailConfig cfg;
  cfg.enabled = true;
  cfg.url = "smtps://mail.example.com:465";
  cfg.from = "reflex@example.com";
  auto none = email_settings(cfg);
  REQUIRE(none);
  CHECK(none->password.empty());
  CHECK(none->starttls == MailEnvelope::StartTls::kRequired);
  cfg.user = "reflex";
  cfg.starttls = "opportunistic";
  cfg.password_file = dir.write("pw", kPassword + "\n");
  auto s = email_settings(cfg);
  REQUIRE(s);
  CHECK(s->password == kPassword);
  CHECK(s->starttls == MailEnvelope::StartTls::kOpportunistic);
  cfg.password_file.clear();
  cfg.password_env = "REFLEX_TEST_SMTP_PASSWORD";
  ::unsetenv("REFLEX_TEST_SMTP_PASSWORD");
  auto missing = email_settings(cfg);
  REQUIRE_FALSE(missing);
  CHECK(missing.status().message().find("integrations.email.password_env") != std::string::npos);
}

TEST_CASE("the email integration passes the shared integration kit against the fake SMTP server",
          "[email][kit]") {
  FakeSmtp fake;
  fake.require_auth("reflex", kPassword);
  SimulatedTime clock;
  hub::testing::IntegrationKitCase c;
  c.make = [&](const std::string& url) {
    return std::make_unique<EmailIntegration>(settings(url, "reflex", kPassword), clock);
  };
  c.base_url = fake.url();
  c.secrets = {kPassword, base64_encode(std::string("\0reflex\0", 8) + kPassword),
               base64_encode(kPassword)};
  c.sample = request("incident-42/email");
  // SMTP's "slow down" is a 4xx reply (421, 451, 452); the others as they are.
  c.answer_next = [&](int status, HttpHeaders, std::string body) {
    const int code = status == 429 ? 452 : status == 503 ? 451 : status;
    fake.fail_next(1, {.stage = FakeSmtp::Stage::kMail, .code = code, .text = body});
  };
  c.check_request = [&] {
    auto got = fake.messages();
    REQUIRE_FALSE(got.empty());
    const auto& m = got.back();
    CHECK(m.mail_from == "reflex@example.com");
    CHECK(m.rcpt_to == std::vector<std::string>{"oncall@example.com", "lead@example.com"});
    CHECK(m.auth_user == "reflex");
    CHECK(m.subject() == "high: HighErrorRate on checkout");
    CHECK(m.header("Message-ID") == mail_message_id("incident-42/email/ok", "reflex@example.com"));
  };
  c.permanent_status = 550;
  c.scheme = "smtp";
  c.retry_after = false;
  hub::testing::run_integration_kit(c);
}

TEST_CASE(
    "a delivered email keeps its headers, CRLF lines, dot-stuffed lines and a non-ASCII "
    "subject through real SMTP",
    "[email][outbox]") {
  FakeSmtp fake;
  SimulatedTime clock(1'795'707'710'000);
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(std::make_unique<EmailIntegration>(settings(fake.url()), clock),
                      {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  const std::string body = "Störung seit 10:02.\n.\n.. two dots\n.leading dot\nend.";
  auto r = h.enqueue(request(
      "wf:7:1",
      {{"to", {"oncall@example.com"}}, {"subject", "Kasse gestört — 3 Hosts"}, {"body", body}}));
  REQUIRE(r);
  REQUIRE(h.wait_state(r->id, OutboxState::kDone));
  const auto done = h.row(r->id);
  CHECK(done.result["message_id"] == "<reflex.wf=3A7=3A1@example.com>");
  CHECK(done.result["recipients"] == 1);
  REQUIRE(fake.messages().size() == 1);
  const FakeSmtp::Message m = fake.messages()[0];
  CHECK(m.header("Date") == "Thu, 26 Nov 2026 15:41:50 +0000");
  CHECK(m.header("From") == "reflex@example.com");
  CHECK(m.header("To") == "oncall@example.com");
  CHECK(m.header("Message-ID") == "<reflex.wf=3A7=3A1@example.com>");
  CHECK(m.header("MIME-Version") == "1.0");
  CHECK(m.header("Content-Type") == "text/plain; charset=utf-8");
  CHECK(m.header("Subject").rfind("=?UTF-8?B?", 0) == 0);
  CHECK(m.subject() == "Kasse gestört — 3 Hosts");
  CHECK(m.text() == "Störung seit 10:02.\r\n.\r\n.. two dots\r\n.leading dot\r\nend.\r\n");

  // An ASCII body travels as it is: libcurl stuffs the dots, the server removes them.
  auto plain = h.enqueue(request(
      "wf:7:2", {{"to", {"oncall@example.com"}}, {"subject", "dots"}, {"body", ".\n..\n. x"}}));
  REQUIRE(plain);
  REQUIRE(h.wait_state(plain->id, OutboxState::kDone));
  REQUIRE(fake.messages().size() == 2);
  CHECK(fake.messages()[1].body == ".\r\n..\r\n. x\r\n");
  CHECK(fake.messages()[1].header("Content-Transfer-Encoding") == "7bit");
}

TEST_CASE(
    "a 4xx reply is retried until the email is delivered, a 5xx reply is a dead letter, "
    "and the password is in no log or error",
    "[email][outbox]") {
  hub::testing::LogCapture log;
  FakeSmtp fake;
  fake.require_auth("reflex", kPassword);
  SimulatedTime clock;
  hub::testing::OutboxHarness h(
      [&](Outbox& o) {
        o.add_integration(
            std::make_unique<EmailIntegration>(settings(fake.url(), "reflex", kPassword), clock),
            {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
      },
      {.max_attempts = 5, .backoff_base = Millis(1000), .backoff_cap = Millis(60'000)});

  // Greylisted at RCPT, then the server is busy after DATA: both retried.
  fake.fail_next(
      1, {.stage = FakeSmtp::Stage::kRcpt, .code = 450, .text = "4.2.0 greylisted, " + kPassword});
  fake.fail_next(1, {.stage = FakeSmtp::Stage::kEndOfData, .code = 451, .text = "4.3.0 busy"});
  auto r = h.enqueue(request("retried"));
  REQUIRE(r);
  REQUIRE(h.wait_attempt(r->id, OutboxState::kPending, 1));
  CHECK(h.row(r->id).last_error.find("SMTP 450") != std::string::npos);
  h.advance(Millis(60'000));
  REQUIRE(h.wait_attempt(r->id, OutboxState::kPending, 2));
  CHECK(h.row(r->id).last_error.find("SMTP 451") != std::string::npos);
  CHECK(fake.messages().empty());
  h.advance(Millis(60'000));
  REQUIRE(h.wait_state(r->id, OutboxState::kDone));
  CHECK(h.row(r->id).attempts == 3);
  REQUIRE(fake.messages().size() == 1);
  CHECK(fake.messages()[0].auth_user == "reflex");

  // A refused recipient: permanent, at the first attempt.
  fake.fail_next(1,
                 {.stage = FakeSmtp::Stage::kRcpt, .code = 550, .text = "5.1.1 no such user here"});
  auto refused = h.enqueue(request("refused"));
  REQUIRE(refused);
  REQUIRE(h.wait_state(refused->id, OutboxState::kDead));
  CHECK(h.row(refused->id).attempts == 1);
  CHECK(h.row(refused->id).last_error.find("SMTP 550") != std::string::npos);

  // A wrong password: 535, permanent, and the wrong one is not quoted either.
  hub::testing::OutboxHarness wrong([&](Outbox& o) {
    o.add_integration(std::make_unique<EmailIntegration>(
                          settings(fake.url(), "reflex", "wrong-pa55word-000"), clock),
                      {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto denied = wrong.enqueue(request("denied"));
  REQUIRE(denied);
  REQUIRE(wrong.wait_state(denied->id, OutboxState::kDead));
  const auto dead = wrong.row(denied->id);
  CHECK(dead.last_error.find("535") != std::string::npos);
  CHECK(dead.last_error.find("wrong-pa55word-000") == std::string::npos);

  for (const auto& row : h.rows()) CHECK(row.last_error.find(kPassword) == std::string::npos);
  CHECK(log.text().find(kPassword) == std::string::npos);
  CHECK(log.text().find(base64_encode(kPassword)) == std::string::npos);
  CHECK(log.text().find("wrong-pa55word-000") == std::string::npos);
}

TEST_CASE("STARTTLS required by default fails permanently at a server that does not offer it",
          "[email][outbox]") {
  FakeSmtp fake;
  SimulatedTime clock;
  EmailSettings s = settings(fake.url());
  s.starttls = MailEnvelope::StartTls::kRequired;
  hub::testing::OutboxHarness h([&](Outbox& o) {
    o.add_integration(std::make_unique<EmailIntegration>(s, clock),
                      {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto r = h.enqueue(request("tls"));
  REQUIRE(r);
  REQUIRE(h.wait_state(r->id, OutboxState::kDead));
  CHECK(h.row(r->id).last_error.find("STARTTLS") != std::string::npos);
  CHECK(fake.messages().empty());
  // opportunistic: sent in plaintext since the server offers no STARTTLS.
  s.starttls = MailEnvelope::StartTls::kOpportunistic;
  hub::testing::OutboxHarness h2([&](Outbox& o) {
    o.add_integration(std::make_unique<EmailIntegration>(s, clock),
                      {.max_in_flight = 1, .rate_per_key = 0, .burst_per_key = 1});
  });
  auto r2 = h2.enqueue(request("try"));
  REQUIRE(r2);
  REQUIRE(h2.wait_state(r2->id, OutboxState::kDone));
  CHECK(fake.messages().size() == 1);
}
