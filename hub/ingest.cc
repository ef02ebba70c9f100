#include "hub/ingest.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstring>

#include "hub/zap_authenticator.h"
#include "protocol/codec.h"

namespace reflex::hub {
namespace {

constexpr int kMaxFramesPerWake = 1024;
constexpr int64_t kRejectLogEveryMs = 10'000;

std::string printable_peer(const std::string& peer) {
  static const char* hex = "0123456789abcdef";
  std::string out;
  for (unsigned char c : peer) {
    out += hex[c >> 4];
    out += hex[c & 15];
  }
  return out;
}

}  // namespace

uint32_t granted_window(int64_t configured, double last_commit_ms, int64_t slow_commit_ms) {
  if (last_commit_ms > static_cast<double>(slow_commit_ms)) {
    return static_cast<uint32_t>(std::max<int64_t>(configured / 4, 10));
  }
  return static_cast<uint32_t>(configured);
}

Ingest::Ingest(EventLoop& loop, zmq::context_t& zmq, const Clock& clock, AgentRegistry& registry,
               HubMetrics& metrics, std::function<void()> on_batch)
    : loop_(loop),
      clock_(clock),
      registry_(registry),
      metrics_(metrics),
      on_batch_(std::move(on_batch)),
      socket_(zmq, zmq::socket_type::router),
      monitor_(zmq, zmq::socket_type::pair) {
  socket_.set(zmq::sockopt::linger, 0);
  socket_.set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(protocol::kDefaultMaxFrameBytes));
  socket_.set(zmq::sockopt::router_handover, 1);
}

Ingest::~Ingest() {
  watcher_.reset();
}

Status Ingest::bind(const std::string& endpoint, const std::string& curve_secret_key,
                    const std::string& zap_domain) {
  std::string ep = endpoint;
  if (!curve_secret_key.empty()) {
    socket_.set(zmq::sockopt::curve_server, 1);
    socket_.set(zmq::sockopt::curve_secretkey, curve_secret_key);
  }
  socket_.set(zmq::sockopt::zap_domain, zap_domain);
  if (ep.size() > 2 && ep.compare(ep.size() - 2, 2, ":0") == 0) ep.replace(ep.size() - 1, 1, "*");
  try {
    socket_.bind(ep);
  } catch (const zmq::error_t& e) {
    return Status::error("io", "cannot listen on " + endpoint + ": " + e.what());
  }
  endpoint_ = socket_.get(zmq::sockopt::last_endpoint);
  const std::string monitor_ep =
      "inproc://reflex-ingest-monitor-" + std::to_string(reinterpret_cast<uintptr_t>(this));
  if (zmq_socket_monitor(socket_.handle(), monitor_ep.c_str(),
                         ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL |
                             ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL | ZMQ_EVENT_DISCONNECTED) == 0) {
    monitor_.set(zmq::sockopt::linger, 0);
    monitor_.connect(monitor_ep);
    monitor_watcher_ =
        std::make_unique<ZmqWatcher>(loop_, monitor_, [this] { on_monitor_event(); });
  }
  watcher_ = std::make_unique<ZmqWatcher>(loop_, socket_, [this] { on_readable(); });
  return Status::ok();
}

void Ingest::on_monitor_event() {
  zmq::message_t event, address;
  if (!monitor_.recv(event, zmq::recv_flags::dontwait)) return;
  (void)monitor_.recv(address, zmq::recv_flags::dontwait);
  if (event.size() < 6) return;
  uint16_t id = 0;
  uint32_t value = 0;
  std::memcpy(&id, event.data(), sizeof id);
  std::memcpy(&value, static_cast<const char*>(event.data()) + 2, sizeof value);
  spdlog::debug("ingest socket event {:#x} ({}) from {}", id, value, address.to_string());
  // libzmq reports garbage, frames over the size limit, refused keys and departures
  // alike as a closed connection; refusals are also counted by the authenticator.
  if (id == ZMQ_EVENT_DISCONNECTED) metrics_.connections_closed->inc();
  if (id == ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL || id == ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL) {
    reject_connection("handshake", "ZMTP handshake failed (code " + std::to_string(value) + ")");
  }
}

void Ingest::on_readable() {
  int frames = 0;
  for (; frames < kMaxFramesPerWake; ++frames) {
    if (events_.size() >= kBacklogEvents || backlog_bytes_ >= kBacklogBytes) {
      watcher_->pause();  // take() resumes
      metrics_.ingest_paused->inc();
      break;
    }
    zmq::message_t identity;
    if (!socket_.recv(identity, zmq::recv_flags::dontwait)) break;
    std::string peer = identity.to_string();
    // A ROUTER delivers [identity, payload...]; anything but exactly one payload is malformed.
    std::vector<zmq::message_t> parts;
    while (socket_.get(zmq::sockopt::rcvmore)) {
      zmq::message_t part;
      if (!socket_.recv(part, zmq::recv_flags::dontwait)) break;
      parts.push_back(std::move(part));
    }
    metrics_.frames_received->inc();
    if (parts.size() != 1) {
      reject(peer,
             Status::error("malformed",
                           "expected one frame per message, got " + std::to_string(parts.size())),
             0);
      continue;
    }
    handle(peer, ZapAuthenticator::user_id(parts[0]), parts[0].to_string_view());
  }
  if (frames > 0 && on_batch_) on_batch_();
}

