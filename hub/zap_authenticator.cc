#include "hub/zap_authenticator.h"

#include <arpa/inet.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <vector>
#include <zmq_addon.hpp>

#include "common/curve_keys.h"

namespace reflex::hub {
namespace {

constexpr std::string_view kZapVersion = "1.0";
constexpr std::string_view kKeySuffix = ".key";
constexpr std::string_view kSecretSuffix = ".key_secret";

bool ends_with(std::string_view s, std::string_view suffix) {
  return s.size() >= suffix.size() && s.substr(s.size() - suffix.size()) == suffix;
}

// The agent config's rule for ids, so every enrollable name is a usable agent id.
bool is_agent_id(std::string_view id) {
  if (id.empty() || id.size() > 128) return false;
  auto alnum = [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
  };
  if (!alnum(id.front())) return false;
  return std::all_of(id.begin(), id.end(),
                     [&](char c) { return alnum(c) || c == '.' || c == '_' || c == '-'; });
}

const char* kAgentIdRule =
    "letters, digits, '.', '_', '-', starting with a letter or digit, at most 128";

// Every problem found while reading an allowlist, reported together.
class Problems {
 public:
  void add(std::string message) { list_.push_back(std::move(message)); }
  bool empty() const { return list_.empty(); }
  Status status() const {
    std::string text;
    for (const auto& p : list_) text += (text.empty() ? "" : "\n") + p;
    return Status::error("allowlist", text);
  }

 private:
  std::vector<std::string> list_;
};

// Builds the key -> agent map, reporting duplicates with where the first one came from.
class Builder {
 public:
  explicit Builder(Problems& problems) : problems_(problems) {}

  void add(const std::string& agent, const std::string& key, const std::string& where) {
    if (auto it = agents_.find(agent); it != agents_.end()) {
      problems_.add(where + ": agent id \"" + agent + "\" is already enrolled at " + it->second);
      return;
    }
    if (auto it = keys_.find(key); it != keys_.end()) {
      problems_.add(where + ": this public key is already enrolled for agent \"" +
                    it->second.first + "\" at " + it->second.second);
      return;
    }
    agents_[agent] = where;
    keys_[key] = {agent, where};
  }

  std::map<std::string, std::string> take() {
    std::map<std::string, std::string> out;
    for (auto& [key, entry] : keys_) out[key] = entry.first;
    return out;
  }

