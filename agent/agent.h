// Agent: the reflex-agent process as a library, so tests can run it in-process and main
// stays thin. Built on an EventLoop and the injected clock and timers; loop thread only.
//
// Pipeline (grown stage by stage): checks -> windows -> rules -> heal -> spool -> uplink.
// Every stage hands its events to emit(), which makes them durable in the spool before
// the uplink sends them.
#pragma once

#include <memory>
#include <vector>
#include <zmq.hpp>

#include "agent/config.h"
#include "agent/spool.h"
#include "agent/uplink.h"
#include "common/clock.h"
#include "common/loop.h"

namespace reflex::agent {

class Agent {
 public:
  Agent(EventLoop& loop, const Clock& clock, Timers& timers);
  ~Agent();

  Status start(const AgentConfig& cfg);
  // Applies a new, already validated config without a restart (the spool path stays).
  Status reload(const AgentConfig& cfg);
  // SIGHUP: loads and validates `path` (empty: embedded defaults) and applies it; an
  // invalid file is refused whole and the running config stays.
  void reload_from_file(const std::string& path);
  // Closes sockets and timers; the loop then runs out of work and returns.
  void stop();

  // Makes events durable and sends them as the window allows.
  Status emit(std::vector<protocol::Body> events);

  const Uplink& uplink() const { return *uplink_; }
  const Spool& spool() const { return *spool_; }

 private:
  protocol::Heartbeat heartbeat() const;
  void load_test_tick();

  EventLoop& loop_;
  const Clock& clock_;
  Timers& timers_;
  AgentConfig cfg_;
  int64_t started_mono_ms_;
  zmq::context_t zmq_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Uplink> uplink_;
  TimerId load_timer_ = 0;
  int64_t load_started_ms_ = 0;
  uint64_t load_first_seq_ = 0;
};

}  // namespace reflex::agent
