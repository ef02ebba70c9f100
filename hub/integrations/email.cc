#include "hub/integrations/email.h"

#include "hub/integrations/mail_message.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kSend = "email.send";
constexpr std::string_view kWhere = "email email.send";
constexpr size_t kMaxRecipients = 100;

Status bad(const std::string& what) {
  return Status::error("invalid_payload", std::string(kWhere) + ": payload." + what);
}

Status check_payload(const json& p) {
  if (!p.is_object()) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload must be a JSON object");
  }
  auto to = p.find("to");
  if (to == p.end()) return bad("to is required");
  if (!to->is_array() || to->empty()) return bad("to must be a non-empty list of addresses");
  if (to->size() > kMaxRecipients) {
    return bad("to has " + std::to_string(to->size()) + " addresses, at most " +
               std::to_string(kMaxRecipients));
  }
  for (size_t i = 0; i < to->size(); ++i) {
    const json& a = (*to)[i];
    if (!a.is_string() || !plain_mail_address(a.get<std::string>())) {
      return bad("to[" + std::to_string(i) + "] must be an address like alice@example.com" +
                 (a.is_string() ? ", not \"" + clip(a.get<std::string>(), 80) + "\"" : ""));
    }
  }
  auto subject = p.find("subject");
  if (subject == p.end()) return bad("subject is required");
  if (!subject->is_string()) return bad("subject must be a string");
  return optional_string(kWhere, p, "body", "body");
}

std::string hint(int code) {
  if (code == 535) return " (authentication failed: check integrations.email.user and password)";
  if (code == 530) return " (the server requires AUTH: set integrations.email.user and password)";
  if (code == 550 || code == 553) return " (the server refused an address: sender or recipient)";
  if (code == 552) return " (the message is too large for the server)";
  return "";
}

}  // namespace

Outcome classify_email(const HttpResponse& r) {
  const std::string where = std::string(kWhere) + ": ";
  const int code = r.status;
  if (r.error.find("CURLE_USE_SSL_FAILED") != std::string::npos) {
    return Outcome::permanent(where + r.error +
                              " (the server does not offer STARTTLS, which "
                              "integrations.email.starttls requires: use smtps://, or "
                              "starttls: opportunistic or off for a trusted relay)");
  }
  if (code >= 400 && code < 500) {
    return Outcome::retry(where + "SMTP " + std::to_string(code) +
                          (r.error.empty() ? "" : ": " + clip(r.error, 200)));
  }
  if (code >= 500 && code < 600) {
    return Outcome::permanent(where + "SMTP " + std::to_string(code) +
                              (r.error.empty() ? "" : ": " + clip(r.error, 200)) + hint(code));
  }
  // No reply at all, or the connection failed after a positive one: nothing says the
  // message was taken, so it is tried again.
  if (!r.error.empty()) return Outcome::retry(where + clip(r.error, 300));
  if (code == 0) return Outcome::retry(where + "no reply");
  return Outcome::done(json::object());
}

EmailIntegration::EmailIntegration(EmailSettings settings, const Clock& clock)
    : settings_(std::move(settings)), clock_(clock) {}

Result<HttpRequest> EmailIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kSend) {
    return Status::error("invalid_operation",
                         "email: unknown operation \"" + row.operation + "\" (known: email.send)");
  }
  REFLEX_RETURN_IF_ERROR(check_payload(row.payload));
  MailMessage m;
  m.from = settings_.from;
  for (const auto& a : row.payload["to"]) m.to.push_back(a.get<std::string>());
  m.subject = row.payload["subject"].get<std::string>();
  m.body = string_at(row.payload, "body");
  m.idempotency_key = row.idempotency_key;
  m.date_ms = clock_.now_ms();
  HttpRequest req;
  req.method = "POST";  // not used for SMTP
  req.url = settings_.url;
  req.body = build_mail_message(m);
  req.timeout = settings_.timeout;
  req.mail = MailEnvelope{.from = settings_.from,
                          .recipients = m.to,
                          .starttls = settings_.starttls,
                          .user = settings_.user,
                          .password = settings_.password};
  return req;
}

Outcome EmailIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  Outcome o = classify_email(response);
  if (o.kind == Outcome::Kind::kDone) {
    o.result = {{"message_id", mail_message_id(row.idempotency_key, settings_.from)},
                {"recipients", row.payload.contains("to") ? row.payload["to"].size() : 0}};
  }
  return o;
}

std::vector<std::string> EmailIntegration::secrets() const {
  if (settings_.password.empty()) return {};
  const std::string& u = settings_.user;
  const std::string& p = settings_.password;
  return {p, base64_encode(std::string(1, '\0') + u + std::string(1, '\0') + p), base64_encode(p)};
}

Result<EmailSettings> email_settings(const EmailConfig& cfg) {
  EmailSettings s{.url = cfg.url,
                  .from = cfg.from,
                  .user = cfg.user,
                  .password = {},
                  .starttls = cfg.starttls == "off" ? MailEnvelope::StartTls::kOff
                              : cfg.starttls == "opportunistic"
                                  ? MailEnvelope::StartTls::kOpportunistic
                                  : MailEnvelope::StartTls::kRequired,
                  .timeout = cfg.timeout};
  if (!cfg.password_file.empty() || !cfg.password_env.empty()) {
    auto password =
        read_secret("integrations.email", "password", cfg.password_file, cfg.password_env);
    if (!password) return password.status();
    s.password = std::move(password).value();
  }
  return s;
}

}  // namespace reflex::hub