 private:
  Problems& problems_;
  std::map<std::string, std::string> agents_;                        // agent -> where
  std::map<std::string, std::pair<std::string, std::string>> keys_;  // key -> agent, where
};

std::string_view trim(std::string_view s) {
  const auto first = s.find_first_not_of(" \t\r");
  if (first == std::string_view::npos) return {};
  const auto last = s.find_last_not_of(" \t\r");
  return s.substr(first, last - first + 1);
}

std::vector<std::string_view> fields(std::string_view line) {
  std::vector<std::string_view> out;
  size_t pos = 0;
  while (pos < line.size()) {
    const auto start = line.find_first_not_of(" \t", pos);
    if (start == std::string_view::npos) break;
    auto end = line.find_first_of(" \t", start);
    if (end == std::string_view::npos) end = line.size();
    out.push_back(line.substr(start, end - start));
    pos = end;
  }
  return out;
}

std::string frame_text(const zmq::message_t& m) {
  return std::string(static_cast<const char*>(m.data()), m.size());
}

}  // namespace

// --- Allowlist ---------------------------------------------------------------------------

Result<Allowlist> Allowlist::parse(std::string_view text, const std::string& file) {
  Problems problems;
  Builder builder(problems);
  int line_no = 0;
  size_t pos = 0;
  while (pos < text.size()) {
    const auto nl = text.find('\n', pos);
    const auto end = nl == std::string_view::npos ? text.size() : nl;
    const std::string_view line = trim(text.substr(pos, end - pos));
    pos = end + 1;
    ++line_no;
    if (line.empty() || line.front() == '#') continue;
    const std::string where = file + ":" + std::to_string(line_no);
    const auto f = fields(line);
    if (f.size() != 2) {
      problems.add(where + ": expected \"AGENT_ID PUBLIC_KEY_Z85\", found " +
                   std::to_string(f.size()) + " fields");
      continue;
    }
    if (!is_agent_id(f[0])) {
      problems.add(where + ": \"" + std::string(f[0]) + "\" is not a valid agent id (" +
                   kAgentIdRule + ")");
      continue;
    }
    // The key itself is not quoted: an operator may have pasted a secret key by mistake.
    if (!curve::is_z85_key(f[1])) {
      problems.add(where + ": the key of agent \"" + std::string(f[0]) +
                   "\" is not a Z85 public key (40 characters of the Z85 alphabet)");
      continue;
    }
    builder.add(std::string(f[0]), std::string(f[1]), where);
  }
  if (!problems.empty()) return problems.status();
  Allowlist out;
  out.by_key_ = builder.take();
  return out;
}

Result<Allowlist> Allowlist::load_directory(const std::string& dir) {
  namespace fs = std::filesystem;
  std::error_code ec;
  std::vector<fs::path> entries;
  for (fs::directory_iterator it(dir, ec), end; !ec && it != end; it.increment(ec)) {
    entries.push_back(it->path());
  }
  if (ec) {
    return Status::error("io", "cannot list allowlist directory " + dir + ": " + ec.message());
  }
  std::sort(entries.begin(), entries.end());  // stable error order and duplicate attribution

  Problems problems;
  Builder builder(problems);
  for (const auto& path : entries) {
    const std::string name = path.filename().string();
    if (name.empty() || name.front() == '.') continue;
    if (ends_with(name, kSecretSuffix)) {
      problems.add(path.string() +
                   ": a secret key file in the allowlist directory; the hub needs only the "
                   "public NAME.key, the secret belongs on the agent alone");
      continue;
    }
    if (!ends_with(name, kKeySuffix) || !fs::is_regular_file(path, ec)) continue;
    const std::string agent = name.substr(0, name.size() - kKeySuffix.size());
    if (!is_agent_id(agent)) {
      problems.add(path.string() + ": \"" + agent + "\" is not a valid agent id (" + kAgentIdRule +
                   ")");
      continue;
    }
    auto key = curve::load_public_key(path.string());
    if (!key) {
      problems.add(key.status().message());
      continue;
    }
    builder.add(agent, *key, path.string());
  }
  if (!problems.empty()) return problems.status();
  Allowlist out;
  out.by_key_ = builder.take();
  return out;
}

Result<Allowlist> Allowlist::load(const std::string& path) {
  std::error_code ec;
  const auto status = std::filesystem::status(path, ec);
  if (ec) return Status::error("io", "cannot read allowlist " + path + ": " + ec.message());
  if (std::filesystem::is_directory(status)) return load_directory(path);
  std::ifstream in(path, std::ios::binary);
  if (!in) {
    return Status::error("io", "cannot read allowlist " + path + ": " + std::strerror(errno));
  }
  std::ostringstream text;
  text << in.rdbuf();
  return parse(text.str(), path);
}

const std::string* Allowlist::agent_for(const std::string& public_key_z85) const {
  auto it = by_key_.find(public_key_z85);
  return it == by_key_.end() ? nullptr : &it->second;
}

// --- The decision ------------------------------------------------------------------------

bool is_loopback_address(const std::string& address) {
  in_addr v4;
  if (inet_pton(AF_INET, address.c_str(), &v4) == 1) {
    return (ntohl(v4.s_addr) >> 24) == 127;
  }
  in6_addr v6;
  if (inet_pton(AF_INET6, address.c_str(), &v6) == 1) {
    if (IN6_IS_ADDR_LOOPBACK(&v6)) return true;
    return IN6_IS_ADDR_V4MAPPED(&v6) && v6.s6_addr[12] == 127;
  }
  return false;
}

ZapDecision decide(const ZapRequest& request, const Allowlist& allowlist, PlaintextPolicy policy) {
  if (request.domain != ZapAuthenticator::kDomain) {
    return {false, "", "ZAP domain \"" + request.domain + "\" is not " + ZapAuthenticator::kDomain};
  }
  if (request.mechanism == "CURVE") {
    if (const std::string* agent = allowlist.agent_for(request.public_key)) {
      return {true, *agent, ""};
    }
    return {false, "", "CURVE key is not enrolled"};
  }
  if (request.mechanism == "NULL") {
    if (policy == PlaintextPolicy::kAllowAll) return {true, "", ""};
    if (is_loopback_address(request.address)) return {true, "", ""};
    return {false, "", "plaintext is accepted from loopback addresses only"};
  }
  return {false, "", "mechanism " + request.mechanism + " is not accepted"};
}

// --- ZapAuthenticator --------------------------------------------------------------------

ZapAuthenticator::ZapAuthenticator(EventLoop& loop, zmq::context_t& zmq, PlaintextPolicy policy)
    : policy_(policy), socket_(zmq, zmq::socket_type::rep), loop_(loop) {
  socket_.set(zmq::sockopt::linger, 0);
}

ZapAuthenticator::~ZapAuthenticator() {
  watcher_.reset();
}

Status ZapAuthenticator::start() {
  try {
    socket_.bind(kEndpoint);
  } catch (const zmq::error_t& e) {
    if (e.num() == EADDRINUSE) {
      return Status::error("io", std::string("another ZAP handler is already bound to ") +
                                     kEndpoint + " in this ZeroMQ context");
    }
    return Status::error("io", std::string("cannot bind ") + kEndpoint + ": " + e.what());
  }
  watcher_ = std::make_unique<ZmqWatcher>(loop_, socket_, [this] { on_readable(); });
  return Status::ok();
}

Status ZapAuthenticator::load(const std::string& path) {
  auto fresh = Allowlist::load(path);
  if (!fresh) return fresh.status();
  allowlist_ = std::move(*fresh);
  return Status::ok();
}

std::string ZapAuthenticator::user_id(const zmq::message_t& msg) {
  // zmq_msg_gets reads through a const message; cppzmq's gets() is non-const and throws.
  const char* value = zmq_msg_gets(msg.handle(), "User-Id");
  return value ? value : "";
}

void ZapAuthenticator::on_readable() {
  std::vector<zmq::message_t> request;
  try {
    if (!zmq::recv_multipart(socket_, std::back_inserter(request), zmq::recv_flags::dontwait)) {
      return;
    }
  } catch (const zmq::error_t& e) {
    spdlog::error("ZAP handler: receive failed: {}", e.what());
    return;
  }

  // Frames (RFC 27): version, request id, domain, address, routing id, mechanism,
  // credentials... A REP socket must answer every request, even a malformed one, or it
  // cannot receive the next.
  std::string request_id = request.size() > 1 ? frame_text(request[1]) : "";
  std::string status_code = "200", status_text = "OK";
  ZapDecision decision;
  ZapRequest req;
  if (request.size() < 6 || frame_text(request[0]) != kZapVersion) {
    status_code = "500";
    status_text = "malformed ZAP request";
    decision.reason = status_text;
  } else {
    req.domain = frame_text(request[2]);
    req.address = frame_text(request[3]);
    req.mechanism = frame_text(request[5]);
    if (req.mechanism == "CURVE" && request.size() == 7) {
      req.public_key = curve::z85_from_raw(frame_text(request[6]));
    }
    decision = decide(req, allowlist_, policy_);
    if (!decision.accept) {
      status_code = "400";
      status_text = decision.reason;
    }
  }

  std::array<zmq::const_buffer, 6> reply = {zmq::buffer(kZapVersion),      zmq::buffer(request_id),
                                            zmq::buffer(status_code),      zmq::buffer(status_text),
                                            zmq::buffer(decision.user_id), zmq::const_buffer()};
  try {
    (void)zmq::send_multipart(socket_, reply, zmq::send_flags::dontwait);
  } catch (const zmq::error_t& e) {
    spdlog::error("ZAP handler: reply failed: {}", e.what());
  }
  watcher_->kick();  // sending may have consumed the edge of the next request

  if (decision.accept) {
    ++accepted_;
    return;
  }
  ++refused_;
  if (on_refused_)
    on_refused_(Refusal{req.address, req.mechanism, req.public_key, decision.reason});
}

}  // namespace reflex::hub

