#include "bench/hub_ingest_workload.h"

#include <array>
#include <cstdio>

#include "protocol/codec.h"

namespace reflex::bench {
namespace {

struct Series {
  const char* name;
  const char* unit;
  double base;
};

// What a host agent's window summaries look like; cycled through by sequence number.
constexpr std::array<Series, 8> kSeries = {{
    {"http.latency.p99", "ms", 120},
    {"http.requests.rate", "", 850},
    {"http.errors.ratio", "ratio", 0.002},
    {"cpu.usage", "ratio", 0.43},
    {"memory.rss", "bytes", 734003200},
    {"disk.used.ratio", "ratio", 0.61},
    {"queue.depth", "", 17},
    {"gc.pause.p99", "ms", 4.5},
}};

constexpr std::array<const char*, 4> kServices = {"checkout", "payments", "search", "catalog"};
constexpr std::array<const char*, 3> kRegions = {"eu-west-1", "us-east-1", "ap-south-1"};

std::string host_name(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "web-%03d", index);
  return buf;
}

// A deterministic wobble around the series' base value, so values use all float64 digits.
double sample_value(const Series& s, uint64_t seq) {
  return s.base * (1.0 + 0.01 * static_cast<double>((seq * 2654435761u) % 97) / 97.0);
}

}  // namespace

std::string agent_id(int index) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "bench-agent-%03d", index);
  return buf;
}

protocol::Envelope metrics_event(int index, uint64_t seq, uint64_t ts_ms) {
  const Series& s = kSeries[seq % kSeries.size()];
  protocol::Sample sample;
  sample.name = s.name;
  sample.unit = s.unit;
  sample.value = sample_value(s, seq);
  sample.labels = {{"env", "prod"},
                   {"host", host_name(index)},
                   {"region", kRegions[index % kRegions.size()]},
                   {"service", kServices[index % kServices.size()]}};
  protocol::Envelope env;
  env.agent_id = agent_id(index);
  env.seq = seq;
  env.ts_ms = ts_ms;
  env.body = protocol::Metrics{{std::move(sample)}};
  return env;
}

AgentEvents::AgentEvents(int index) {
  // Event `seq` uses series seq % kSeries.size(); all else but seq, ts and value is fixed.
  for (uint64_t k = 0; k < kSeries.size(); ++k) by_series_.push_back(metrics_event(index, k, 0));
}

void AgentEvents::encode_into(uint64_t seq, uint64_t ts_ms, std::string& out) {
  protocol::Envelope& env = by_series_[seq % kSeries.size()];
  env.seq = seq;
  env.ts_ms = ts_ms;
  std::get<protocol::Metrics>(env.body).samples[0].value =
      sample_value(kSeries[seq % kSeries.size()], seq);
  protocol::encode_into(env, out);
}

protocol::Envelope hello(int index, uint64_t ts_ms, uint32_t heartbeat_ms) {
  protocol::Hello h;
  h.hostname = host_name(index);
  h.agent_version = REFLEX_VERSION;
  h.labels = {{"env", "prod"}, {"service", kServices[index % kServices.size()]}};
  h.heartbeat_ms = heartbeat_ms;
  h.actions = {"restart_service", "clear_tmp"};
  protocol::Envelope env;
  env.agent_id = agent_id(index);
  env.ts_ms = ts_ms;
  env.body = std::move(h);
  return env;
}

protocol::Envelope heartbeat(int index, uint64_t ts_ms, uint64_t uptime_ms, uint64_t spool_depth) {
  protocol::Envelope env;
  env.agent_id = agent_id(index);
  env.ts_ms = ts_ms;
  env.body = protocol::Heartbeat{uptime_ms, spool_depth, 0};
  return env;
}

std::vector<std::string> sample_frames(int agents, size_t count, uint64_t ts_ms) {
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    const int agent = static_cast<int>(i % static_cast<size_t>(agents));
    const uint64_t seq = i / static_cast<size_t>(agents) + 1;
    out.push_back(protocol::encode(metrics_event(agent, seq, ts_ms + seq)));
  }
  return out;
}

}  // namespace reflex::bench
