// The statsd check: a UDP listener speaking the StatsD line protocol, so applications
// already instrumented with StatsD feed the agent directly.
//
// A datagram (up to 64 KiB) holds one metric per line: `name:value|type[|@rate][|#k:v,...]`.
//  - `c` counter:      recorder.counter("<check>.<name>", labels, value / rate)
//  - `ms`, `h` timer:  recorder.event(series, labels, false, value ms). The sample rate only
//                      scales counters: a sampled timer is still one observation, since the
//                      windows summarise observations, not a total.
//  - `g` gauge:        recorder.gauge(series, labels, value, ""); "+N"/"-N" adjust the last
//                      value (from 0 when none), so a negative gauge must be set via 0 first.
//  - `s` set:          distinct values are counted per flush_interval and reported then as
//                      a gauge, after which the count restarts.
// DogStatsD tags `|#k:v,k2` become labels (a tag without a value gets ""); the check's own
// labels win over a tag of the same name.
//
// Bad input never stops the listener or the other lines of a datagram; it is counted in
// CheckStatus::bad_input by reason: malformed_line (no colon or type, empty name, invalid
// characters, unknown field), bad_value, unknown_type, bad_sample_rate, bad_tags (a bad tag
// or more than 16), too_many_metrics (a new series beyond max_series: dropped),
// set_overflow (a new value beyond 10,000 in one set and interval: not counted),
// truncated_datagram, receive_overflow (datagrams the kernel dropped because the socket's
// receive buffer was full). CheckStatus::runs counts datagrams.
//
// The socket is read in batches (agent/checks/datagram_reader.h): under a steady stream
// the loop wakes about 100 times a second, not once per datagram, and a datagram is
// recorded at most 10 ms after it arrived.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "agent/checks/check.h"
#include "common/config.h"

namespace reflex::agent {

// One parsed line. `name` and `set_member` point into the line it was parsed from.
struct StatsdMetric {
  enum class Type : uint8_t { kCounter, kTimer, kGauge, kSet };
  std::string_view name;
  Type type = Type::kCounter;
  double value = 0;             // counters, timers, gauges (the delta when relative)
  bool relative = false;        // a gauge given as +N or -N
  std::string_view set_member;  // sets: the value as sent
  double sample_rate = 1;       // 0 < rate <= 1
  Labels tags;
};

// Parses one line (without its newline); the result points into `line`, so it is valid
// while the line is. A failure's code is the bad-input reason.
Result<StatsdMetric> parse_statsd_line(std::string_view line);

struct StatsdCheckConfig {
  std::string listen = "127.0.0.1:8125";   // "host:port", "[v6]:port"; port 0 = any free one
  Millis flush_interval = Millis(10'000);  // how often set counts are reported
  int64_t max_series = 1000;               // distinct series: a name plus its tag set
};

// Reads the keys of a `type: statsd` check; errors name the key path.
void read_statsd_check(config::MapReader& r, StatsdCheckConfig& out);

class StatsdCheck : public StreamingCheck {
 public:
  // The bound UDP port once start() succeeded (useful with port 0), else 0.
  virtual int port() const = 0;
};

// Binds on start() (a bind failure is its error). Everything in ctx must outlive the check.
std::unique_ptr<StatsdCheck> make_statsd_check(CheckSpec spec, StatsdCheckConfig config,
                                               CheckContext& ctx);

}  // namespace reflex::agent
