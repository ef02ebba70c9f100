#include "hub/integrations/jenkins.h"

#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kBuild = "jenkins.build";

std::string where_of(std::string_view job) {
  return "jenkins jenkins.build of " + std::string(job) + ": ";
}

Status bad(const std::string& what) {
  return Status::error("invalid_payload", "jenkins jenkins.build: payload." + what);
}

Status check_payload(const json& p) {
  if (!p.is_object()) {
    return Status::error("invalid_payload", "jenkins jenkins.build: payload must be a JSON object");
  }
  REFLEX_RETURN_IF_ERROR(need_string("jenkins jenkins.build", p, "job", "job"));
  const std::string job = p["job"].get<std::string>();
  const std::string padded = "/" + job + "/";
  if (padded.find("//") != std::string::npos || padded.find("/./") != std::string::npos ||
      padded.find("/../") != std::string::npos) {
    return bad("job must be a job path such as folder/name, not \"" + clip(job, 80) + "\"");
  }
  auto it = p.find("parameters");
  if (it == p.end()) return Status::ok();
  if (!it->is_object()) return bad("parameters must be a JSON object");
  for (const auto& [name, value] : it->items()) {
    if (name.empty()) return bad("parameters has an empty name");
    if (!value.is_string()) return bad("parameters." + name + " must be a string");
  }
  return Status::ok();
}

// application/x-www-form-urlencoded: name=value pairs, every reserved byte escaped.
std::string form_body(const json& parameters) {
  std::string out;
  for (const auto& [name, value] : parameters.items()) {
    if (!out.empty()) out += '&';
    out += encode_path_segment(name) + "=" + encode_path_segment(value.get<std::string>());
  }
  return out;
}

std::string hint(int status) {
  if (status == 401) return " (check integrations.jenkins.user and token_file or token_env)";
  if (status == 403) return " (the Jenkins user lacks the Job/Build permission on this job)";
  if (status == 404) return " (no such job: check the job path, folders included)";
  return "";
}

}  // namespace

std::string jenkins_job_path(std::string_view job) {
  std::string out;
  size_t start = 0;
  while (start <= job.size()) {
    size_t slash = job.find('/', start);
    if (slash == std::string_view::npos) slash = job.size();
    out += "job/" + encode_path_segment(job.substr(start, slash - start)) + "/";
    start = slash + 1;
  }
  return out;
}

std::string resolve_location(const std::string& base_url, const std::string& location) {
  if (location.rfind("http://", 0) == 0 || location.rfind("https://", 0) == 0) return location;
  if (!location.empty() && location.front() == '/') {
    const size_t scheme = base_url.find("://");
    const size_t path =
        scheme == std::string::npos ? std::string::npos : base_url.find('/', scheme + 3);
    return (path == std::string::npos ? base_url : base_url.substr(0, path)) + location;
  }
  return with_slash(base_url) + location;
}

Outcome classify_jenkins(std::string_view job, const std::string& base_url, const HttpResponse& r) {
  const std::string where = where_of(job);
  // Jenkins' error pages are HTML: the only detail worth quoting is this one.
  const bool not_parameterized = r.body.find("is not parameterized") != std::string::npos;
  if (r.status == 500 && not_parameterized) {
    return Outcome::permanent(http_error(where, r.status,
                                         "the job takes no parameters, and rollback jobs get "
                                         "REFLEX_INCIDENT: add a string parameter to the job"));
  }
  if (auto t = classify_transient(where, r, "")) return *t;
  const std::string location = r.header("Location").value_or("");
  const bool queued = location.find("queue/item/") != std::string::npos;
  if ((r.status >= 200 && r.status < 300) || r.status == 303) {
    if (queued) {
      json result = {{"job", job}, {"queue_url", resolve_location(base_url, location)}};
      if (r.status == 303) result["merged"] = true;
      return Outcome::done(std::move(result));
    }
    if (r.status != 303) {
      return Outcome::permanent(where + "HTTP " + std::to_string(r.status) +
                                " without the queue item's Location (the build may have been "
                                "queued; look at the job before retrying)");
    }
  }
  if (r.status >= 300 && r.status < 400) {
    return Outcome::permanent(http_error(
        where, r.status,
        "Jenkins did not queue the build" +
            (location.empty() ? std::string() : " (it redirected to " + clip(location, 200) + ")") +
            "; is the job disabled?"));
  }
  return Outcome::permanent(http_error(where, r.status, "") + hint(r.status));
}

JenkinsIntegration::JenkinsIntegration(JenkinsSettings settings) : settings_(std::move(settings)) {
  settings_.base_url = with_slash(settings_.base_url);
}

Result<HttpRequest> JenkinsIntegration::prepare(const OutboxRow& row) const {
  if (row.operation != kBuild) {
    return Status::error("invalid_operation", "jenkins: unknown operation \"" + row.operation +
                                                  "\" (known: jenkins.build)");
  }
  REFLEX_RETURN_IF_ERROR(check_payload(row.payload));
  const json parameters = row.payload.value("parameters", json::object());
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.base_url + jenkins_job_path(string_at(row.payload, "job")) +
            (parameters.empty() ? "build" : "buildWithParameters");
  req.headers = {
      {"Authorization", "Basic " + base64_encode(settings_.user + ":" + settings_.token)}};
  if (!parameters.empty()) {
    req.headers.emplace_back("Content-Type", "application/x-www-form-urlencoded");
    req.body = form_body(parameters);
  }
  req.timeout = settings_.timeout;
  return req;
}

Outcome JenkinsIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  return classify_jenkins(string_at(row.payload, "job"), settings_.base_url, response);
}

std::vector<std::string> JenkinsIntegration::secrets() const {
  return {settings_.token, base64_encode(settings_.user + ":" + settings_.token)};
}

Result<JenkinsSettings> jenkins_settings(const JenkinsConfig& cfg) {
  auto token = read_secret("integrations.jenkins", "token", cfg.token_file, cfg.token_env);
  if (!token) return token.status();
  return JenkinsSettings{.base_url = cfg.base_url,
                         .user = cfg.user,
                         .token = std::move(token).value(),
                         .timeout = cfg.timeout};
}

}  // namespace reflex::hub
