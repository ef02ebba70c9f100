#include "tests/support/fake_dynatrace.h"

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

Answer error(int status, const std::string& message, json violations = nullptr) {
  json e{{"code", status}, {"message", message}};
  if (!violations.is_null()) e["constraintViolations"] = std::move(violations);
  return {.status = status, .body = {{"error", e}}, .headers = {}};
}

json violation(const std::string& path, const std::string& message) {
  return {{"path", path},
          {"message", message},
          {"parameterLocation", "PAYLOAD_BODY"},
          {"location", nullptr}};
}

}  // namespace

FakeDynatrace::FakeDynatrace(std::string token, int port)
    : token_(std::move(token)),
      problems_{{"-123_456V2", {}}},
      server_(
          "FakeDynatrace", [this](const FakeVendorServer::Request& r) { return handle(r); }, port) {
}

void FakeDynatrace::add_problem(const std::string& problem_id) {
  std::lock_guard lock(mu_);
  problems_[problem_id];
}

std::vector<FakeDynatrace::Comment> FakeDynatrace::comments(const std::string& problem_id) const {
  std::lock_guard lock(mu_);
  auto it = problems_.find(problem_id);
  return it == problems_.end() ? std::vector<Comment>{} : it->second;
}

Answer FakeDynatrace::handle(const FakeVendorServer::Request& req) {
  const std::string auth = req.header("Authorization");
  if (auth.empty()) return error(401, "Missing authorization parameter.");
  if (auth != "Api-Token " + token_) return error(401, "Token Authentication failed");
  const std::string prefix = "/api/v2/problems/";
  if (req.path.rfind(prefix, 0) != 0) return error(404, "Not found");
  std::string id = req.path.substr(prefix.size());
  const std::string comments = "/comments";
  const bool on_comments = id.size() > comments.size() &&
                           id.compare(id.size() - comments.size(), comments.size(), comments) == 0;
  if (on_comments) id.resize(id.size() - comments.size());

  std::lock_guard lock(mu_);
  auto problem = problems_.find(id);
  if (problem == problems_.end()) {
    return error(404, "The requested problem " + id + " was not found");
  }
  if (!on_comments) {
    if (req.method != "GET") return error(405, "Method not allowed");
    json recent = json::array();
    for (const auto& c : problem->second) {
      recent.push_back({{"id", c.id}, {"content", c.message}, {"context", c.context}});
    }
    return {.status = 200,
            .body = {{"problemId", id},
                     {"displayId", "P-1"},
                     {"status", "OPEN"},
                     {"recentComments", {{"comments", recent}, {"totalCount", recent.size()}}}},
            .headers = {}};
  }
  if (req.method != "POST") return error(405, "Method not allowed");
  if (!req.body.is_object()) return error(400, "Could not map JSON at '' near line 1");
  const json& b = req.body;
  if (!b.contains("message") || !b["message"].is_string() ||
      b["message"].get<std::string>().empty()) {
    return error(400, "Constraints violated.",
                 json::array({violation("message", "must not be empty")}));
  }
  if (b.contains("context") && !b["context"].is_string()) {
    return error(400, "Constraints violated.",
                 json::array({violation("context", "must be a string")}));
  }
  Comment c{.id = std::to_string(next_comment_++),
            .message = b["message"].get<std::string>(),
            .context = b.value("context", "")};
  problem->second.push_back(c);
  return {.status = 201,
          .body = {{"id", c.id},
                   {"content", c.message},
                   {"context", c.context},
                   {"authorName", "reflex"},
                   {"createdAtTimestamp", 1767261600000}},
          .headers = {}};
}

}  // namespace reflex::testing
