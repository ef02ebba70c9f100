#include "tests/support/fake_github.h"

#include <algorithm>

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

constexpr const char* kDocs = "https://docs.github.com/rest/actions/workflows";
constexpr int kLimit = 5000;
constexpr int64_t kReset = 1'900'000'000;  // far ahead: the fake never resets

}  // namespace

FakeGitHub::FakeGitHub(std::string token)
    : token_(std::move(token)),
      server_("FakeGitHub", [this](const FakeVendorServer::Request& r) { return handle(r); }) {}

void FakeGitHub::add_workflow(const std::string& repo, const std::string& file, int id,
                              std::map<std::string, bool> inputs, std::vector<std::string> refs) {
  std::lock_guard lock(mu_);
  workflows_.push_back(
      {.repo = repo, .file = file, .id = id, .inputs = std::move(inputs), .refs = std::move(refs)});
}

void FakeGitHub::rate_limit_next(int n, int64_t reset_epoch_seconds) {
  fail_next(n, {.status = 403,
                .headers = {{"x-ratelimit-limit", std::to_string(kLimit)},
                            {"x-ratelimit-remaining", "0"},
                            {"x-ratelimit-used", std::to_string(kLimit)},
                            {"x-ratelimit-reset", std::to_string(reset_epoch_seconds)},
                            {"x-ratelimit-resource", "core"}},
                .body = json{{"message", "API rate limit exceeded for user ID 1."},
                             {"documentation_url",
                              "https://docs.github.com/rest/using-the-rest-api/"
                              "rate-limits-for-the-rest-api"}}
                            .dump()});
}

std::vector<FakeGitHub::Run> FakeGitHub::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

FakeVendorServer::Headers FakeGitHub::rate_headers() {
  used_ += 1;
  return {{"x-ratelimit-limit", std::to_string(kLimit)},
          {"x-ratelimit-remaining", std::to_string(std::max(0, kLimit - used_))},
          {"x-ratelimit-used", std::to_string(used_)},
          {"x-ratelimit-reset", std::to_string(kReset)},
          {"x-ratelimit-resource", "core"}};
}

Answer FakeGitHub::handle(const FakeVendorServer::Request& req) {
  std::lock_guard lock(mu_);
  auto answer = [&](int status, const std::string& message) {
    return Answer{.status = status,
                  .body = {{"message", message}, {"documentation_url", kDocs}},
                  .headers = rate_headers()};
  };
  if (req.header("User-Agent").empty()) {
    return answer(403,
                  "Request forbidden by administrative rules. Please make sure your request "
                  "has a User-Agent header");
  }
  if (const std::string v = req.header("X-GitHub-Api-Version"); !v.empty() && v != "2022-11-28") {
    return answer(400, "API version " + v + " is not supported.");
  }
  const std::string auth = req.header("Authorization");
  if (auth.empty()) return answer(401, "Requires authentication");
  if (auth != "Bearer " + token_ && auth != "token " + token_) {
    return answer(401, "Bad credentials");
  }
  // /repos/{owner}/{repo}/actions/workflows/{workflow}/dispatches
  std::vector<std::string> parts;
  for (size_t start = 1; start <= req.path.size();) {
    size_t slash = req.path.find('/', start);
    if (slash == std::string::npos) slash = req.path.size();
    parts.push_back(req.path.substr(start, slash - start));
    start = slash + 1;
  }
  if (parts.size() != 7 || parts[0] != "repos" || parts[3] != "actions" ||
      parts[4] != "workflows" || parts[6] != "dispatches") {
    return answer(404, "Not Found");
  }
  const std::string repo = parts[1] + "/" + parts[2];
  const Workflow* wf = nullptr;
  for (const auto& w : workflows_) {
    if (w.repo == repo && (w.file == parts[5] || std::to_string(w.id) == parts[5])) wf = &w;
  }
  if (!wf) return answer(404, "Not Found");
  if (req.method != "POST") return answer(404, "Not Found");
  if (!req.body.is_object()) return answer(400, "Problems parsing JSON");
  return dispatch(*wf, req.body);
}

Answer FakeGitHub::dispatch(const Workflow& wf, const json& body) {
  auto invalid = [&](const std::string& message) {
    return Answer{.status = 422,
                  .body = {{"message", message}, {"documentation_url", kDocs}},
                  .headers = rate_headers()};
  };
  if (!body.contains("ref") || !body["ref"].is_string() || body["ref"].get<std::string>().empty()) {
    return invalid("Invalid request.\n\n\"ref\" wasn't supplied.");
  }
  const std::string ref = body["ref"];
  if (std::find(wf.refs.begin(), wf.refs.end(), ref) == wf.refs.end()) {
    return invalid("No ref found for: " + ref);
  }
  Run run{.repo = wf.repo, .workflow = wf.file, .ref = ref, .inputs = {}};
  if (body.contains("inputs")) {
    if (!body["inputs"].is_object())
      return invalid("Invalid request.\n\nFor 'properties/inputs', must be an object.");
    std::vector<std::string> unexpected;
    for (const auto& [name, value] : body["inputs"].items()) {
      if (!wf.inputs.contains(name)) {
        unexpected.push_back(name);
        continue;
      }
      if (!value.is_string()) return invalid("Invalid value for input '" + name + "'");
      run.inputs[name] = value.get<std::string>();
    }
    if (!unexpected.empty()) {
      return invalid("Unexpected inputs provided: " + json(unexpected).dump());
    }
  }
  for (const auto& [name, required] : wf.inputs) {
    if (required && !run.inputs.contains(name)) {
      return invalid("Required input '" + name + "' not provided");
    }
  }
  runs_.push_back(std::move(run));
  return {.status = 204, .body = nullptr, .headers = rate_headers()};
}

}  // namespace reflex::testing
