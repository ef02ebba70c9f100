// Ingest: the hub's ZeroMQ ROUTER, where every agent frame arrives.
//
// Frames are decoded strictly; a frame that fails is dropped, counted by reason and
// logged at a bounded rate, and the sender (if it can be answered) gets an `error`.
// Each ROUTER peer must say `hello` before anything else; the agent id in every later
// frame must match the one it registered with. Loop thread only.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/loop.h"
#include "hub/agents.h"
#include "hub/hub_metrics.h"
#include "protocol/messages.h"

namespace reflex::hub {

// Flow control: the window each agent is granted. A store that commits slower than
// `slow_commit_ms` makes every agent slow down to a quarter of the configured window
// until commits are fast again, so a flood queues in the agents' spools, not in the hub.
uint32_t granted_window(int64_t configured, double last_commit_ms, int64_t slow_commit_ms);

class Ingest {
 public:
  // `registry` and `metrics` must outlive the Ingest. `on_batch` runs after each burst of
  // frames has been applied to the registry (the hub commits there).
  Ingest(EventLoop& loop, zmq::context_t& zmq, const Clock& clock, AgentRegistry& registry,
         HubMetrics& metrics, std::function<void()> on_batch);
  ~Ingest();

  // Binds the ROUTER; port 0 or * picks a free port. With `curve_secret_key` (Z85) the
  // socket is a CurveZMQ server. Either way every connection is put to the ZAP handler,
  // which must already run in the same ZeroMQ context.
  Status bind(const std::string& endpoint, const std::string& curve_secret_key,
              const std::string& zap_domain);
  // The endpoint actually bound, e.g. tcp://127.0.0.1:40123.
  const std::string& endpoint() const { return endpoint_; }

  // What one group commit takes from ingest: the events accepted since the last take, in
  // arrival order, and the acknowledgements owed once they are durable.
  struct Taken {
    std::vector<StoredEvent> events;
    std::map<std::string, uint64_t> marks;  // agent id -> highest sequence taken
    std::set<std::string> ack_due;          // agents owed an ack (new events or redeliveries)
  };
  Taken take();
  // The commit of `taken` is durable: acknowledge it to each agent owed an ack.
  void committed(const Taken& taken);
  // While this many accepted events (or bytes of their frames) wait for a commit, no more
  // frames are read: the socket's high-water mark and then TCP push back on the agents
  // instead of the hub's memory growing. take() resumes reading.
  static constexpr size_t kBacklogEvents = 100'000;
  static constexpr size_t kBacklogBytes = 32u << 20;
  // The window granted to every agent in acks (flow control; see granted_window()).
  void set_window(uint32_t window) { window_ = window; }
  // True when `agent_id` has said hello on a connection of this hub.
  bool connected(const std::string& agent_id) const { return agent_peer_.contains(agent_id); }
  // Sends a command to the agent's connection; false when it has none. Delivery is not
  // confirmed: its command_result, a sequenced event, is.
  bool send_command(const std::string& agent_id, const protocol::Command& command);
  // The last group commit failed and its events are gone: forget them and every event
  // accepted after them, unacknowledged, and have each agent concerned say hello again,
  // so that it resends from its committed mark instead of going on after a hole.
  void commit_failed();

 private:
  struct Marks {
    uint64_t committed = 0;  // durable at the hub: what acks say
    uint64_t received = 0;   // accepted, maybe not yet committed
    bool rewound = false;    // a commit failed: events wait for a hello that rewinds the agent
  };
  void on_readable();
  void on_monitor_event();
  // `user_id`: the agent id the ZAP handler enrolled this connection's key under
  // (empty for plaintext peers).
  void handle(const std::string& peer, const std::string& user_id, std::string_view frame);
  void handle_event(const std::string& peer, const protocol::Envelope& env, std::string_view frame,
                    int64_t now);
  Marks& marks(const std::string& agent_id);
  static Status rewind_request(const Marks& m);
  void send_ack(const std::string& agent_id, uint64_t upto);
  // Counts and logs the dropped frame `seq`, and tells the peer why.
  void reject(const std::string& peer, const Status& why, uint64_t seq);
  void send_error(const std::string& peer, const Status& why, uint64_t seq);
  void reject_connection(const std::string& reason, const std::string& detail);
  void log_rejection(const std::string& reason, const std::string& text);
  void send(const std::string& peer, const protocol::Envelope& env);

  EventLoop& loop_;
  const Clock& clock_;
  AgentRegistry& registry_;
  HubMetrics& metrics_;
  std::function<void()> on_batch_;
  zmq::socket_t socket_;
  std::unique_ptr<ZmqWatcher> watcher_;
  // Connection-level failures (bad handshakes, oversized frames) never reach recv():
  // the socket monitor reports them so they are counted too.
  zmq::socket_t monitor_;
  std::unique_ptr<ZmqWatcher> monitor_watcher_;
  std::string endpoint_;
  std::map<std::string, std::string> peer_agent_;   // ROUTER identity -> agent id
  std::map<std::string, std::string> agent_peer_;   // agent id -> ROUTER identity
  std::map<std::string, int64_t> last_reject_log_;  // reason -> monotonic ms
  std::map<std::string, Marks> marks_;              // agent id -> sequence marks
  std::vector<StoredEvent> events_;                 // accepted, not yet taken
  std::set<std::string> ack_due_;                   // agents owed an ack after this burst
  uint32_t window_ = 1000;
  size_t backlog_bytes_ = 0;  // frame bytes in events_
};

}  // namespace reflex::hub
