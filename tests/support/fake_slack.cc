#include "tests/support/fake_slack.h"

#include <cctype>
#include <cstdio>
#include <stdexcept>

#include "tests/support/process.h"

namespace reflex::testing {
namespace {

using nlohmann::json;

const std::set<std::string> kMethods = {"chat.postMessage", "chat.update", "conversations.create",
                                        "conversations.invite", "conversations.archive"};

json error(const std::string& code) {
  return {{"ok", false}, {"error", code}};
}

bool has_string(const json& body, const char* key) {
  return body.contains(key) && body[key].is_string() && !body[key].get<std::string>().empty();
}

std::string name_error(const std::string& name) {
  if (name.empty()) return "invalid_name_required";
  if (name.size() > 80) return "invalid_name_maxlength";
  bool any_alnum = false;
  for (char c : name) {
    const auto u = static_cast<unsigned char>(c);
    if (std::islower(u) || std::isdigit(u)) {
      any_alnum = true;
    } else if (c != '-' && c != '_') {
      return "invalid_name_specials";
    }
  }
  return any_alnum ? "" : "invalid_name_punctuation";
}

}  // namespace

FakeSlack::FakeSlack(std::string token) : token_(std::move(token)) {
  channels_["C123"] = Channel{.id = "C123", .name = "incidents", .archived = false, .members = {}};
  start(0);
}

FakeSlack::~FakeSlack() {
  down();
}

std::string FakeSlack::base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/api/";
}

void FakeSlack::start(int port) {
  server_ = std::make_unique<httplib::Server>();
  server_->new_task_queue = [] { return new httplib::ThreadPool(8); };
  server_->set_keep_alive_max_count(1);
  auto handler = [this](const httplib::Request& req, httplib::Response& res) { handle(req, res); };
  server_->Post(R"(/api/([A-Za-z.]+))", handler);
  server_->Get(R"(/api/([A-Za-z.]+))", handler);
  if (port == 0) {
    port_ = server_->bind_to_any_port("127.0.0.1");
  } else {
    port_ = server_->bind_to_port("127.0.0.1", port) ? port : -1;
  }
  if (port_ <= 0) throw std::runtime_error("FakeSlack: cannot bind 127.0.0.1");
  thread_ = std::thread([server = server_.get()] { server->listen_after_bind(); });
  if (!wait_until([this] { return server_->is_running(); })) {
    throw std::runtime_error("FakeSlack: did not start");
  }
}

void FakeSlack::down() {
  if (!server_) return;
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void FakeSlack::up() {
  if (!server_) start(port_);
}

void FakeSlack::fail_next(int n, Fault fault) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i) faults_.push_back(fault);
}

void FakeSlack::rate_limit_next(int n, int retry_after_seconds) {
  fail_next(n, Fault{.status = 429,
                     .headers = {{"Retry-After", std::to_string(retry_after_seconds)}},
                     .body = R"({"ok":false,"error":"ratelimited"})"});
}

void FakeSlack::error_next(int n, const std::string& code) {
  fail_next(n, Fault{.status = 200, .headers = {}, .body = error(code).dump()});
}

void FakeSlack::add_channel(const std::string& id, const std::string& name) {
  std::lock_guard lock(mu_);
  channels_[id] = Channel{.id = id, .name = name, .archived = false, .members = {}};
}

std::vector<FakeSlack::Received> FakeSlack::received() const {
  std::lock_guard lock(mu_);
  return received_;
}

std::vector<FakeSlack::Received> FakeSlack::delivered() const {
  std::lock_guard lock(mu_);
  std::vector<Received> out;
  for (const auto& r : received_) {
    if (r.status == 200 && r.answer.value("ok", false)) out.push_back(r);
  }
  return out;
}

bool FakeSlack::wait_received(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return received_.size() >= n; });
}

namespace {
bool is_user_id(const std::string& id) {
  if (id.size() < 2 || (id[0] != 'U' && id[0] != 'W')) return false;
  for (char c : id) {
    if (!std::isupper(static_cast<unsigned char>(c)) &&
        !std::isdigit(static_cast<unsigned char>(c))) {
      return false;
    }
  }
  return true;
}
}  // namespace

FakeSlack::Channel* FakeSlack::find_channel(const std::string& id_or_name) {
  if (auto it = channels_.find(id_or_name); it != channels_.end()) return &it->second;
  std::string name = id_or_name;
  if (!name.empty() && name.front() == '#') name.erase(0, 1);
  for (auto& [_, c] : channels_) {
    if (c.name == name) return &c;
  }
  return nullptr;
}

