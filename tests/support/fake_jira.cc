#include "tests/support/fake_jira.h"

#include <algorithm>
#include <set>

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

const std::set<std::string> kIssueTypes = {"Incident", "Task", "Bug"};
const std::set<std::string> kPriorities = {"Highest", "High", "Medium", "Low", "Lowest"};
const std::vector<std::pair<std::string, std::string>> kTransitions = {
    {"11", "To Do"}, {"21", "In Progress"}, {"31", "Done"}};

Answer error(int status, std::vector<std::string> messages, json fields = json::object()) {
  return {.status = status,
          .body = {{"errorMessages", std::move(messages)}, {"errors", std::move(fields)}},
          .headers = {}};
}

std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    if (c == '=') break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string::npos) return "";
    bits = (bits << 6) | uint32_t(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += char((bits >> count) & 0xFF);
    }
  }
  return out;
}

std::string name_or_id(const json& fields, const char* key) {
  if (!fields.contains(key) || !fields[key].is_object()) return "";
  const json& f = fields[key];
  for (const char* k : {"name", "key", "id"}) {
    if (f.contains(k) && f[k].is_string()) return f[k].get<std::string>();
  }
  return "";
}

}  // namespace

void FakeJira::add_project(const std::string& key) {
  std::lock_guard lock(mu_);
  projects_.insert(key);
}

FakeJira::FakeJira(std::string token, std::string user, int port)
    : token_(std::move(token)),
      user_(std::move(user)),
      server_(
          "FakeJira", [this](const FakeVendorServer::Request& r) { return handle(r); }, port) {}

void FakeJira::rate_limit_next(int n, int retry_after_seconds) {
  fail_next(n, {.status = 429,
                .headers = {{"Retry-After", std::to_string(retry_after_seconds)},
                            {"X-RateLimit-Reset", "2026-01-01T10:00Z"},
                            {"RateLimit-Reason", "jira-burst-based"}},
                .body = R"({"errorMessages":["Rate limit exceeded."],"errors":{}})"});
}

std::vector<FakeJira::Issue> FakeJira::issues() const {
  std::lock_guard lock(mu_);
  return issues_;
}

std::optional<FakeJira::Issue> FakeJira::issue(const std::string& key) const {
  std::lock_guard lock(mu_);
  for (const auto& i : issues_) {
    if (i.key == key || i.id == key) return i;
  }
  return std::nullopt;
}

FakeJira::Issue* FakeJira::find(const std::string& key_or_id) {
  for (auto& i : issues_) {
    if (i.key == key_or_id || i.id == key_or_id) return &i;
  }
  return nullptr;
}

json FakeJira::issue_json(const Issue& i) const {
  return {{"id", i.id},
          {"key", i.key},
          {"self", server_.url("/rest/api/2/issue/" + i.id)},
          {"fields",
           {{"summary", i.summary},
            {"issuetype", {{"name", i.issuetype}}},
            {"description", i.description},
            {"priority", {{"name", i.priority}}},
            {"status", {{"name", i.status}}},
            {"labels", i.labels},
            {"comment", {{"total", i.comments.size()}}}}}};
}

