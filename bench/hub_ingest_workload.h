// The events of the hub ingest benchmark: what a fleet of agents would send.
//
// Every measurement (the full run and each ceiling) uses frames from this one
// generator, so the ceilings are measured on the same bytes the hub receives.
// Pure functions of their arguments; safe from any thread.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "protocol/messages.h"

namespace reflex::bench {

// "bench-agent-007": the id (and allowlist name) of simulated agent `index`.
std::string agent_id(int index);

// Sequenced event `seq` of agent `index`: one metrics sample with a realistic name,
// labels, unit and value, stamped `ts_ms`.
protocol::Envelope metrics_event(int index, uint64_t seq, uint64_t ts_ms);

// The same events, encoded from envelopes built once per agent, so that a load
// generator spends its time on encoding and sending rather than on building maps.
class AgentEvents {
 public:
  explicit AgentEvents(int index);
  // Appends the frame of encode(metrics_event(index, seq, ts_ms)) to `out`.
  void encode_into(uint64_t seq, uint64_t ts_ms, std::string& out);

 private:
  std::vector<protocol::Envelope> by_series_;  // one template per series, see the .cc
};

// The hello agent `index` opens its connection with.
protocol::Envelope hello(int index, uint64_t ts_ms, uint32_t heartbeat_ms);
protocol::Envelope heartbeat(int index, uint64_t ts_ms, uint64_t uptime_ms, uint64_t spool_depth);

// One encoded frame per (agent, seq) for `count` events spread round-robin over
// `agents` agents, in the order a hub would receive them: a sample of the full run's
// traffic for the ceilings to replay.
std::vector<std::string> sample_frames(int agents, size_t count, uint64_t ts_ms);

}  // namespace reflex::bench
