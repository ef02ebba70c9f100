// The StatsD load of the footprint benchmark: a fixed, seeded mix of datagrams like an
// instrumented application sends (timers, counters, gauges, sets; sample rates, tags, a
// few datagrams with several metrics), and a sender that paces them at a steady rate.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace reflex::bench {

// `count` datagrams, the same for the same seed. By line: about 45% timers (`ms`), 35%
// counters, 15% gauges, 5% sets; one datagram in ten holds three lines.
std::vector<std::string> statsd_packets(size_t count, uint32_t seed);
// Every metric name the packets use.
std::vector<std::string> statsd_metric_names();

// How many packets to send now, and how many to give up on, `elapsed_s` after the start
// at `rate` per second with `done` (sent or given up) so far. At most `max_burst` go at
// once: after a stall the sender skips what it cannot send on time instead of flooding.
struct Pace {
  uint64_t send = 0;
  uint64_t skip = 0;
};
Pace pace(double elapsed_s, double rate, uint64_t done, uint64_t max_burst);

// Sends the packets round-robin to 127.0.0.1:`port` over UDP from a thread of its own,
// `rate` per second, checked every millisecond, until destroyed. Counters may be read
// from any thread.
class StatsdSender {
 public:
  static Result<std::unique_ptr<StatsdSender>> start(int port, double rate,
                                                     std::vector<std::string> packets);
  ~StatsdSender();
  StatsdSender(const StatsdSender&) = delete;
  StatsdSender& operator=(const StatsdSender&) = delete;

  uint64_t sent() const { return sent_.load(); }
  uint64_t skipped() const { return skipped_.load(); }  // not sent on time: behind by > 20 ms
  uint64_t errors() const { return errors_.load(); }    // sendmmsg failures, by packet

 private:
  StatsdSender(int fd, double rate, std::vector<std::string> packets)
      : fd_(fd), rate_(rate), packets_(std::move(packets)) {}
  void run();

  int fd_ = -1;
  double rate_ = 0;
  std::vector<std::string> packets_;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> sent_{0}, skipped_{0}, errors_{0};
  std::thread thread_;
};

}  // namespace reflex::bench
