// Hub: the reflex-hub process as a library, so tests can run it in-process and main
// stays thin. Loop thread only, except where noted.
//
// Pipeline (grown stage by stage): ingest -> validate + dedup -> store (group commit)
// -> ack -> correlate -> inhibit/silence -> route -> notify -> record. This class is
// the one place that wires the stages together.
#pragma once

#include <memory>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "hub/agents.h"
#include "hub/config.h"
#include "hub/http_api.h"
#include "hub/hub_metrics.h"
#include "hub/ingest.h"
#include "hub/store.h"
#include "hub/store_writer.h"
#include "hub/zap_authenticator.h"

namespace reflex::hub {

class Hub {
 public:
  Hub(EventLoop& loop, const Clock& clock, Timers& timers);
  ~Hub();

  // Opens the store, restores the agents it knows, binds the agent port and HTTP API.
  Status start(const HubConfig& cfg);
  // Applies a new, already validated config. Listen addresses and the store need a
  // restart; a change to them is reported and the rest is applied.
  Status reload(const HubConfig& cfg);
  // SIGHUP: loads and validates `path` (empty: embedded defaults) and applies it; an
  // invalid file is refused whole and the running config stays. Counted in /metrics.
  void reload_from_file(const std::string& path);
  // Stops serving, commits what is pending, closes everything.
  void stop();

  const std::string& ingest_endpoint() const { return ingest_->endpoint(); }
  int http_port() const { return http_->port(); }

 private:
  // Starts a group commit of everything pending unless one is in flight (then the next
  // starts when it is done, with everything that arrived meanwhile).
  void commit();
  void on_committed(WriteBatch batch, Ingest::Taken taken, Status st, double seconds);
  void check_liveness();
  void update_gauges();
  Status start_security(const SecurityConfig& security, std::string& secret_key);

  EventLoop& loop_;
  const Clock& clock_;
  Timers& timers_;
  HubConfig cfg_;
  metrics::Registry metrics_registry_;
  HubMetrics metrics_;
  AgentRegistry registry_;
  zmq::context_t zmq_;
  LoopDoor door_;
  std::unique_ptr<ZapAuthenticator> zap_;  // before ingest_: outlives the socket it guards
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<StoreWriter> writer_;  // after store_: stops before it
  std::unique_ptr<Ingest> ingest_;
  std::unique_ptr<HttpApi> http_;
  TimerId liveness_timer_ = 0;
  TimerId commit_retry_timer_ = 0;
  int64_t last_refusal_log_ms_ = 0;
  bool stopped_ = false;
};

}  // namespace reflex::hub
