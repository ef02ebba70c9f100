#include "hub/integrations/dynatrace.h"

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kComment = "dynatrace.comment";
constexpr std::string_view kWhere = "dynatrace dynatrace.comment";

// {"error": {"code", "message", "constraintViolations": [{"path", "message"}]}}
std::string error_message(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object() || !doc.contains("error") || !doc["error"].is_object()) return "";
  const json& e = doc["error"];
  std::string out = string_at(e, "message");
  if (auto it = e.find("constraintViolations"); it != e.end() && it->is_array()) {
    for (const auto& v : *it) {
      const std::string path = string_at(v, "path");
      const std::string message = string_at(v, "message");
      if (path.empty() && message.empty()) continue;
      out += out.empty() ? "" : "; ";
      out += path.empty() ? message : path + ": " + message;
    }
  }
  return clip(out);
}

std::string hint(int status) {
  if (status == 401) return " (check integrations.dynatrace.token_file or token_env)";
  if (status == 403) return " (the API token needs the problems.write scope)";
  if (status == 404) return " (no such problem: problem_id is the internal id, not P-...)";
  return "";
}

}  // namespace

Outcome classify_dynatrace(const HttpResponse& r) {
  const std::string where = std::string(kWhere) + ": ";
  const std::string detail = r.status >= 400 ? error_message(r.body) : "";
  if (auto t = classify_transient(where, r, detail)) return *t;
  if (r.status < 200 || r.status >= 300) {
    return Outcome::permanent(http_error(where, r.status, detail) + hint(r.status));
  }
  const json doc = json::parse(r.body, nullptr, false);
  json result = json::object();
  if (const std::string id = string_at(doc, "id"); !id.empty()) result["id"] = id;
  return Outcome::done(std::move(result));
}

DynatraceIntegration::DynatraceIntegration(DynatraceSettings settings)
    : settings_(std::move(settings)) {
  settings_.base_url = with_slash(settings_.base_url);
}

Result<HttpRequest> DynatraceIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kComment) {
    return Status::error("invalid_operation", "dynatrace: unknown operation \"" + row.operation +
                                                  "\" (known: dynatrace.comment)");
  }
  const json& p = row.payload;
  if (!p.is_object()) {
    return Status::error("invalid_payload",
                         std::string(kWhere) + ": payload must be a JSON object");
  }
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "problem_id", "problem_id"));
  REFLEX_RETURN_IF_ERROR(need_string(kWhere, p, "message", "message"));
  REFLEX_RETURN_IF_ERROR(optional_string(kWhere, p, "context", "context"));
  json body{{"message", p["message"]}};
  if (p.contains("context")) body["context"] = p["context"];
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.base_url + "api/v2/problems/" +
            encode_path_segment(p["problem_id"].get<std::string>()) + "/comments";
  req.headers = {{"Authorization", "Api-Token " + settings_.token},
                 {"Content-Type", "application/json; charset=utf-8"},
                 {"Accept", "application/json"}};
  req.body = json_text(body);
  req.timeout = settings_.timeout;
  return req;
}

Outcome DynatraceIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  (void)row;
  return classify_dynatrace(response);
}

Result<DynatraceSettings> dynatrace_settings(const DynatraceConfig& cfg) {
  auto token = read_secret("integrations.dynatrace", "token", cfg.token_file, cfg.token_env);
  if (!token) return token.status();
  return DynatraceSettings{
      .base_url = cfg.base_url, .token = std::move(token).value(), .timeout = cfg.timeout};
}

}  // namespace reflex::hub