namespace reflex::hub {

Result<std::unique_ptr<ZapAuthenticator>> start_agent_guard(EventLoop& loop, zmq::context_t& zmq,
                                                            const Clock& clock,
                                                            const SecurityConfig& security,
                                                            metrics::Counter& refused,
                                                            std::string& secret_key) {
  auto zap = std::make_unique<ZapAuthenticator>(
      loop, zmq,
      security.insecure_plaintext ? PlaintextPolicy::kAllowAll : PlaintextPolicy::kLoopbackOnly);
  REFLEX_RETURN_IF_ERROR(zap->start());
  zap->on_refused([&clock, &refused, last_log_ms = int64_t{0}](const Refusal& r) mutable {
    refused.inc();
    const int64_t now = clock.monotonic_ms();
    if (now - last_log_ms >= 10'000 || last_log_ms == 0) {
      last_log_ms = now;
      spdlog::warn(
          "refused a {} connection from {}{}: {} (further refusals are counted in "
          "reflex_hub_connections_refused_total, logged at most every 10 s)",
          r.mechanism, r.address, r.public_key.empty() ? "" : " with key " + r.public_key,
          r.reason);
    }
  });
  if (!security.curve()) {
    if (security.insecure_plaintext) {
      spdlog::warn(
          "security.insecure_plaintext is set: agents connect without encryption or "
          "authentication, from any address");
    } else {
      spdlog::warn(
          "no CurveZMQ key configured: accepting plaintext agents from loopback only; "
          "set security.secret_key_file and security.allowlist to accept remote agents");
    }
    return zap;
  }
  auto keys = curve::load_keypair(security.secret_key_file);
  if (!keys) return keys.status().with_context("security.secret_key_file");
  secret_key = keys->secret_key;
  REFLEX_RETURN_IF_ERROR(zap->load(security.allowlist).with_context("security.allowlist"));
  spdlog::info("CurveZMQ on; hub public key {}; {} agents enrolled", keys->public_key,
               zap->enrolled());
  return zap;
}

}  // namespace reflex::hub
