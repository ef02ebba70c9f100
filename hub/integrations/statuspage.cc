#include "hub/integrations/statuspage.h"

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kCreate = "statuspage.create_incident";
constexpr std::string_view kUpdate = "statuspage.update_incident";

std::string where_of(std::string_view operation) {
  return "statuspage " + std::string(operation);
}

Status check_payload(std::string_view op, const json& p) {
  const std::string where = where_of(op);
  if (!p.is_object()) {
    return Status::error("invalid_payload", where + ": payload must be a JSON object");
  }
  if (op == kUpdate) REFLEX_RETURN_IF_ERROR(need_string(where, p, "incident_id", "incident_id"));
  REFLEX_RETURN_IF_ERROR(need_object(where, p, "incident", "incident"));
  const json& incident = p["incident"];
  if (op == kCreate) {
    REFLEX_RETURN_IF_ERROR(need_string(where, incident, "name", "incident.name"));
    REFLEX_RETURN_IF_ERROR(need_string(where, incident, "status", "incident.status"));
  } else {
    REFLEX_RETURN_IF_ERROR(optional_string(where, incident, "status", "incident.status"));
  }
  REFLEX_RETURN_IF_ERROR(optional_string(where, incident, "body", "incident.body"));
  if (auto it = incident.find("component_ids"); it != incident.end() && !it->is_array()) {
    return Status::error("invalid_payload",
                         where + ": payload.incident.component_ids must be a list of ids");
  }
  return Status::ok();
}

std::string hint(int status) {
  if (status == 401) return " (check integrations.statuspage.token_file or token_env)";
  if (status == 404) return " (check integrations.statuspage.page_id and the incident id)";
  return "";
}

}  // namespace

std::string statuspage_error_message(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return "";
  std::string out;
  for (const char* key : {"error", "message"}) {
    auto it = doc.find(key);
    if (it == doc.end()) continue;
    if (it->is_string()) out = it->get<std::string>();
    if (it->is_array()) {
      for (const auto& m : *it) {
        if (!m.is_string()) continue;
        if (!out.empty()) out += "; ";
        out += m.get<std::string>();
      }
    }
    if (!out.empty()) break;
  }
  return clip(out);
}

Outcome classify_statuspage(std::string_view operation, const HttpResponse& r) {
  const std::string where = where_of(operation) + ": ";
  const std::string detail = r.status >= 400 ? statuspage_error_message(r.body) : "";
  if (auto t = classify_transient(where, r, detail, {420})) return *t;
  if (r.status < 200 || r.status >= 300) {
    return Outcome::permanent(http_error(where, r.status, detail) + hint(r.status));
  }
  const json doc = json::parse(r.body, nullptr, false);
  const std::string id = string_at(doc, "id");
  if (id.empty()) {
    if (operation == kCreate) {
      return Outcome::permanent(where + "HTTP " + std::to_string(r.status) +
                                " without the incident's id (the incident may have been "
                                "created; look for it before retrying)");
    }
    return Outcome::done(json::object());
  }
  json result{{"id", id}};
  if (operation == kCreate) {
    if (const std::string link = string_at(doc, "shortlink"); !link.empty()) {
      result["shortlink"] = link;
    }
  }
  return Outcome::done(std::move(result));
}

StatuspageIntegration::StatuspageIntegration(StatuspageSettings settings)
    : settings_(std::move(settings)) {
  settings_.base_url = with_slash(settings_.base_url);
}

Result<HttpRequest> StatuspageIntegration::prepare(const OutboxRow& row) const {
  const std::string_view op = row.operation;
  if (op != kCreate && op != kUpdate) {
    return Status::error("invalid_operation", "statuspage: unknown operation \"" + row.operation +
                                                  "\" (known: statuspage.create_incident, "
                                                  "statuspage.update_incident)");
  }
  REFLEX_RETURN_IF_ERROR(check_payload(op, row.payload));
  HttpRequest req;
  req.url = settings_.base_url + "pages/" + encode_path_segment(settings_.page_id) + "/incidents";
  if (op == kCreate) {
    req.method = "POST";
  } else {
    req.method = "PATCH";
    req.url += "/" + encode_path_segment(row.payload["incident_id"].get<std::string>());
  }
  req.headers = {{"Authorization", "OAuth " + settings_.api_key},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
  req.body = json_text(json{{"incident", row.payload["incident"]}});
  req.timeout = settings_.timeout;
  return req;
}

Outcome StatuspageIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  return classify_statuspage(row.operation, response);
}

Result<StatuspageSettings> statuspage_settings(const StatuspageConfig& cfg) {
  auto key = read_secret("integrations.statuspage", "token", cfg.token_file, cfg.token_env);
  if (!key) return key.status();
  return StatuspageSettings{.base_url = cfg.base_url,
                            .page_id = cfg.page_id,
                            .api_key = std::move(key).value(),
                            .timeout = cfg.timeout};
}

}  // namespace reflex::hub
