// Agent: the reflex-agent process as a library, so tests can run it in-process and main
// stays thin. Built on an EventLoop and the injected clock and timers; loop thread only.
//
// Pipeline (grown stage by stage): checks -> windows -> rules -> heal -> spool -> uplink.
#pragma once

#include <memory>
#include <zmq.hpp>

#include "agent/config.h"
#include "agent/uplink.h"
#include "common/clock.h"
#include "common/loop.h"

namespace reflex::agent {

class Agent {
 public:
  Agent(EventLoop& loop, const Clock& clock, Timers& timers);
  ~Agent();

  Status start(const AgentConfig& cfg);
  // Applies a new, already validated config without a restart.
  Status reload(const AgentConfig& cfg);
  // Closes sockets and timers; the loop then runs out of work and returns.
  void stop();

  const Uplink& uplink() const { return *uplink_; }

 private:
  protocol::Heartbeat heartbeat() const;

  EventLoop& loop_;
  const Clock& clock_;
  Timers& timers_;
  int64_t started_mono_ms_;
  zmq::context_t zmq_;
  std::unique_ptr<Uplink> uplink_;
};

}  // namespace reflex::agent