void FakeSlack::handle(const httplib::Request& req, httplib::Response& res) {
  Received r;
  r.http_method = req.method;
  r.method = req.matches[1].str();
  r.authorization = req.get_header_value("Authorization");
  r.content_type = req.get_header_value("Content-Type");
  r.raw_body = req.body;
  r.body = json::parse(req.body, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;

  std::lock_guard lock(mu_);
  json answer;
  int status = 200;
  if (!faults_.empty()) {
    Fault f = faults_.front();
    faults_.pop_front();
    status = f.status;
    for (const auto& [k, v] : f.headers) res.set_header(k, v);
    res.status = status;
    res.set_content(f.body, "application/json; charset=utf-8");
    answer = json::parse(f.body, nullptr, false);
    if (answer.is_discarded()) answer = nullptr;
  } else {
    if (!kMethods.count(r.method)) {
      answer = error("unknown_method");
    } else if (req.method != "POST") {
      // Reflex's methods all write: only POST is served here.
      status = 405;
      answer = error("method_not_allowed");
    } else if (r.authorization.empty()) {
      answer = error("not_authed");
    } else if (r.authorization != "Bearer " + token_) {
      answer = error("invalid_auth");
    } else if (r.content_type.rfind("application/json", 0) != 0) {
      // Reflex sends JSON; a form post would need the token in the body.
      answer = error("invalid_arguments");
    } else if (!r.body.is_object()) {
      answer = error("invalid_json");
    } else {
      answer = serve(r.method, r.body);
      if (r.content_type.find("charset=utf-8") == std::string::npos && answer.value("ok", false)) {
        answer["warning"] = "missing_charset";
        answer["response_metadata"] = {{"warnings", {"missing_charset"}}};
      }
    }
    res.status = status;
    res.set_content(answer.dump(), "application/json; charset=utf-8");
  }
  r.status = status;
  r.answer = answer;
  received_.push_back(std::move(r));
  cv_.notify_all();
}

json FakeSlack::serve(const std::string& method, const json& body) {
  if (method == "conversations.create") {
    if (!body.contains("name") || !body["name"].is_string()) return error("invalid_name_required");
    const std::string name = body["name"].get<std::string>();
    if (auto e = name_error(name); !e.empty()) return error(e);
    if (find_channel(name)) return error("name_taken");
    char id[16];
    std::snprintf(id, sizeof id, "C%07d", next_channel_++);
    const bool is_private = body.value("is_private", false);
    channels_[id] = Channel{.id = id, .name = name, .archived = false, .members = {}};
    return {{"ok", true},
            {"channel",
             {{"id", id},
              {"name", name},
              {"is_channel", !is_private},
              {"is_private", is_private},
              {"created", 1700000000},
              {"is_archived", false}}}};
  }
  if (!has_string(body, "channel")) return error("channel_not_found");
  std::string channel = body["channel"].get<std::string>();
  if (method == "chat.postMessage" && is_user_id(channel)) {
    // A user id posts to the app's direct message with that user (its App Home).
    const std::string im = "D" + channel.substr(1);
    channels_.try_emplace(im,
                          Channel{.id = im, .name = {}, .archived = false, .members = {channel}});
    channel = im;
  }
  Channel* ch = find_channel(channel);
  if (!ch) return error("channel_not_found");
  if (method == "conversations.archive") {
    if (ch->archived) return error("already_archived");
    ch->archived = true;
    return {{"ok", true}};
  }
  if (ch->archived) return error("is_archived");
  if (method == "conversations.invite") {
    if (!has_string(body, "users")) return error("no_user");
    std::string users = body["users"].get<std::string>();
    size_t start = 0;
    bool added = false;
    while (start <= users.size()) {
      size_t comma = users.find(',', start);
      if (comma == std::string::npos) comma = users.size();
      const std::string u = users.substr(start, comma - start);
      if (u.empty() || u[0] != 'U') return error("user_not_found");
      added |= ch->members.insert(u).second;
      start = comma + 1;
    }
    if (!added) return error("already_in_channel");
    return {{"ok", true}, {"channel", {{"id", ch->id}, {"name", ch->name}}}};
  }
  const bool has_content =
      body.contains("text") || body.contains("blocks") || body.contains("attachments");
  if (method == "chat.postMessage") {
    if (!has_content) return error("no_text");
    char ts[32];
    std::snprintf(ts, sizeof ts, "1700000000.%06lld", static_cast<long long>(next_ts_micros_));
    next_ts_micros_ += 100;
    messages_[ch->id].insert(ts);
    json message{{"type", "message"}, {"ts", ts}, {"text", body.value("text", "")}};
    if (body.contains("blocks")) message["blocks"] = body["blocks"];
    if (body.contains("thread_ts")) message["thread_ts"] = body["thread_ts"];
    return {{"ok", true}, {"channel", ch->id}, {"ts", ts}, {"message", message}};
  }
  // chat.update
  if (!has_string(body, "ts")) return error("message_not_found");
  const std::string ts = body["ts"].get<std::string>();
  if (!messages_[ch->id].count(ts)) return error("message_not_found");
  if (!has_content) return error("no_text");
  return {{"ok", true}, {"channel", ch->id}, {"ts", ts}, {"text", body.value("text", "")}};
}

}  // namespace reflex::testing
