#include "agent/uplink.h"

#include <spdlog/spdlog.h>

#include <algorithm>

#include "common/curve_keys.h"
#include "protocol/codec.h"

namespace reflex::agent {
namespace {

constexpr size_t kReadBatch = 256;

}  // namespace

Uplink::Uplink(EventLoop& loop, zmq::context_t& zmq, const Clock& clock, Timers& timers,
               Spool& spool, std::function<protocol::Heartbeat()> status)
    : loop_(loop),
      zmq_(zmq),
      clock_(clock),
      timers_(timers),
      spool_(spool),
      status_(std::move(status)),
      rng_(std::random_device{}()) {}

Uplink::~Uplink() {
  if (heartbeat_timer_) timers_.cancel(heartbeat_timer_);
  if (reconnect_timer_) timers_.cancel(reconnect_timer_);
  watcher_.reset();
}

Status Uplink::start(const AgentConfig& cfg) {
  const bool endpoints_changed = cfg.hub_endpoints != cfg_.hub_endpoints;
  // Everything that can fail is checked before anything changes: a reload that fails
  // here leaves the running uplink as it was.
  curve::Keypair keys;
  if (!cfg.uplink.server_key.empty()) {
    auto loaded = curve::load_keypair(cfg.uplink.secret_key_file);
    if (!loaded) return loaded.status().with_context("hub.secret_key_file");
    keys = *loaded;
  }
  const bool keys_changed = cfg.uplink.server_key != cfg_.uplink.server_key ||
                            cfg.uplink.secret_key_file != cfg_.uplink.secret_key_file;
  if (cfg.hub_endpoints.empty()) return Status::error("config", "no hub endpoint configured");
  cfg_ = cfg;
  keys_ = keys;

  if (!socket_ || endpoints_changed || keys_changed) {
    try {
      connect(0);
    } catch (const zmq::error_t& e) {
      return Status::error("io",
                           "cannot connect to " + cfg.hub_endpoints.front() + ": " + e.what());
    }
  }
  if (heartbeat_timer_) timers_.cancel(heartbeat_timer_);
  heartbeat_timer_ =
      timers_.start(cfg.heartbeat_interval, cfg.heartbeat_interval, [this] { tick(); });
  negotiated_version_ = 0;
  send_hello();
  return Status::ok();
}

void Uplink::connect(size_t endpoint_index) {
  watcher_.reset();
  endpoint_index_ = endpoint_index;
  endpoint_ = cfg_.hub_endpoints.at(endpoint_index);
  socket_ = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  // Queue only to live connections: while the hub is away, events stay in the spool
  // (durable) rather than in ZeroMQ's memory, and are resent after the next hello.
  socket_->set(zmq::sockopt::immediate, 1);
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 5000);
  socket_->set(zmq::sockopt::sndhwm, static_cast<int>(cfg_.uplink.window) + 100);
  socket_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(protocol::kDefaultMaxFrameBytes));
  if (!keys_.secret_key.empty()) {
    socket_->set(zmq::sockopt::curve_serverkey, cfg_.uplink.server_key);
    socket_->set(zmq::sockopt::curve_publickey, keys_.public_key);
    socket_->set(zmq::sockopt::curve_secretkey, keys_.secret_key);
  }
  socket_->connect(endpoint_);
  negotiated_version_ = 0;
  sent_seq_ = spool_.acked_seq();
  failures_ = 0;
  last_sent_ms_ = clock_.monotonic_ms();
  if (endpoint_index == 0) {
    on_fallback_since_ms_ = 0;
  } else if (on_fallback_since_ms_ == 0) {
    on_fallback_since_ms_ = clock_.monotonic_ms();
  }
  watcher_ = std::make_unique<ZmqWatcher>(loop_, *socket_, [this] { on_readable(); });
  spdlog::info("uplink to hub {}", endpoint_);
}