Answer FakeJira::handle(const FakeVendorServer::Request& req) {
  const std::string auth = req.header("Authorization");
  const bool authed = user_.empty() ? auth == "Bearer " + token_
                                    : auth.rfind("Basic ", 0) == 0 &&
                                          base64_decode(auth.substr(6)) == user_ + ":" + token_;
  if (!authed) {
    return error(401, {"You are not authenticated. Authentication required to perform this "
                       "operation."});
  }
  if (req.path == "/rest/api/2/search" || req.path == "/rest/api/2/search/jql") {
    const bool cloud = !user_.empty();
    if (req.path == "/rest/api/2/search" && cloud) {
      return error(410, {"The requested API has been removed. Please migrate to the "
                         "/rest/api/3/search/jql API. A full migration guideline is available "
                         "at https://developer.atlassian.com/changelog/#CHANGE-2046"});
    }
    if (req.path == "/rest/api/2/search/jql" && !cloud) {
      return error(404, {"null for uri: " + req.path});
    }
    if (req.method != "GET") return error(405, {"Method Not Allowed"});
    std::lock_guard lock(mu_);
    return search(req);
  }
  const std::string prefix = "/rest/api/2/issue";
  if (req.path.rfind(prefix, 0) != 0) return error(404, {"null for uri: " + req.path});
  // "", "/OPS-1", "/OPS-1/comment" or "/OPS-1/transitions"
  const std::string rest = req.path.substr(prefix.size());
  std::string key, sub;
  if (!rest.empty()) {
    if (rest[0] != '/') return error(404, {"null for uri: " + req.path});
    const size_t slash = rest.find('/', 1);
    key = rest.substr(1, slash == std::string::npos ? std::string::npos : slash - 1);
    if (slash != std::string::npos) sub = rest.substr(slash + 1);
  }
  if (req.method == "POST") {
    if (req.header("Content-Type").rfind("application/json", 0) != 0) {
      return {.status = 415, .body = nullptr, .headers = {}};
    }
    if (!req.body.is_object()) return error(400, {"Unexpected character in the request body."});
  }
  std::lock_guard lock(mu_);
  if (key.empty()) {
    if (req.method != "POST") return error(405, {"Method Not Allowed"});
    return create(req.body);
  }
  Issue* issue = find(key);
  if (!issue) return error(404, {"Issue does not exist or you do not have permission to see it."});
  if (sub.empty() && req.method == "GET") {
    return {.status = 200, .body = issue_json(*issue), .headers = {}};
  }
  if (sub == "comment" && req.method == "POST") return comment(*issue, req.body);
  if (sub == "transitions" && req.method == "POST") return transition(*issue, req.body);
  if (sub == "transitions" && req.method == "GET") {
    json list = json::array();
    for (const auto& [id, name] : kTransitions) {
      list.push_back({{"id", id}, {"name", name}, {"to", {{"name", name}}}, {"isAvailable", true}});
    }
    return {.status = 200, .body = {{"transitions", list}}, .headers = {}};
  }
  return error(405, {"Method Not Allowed"});
}

Answer FakeJira::create(const json& body) {
  if (!body.contains("fields") || !body["fields"].is_object()) {
    return error(400, {}, {{"project", "project is required"}});
  }
  const json& f = body["fields"];
  json errors = json::object();
  const std::string project = name_or_id(f, "project");
  if (project.empty()) {
    errors["project"] = "project is required";
  } else if (!projects_.count(project) && project != "10000") {
    errors["project"] = "Specify a valid project ID or key";
  }
  if (!f.contains("summary") || !f["summary"].is_string() ||
      f["summary"].get<std::string>().empty()) {
    errors["summary"] = "You must specify a summary of the issue.";
  }
  const std::string type = name_or_id(f, "issuetype");
  if (type.empty()) {
    errors["issuetype"] = "issue type is required";
  } else if (!kIssueTypes.count(type)) {
    errors["issuetype"] = "Specify a valid issue type";
  }
  std::string priority;
  if (f.contains("priority")) {
    priority = name_or_id(f, "priority");
    if (!kPriorities.count(priority)) {
      errors["priority"] = "Specify the Priority (id or name) in the string format";
    }
  }
  if (f.contains("description") && !f["description"].is_string()) {
    errors["description"] = "Operation value must be a string";
  }
  std::vector<std::string> labels;
  if (f.contains("labels")) {
    if (!f["labels"].is_array()) {
      errors["labels"] = "data was not an array";
    } else {
      for (const auto& l : f["labels"]) {
        if (l.is_string()) labels.push_back(l.get<std::string>());
      }
      if (labels.size() != f["labels"].size()) errors["labels"] = "data was not an array";
    }
  }
  if (!errors.empty()) return error(400, {}, errors);
  Issue i;
  i.id = std::to_string(10001 + issues_.size());
  i.project = project == "10000" ? "OPS" : project;
  const auto in_project = std::count_if(issues_.begin(), issues_.end(), [&](const Issue& other) {
    return other.project == i.project;
  });
  i.key = i.project + "-" + std::to_string(in_project + 1);
  i.summary = f["summary"].get<std::string>();
  i.issuetype = type;
  i.description = f.value("description", "");
  i.priority = priority.empty() ? "Medium" : priority;
  i.labels = std::move(labels);
  issues_.push_back(i);
  return {
      .status = 201,
      .body = {{"id", i.id}, {"key", i.key}, {"self", server_.url("/rest/api/2/issue/" + i.id)}},
      .headers = {}};
}

void FakeJira::lose_next_create() {
  server_.lose_next_answer([](const FakeVendorServer::Request& req, const Answer& a) {
    return req.method == "POST" && req.path == "/rest/api/2/issue" && a.status == 201;
  });
}

