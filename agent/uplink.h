// Uplink: the agent's DEALER connection to the hub.
//
// Registers with `hello` on every (re)connection, then sends a `heartbeat` every
// interval. The hub answers hello with an `ack` carrying the negotiated protocol
// version; an `error` saying hello_required (the hub restarted or lost track of this
// peer) makes the uplink register again. Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <zmq.hpp>

#include "agent/config.h"
#include "common/clock.h"
#include "common/loop.h"
#include "protocol/messages.h"

namespace reflex::agent {

class Uplink {
 public:
  // `status` fills the heartbeat body. Everything passed must outlive the Uplink.
  Uplink(EventLoop& loop, zmq::context_t& zmq, const Clock& clock, Timers& timers,
         std::function<protocol::Heartbeat()> status);
  ~Uplink();

  // Connects and registers with `cfg`. Calling again (reload) re-registers with the new
  // identity, labels and interval; a changed hub endpoint reconnects.
  Status start(const AgentConfig& cfg);

  bool registered() const { return negotiated_version_ != 0; }
  uint32_t negotiated_version() const { return negotiated_version_; }
  const std::string& endpoint() const { return endpoint_; }

 private:
  void connect(const std::string& endpoint);
  void tick();
  void send_hello();
  void send(protocol::Body body);
  void on_readable();

  EventLoop& loop_;
  zmq::context_t& zmq_;
  const Clock& clock_;
  Timers& timers_;
  std::function<protocol::Heartbeat()> status_;
  AgentConfig cfg_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<ZmqWatcher> watcher_;
  std::string endpoint_;
  TimerId heartbeat_timer_ = 0;
  uint32_t negotiated_version_ = 0;
};

}  // namespace reflex::agent
