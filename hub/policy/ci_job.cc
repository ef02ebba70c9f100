#include "hub/policy/ci_job.h"

#include <cctype>
#include <vector>

namespace reflex::hub::policy {
namespace {

constexpr std::string_view kJenkins = "jenkins:";
constexpr std::string_view kGitHub = "github:";
constexpr const char* kForms =
    "expected jenkins:<job path> or github:<owner>/<repo>/<workflow file>[@<ref>]";

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::vector<std::string> split(std::string_view s, char sep) {
  std::vector<std::string> out;
  size_t start = 0;
  while (true) {
    const size_t at = s.find(sep, start);
    out.emplace_back(
        s.substr(start, at == std::string_view::npos ? std::string_view::npos : at - start));
    if (at == std::string_view::npos) return out;
    start = at + 1;
  }
}

// Not empty, not "." or "..", no space: a segment of a job path or a repository.
bool plain(const std::string& segment) {
  if (segment.empty() || segment == "." || segment == "..") return false;
  for (char c : segment) {
    if (std::isspace(static_cast<unsigned char>(c))) return false;
  }
  return true;
}

Status bad_job(std::string_view text, const std::string& why) {
  return Status::error("invalid_argument",
                       "job \"" + std::string(text) + "\": " + why + " (" + kForms + ")");
}

// The length of the parameter name `piece` starts with, followed by '='; 0 if none.
size_t name_length(std::string_view piece) {
  if (piece.empty() || std::isdigit(static_cast<unsigned char>(piece[0]))) return 0;
  size_t n = 0;
  while (n < piece.size() && (std::isalnum(static_cast<unsigned char>(piece[n])) ||
                              piece[n] == '_' || piece[n] == '.' || piece[n] == '-')) {
    ++n;
  }
  return n > 0 && n < piece.size() && piece[n] == '=' ? n : 0;
}

}  // namespace

std::string ci_system_of(std::string_view job) {
  const std::string t = trim(job);
  if (t.starts_with(kJenkins)) return "jenkins";
  if (t.starts_with(kGitHub)) return "github";
  return "";
}

Result<CiJob> parse_ci_job(std::string_view text) {
  const std::string t = trim(text);
  CiJob job;
  job.system = ci_system_of(t);
  if (job.system.empty()) return bad_job(text, "names no CI system");
  if (job.system == "jenkins") {
    job.job = trim(std::string_view(t).substr(kJenkins.size()));
    if (job.job.empty()) return bad_job(text, "no job path after jenkins:");
    for (const auto& segment : split(job.job, '/')) {
      if (!plain(segment)) return bad_job(text, "the job path has an empty or invalid part");
    }
    return job;
  }
  std::string rest = trim(std::string_view(t).substr(kGitHub.size()));
  job.ref = "main";
  if (const size_t at = rest.find('@'); at != std::string::npos) {
    job.ref = trim(std::string_view(rest).substr(at + 1));
    rest = rest.substr(0, at);
    if (job.ref.empty() || !plain(job.ref)) return bad_job(text, "no ref after @");
  }
  const auto parts = split(rest, '/');
  if (parts.size() != 3) {
    return bad_job(text, "a GitHub job is owner, repository and workflow file");
  }
  for (const auto& p : parts) {
    if (!plain(p)) return bad_job(text, "an empty or invalid owner, repository or workflow");
  }
  job.repo = parts[0] + "/" + parts[1];
  job.workflow = parts[2];
  return job;
}

Result<std::map<std::string, std::string>> parse_ci_parameters(std::string_view text) {
  std::map<std::string, std::string> out;
  std::string* last = nullptr;
  for (const auto& raw : split(text, ',')) {
    const std::string piece = trim(raw);
    if (piece.empty()) continue;  // "A=1, " or "A=1,,B=2"
    if (const size_t n = name_length(piece); n > 0) {
      const std::string name = piece.substr(0, n);
      if (out.contains(name)) {
        return Status::error("invalid_argument", "parameters: " + name + " is given twice");
      }
      last = &out[name];
      *last = trim(std::string_view(piece).substr(n + 1));
    } else if (last) {
      *last += "," + raw;  // a comma inside the value before
    } else {
      return Status::error("invalid_argument", "parameters: \"" + piece +
                                                   "\" is not NAME=value (as in "
                                                   "\"SERVICE={{service}}, ENV={{env}}\")");
    }
  }
  for (auto& [name, value] : out) value = trim(value);
  return out;
}

std::string describe_ci(const nlohmann::json& data) {
  auto s = [&](const char* k) { return data.value(k, std::string()); };
  if (s("system") == "jenkins") {
    const std::string build = "jenkins build of " + s("job");
    if (data.value("merged", nlohmann::json(false)) == true) {
      return build + " merged into an identical one already waiting: " + s("queue_url");
    }
    return build + " queued: " + s("queue_url");
  }
  if (s("system") == "github") {
    return "github workflow " + s("repo") + "/" + s("workflow") + " dispatched on " + s("ref");
  }
  return "";
}

}  // namespace reflex::hub::policy
