#include "hub/integrations/pagerduty.h"

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kEvent = "pagerduty.event";
constexpr std::string_view kWhere = "pagerduty pagerduty.event";

Status bad(const std::string& what) {
  return Status::error("invalid_payload", std::string(kWhere) + ": payload." + what);
}

Status check_payload(const json& p) {
  if (!p.is_object()) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload must be a JSON object");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "event_action", "event_action"));
  const std::string action = p["event_action"].get<std::string>();
  if (action != "trigger" && action != "acknowledge" && action != "resolve") {
    return bad("event_action must be trigger, acknowledge or resolve, not \"" + clip(action, 40) +
               "\"");
  }
  if (action != "trigger" || p.contains("dedup_key")) {
    REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "dedup_key", "dedup_key"));
    if (p["dedup_key"].get<std::string>().size() > 255) {
      return bad("dedup_key must be at most 255 characters");
    }
  }
  if (action != "trigger") return Status::ok();
  REFLEX_RETURN_IF_ERROR(need_object(kWhere, p, "payload", "payload"));
  const json& body = p["payload"];
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, body, "summary", "payload.summary"));
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, body, "source", "payload.source"));
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, body, "severity", "payload.severity"));
  const std::string severity = body["severity"].get<std::string>();
  if (severity != "critical" && severity != "error" && severity != "warning" &&
      severity != "info") {
    return bad("payload.severity must be critical, error, warning or info, not \"" +
               clip(severity, 40) + "\"");
  }
  return Status::ok();
}

std::string error_message(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return "";
  std::string out = string_at(doc, "message");
  if (auto it = doc.find("errors"); it != doc.end() && it->is_array()) {
    for (const auto& e : *it) {
      if (!e.is_string()) continue;
      out += out.empty() ? "" : "; ";
      out += e.get<std::string>();
    }
  }
  return clip(out);
}

}  // namespace

Outcome classify_pagerduty(std::string_view dedup_key, const HttpResponse& r) {
  const std::string where = std::string(kWhere) + ": ";
  const std::string detail = r.status >= 400 ? error_message(r.body) : "";
  if (auto t = classify_transient(where, r, detail)) return *t;
  if (r.status < 200 || r.status >= 300) {
    std::string error = http_error(where, r.status, detail);
    if (r.status == 400 && detail.find("routing") != std::string::npos) {
      error += " (check integrations.pagerduty.routing_key_file or routing_key_env)";
    }
    return Outcome::permanent(std::move(error));
  }
  std::string key = string_at(json::parse(r.body, nullptr, false), "dedup_key");
  if (key.empty()) key = dedup_key;
  return Outcome::done({{"dedup_key", key}});
}

PagerDutyIntegration::PagerDutyIntegration(PagerDutySettings settings)
    : settings_(std::move(settings)) {
  settings_.base_url = with_slash(settings_.base_url);
}

Result<HttpRequest> PagerDutyIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kEvent) {
    return Status::error("invalid_operation", "pagerduty: unknown operation \"" + row.operation +
                                                  "\" (known: pagerduty.event)");
  }
  REFLEX_RETURN_IF_ERROR(check_payload(row.payload));
  json body = row.payload;
  body["routing_key"] = settings_.routing_key;
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.base_url + "v2/enqueue";
  req.headers = {{"Content-Type", "application/json"}, {"Accept", "application/json"}};
  req.body = json_text(body);
  req.timeout = settings_.timeout;
  return req;
}

Outcome PagerDutyIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  return classify_pagerduty(string_at(row.payload, "dedup_key"), response);
}

bool PagerDutyIntegration::idempotent(const OutboxRow& row) const {
  return !string_at(row.payload, "dedup_key").empty();
}

Result<PagerDutySettings> pagerduty_settings(const PagerDutyConfig& cfg) {
  auto key = read_secret("integrations.pagerduty", "routing_key", cfg.routing_key_file,
                         cfg.routing_key_env);
  if (!key) return key.status();
  return PagerDutySettings{
      .base_url = cfg.base_url, .routing_key = std::move(key).value(), .timeout = cfg.timeout};
}

}  // namespace reflex::hub
