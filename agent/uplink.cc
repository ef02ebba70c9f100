#include "agent/uplink.h"

#include <spdlog/spdlog.h>

#include "protocol/codec.h"

namespace reflex::agent {

Uplink::Uplink(EventLoop& loop, zmq::context_t& zmq, const Clock& clock, Timers& timers,
               std::function<protocol::Heartbeat()> status)
    : loop_(loop), zmq_(zmq), clock_(clock), timers_(timers), status_(std::move(status)) {}

Uplink::~Uplink() {
  if (heartbeat_timer_) timers_.cancel(heartbeat_timer_);
  watcher_.reset();
}

Status Uplink::start(const AgentConfig& cfg) {
  cfg_ = cfg;
  if (cfg.hub_endpoints.empty()) return Status::error("config", "no hub endpoint configured");
  if (!socket_ || endpoint_ != cfg.hub_endpoints.front()) {
    try {
      connect(cfg.hub_endpoints.front());
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

void Uplink::connect(const std::string& endpoint) {
  watcher_.reset();
  socket_ = std::make_unique<zmq::socket_t>(zmq_, zmq::socket_type::dealer);
  socket_->set(zmq::sockopt::linger, 0);
  socket_->set(zmq::sockopt::reconnect_ivl, 100);
  socket_->set(zmq::sockopt::reconnect_ivl_max, 5000);
  // Control messages are not worth queueing for long: a fresh hello follows reconnects.
  socket_->set(zmq::sockopt::sndhwm, 100);
  socket_->set(zmq::sockopt::maxmsgsize, static_cast<int64_t>(protocol::kDefaultMaxFrameBytes));
  socket_->connect(endpoint);
  endpoint_ = endpoint;
  watcher_ = std::make_unique<ZmqWatcher>(loop_, *socket_, [this] { on_readable(); });
  spdlog::info("uplink to hub {}", endpoint);
}

void Uplink::tick() {
  if (!registered()) {
    send_hello();  // the hub has not answered yet: it may be down or may have restarted
    return;
  }
  send(status_());
}

void Uplink::send_hello() {
  protocol::Hello hello;
  hello.hostname = cfg_.hostname;
  hello.agent_version = REFLEX_VERSION;
  hello.labels = cfg_.labels;
  hello.proto_min = protocol::kMinVersion;
  hello.proto_max = protocol::kMaxVersion;
  hello.heartbeat_ms = static_cast<uint32_t>(cfg_.heartbeat_interval.count());
  send(std::move(hello));
}

void Uplink::send(protocol::Body body) {
  protocol::Envelope env;
  // Until a version is agreed, frames (the hello) use the oldest version we speak, so
  // an older hub can still read them and answer unsupported_version if it must.
  env.version = negotiated_version_ ? negotiated_version_ : protocol::kMinVersion;
  env.agent_id = cfg_.id;
  env.ts_ms = static_cast<uint64_t>(clock_.now_ms());
  env.body = std::move(body);
  std::string frame = protocol::encode(env);
  // A full queue (hub unreachable for long) drops control messages; they are not events.
  (void)socket_->send(zmq::buffer(frame), zmq::send_flags::dontwait);
  watcher_->kick();
}

void Uplink::on_readable() {
  for (int i = 0; i < 64; ++i) {
    zmq::message_t msg;
    if (!socket_->recv(msg, zmq::recv_flags::dontwait)) return;
    auto env = protocol::decode(std::string_view(static_cast<const char*>(msg.data()), msg.size()));
    if (!env) {
      spdlog::warn("dropped a frame from the hub: {}", env.status().to_string());
      continue;
    }
    if (const auto* ack = std::get_if<protocol::Ack>(&env->body)) {
      if (ack->proto != 0 && negotiated_version_ == 0) {
        negotiated_version_ = ack->proto;
        spdlog::info("registered with hub {} (protocol {})", endpoint_, ack->proto);
        send(status_());  // the first heartbeat at once: the hub sees us alive now
      }
    } else if (const auto* err = std::get_if<protocol::Error>(&env->body)) {
      if (err->code == "hello_required") {
        negotiated_version_ = 0;
        send_hello();
      } else {
        spdlog::error("hub refused a frame: {}: {}", err->code, err->message);
      }
    }
  }
}

}  // namespace reflex::agent
