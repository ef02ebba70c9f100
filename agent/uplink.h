// Uplink: the agent's DEALER connection to the hub, and the reliable delivery of the
// spool over it.
//
// On every (re)connection the uplink registers with `hello`; the hub's answer carries
// the negotiated protocol version and the highest sequence it has committed for this
// agent, and the uplink resends everything after it, in order. At most `window` events
// are in flight; the spool is trimmed only when the hub acknowledges. No acknowledgement
// progress within `ack_timeout` means the connection is not working: rewind and resend,
// and after repeated failures move to the next hub endpoint (and later back to the
// first), with backoff and jitter. Loop thread only.
#pragma once

#include <functional>
#include <memory>
#include <random>
#include <string>
#include <zmq.hpp>

#include "agent/config.h"
#include "agent/spool.h"
#include "common/clock.h"
#include "common/curve_keys.h"
#include "common/loop.h"
#include "protocol/messages.h"

namespace reflex::agent {

class Uplink {
 public:
  // `status` fills the heartbeat body. Everything passed must outlive the Uplink.
  Uplink(EventLoop& loop, zmq::context_t& zmq, const Clock& clock, Timers& timers, Spool& spool,
         std::function<protocol::Heartbeat()> status);
  ~Uplink();

  // Connects and registers with `cfg`. Calling again (reload) re-registers with the new
  // identity, labels and intervals; a changed endpoint list reconnects.
  Status start(const AgentConfig& cfg);

  // New events are in the spool: send what the window allows.
  void pump();

  // Commands from the hub go to `handler` (the healer); without one they are dropped.
  void set_command_handler(std::function<void(const protocol::Command&)> handler) {
    on_command_ = std::move(handler);
  }

  bool registered() const { return negotiated_version_ != 0; }
  uint32_t negotiated_version() const { return negotiated_version_; }
  const std::string& endpoint() const { return endpoint_; }
  uint64_t in_flight() const { return sent_seq_ - spool_.acked_seq(); }

 private:
  void connect(size_t endpoint_index);
  void tick();
  void on_ack(const protocol::Ack& ack);
  // The configured window, narrowed to the hub's grant when it sent one.
  uint64_t window() const;
  void on_error(const protocol::Error& err);
  void failed_attempt(const char* why);
  void send_hello();
  bool send_control(protocol::Body body);
  void on_readable();

  EventLoop& loop_;
  zmq::context_t& zmq_;
  const Clock& clock_;
  Timers& timers_;
  Spool& spool_;
  std::function<protocol::Heartbeat()> status_;
  std::function<void(const protocol::Command&)> on_command_;
  AgentConfig cfg_;
  std::unique_ptr<zmq::socket_t> socket_;
  std::unique_ptr<ZmqWatcher> watcher_;
  std::string endpoint_;
  size_t endpoint_index_ = 0;
  TimerId heartbeat_timer_ = 0;
  TimerId reconnect_timer_ = 0;
  uint32_t negotiated_version_ = 0;
  uint64_t granted_window_ = 0;   // the hub's grant (0: none yet, use the config)
  uint64_t sent_seq_ = 0;         // highest sequence sent on this connection
  int64_t last_progress_ms_ = 0;  // monotonic: last ack progress (or registration)
  int64_t last_sent_ms_ = 0;      // monotonic: last frame ZeroMQ took (a connection was up)
  int64_t hello_sent_ms_ = 0;     // monotonic: when the unanswered hello went out
  bool hello_left_ = false;       // it reached a live connection (else: resend at the next tick)
  int failures_ = 0;              // consecutive failed attempts on this endpoint
  int64_t on_fallback_since_ms_ = 0;  // monotonic: when we left the first endpoint
  std::mt19937 rng_;
  curve::Keypair keys_;  // empty: plaintext
};

}  // namespace reflex::agent
