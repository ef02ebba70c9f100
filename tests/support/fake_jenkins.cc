#include "tests/support/fake_jenkins.h"

#include <cctype>

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

const FakeVendorServer::Headers kJenkinsHeaders = {{"X-Jenkins", "2.462.3"}};

Answer page(int status, const std::string& text) {
  return {.status = status,
          .body = "<html><head><title>Error " + std::to_string(status) +
                  "</title></head><body><h2>HTTP ERROR " + std::to_string(status) + "</h2><p>" +
                  text + "</p></body></html>",
          .headers = kJenkinsHeaders};
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

// application/x-www-form-urlencoded: '+' is a space, %XX a byte.
std::string form_decode(const std::string& s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() && std::isxdigit(uint8_t(s[i + 1])) &&
               std::isxdigit(uint8_t(s[i + 2]))) {
      out += char(std::stoi(s.substr(i + 1, 2), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

void add_form(const std::string& text, std::map<std::string, std::string>& out) {
  size_t start = 0;
  while (start < text.size()) {
    size_t amp = text.find('&', start);
    if (amp == std::string::npos) amp = text.size();
    const std::string pair = text.substr(start, amp - start);
    const size_t eq = pair.find('=');
    if (!pair.empty()) {
      out[form_decode(pair.substr(0, eq))] =
          eq == std::string::npos ? "" : form_decode(pair.substr(eq + 1));
    }
    start = amp + 1;
  }
}

}  // namespace

FakeJenkins::FakeJenkins(std::string user, std::string token)
    : user_(std::move(user)),
      token_(std::move(token)),
      server_("FakeJenkins", [this](const FakeVendorServer::Request& r) { return handle(r); }) {}

void FakeJenkins::add_job(const std::string& path, std::map<std::string, std::string> parameters) {
  std::lock_guard lock(mu_);
  jobs_[path] = std::move(parameters);
}

std::vector<FakeJenkins::QueueItem> FakeJenkins::queue() const {
  std::lock_guard lock(mu_);
  return queue_;
}

void FakeJenkins::start_queued() {
  std::lock_guard lock(mu_);
  for (auto& item : queue_) item.waiting = false;
}

Answer FakeJenkins::handle(const FakeVendorServer::Request& req) {
  const std::string auth = req.header("Authorization");
  if (auth.rfind("Basic ", 0) != 0 || base64_decode(auth.substr(6)) != user_ + ":" + token_) {
    Answer a = page(401, "Invalid password/token for user: " + user_);
    a.headers.emplace_back("WWW-Authenticate", "Basic realm=\"Jenkins\"");
    return a;
  }
  std::lock_guard lock(mu_);
  // /queue/item/<id>/api/json
  const std::string queue_prefix = "/queue/item/";
  if (req.path.rfind(queue_prefix, 0) == 0 && req.method == "GET") {
    const int id = std::atoi(req.path.c_str() + queue_prefix.size());
    for (const auto& item : queue_) {
      if (item.id != id) continue;
      return {.status = 200,
              .body = {{"id", item.id},
                       {"_class", item.waiting ? "hudson.model.Queue$WaitingItem"
                                               : "hudson.model.Queue$LeftItem"},
                       {"task", {{"name", item.job}}}},
              .headers = kJenkinsHeaders};
    }
    return page(404, "Not Found");
  }
  // /job/a/job/b/<action>: alternate "job" and a name, then the action.
  std::vector<std::string> parts;
  for (size_t start = 1; start <= req.path.size();) {
    size_t slash = req.path.find('/', start);
    if (slash == std::string::npos) slash = req.path.size();
    parts.push_back(req.path.substr(start, slash - start));
    start = slash + 1;
  }
  if (!parts.empty() && parts.back().empty()) parts.pop_back();
  std::string job;
  size_t i = 0;
  for (; i + 1 < parts.size() && parts[i] == "job"; i += 2) {
    job += (job.empty() ? "" : "/") + parts[i + 1];
  }
  if (job.empty() || !jobs_.contains(job) || i + 1 != parts.size()) return page(404, "Not Found");
  const std::string action = parts[i];
  if (action != "build" && action != "buildWithParameters") return page(404, "Not Found");
  if (req.method != "POST") return page(405, "Method Not Allowed");
  std::map<std::string, std::string> given;
  if (const size_t q = req.target.find('?'); q != std::string::npos) {
    add_form(req.target.substr(q + 1), given);
  }
  if (req.header("Content-Type").rfind("application/x-www-form-urlencoded", 0) == 0) {
    add_form(req.raw_body, given);
  }
  return trigger(job, action == "buildWithParameters", given);
}

Answer FakeJenkins::trigger(const std::string& job, bool with_parameters,
                            const std::map<std::string, std::string>& given) {
  const auto& declared = jobs_.at(job);
  if (with_parameters && declared.empty()) {
    return page(500, "java.lang.IllegalStateException: This build is not parameterized!");
  }
  std::map<std::string, std::string> values = declared;
  for (auto& [name, value] : values) {
    if (auto it = given.find(name); with_parameters && it != given.end()) value = it->second;
  }
  auto location = [&](int id) {
    FakeVendorServer::Headers h = kJenkinsHeaders;
    h.emplace_back("Location", server_.url("/queue/item/" + std::to_string(id) + "/"));
    return h;
  };
  for (auto& item : queue_) {
    if (item.waiting && item.job == job && item.parameters == values) {
      item.requests += 1;
      return {.status = 303, .body = nullptr, .headers = location(item.id)};
    }
  }
  const int id = 100 + static_cast<int>(queue_.size()) + 1;
  queue_.push_back(
      {.id = id, .job = job, .parameters = std::move(values), .waiting = true, .requests = 1});
  return {.status = 201, .body = nullptr, .headers = location(id)};
}

}  // namespace reflex::testing
