// Email over SMTP as an outbox Integration (see the vendor documentation,
// https://curl.se/libcurl/c/smtp-mail.html). Rows carry one operation:
//   email.send  {"to": ["oncall@example.com", ...], "subject": "...", "body": "..."}
//               (body optional) -> one message (mail_message.h) submitted to
//               integrations.email.url: MAIL FROM the configured `from`, one RCPT TO per
//               recipient, the message after DATA; done: {"message_id", "recipients"}
// The submission runs on the hub's HttpClient (libcurl's SMTP on the loop, see
// HttpRequest::mail), so it never blocks the loop. STARTTLS is required on smtp:// unless
// configured otherwise; smtps:// is TLS from the first byte. The password (AUTH) is held
// here and never stored in rows.
//
// Outcomes (classify_email, on the last SMTP reply code): 2xx/3xx with the transfer
// complete done; 4xx replies (421, 450, 451, 452, ...) and failures with no reply at all
// (refused connection, reset, timeout, TLS handshake) retried; 5xx replies permanent,
// with a hint (535: the credentials; 530: AUTH needed; 550/553: an address refused);
// STARTTLS required but not offered permanent (a configuration matter).
//
// SMTP has no idempotency key: a resend after a lost answer may deliver twice. Each row
// always gets the same Message-ID (from its idempotency key), so mail systems and people
// can recognise the duplicate.
#pragma once

#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct EmailSettings {
  std::string url;   // smtp://host:587 or smtps://host:465 (a path: the EHLO domain)
  std::string from;  // the sender: envelope and From header
  std::string user;  // "": no AUTH
  std::string password;
  MailEnvelope::StartTls starttls = MailEnvelope::StartTls::kRequired;
  Millis timeout = Millis(30'000);
};

// The verdict on a submission's end (the result is filled in by the integration). Pure.
Outcome classify_email(const HttpResponse& response);

class EmailIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "email";
  // `clock` (each message's Date) must outlive the integration.
  EmailIntegration(EmailSettings settings, const Clock& clock);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  // The password, and the forms AUTH PLAIN and AUTH LOGIN send it in.
  std::vector<std::string> secrets() const override;

 private:
  EmailSettings settings_;
  const Clock& clock_;
};

// The settings for `cfg` with its password read (integrations.email.password_file or
// password_env, when given). Errors name the key and never quote the password.
Result<EmailSettings> email_settings(const EmailConfig& cfg);

}  // namespace reflex::hub
