// The hub's own health as Prometheus metrics (served on /metrics), looked up once so the
// ingest path only increments.
#pragma once

#include <string>

#include "common/metrics.h"

namespace reflex::hub {

struct HubMetrics {
  explicit HubMetrics(metrics::Registry& registry);

  // The rejected-frames counter for one reason (a Status code such as "truncated").
  metrics::Counter& rejected(const std::string& reason) { return rejected_family->with({reason}); }

  metrics::Counter* frames_received;
  metrics::Counter* frames_accepted;
  metrics::Counter* events_duplicate;
  metrics::Counter* events_committed;
  metrics::Counter* events_pruned;
  metrics::Counter* events_skipped;
  metrics::CounterFamily* rejected_family;
  metrics::Counter* connections_refused;
  metrics::Counter* connections_closed;
  metrics::GaugeFamily* agents;  // label: state
  metrics::Histogram* commit_seconds;
  metrics::Counter* commit_failures;
  metrics::CounterFamily* config_reloads;  // label: result (ok, rejected)
  metrics::Gauge* config_last_reload_ok;
  metrics::Gauge* granted_window;
  metrics::Counter* ingest_paused;
};

inline HubMetrics::HubMetrics(metrics::Registry& r)
    : frames_received(&r.counter("reflex_hub_frames_received_total",
                                 "Frames received on the agent port, valid or not.")),
      frames_accepted(
          &r.counter("reflex_hub_frames_accepted_total", "Frames decoded, validated and applied.")),
      events_duplicate(&r.counter("reflex_hub_events_duplicate_total",
                                  "Redelivered events dropped because they were already here.")),
      events_committed(&r.counter("reflex_hub_events_committed_total",
                                  "Sequenced events committed to the store.")),
      events_pruned(
          &r.counter("reflex_hub_events_pruned_total",
                     "Stored events deleted for being older than store.events_retention.")),
      events_skipped(
          &r.counter("reflex_hub_events_skipped_total",
                     "Sequence numbers an agent's spool dropped (see its gap records).")),
      rejected_family(&r.counter_family("reflex_hub_frames_rejected_total",
                                        "Frames dropped, by reason.", {"reason"})),
      connections_refused(&r.counter("reflex_hub_connections_refused_total",
                                     "Agent connections refused by authentication.")),
      connections_closed(&r.counter(
          "reflex_hub_connections_closed_total",
          "Agent connections closed: protocol errors, frames over the size limit, refused "
          "keys and agents leaving.")),
      agents(&r.gauge_family("reflex_hub_agents", "Known agents by state.", {"state"})),
      commit_seconds(&r.histogram("reflex_hub_store_commit_seconds",
                                  "Latency of one group commit to the store.",
                                  metrics::exponential_buckets(0.0001, 2, 16))),
      commit_failures(&r.counter("reflex_hub_store_commit_failures_total",
                                 "Group commits that failed and were retried.")),
      config_reloads(&r.counter_family("reflex_hub_config_reloads_total",
                                       "Configuration reloads (SIGHUP), by result.", {"result"})),
      config_last_reload_ok(&r.gauge("reflex_hub_config_last_reload_successful",
                                     "1 if the last reload was applied, 0 if it was refused.")),
      granted_window(&r.gauge("reflex_hub_granted_window",
                              "Events each agent may have in flight, as last granted in acks.")),
      ingest_paused(&r.counter(
          "reflex_hub_ingest_paused_total",
          "Times the hub stopped reading agent frames because its commit backlog was full.")) {
  config_last_reload_ok->set(1);
}

}  // namespace reflex::hub
