#include "hub/integrations/jira.h"

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

#include <algorithm>
#include <cstdio>

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kCreate = "jira.create_issue";
constexpr std::string_view kComment = "jira.comment";
constexpr std::string_view kTransition = "jira.transition";

std::string where_of(std::string_view operation) {
  return "jira " + std::string(operation);
}

Status check_payload(std::string_view op, const json& p) {
  const std::string where = where_of(op);
  if (!p.is_object()) {
    return Status::error("invalid_payload", where + ": payload must be a JSON object");
  }
  if (op == kCreate) {
    REFLEX_RETURN_IF_ERROR(need_object(where, p, "fields", "fields"));
    const json& f = p["fields"];
    REFLEX_RETURN_IF_ERROR(need_object(where, f, "project", "fields.project"));
    if (string_at(f["project"], "key").empty() && string_at(f["project"], "id").empty()) {
      return Status::error("invalid_payload", where + ": payload.fields.project.key is required");
    }
    REFLEX_RETURN_IF_ERROR(need_string(where, f, "summary", "fields.summary"));
    REFLEX_RETURN_IF_ERROR(need_object(where, f, "issuetype", "fields.issuetype"));
    if (string_at(f["issuetype"], "name").empty() && string_at(f["issuetype"], "id").empty()) {
      return Status::error("invalid_payload",
                           where + ": payload.fields.issuetype.name is required");
    }
    REFLEX_RETURN_IF_ERROR(optional_string(where, f, "description", "fields.description"));
    if (auto labels = f.find("labels"); labels != f.end()) {
      const bool strings =
          labels->is_array() &&
          std::all_of(labels->begin(), labels->end(), [](const json& l) { return l.is_string(); });
      if (!strings) {
        return Status::error("invalid_payload",
                             where + ": payload.fields.labels must be an array of strings");
      }
    }
    return Status::ok();
  }
  REFLEX_RETURN_IF_ERROR(need_string(where, p, "issue", "issue"));
  if (op == kComment) return need_string(where, p, "body", "body");
  REFLEX_RETURN_IF_ERROR(need_string(where, p, "transition", "transition"));
  return optional_string(where, p, "comment", "comment");
}

json body_of(std::string_view op, const json& p, const std::string& key) {
  if (op == kCreate) {
    // The label a lookup finds the issue by (jira.h), added to the caller's own labels.
    json body = p;
    json& labels = body["fields"]["labels"];
    if (!labels.is_array()) labels = json::array();
    const std::string label = jira_label(key);
    if (std::find(labels.begin(), labels.end(), label) == labels.end()) labels.push_back(label);
    return body;
  }
  if (op == kComment) return {{"body", p["body"]}};
  json body{{"transition", {{"id", p["transition"]}}}};
  if (const std::string comment = string_at(p, "comment"); !comment.empty()) {
    body["update"] = {{"comment", json::array({{{"add", {{"body", comment}}}}})}};
  }
  return body;
}

std::string path_of(std::string_view op, const json& p) {
  if (op == kCreate) return "rest/api/2/issue";
  const std::string issue = "rest/api/2/issue/" + encode_path_segment(string_at(p, "issue"));
  return issue + (op == kComment ? "/comment" : "/transitions");
}

std::string hint(int status) {
  if (status == 401) return " (check integrations.jira.user and token_file or token_env)";
  if (status == 403) return " (the Jira user lacks a permission this call needs)";
  if (status == 404) return " (the issue does not exist or the Jira user cannot see it)";
  return "";
}

}  // namespace

std::string jira_label(std::string_view idempotency_key) {
  uint64_t hash = 0xcbf29ce484222325ULL;  // FNV-1a 64
  for (char c : idempotency_key) {
    hash ^= static_cast<unsigned char>(c);
    hash *= 0x100000001b3ULL;
  }
  char hex[17];
  std::snprintf(hex, sizeof hex, "%016llx", static_cast<unsigned long long>(hash));
  return std::string("reflex-") + hex;
}

LookupOutcome classify_jira_lookup(const HttpResponse& r) {
  const std::string where = "jira search: ";
  const std::string detail = r.status >= 400 ? jira_error_message(r.body) : "";
  if (auto t = classify_transient(where, r, detail)) {
    return LookupOutcome::retry(t->error, t->retry_after);
  }
  if (r.status != 200) {
    // A refusal (401, 403, a 400 on the JQL, a 404 or 410 for a search this Jira lacks)
    // proves nothing about the issue: no verdict, and the error says why.
    std::string why = r.status == 404 || r.status == 410
                          ? " (this Jira lacks the search endpoint: Jira Cloud is searched at "
                            "search/jql when integrations.jira.user is set, Data Center at "
                            "search when it is not)"
                          : hint(r.status);
    return LookupOutcome::retry(http_error(where, r.status, detail) + why);
  }
  const json doc = json::parse(r.body, nullptr, false);
  auto issues = doc.is_object() ? doc.find("issues") : doc.end();
  if (!doc.is_object() || issues == doc.end() || !issues->is_array()) {
    return LookupOutcome::retry(where + "HTTP 200 without a list of issues");
  }
  if (issues->empty()) return LookupOutcome::not_found();
  // More than one would be a duplicate made before this lookup existed: the first is
  // kept, as the first create's answer would have been.
  const json& issue = issues->front();
  const std::string key = issue.is_object() ? string_at(issue, "key") : "";
  if (key.empty()) return LookupOutcome::retry(where + "an issue without its key");
  json id = issue.contains("id") ? issue["id"] : json("");
  if (!id.is_string()) id = json_text(id);
  return LookupOutcome::found({{"key", key}, {"id", id}});
}

