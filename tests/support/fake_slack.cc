#include "tests/support/fake_slack.h"

#include <algorithm>
#include <cctype>
#include <climits>
#include <cstdio>
#include <stdexcept>

#include "tests/support/process.h"

namespace reflex::testing {
namespace {

using nlohmann::json;

const std::set<std::string> kMethods = {"chat.postMessage",      "chat.update",
                                        "conversations.create",  "conversations.invite",
                                        "conversations.archive", "conversations.history"};
// Methods that read, which Slack also serves on GET with a query string.
const std::set<std::string> kReadMethods = {"conversations.history"};
const std::set<std::string> kAllScopes = {"chat:write",       "channels:manage", "groups:write",
                                          "channels:history", "groups:history",  "im:history"};

std::string join(const std::set<std::string>& items) {
  std::string out;
  for (const auto& i : items) out += (out.empty() ? "" : ",") + i;
  return out;
}

// A Slack timestamp ("1700000000.000100") as microseconds, for ordering; -1 if it is not one.
long long micros_of(const std::string& ts) {
  const size_t dot = ts.find('.');
  try {
    const long long secs = std::stoll(ts.substr(0, dot));
    long long micros = 0;
    if (dot != std::string::npos) {
      std::string frac = ts.substr(dot + 1);
      frac.resize(6, '0');
      micros = std::stoll(frac);
    }
    return secs * 1'000'000 + micros;
  } catch (const std::exception&) {
    return -1;
  }
}

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

FakeSlack::FakeSlack(std::string token, int port) : token_(std::move(token)), scopes_(kAllScopes) {
  channels_["C123"] = Channel{
      .id = "C123", .name = "incidents", .archived = false, .members = {}, .is_private = false};
  start(port);
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
  {
    std::lock_guard lock(mu_);
    releasing_ = true;  // held answers are dropped, so their threads can end
  }
  cv_.notify_all();
  server_->stop();
  if (thread_.joinable()) thread_.join();
  server_.reset();
}

void FakeSlack::up() {
  if (server_) return;
  {
    std::lock_guard lock(mu_);
    releasing_ = false;
  }
  start(port_);
}

void FakeSlack::lose_next_answer() {
  std::lock_guard lock(mu_);
  lose_next_ = true;
}

void FakeSlack::stall_next_post() {
  std::lock_guard lock(mu_);
  stall_next_ = true;
}

size_t FakeSlack::held_answers() const {
  std::lock_guard lock(mu_);
  return held_;
}

void FakeSlack::set_scopes(std::set<std::string> scopes) {
  std::lock_guard lock(mu_);
  scopes_ = std::move(scopes);
}

std::vector<FakeSlack::Message> FakeSlack::messages(const std::string& channel) const {
  std::lock_guard lock(mu_);
  auto it = messages_.find(channel);
  return it == messages_.end() ? std::vector<Message>{} : it->second;
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

void FakeSlack::set_time_origin(int64_t epoch_ms) {
  std::lock_guard lock(mu_);
  origin_ms_ = epoch_ms;
  origin_at_ = std::chrono::steady_clock::now();
}

int64_t FakeSlack::now_micros() const {
  using namespace std::chrono;
  if (!origin_ms_) {
    return duration_cast<microseconds>(system_clock::now().time_since_epoch()).count();
  }
  return *origin_ms_ * 1000 + duration_cast<microseconds>(steady_clock::now() - origin_at_).count();
}

void FakeSlack::add_channel(const std::string& id, const std::string& name) {
  std::lock_guard lock(mu_);
  channels_[id] =
      Channel{.id = id, .name = name, .archived = false, .members = {}, .is_private = false};
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
  r.at = std::chrono::steady_clock::now();
  r.http_method = req.method;
  r.method = req.matches[1].str();
  r.authorization = req.get_header_value("Authorization");
  r.content_type = req.get_header_value("Content-Type");
  r.raw_body = req.body;
  r.body = json::parse(req.body, nullptr, false);
  if (r.body.is_discarded()) r.body = nullptr;
  // A read method's arguments may come as a query string (GET) instead of a body.
  json args = r.body;
  if (req.method == "GET" && kReadMethods.count(r.method)) {
    args = json::object();
    for (const auto& [k, v] : req.params) args[k] = v;
    r.params = args;
  }

  std::unique_lock lock(mu_);
  if (stall_next_ && r.method == "chat.postMessage") {
    stall_next_ = false;
    received_.push_back(std::move(r));
    cv_.notify_all();
    hold_until_released(lock, res, "");
    return;
  }
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
    } else if (req.method != "POST" && !(req.method == "GET" && kReadMethods.count(r.method))) {
      // The write methods are served on POST only.
      status = 405;
      answer = error("method_not_allowed");
    } else if (r.authorization.empty()) {
      answer = error("not_authed");
    } else if (r.authorization != "Bearer " + token_) {
      answer = error("invalid_auth");
    } else if (req.method == "GET") {
      answer = history(args);
    } else if (r.content_type.rfind("application/json", 0) != 0) {
      // Reflex sends JSON; a form post would need the token in the body.
      answer = error("invalid_arguments");
    } else if (!r.body.is_object()) {
      answer = error("invalid_json");
    } else {
      answer = r.method == "conversations.history" ? history(r.body) : serve(r.method, r.body);
      if (r.content_type.find("charset=utf-8") == std::string::npos && answer.value("ok", false)) {
        answer["warning"] = "missing_charset";
        answer["response_metadata"] = {{"warnings", {"missing_charset"}}};
      }
    }
    res.status = status;
    res.set_content(answer.dump(), "application/json; charset=utf-8");
  }
  const bool lose =
      lose_next_ && r.method == "chat.postMessage" && status == 200 && answer.value("ok", false);
  r.status = lose ? 0 : status;
  r.answer = answer;
  received_.push_back(std::move(r));
  cv_.notify_all();
  if (!lose) return;
  // Applied; the answer is held back until the fake goes down.
  lose_next_ = false;
  hold_until_released(lock, res, answer.dump());
}

void FakeSlack::hold_until_released(std::unique_lock<std::mutex>& lock, httplib::Response& res,
                                    const std::string& answer) {
  ++held_;
  cv_.wait(lock, [this] { return releasing_; });
  --held_;
  // The connection is closed in the middle of the response: the caller gets no answer.
  res.body.clear();  // a body set would be sent instead of the provider
  res.set_content_provider(std::max<size_t>(answer.size(), 1), "application/json; charset=utf-8",
                           [](size_t, size_t, httplib::DataSink&) { return false; });
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
    channels_[id] =
        Channel{.id = id, .name = name, .archived = false, .members = {}, .is_private = false};
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
    channels_.try_emplace(
        im,
        Channel{.id = im, .name = {}, .archived = false, .members = {channel}, .is_private = true});
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
    // Slack's ts: the post's time in microseconds, unique within the channel.
    last_ts_micros_ = std::max(last_ts_micros_ + 100, now_micros());
    char ts[32];
    std::snprintf(ts, sizeof ts, "%lld.%06lld", static_cast<long long>(last_ts_micros_ / 1'000'000),
                  static_cast<long long>(last_ts_micros_ % 1'000'000));
    json metadata;
    if (body.contains("metadata")) {
      const json& m = body["metadata"];
      if (!m.is_object() || !has_string(m, "event_type") || !m.contains("event_payload") ||
          !m["event_payload"].is_object()) {
        return error("invalid_metadata_format");
      }
      metadata = {{"event_type", m["event_type"]}, {"event_payload", m["event_payload"]}};
    }
    messages_[ch->id].push_back(
        Message{.ts = ts, .text = body.value("text", ""), .metadata = metadata});
    json message{{"type", "message"}, {"ts", ts}, {"text", body.value("text", "")}};
    if (body.contains("blocks")) message["blocks"] = body["blocks"];
    if (body.contains("thread_ts")) message["thread_ts"] = body["thread_ts"];
    return {{"ok", true}, {"channel", ch->id}, {"ts", ts}, {"message", message}};
  }
  // chat.update
  if (!has_string(body, "ts")) return error("message_not_found");
  const std::string ts = body["ts"].get<std::string>();
  const auto& posted = messages_[ch->id];
  if (std::none_of(posted.begin(), posted.end(), [&](const Message& m) { return m.ts == ts; })) {
    return error("message_not_found");
  }
  if (!has_content) return error("no_text");
  return {{"ok", true}, {"channel", ch->id}, {"ts", ts}, {"text", body.value("text", "")}};
}

}  // namespace reflex::testing