void Ingest::handle(const std::string& peer, const std::string& user_id, std::string_view frame) {
  auto decoded = protocol::decode(frame);
  if (!decoded) {
    reject(peer, decoded.status(), 0);
    return;
  }
  const protocol::Envelope& env = *decoded;
  const int64_t now = clock_.now_ms();
  switch (env.type()) {
    case protocol::MessageType::kHello: {
      const auto& hello = std::get<protocol::Hello>(env.body);
      if (env.agent_id.empty()) {
        reject(peer, Status::error("invalid_value", "hello without an agent id"), env.seq);
        return;
      }
      if (!user_id.empty() && user_id != env.agent_id) {
        reject(peer,
               Status::error("unauthorized", "this key is enrolled for agent " + user_id +
                                                 ", not for " + env.agent_id),
               env.seq);
        return;
      }
      auto version = protocol::negotiate_version(hello.proto_min, hello.proto_max);
      if (!version) {
        reject(peer,
               Status::error("unsupported_version",
                             "agent speaks protocol " + std::to_string(hello.proto_min) + ".." +
                                 std::to_string(hello.proto_max) + ", hub speaks " +
                                 std::to_string(protocol::kMinVersion) + ".." +
                                 std::to_string(protocol::kMaxVersion)),
               env.seq);
        return;
      }
      // A reconnecting agent comes back under a new ROUTER identity.
      if (auto old = agent_peer_.find(env.agent_id); old != agent_peer_.end()) {
        peer_agent_.erase(old->second);
      }
      peer_agent_[peer] = env.agent_id;
      agent_peer_[env.agent_id] = peer;
      registry_.on_hello(env.agent_id, hello, now);
      metrics_.frames_accepted->inc();
      protocol::Envelope reply;
      reply.agent_id = env.agent_id;
      reply.ts_ms = static_cast<uint64_t>(now);
      // The answer tells the agent where to resume: everything up to the committed mark
      // is safe here, everything after it must be (re)sent. That ends a rewind.
      Marks& m = marks(env.agent_id);
      m.rewound = false;
      reply.body = protocol::Ack{m.committed, *version, window_};
      send(peer, reply);
      return;
    }
    case protocol::MessageType::kHeartbeat: {
      auto it = peer_agent_.find(peer);
      if (it == peer_agent_.end() || it->second != env.agent_id ||
          !registry_.on_heartbeat(env.agent_id, std::get<protocol::Heartbeat>(env.body), now)) {
        reject(peer, Status::error("hello_required", "say hello before sending heartbeats"),
               env.seq);
        return;
      }
      metrics_.frames_accepted->inc();
      return;
    }
    case protocol::MessageType::kMetrics:
    case protocol::MessageType::kAlert:
    case protocol::MessageType::kRemediation:
    case protocol::MessageType::kCommandResult:
    case protocol::MessageType::kGap:
      handle_event(peer, env, frame, now);
      return;
    default:
      reject(peer,
             Status::error("unexpected_type", std::string("this hub does not accept ") +
                                                  protocol::type_name(env.type()) +
                                                  " frames from agents"),
             env.seq);
      return;
  }
}

Ingest::Marks& Ingest::marks(const std::string& agent_id) {
  auto [it, inserted] = marks_.try_emplace(agent_id);
  if (inserted) {
    const AgentRecord* a = registry_.find(agent_id);
    it->second.committed = it->second.received = a ? a->acked_seq : 0;
  }
  return it->second;
}

void Ingest::handle_event(const std::string& peer, const protocol::Envelope& env,
                          std::string_view frame, int64_t now) {
  auto known = peer_agent_.find(peer);
  if (known == peer_agent_.end() || known->second != env.agent_id) {
    reject(peer, Status::error("hello_required", "say hello before sending events"), env.seq);
    return;
  }
  if (env.seq == 0) {
    reject(peer, Status::error("invalid_value", "a sequenced event with seq 0"), env.seq);
    return;
  }
  Marks& m = marks(env.agent_id);
  if (m.rewound) {
    // Sent before the agent learnt of the failed commit: accepting it would step over the
    // lost events as if the agent's spool had dropped them.
    reject(peer, rewind_request(m), env.seq);
    return;
  }
  if (env.seq <= m.received) {
    // A redelivery: already here. Acknowledge (again) once it is durable; never store twice.
    metrics_.events_duplicate->inc();
    ack_due_.insert(env.agent_id);
    return;
  }
  // Numbers the agent's spool dropped never arrive; its gap record says so. Within one
  // connection frames arrive in order, and a new connection or a failed commit needs a
  // hello first, which rewinds the agent to the committed mark, so a jump here is never
  // a loss in transit.
  if (env.seq != m.received + 1) metrics_.events_skipped->inc(env.seq - m.received - 1);
  m.received = env.seq;
  backlog_bytes_ += frame.size();
  events_.push_back(StoredEvent{env.agent_id, env.seq, env.type(), static_cast<int64_t>(env.ts_ms),
                                now, std::string(frame)});
  registry_.on_event(env.agent_id, env.seq, now);
  if (const auto* metrics = std::get_if<protocol::Metrics>(&env.body)) {
    registry_.on_metrics(env.agent_id, *metrics, now);
  }
  ack_due_.insert(env.agent_id);
  metrics_.frames_accepted->inc();
}