Answer FakeJira::search(const FakeVendorServer::Request& req) {
  auto param = [&](const std::string& key) -> std::string {
    auto it = req.params.find(key);
    return it == req.params.end() ? "" : it->second;
  };
  const std::string jql = param("jql");
  if (jql.empty()) return error(400, {"The 'jql' parameter is required."});
  // labels = "value" or labels = value; nothing else.
  std::string label;
  {
    std::string rest = jql;
    auto trim = [](std::string t) {
      const size_t b = t.find_first_not_of(' ');
      const size_t e = t.find_last_not_of(' ');
      return b == std::string::npos ? std::string() : t.substr(b, e - b + 1);
    };
    const size_t eq = rest.find('=');
    if (eq == std::string::npos || trim(rest.substr(0, eq)) != "labels") {
      return error(400,
                   {"Error in the JQL Query: the fake Jira understands only labels = \"...\""});
    }
    label = trim(rest.substr(eq + 1));
    if (label.size() >= 2 && label.front() == '"' && label.back() == '"') {
      label = label.substr(1, label.size() - 2);
    }
    if (label.empty() || label.find_first_of(" \"") != std::string::npos) {
      return error(400, {"Error in the JQL Query: the label is not valid."});
    }
  }
  size_t max = 50;
  if (const std::string m = param("maxResults"); !m.empty()) {
    try {
      max = std::stoul(m);
    } catch (const std::exception&) {
      return error(400, {"maxResults: not a number"});
    }
  }
  json found = json::array();
  size_t total = 0;
  for (const auto& i : issues_) {
    if (std::find(i.labels.begin(), i.labels.end(), label) == i.labels.end()) continue;
    ++total;
    if (found.size() < max) {
      found.push_back({{"id", i.id},
                       {"key", i.key},
                       {"self", server_.url("/rest/api/2/issue/" + i.id)},
                       {"fields", {{"summary", i.summary}, {"labels", i.labels}}}});
    }
  }
  if (!user_.empty()) {
    return {.status = 200, .body = {{"issues", found}, {"isLast", total <= max}}, .headers = {}};
  }
  return {.status = 200,
          .body = {{"startAt", 0}, {"maxResults", max}, {"total", total}, {"issues", found}},
          .headers = {}};
}

Answer FakeJira::comment(Issue& issue, const json& body) {
  if (!body.contains("body") || !body["body"].is_string() ||
      body["body"].get<std::string>().empty()) {
    return error(400, {}, {{"comment", "Comment body can not be empty!"}});
  }
  issue.comments.push_back(body["body"].get<std::string>());
  const std::string id = std::to_string(next_comment_++);
  return {.status = 201,
          .body = {{"id", id},
                   {"self", server_.url("/rest/api/2/issue/" + issue.id + "/comment/" + id)},
                   {"body", body["body"]},
                   {"author", {{"emailAddress", user_}}},
                   {"created", "2026-01-01T10:00:00.000+0000"},
                   {"updated", "2026-01-01T10:00:00.000+0000"}},
          .headers = {}};
}

Answer FakeJira::transition(Issue& issue, const json& body) {
  if (!body.contains("transition") || !body["transition"].is_object()) {
    return error(400, {"Missing 'transition' identifier"});
  }
  const json& t = body["transition"];
  const std::string id = t.contains("id") && t["id"].is_string() ? t["id"].get<std::string>() : "";
  auto it = std::find_if(kTransitions.begin(), kTransitions.end(),
                         [&](const auto& tr) { return tr.first == id; });
  if (it == kTransitions.end()) {
    return error(400, {"Transition id '" + id + "' is not valid for this issue."});
  }
  std::vector<std::string> comments;
  if (body.contains("update")) {
    const json& u = body["update"];
    if (!u.is_object()) return error(400, {}, {{"update", "Field update must be an object"}});
    if (u.contains("comment")) {
      if (!u["comment"].is_array()) return error(400, {}, {{"comment", "Expected a list"}});
      for (const auto& op : u["comment"]) {
        if (!op.is_object() || !op.contains("add") || !op["add"].is_object() ||
            !op["add"].contains("body") || !op["add"]["body"].is_string()) {
          return error(400, {}, {{"comment", "Comment body can not be empty!"}});
        }
        comments.push_back(op["add"]["body"].get<std::string>());
      }
    }
  }
  issue.status = it->second;
  for (auto& c : comments) issue.comments.push_back(std::move(c));
  return {.status = 204, .body = nullptr, .headers = {}};
}

}  // namespace reflex::testing
