#include "hub/integrations/webhook.h"

#include "common/json_text.h"
#include "hub/incidents/change_webhooks.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kPost = "webhook.post";
constexpr std::string_view kWhere = "webhook webhook.post";

}  // namespace

std::string webhook_signature(std::string_view secret, int64_t timestamp_s, std::string_view body) {
  return incidents::github_signature(secret, std::to_string(timestamp_s) + "." + std::string(body));
}

Outcome classify_webhook(const HttpResponse& r) {
  const std::string where = std::string(kWhere) + ": ";
  const std::string detail = r.status >= 400 ? printable_excerpt(r.body) : "";
  if (auto t = classify_transient(where, r, detail)) return *t;
  if (r.status < 200 || r.status >= 300) {
    return Outcome::permanent(http_error(where, r.status, detail));
  }
  return Outcome::done({{"status", r.status}});
}

WebhookIntegration::WebhookIntegration(WebhookSettings settings, const Clock& clock)
    : settings_(std::move(settings)), clock_(clock) {}

Result<HttpRequest> WebhookIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kPost) {
    return Status::error("invalid_operation", "webhook: unknown operation \"" + row.operation +
                                                  "\" (known: webhook.post)");
  }
  const json& p = row.payload;
  if (!p.is_object()) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload must be a JSON object");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "url", "url"));
  const std::string url = p["url"].get<std::string>();
  if (url.rfind("http://", 0) != 0 && url.rfind("https://", 0) != 0) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload.url must be an http:// or https:// URL");
  }
  if (!p.contains("body")) {
    return Status::error("invalid_payload", std::string(kWhere) + ": payload.body is required");
  }
  const int64_t timestamp = clock_.now_ms() / 1000;
  HttpRequest req;
  req.method = "POST";
  req.url = url;
  req.body = json_text(p["body"]);
  req.headers = {{"Content-Type", "application/json"},
                 {"X-Reflex-Timestamp", std::to_string(timestamp)},
                 {"X-Reflex-Signature", webhook_signature(settings_.secret, timestamp, req.body)}};
  req.timeout = settings_.timeout;
  return req;
}

Outcome WebhookIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  (void)row;
  return classify_webhook(response);
}

Result<WebhookSettings> webhook_settings(const WebhookConfig& cfg) {
  auto secret = read_secret("integrations.webhook", "secret", cfg.secret_file, cfg.secret_env);
  if (!secret) return secret.status();
  return WebhookSettings{.secret = std::move(secret).value(), .timeout = cfg.timeout};
}

}  // namespace reflex::hub
