#include "hub/integrations/mattermost.h"

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kPost = "mattermost.post";
constexpr std::string_view kWhere = "mattermost mattermost.post";

// Mattermost's errors are JSON with a `message`; anything else is quoted printable.
std::string detail_of(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (doc.is_object()) {
    const std::string message = string_at(doc, "message");
    if (!message.empty()) return clip(message, 200);
  }
  return printable_excerpt(body);
}

std::string hint(int status) {
  if (status == 401 || status == 403) {
    return " (the hook may be locked to its channel, or overrides are not allowed: check "
           "the channel and integrations.mattermost.username)";
  }
  if (status == 404) return " (no such hook: check integrations.mattermost.url_file or url_env)";
  return "";
}

}  // namespace

Outcome classify_mattermost(const HttpResponse& r) {
  const std::string where = std::string(kWhere) + ": ";
  const std::string detail = r.status >= 400 ? detail_of(r.body) : "";
  if (auto t = classify_transient(where, r, detail)) return *t;
  if (r.status >= 200 && r.status < 300) return Outcome::done({{"status", r.status}});
  return Outcome::permanent(http_error(where, r.status, detail) + hint(r.status));
}

MattermostIntegration::MattermostIntegration(MattermostSettings settings)
    : settings_(std::move(settings)) {}

Result<HttpRequest> MattermostIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kPost) {
    return Status::error("invalid_operation", "mattermost: unknown operation \"" + row.operation +
                                                  "\" (known: mattermost.post)");
  }
  const json& p = row.payload;
  if (!p.is_object()) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload must be a JSON object");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "text", "text"));
  REFLEX_RETURN_IF_ERROR(optional_string(kWhere, p, "channel", "channel"));
  json body = {{"text", p["text"]}};
  std::string channel = string_at(p, "channel");
  if (channel.empty()) channel = settings_.channel;
  if (!channel.empty()) body["channel"] = channel;
  if (!settings_.username.empty()) body["username"] = settings_.username;
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.url;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = json_text(body);
  req.timeout = settings_.timeout;
  return req;
}

Outcome MattermostIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  (void)row;
  // Scrubbed before the answer is cut short, which could leave part of a secret.
  HttpResponse scrubbed = response;
  scrubbed.body = redact(response.body, secrets());
  return classify_mattermost(scrubbed);
}

std::vector<std::string> MattermostIntegration::secrets() const {
  return url_secrets(settings_.url);
}

Result<MattermostSettings> mattermost_settings(const MattermostConfig& cfg) {
  auto url = read_hook_url("integrations.mattermost", cfg.url_file, cfg.url_env);
  if (!url) return url.status();
  return MattermostSettings{.url = std::move(url).value(),
                            .channel = cfg.channel,
                            .username = cfg.username,
                            .timeout = cfg.timeout};
}

}  // namespace reflex::hub