Ingest::Taken Ingest::take() {
  Taken out;
  out.events.swap(events_);
  backlog_bytes_ = 0;
  out.ack_due.swap(ack_due_);
  for (const auto& [agent_id, m] : marks_) {
    if (m.received != m.committed) out.marks[agent_id] = m.received;
  }
  if (watcher_) watcher_->resume();  // reading may have paused at the backlog limit
  return out;
}

void Ingest::committed(const Taken& taken) {
  for (const auto& [agent_id, seq] : taken.marks) {
    Marks& m = marks_[agent_id];
    m.committed = std::max(m.committed, seq);
  }
  for (const auto& agent_id : taken.ack_due) send_ack(agent_id, marks_[agent_id].committed);
}

void Ingest::commit_failed() {
  for (auto& [agent_id, m] : marks_) {
    if (m.received == m.committed) continue;
    m.received = m.committed;
    m.rewound = true;
    registry_.reset_mark(agent_id, m.committed);
    // Said at once: an agent whose window is all in flight would otherwise wait for its
    // ack timeout before it asks again.
    if (auto peer = agent_peer_.find(agent_id); peer != agent_peer_.end()) {
      send_error(peer->second, rewind_request(m), 0);
    }
  }
  // Events accepted after the failed batch follow a hole now: their agents resend them
  // after the failed ones.
  events_.clear();
  backlog_bytes_ = 0;
  ack_due_.clear();
}

Status Ingest::rewind_request(const Marks& m) {
  return Status::error("hello_required", "a store commit failed; say hello to resend after seq " +
                                             std::to_string(m.committed));
}

void Ingest::send_ack(const std::string& agent_id, uint64_t upto) {
  auto peer = agent_peer_.find(agent_id);
  if (peer == agent_peer_.end()) return;
  protocol::Envelope reply;
  reply.agent_id = agent_id;
  reply.ts_ms = static_cast<uint64_t>(clock_.now_ms());
  reply.body = protocol::Ack{upto, 0, window_};
  send(peer->second, reply);
}

bool Ingest::send_command(const std::string& agent_id, const protocol::Command& command) {
  auto peer = agent_peer_.find(agent_id);
  if (peer == agent_peer_.end()) return false;
  protocol::Envelope env;
  env.agent_id = agent_id;
  env.ts_ms = static_cast<uint64_t>(clock_.now_ms());
  env.body = command;
  send(peer->second, env);
  return true;
}

void Ingest::reject_connection(const std::string& reason, const std::string& detail) {
  metrics_.rejected(reason).inc();
  log_rejection(reason, "dropped a connection: " + detail);
}

void Ingest::log_rejection(const std::string& reason, const std::string& text) {
  const int64_t now = clock_.monotonic_ms();
  auto& last = last_reject_log_[reason];
  if (last == 0 || now - last >= kRejectLogEveryMs) {
    last = now;
    spdlog::warn("{} (further '{}' drops are counted, logged at most every {} s)", text, reason,
                 kRejectLogEveryMs / 1000);
  }
}

void Ingest::reject(const std::string& peer, const Status& why, uint64_t seq) {
  metrics_.rejected(why.code()).inc();
  log_rejection(why.code(),
                "dropped a frame from peer " + printable_peer(peer) + ": " + why.to_string());
  send_error(peer, why, seq);
}

void Ingest::send_error(const std::string& peer, const Status& why, uint64_t seq) {
  protocol::Envelope reply;
  auto known = peer_agent_.find(peer);
  reply.agent_id = known != peer_agent_.end() ? known->second : "";
  reply.ts_ms = static_cast<uint64_t>(clock_.now_ms());
  reply.body = protocol::Error{why.code(), why.message(), seq};
  send(peer, reply);
}

void Ingest::send(const std::string& peer, const protocol::Envelope& env) {
  std::string payload = protocol::encode(env);
  try {
    // Unroutable peers (gone) and full queues drop the reply: agents resend what matters.
    if (socket_.send(zmq::buffer(peer), zmq::send_flags::sndmore | zmq::send_flags::dontwait)) {
      (void)socket_.send(zmq::buffer(payload), zmq::send_flags::dontwait);
    }
  } catch (const zmq::error_t& e) {
    spdlog::debug("reply to peer {} dropped: {}", printable_peer(peer), e.what());
  }
  if (watcher_) watcher_->kick();
}

}  // namespace reflex::hub
