#include "agent/agent.h"

#include <spdlog/spdlog.h>

namespace reflex::agent {

Agent::Agent(EventLoop& loop, const Clock& clock, Timers& timers)
    : loop_(loop),
      clock_(clock),
      timers_(timers),
      started_mono_ms_(clock.monotonic_ms()),
      zmq_(1) {}

Agent::~Agent() {
  stop();
}

Status Agent::start(const AgentConfig& cfg) {
  uplink_ = std::make_unique<Uplink>(loop_, zmq_, clock_, timers_, [this] { return heartbeat(); });
  REFLEX_RETURN_IF_ERROR(uplink_->start(cfg));
  spdlog::info("agent {} on host {} started", cfg.id, cfg.hostname);
  return Status::ok();
}

Status Agent::reload(const AgentConfig& cfg) {
  if (!uplink_) return start(cfg);
  REFLEX_RETURN_IF_ERROR(uplink_->start(cfg));
  spdlog::info("configuration reloaded");
  return Status::ok();
}

void Agent::stop() {
  uplink_.reset();
}

protocol::Heartbeat Agent::heartbeat() const {
  protocol::Heartbeat hb;
  hb.uptime_ms = static_cast<uint64_t>(clock_.monotonic_ms() - started_mono_ms_);
  return hb;
}

}  // namespace reflex::agent
