// RelayIngest: the agent port of a hub that does not lead the hubs sharing its PostgreSQL
// store (hub/clustered_hub.h), so that every hub ingests.
//
// It does what the leader's ingest does up to the commit: decodes and checks frames,
// registers agents and records their heartbeats, group-commits the accepted events and
// acknowledges them once durable, in the events table. Nothing is correlated here: its
// batches are marked `relay`, so the events the leader acts on (alerts, remediation
// reports, command results: all but metrics, the bulk) are also queued in event_relay.
// The leader reads that queue (HubStore::read_relay), correlates those events and takes
// them off it in one of its fenced batches, so each is acted on by the one hub that may.
// The agents' rows it writes tell the leader they are alive.
//
// An agent's committed mark may be stale here (it last sent through another hub): its
// resent events are accepted and the store leaves out those already stored
// (HubStore::write_batch locks the agent's row). Commands to agents connected here are
// not relayed: the leader's workflows reach the agents connected to the leader.
// Loop thread only.
#pragma once

#include <memory>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "hub/agents.h"
#include "hub/config.h"
#include "hub/hub_metrics.h"
#include "hub/ingest.h"
#include "hub/store.h"
#include "hub/store_writer.h"
#include "hub/zap_authenticator.h"

namespace reflex::hub {

class RelayIngest {
 public:
  RelayIngest(EventLoop& loop, const Clock& clock, Timers& timers);
  ~RelayIngest();
  RelayIngest(const RelayIngest&) = delete;
  RelayIngest& operator=(const RelayIngest&) = delete;

  // Opens the store, loads the agents it knows, binds `cfg.listen` under cfg.security.
  Status start(const HubConfig& cfg);
  // Commits and acknowledges what was accepted, then closes the port (so a Hub can bind
  // it).
  void stop();
  const std::string& endpoint() const { return ingest_->endpoint(); }

 private:
  void commit();
  void on_committed(WriteBatch batch, Ingest::Taken taken, Status st, double seconds);

  EventLoop& loop_;
  const Clock& clock_;
  Timers& timers_;
  HubConfig cfg_;
  metrics::Registry metrics_registry_;  // not served: a standby has no /metrics
  HubMetrics metrics_;
  AgentRegistry registry_;
  zmq::context_t zmq_;
  std::unique_ptr<ZapAuthenticator> zap_;  // before ingest_: outlives the socket it guards
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<StoreWriter> writer_;  // after store_: stops before it
  std::unique_ptr<Ingest> ingest_;
  TimerId retry_timer_ = 0;
  bool stopped_ = false;
};

}  // namespace reflex::hub