std::string jira_error_message(const std::string& body) {
  const json doc = json::parse(body, nullptr, false);
  if (!doc.is_object()) return "";
  std::string out;
  auto add = [&](const std::string& text) {
    if (text.empty()) return;
    if (!out.empty()) out += "; ";
    out += text;
  };
  if (auto it = doc.find("errorMessages"); it != doc.end() && it->is_array()) {
    for (const auto& m : *it) {
      if (m.is_string()) add(m.get<std::string>());
    }
  }
  if (auto it = doc.find("errors"); it != doc.end() && it->is_object()) {
    for (const auto& [field, m] : it->items()) {
      add(field + ": " + (m.is_string() ? m.get<std::string>() : json_text(m)));
    }
  }
  return clip(out);
}

Outcome classify_jira(std::string_view operation, uint32_t attempts, const HttpResponse& r) {
  const std::string where = where_of(operation) + ": ";
  const std::string detail = r.status >= 400 ? jira_error_message(r.body) : "";
  if (auto t = classify_transient(where, r, detail)) return *t;
  if (r.status == 409 && operation == kTransition && attempts <= 1) {
    return Outcome::retry(http_error(where, r.status, detail));
  }
  if (r.status < 200 || r.status >= 300) {
    return Outcome::permanent(http_error(where, r.status, detail) + hint(r.status));
  }
  if (operation == kTransition) return Outcome::done(json::object());
  const json doc = json::parse(r.body, nullptr, false);
  if (operation == kComment) {
    json result = json::object();
    if (doc.is_object() && doc.contains("id")) result["id"] = doc["id"];
    return Outcome::done(result);
  }
  const std::string key = string_at(doc, "key");
  if (key.empty()) {
    return Outcome::permanent(where + "HTTP " + std::to_string(r.status) +
                              " without the issue's key (the issue may have been created; "
                              "look for it before retrying)");
  }
  return Outcome::done({{"key", key}, {"id", string_at(doc, "id")}});
}

JiraIntegration::JiraIntegration(JiraSettings settings) : settings_(std::move(settings)) {
  settings_.base_url = with_slash(settings_.base_url);
}

std::string JiraIntegration::authorization() const {
  if (settings_.user.empty()) return "Bearer " + settings_.token;
  return "Basic " + base64_encode(settings_.user + ":" + settings_.token);
}

Result<HttpRequest> JiraIntegration::prepare(const OutboxRow& row) const {
  const std::string_view op = row.operation;
  if (op != kCreate && op != kComment && op != kTransition) {
    return Status::error("invalid_operation",
                         "jira: unknown operation \"" + row.operation +
                             "\" (known: jira.create_issue, jira.comment, jira.transition)");
  }
  REFLEX_RETURN_IF_ERROR(check_payload(op, row.payload));
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.base_url + path_of(op, row.payload);
  req.headers = {{"Authorization", authorization()},
                 {"Content-Type", "application/json"},
                 {"Accept", "application/json"}};
  req.body = json_text(body_of(op, row.payload, row.idempotency_key));
  req.timeout = settings_.timeout;
  return req;
}

Outcome JiraIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  return classify_jira(row.operation, row.attempts, response);
}

std::optional<HttpRequest> JiraIntegration::lookup(const OutboxRow& row) const {
  if (row.operation != kCreate) return std::nullopt;
  const std::string jql = "labels = \"" + jira_label(row.idempotency_key) + "\"";
  // Jira Cloud (Basic auth with a user) removed rest/api/2/search for search/jql; Data
  // Center has only the former.
  const std::string path = settings_.user.empty() ? "rest/api/2/search" : "rest/api/2/search/jql";
  HttpRequest req;
  req.method = "GET";
  req.url = settings_.base_url + path + "?jql=" + encode_path_segment(jql) +
            "&fields=summary&maxResults=2";
  req.headers = {{"Authorization", authorization()}, {"Accept", "application/json"}};
  req.timeout = settings_.timeout;
  return req;
}

LookupOutcome JiraIntegration::classify_lookup(const OutboxRow& row,
                                               const HttpResponse& response) const {
  (void)row;
  return classify_jira_lookup(response);
}

std::vector<std::string> JiraIntegration::secrets() const {
  std::vector<std::string> out{settings_.token};
  if (!settings_.user.empty()) out.push_back(base64_encode(settings_.user + ":" + settings_.token));
  return out;
}

Result<JiraSettings> jira_settings(const JiraConfig& cfg) {
  auto token = read_secret("integrations.jira", "token", cfg.token_file, cfg.token_env);
  if (!token) return token.status();
  return JiraSettings{.base_url = cfg.base_url,
                      .user = cfg.user,
                      .token = std::move(token).value(),
                      .timeout = cfg.timeout};
}

}  // namespace reflex::hub