namespace reflex::testing {

json FakeSlack::history(const json& args) {
  if (!args.is_object() || !has_string(args, "channel")) return error("channel_not_found");
  const std::string id = args["channel"].get<std::string>();
  auto it = channels_.find(id);  // an id only: history does not resolve names
  if (it == channels_.end()) return error("channel_not_found");
  const Channel& ch = it->second;
  const std::string needed = ch.id[0] == 'D' ? "im:history"
                             : ch.is_private ? "groups:history"
                                             : "channels:history";
  if (!scopes_.count(needed)) {
    json e = error("missing_scope");
    e["needed"] = needed;
    e["provided"] = join(scopes_);
    return e;
  }
  // Arguments arrive as strings (a query string) or as JSON values.
  auto text = [&](const char* key) -> std::string {
    if (!args.contains(key)) return "";
    const json& v = args[key];
    return v.is_string() ? v.get<std::string>() : v.dump();
  };
  auto flag = [&](const char* key) {
    const std::string v = text(key);
    return v == "true" || v == "1";
  };
  const std::string oldest_arg = text("oldest"), latest_arg = text("latest");
  const long long oldest = oldest_arg.empty() ? 0 : micros_of(oldest_arg);
  const long long latest = latest_arg.empty() ? LLONG_MAX : micros_of(latest_arg);
  if (oldest < 0) return error("invalid_ts_oldest");
  if (latest < 0) return error("invalid_ts_latest");
  long long limit = 100;
  if (const std::string l = text("limit"); !l.empty()) {
    try {
      limit = std::stoll(l);
    } catch (const std::exception&) {
      return error("invalid_limit");
    }
  }
  limit = std::clamp<long long>(limit, 1, 999);
  const bool inclusive = flag("inclusive");
  const bool with_metadata = flag("include_all_metadata");
  json out = json::array();
  bool has_more = false;
  const auto& posted = messages_[ch.id];
  for (auto m = posted.rbegin(); m != posted.rend(); ++m) {  // newest first
    const long long at = micros_of(m->ts);
    const bool after = inclusive ? at >= oldest : at > oldest;
    const bool before = inclusive ? at <= latest : at < latest;
    if (!after || !before) continue;
    if (static_cast<long long>(out.size()) == limit) {
      has_more = true;
      break;
    }
    json message{{"type", "message"}, {"ts", m->ts}, {"text", m->text}};
    if (with_metadata && !m->metadata.is_null()) message["metadata"] = m->metadata;
    out.push_back(std::move(message));
  }
  return {{"ok", true}, {"messages", out}, {"has_more", has_more}, {"pin_count", 0}};
}

}  // namespace reflex::testing