void Uplink::tick() {
  const int64_t now = clock_.monotonic_ms();
  const int64_t timeout = cfg_.uplink.ack_timeout.count();
  if (endpoint_index_ != 0 && on_fallback_since_ms_ != 0 &&
      now - on_fallback_since_ms_ >= cfg_.uplink.failback_after.count()) {
    spdlog::info("trying the first hub endpoint again");
    connect(0);
    send_hello();
    return;
  }
  if (!registered()) {
    // The hub has not answered: it may be down, restarting, or refusing our key.
    if (now - hello_sent_ms_ >= timeout) {
      failed_attempt(hello_left_ ? "no answer to hello" : "no connection");
      send_hello();
    } else if (!hello_left_) {
      // No connection was up when it was sent: try again as soon as one may be, without
      // restarting the clock of this attempt.
      const int64_t started = hello_sent_ms_;
      send_hello();
      hello_sent_ms_ = started;
    }
    return;
  }
  send_control(status_());
  // ZMQ_IMMEDIATE refuses every frame while no connection is up, heartbeats included: a
  // hub that went away while nothing was in flight shows as nothing taken at all.
  if (now - last_sent_ms_ >= timeout && now - last_progress_ms_ >= timeout) {
    failed_attempt("no connection");
    last_sent_ms_ = now;  // the next attempt gets a timeout of its own
    return;
  }
  if (in_flight() > 0 && now - last_progress_ms_ >= timeout) {
    failed_attempt("no acknowledgement");
    sent_seq_ = spool_.acked_seq();  // resend everything unacknowledged
    last_progress_ms_ = now;
    pump();
  }
}

void Uplink::failed_attempt(const char* why) {
  ++failures_;
  spdlog::warn("hub {}: {} within {} ms (attempt {})", endpoint_, why,
               cfg_.uplink.ack_timeout.count(), failures_);
  // A connection the hub refused (an unknown key) is never retried by ZeroMQ itself, so a
  // fresh socket is made even when there is only one endpoint.
  if (failures_ < cfg_.uplink.failover_after) return;
  if (reconnect_timer_) return;  // a move is already scheduled
  // Exponential backoff with jitter, so a fleet does not stampede the next hub together.
  const int64_t base = std::min<int64_t>(100LL << std::min(failures_, 6), 5000);
  std::uniform_int_distribution<int64_t> jitter(base / 2, base + base / 2);
  const size_t next = (endpoint_index_ + 1) % cfg_.hub_endpoints.size();
  reconnect_timer_ = timers_.start(Millis(jitter(rng_)), Millis(0), [this, next] {
    reconnect_timer_ = 0;
    spdlog::warn("moving to hub endpoint {}", cfg_.hub_endpoints[next]);
    connect(next);
    send_hello();
  });
}

void Uplink::send_hello() {
  protocol::Hello hello;
  hello.hostname = cfg_.hostname;
  hello.agent_version = REFLEX_VERSION;
  hello.labels = cfg_.labels;
  hello.proto_min = protocol::kMinVersion;
  hello.proto_max = protocol::kMaxVersion;
  hello.heartbeat_ms = static_cast<uint32_t>(cfg_.heartbeat_interval.count());
  hello_sent_ms_ = clock_.monotonic_ms();
  hello_left_ = send_control(std::move(hello));
}

bool Uplink::send_control(protocol::Body body) {
  protocol::Envelope env;
  // Until a version is agreed, frames (the hello) use the oldest version we speak, so
  // an older hub can still read them and answer unsupported_version if it must.
  env.version = negotiated_version_ ? negotiated_version_ : protocol::kMinVersion;
  env.agent_id = cfg_.id;
  env.ts_ms = static_cast<uint64_t>(clock_.now_ms());
  env.body = std::move(body);
  std::string frame = protocol::encode(env);
  // No live connection or a full queue drops control messages; they are not events.
  bool sent = socket_->send(zmq::buffer(frame), zmq::send_flags::dontwait).has_value();
  if (sent) last_sent_ms_ = clock_.monotonic_ms();
  watcher_->kick();
  return sent;
}

