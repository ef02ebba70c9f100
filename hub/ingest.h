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
#include <string>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/loop.h"
#include "hub/agents.h"
#include "hub/hub_metrics.h"
#include "protocol/messages.h"

namespace reflex::hub {

class Ingest {
 public:
  // `registry` and `metrics` must outlive the Ingest. `on_batch` runs after each burst of
  // frames has been applied to the registry (the hub commits there).
  Ingest(EventLoop& loop, zmq::context_t& zmq, const Clock& clock, AgentRegistry& registry,
         HubMetrics& metrics, std::function<void()> on_batch);
  ~Ingest();

  // Binds the ROUTER; port 0 or * picks a free port.
  Status bind(const std::string& endpoint);
  // The endpoint actually bound, e.g. tcp://127.0.0.1:40123.
  const std::string& endpoint() const { return endpoint_; }

 private:
  void on_readable();
  void handle(const std::string& peer, std::string_view frame);
  void reject(const std::string& peer, const Status& why, uint64_t seq);
  void send(const std::string& peer, const protocol::Envelope& env);

  EventLoop& loop_;
  const Clock& clock_;
  AgentRegistry& registry_;
  HubMetrics& metrics_;
  std::function<void()> on_batch_;
  zmq::socket_t socket_;
  std::unique_ptr<ZmqWatcher> watcher_;
  std::string endpoint_;
  std::map<std::string, std::string> peer_agent_;   // ROUTER identity -> agent id
  std::map<std::string, std::string> agent_peer_;   // agent id -> ROUTER identity
  std::map<std::string, int64_t> last_reject_log_;  // reason -> monotonic ms
};

}  // namespace reflex::hub
