#include "hub/integrations/teams.h"

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kPost = "teams.post";
constexpr std::string_view kWhere = "teams teams.post";
constexpr size_t kMaxText = 24'000;

std::string trimmed(const std::string& s) {
  size_t a = 0, b = s.size();
  while (a < b && std::isspace(static_cast<unsigned char>(s[a]))) ++a;
  while (b > a && std::isspace(static_cast<unsigned char>(s[b - 1]))) --b;
  return s.substr(a, b - a);
}

// `text` cut to at most `max` bytes at a UTF-8 character boundary.
std::string cut_utf8(const std::string& text, size_t max) {
  if (text.size() <= max) return text;
  size_t end = max;
  while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80) --end;
  return text.substr(0, end) + "...";
}

std::string hint(int status) {
  if (status == 404 || status == 410) {
    return " (the hook was removed or retired: check integrations.teams.url_file or url_env)";
  }
  if (status == 401 || status == 403) {
    return " (the hook refused the post: a Workflows URL needs its sig parameter)";
  }
  return "";
}

}  // namespace

json teams_body(const std::string& text, bool adaptive_card) {
  if (!adaptive_card) return {{"text", text}};
  json card = {{"$schema", "http://adaptivecards.io/schemas/adaptive-card.json"},
               {"type", "AdaptiveCard"},
               {"version", "1.2"},
               {"body", json::array({{{"type", "TextBlock"}, {"text", text}, {"wrap", true}}})}};
  return {{"type", "message"},
          {"attachments", json::array({{{"contentType", "application/vnd.microsoft.card.adaptive"},
                                        {"contentUrl", nullptr},
                                        {"content", card}}})}};
}

Outcome classify_teams(const HttpResponse& r) {
  const std::string where = std::string(kWhere) + ": ";
  const std::string detail = r.status >= 400 ? printable_excerpt(r.body) : "";
  if (auto t = classify_transient(where, r, detail)) return *t;
  if (r.status >= 200 && r.status < 300) {
    const std::string body = trimmed(r.body);
    if (body == "1" || body.empty()) return Outcome::done({{"status", r.status}});
    if (body.find("429") != std::string::npos) {
      return Outcome::retry(where + "throttled (HTTP " + std::to_string(r.status) +
                            " saying: " + printable_excerpt(body) + ")");
    }
    return Outcome::permanent(where + "HTTP " + std::to_string(r.status) +
                              " without the connector's \"1\": " + printable_excerpt(body));
  }
  return Outcome::permanent(http_error(where, r.status, detail) + hint(r.status));
}

TeamsIntegration::TeamsIntegration(TeamsSettings settings) : settings_(std::move(settings)) {}

Result<HttpRequest> TeamsIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kPost) {
    return Status::error("invalid_operation",
                         "teams: unknown operation \"" + row.operation + "\" (known: teams.post)");
  }
  const json& p = row.payload;
  if (!p.is_object()) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload must be a JSON object");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "text", "text"));
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.url;
  req.headers = {{"Content-Type", "application/json"}};
  req.body = json_text(
      teams_body(cut_utf8(p["text"].get<std::string>(), kMaxText), settings_.adaptive_card));
  req.timeout = settings_.timeout;
  return req;
}

Outcome TeamsIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  (void)row;
  // Scrubbed before the answer is cut short, which could leave part of a secret.
  HttpResponse scrubbed = response;
  scrubbed.body = redact(response.body, secrets());
  return classify_teams(scrubbed);
}

std::vector<std::string> TeamsIntegration::secrets() const {
  return url_secrets(settings_.url);
}

IntegrationLimits teams_limits(int64_t max_in_flight) {
  return {.max_in_flight = static_cast<size_t>(max_in_flight),
          .rate_per_key = 1.0,
          .burst_per_key = 4.0};
}

Result<TeamsSettings> teams_settings(const TeamsConfig& cfg) {
  auto url = read_hook_url("integrations.teams", cfg.url_file, cfg.url_env);
  if (!url) return url.status();
  return TeamsSettings{
      .url = std::move(url).value(), .adaptive_card = cfg.format != "text", .timeout = cfg.timeout};
}

}  // namespace reflex::hub