uint64_t Uplink::window() const {
  return granted_window_ == 0 ? cfg_.uplink.window
                              : std::min<uint64_t>(cfg_.uplink.window, granted_window_);
}

void Uplink::pump() {
  if (!registered() || !socket_) return;
  const uint64_t window = this->window();
  if (in_flight() == 0) last_progress_ms_ = clock_.monotonic_ms();
  while (sent_seq_ < spool_.last_seq() && in_flight() < window) {
    auto batch = spool_.read_after(sent_seq_, std::min<uint64_t>(kReadBatch, window - in_flight()));
    if (!batch) {
      spdlog::error("cannot read the spool: {}", batch.status().to_string());
      return;
    }
    if (batch->empty()) break;
    for (const auto& ev : *batch) {
      if (!socket_->send(zmq::buffer(ev.frame), zmq::send_flags::dontwait)) {
        watcher_->kick();
        return;  // not connected or queue full: the next ack or tick resumes
      }
      sent_seq_ = ev.seq;
      last_sent_ms_ = clock_.monotonic_ms();
    }
  }
  watcher_->kick();
}

void Uplink::on_ack(const protocol::Ack& ack) {
  if (ack.window != 0) granted_window_ = ack.window;  // the hub asks to slow down (or not)
  if (ack.proto != 0) {
    if (registered()) return;  // a late answer to an earlier hello
    negotiated_version_ = ack.proto;
    failures_ = 0;
    // The hub's committed mark is the truth: trim what it has, resend what it lacks.
    if (ack.upto > spool_.last_seq()) {
      if (auto st = spool_.skip_to(ack.upto); !st) spdlog::error("spool: {}", st.to_string());
    }
    if (auto st = spool_.acknowledge(ack.upto); !st) spdlog::error("spool: {}", st.to_string());
    sent_seq_ = spool_.acked_seq();
    last_progress_ms_ = clock_.monotonic_ms();
    spdlog::info("registered with hub {} (protocol {}, hub has events up to {}, {} to send)",
                 endpoint_, ack.proto, ack.upto, spool_.last_seq() - spool_.acked_seq());
    send_control(status_());  // the first heartbeat at once: the hub sees us alive now
    pump();
    return;
  }
  if (!registered() || ack.upto <= spool_.acked_seq()) return;
  if (auto st = spool_.acknowledge(ack.upto); !st) {
    spdlog::error("spool: {}", st.to_string());
    return;
  }
  failures_ = 0;
  last_progress_ms_ = clock_.monotonic_ms();
  sent_seq_ = std::max(sent_seq_, spool_.acked_seq());
  pump();
}

void Uplink::on_error(const protocol::Error& err) {
  if (err.code == "hello_required") {
    // Every frame sent before the hub knew this connection draws this answer: one hello
    // answers them all unless the last one has gone unanswered too long.
    const bool waiting =
        !registered() && clock_.monotonic_ms() - hello_sent_ms_ < cfg_.uplink.ack_timeout.count();
    if (waiting) return;
    if (registered()) spdlog::info("hub {} asks this agent to register again", endpoint_);
    negotiated_version_ = 0;
    send_hello();
  } else {
    spdlog::error("hub refused a frame: {}: {}", err.code, err.message);
  }
}

void Uplink::on_readable() {
  zmq::message_t msg;
  if (!socket_->recv(msg, zmq::recv_flags::dontwait)) return;
  auto env = protocol::decode(msg.to_string_view());
  if (!env) {
    spdlog::warn("dropped a frame from the hub: {}", env.status().to_string());
    return;
  }
  if (const auto* ack = std::get_if<protocol::Ack>(&env->body)) {
    on_ack(*ack);
  } else if (const auto* err = std::get_if<protocol::Error>(&env->body)) {
    on_error(*err);
  } else if (const auto* cmd = std::get_if<protocol::Command>(&env->body)) {
    if (on_command_) on_command_(*cmd);
  } else {
    spdlog::warn("ignored a {} frame from the hub", protocol::type_name(env->type()));
  }
}

}  // namespace reflex::agent
