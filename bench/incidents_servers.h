// The two receivers the incident benchmarks compare, started fresh for each measurement:
// a real reflex-hub (its store a SQLite file in the scratch directory) and Alertmanager
// from Debian (prometheus-alertmanager, its data directory there too, clustering off,
// one null receiver with a route grouping by service and env, as the hub does).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <memory>
#include <string>

#include "bench/support/child_process.h"
#include "bench/support/hub_process.h"
#include "common/status.h"

namespace reflex::bench {

// One receiver of POST /api/v2/alerts.
class Receiver {
 public:
  virtual ~Receiver() = default;
  virtual pid_t pid() const = 0;
  virtual int http_port() const = 0;
  // The hub's agent ingest endpoint; "" for Alertmanager.
  virtual std::string ingest_endpoint() const { return ""; }
  // Stops it cleanly; fails when it had to be killed.
  virtual Status stop() = 0;
};

// A reflex-hub in `dir` on loopback ports of its own choosing; `extra_yaml` is appended
// to its hub.yaml.
Result<std::unique_ptr<Receiver>> start_reflex(const std::string& binary, const ScratchDir& dir,
                                               const std::string& extra_yaml = "");
// The Alertmanager configuration of the memory and ingest runs: one null receiver.
inline constexpr const char* kNullReceiverConfig =
    "route:\n"
    "  receiver: 'null'\n"
    "  group_by: [service, env]\n"
    "receivers:\n"
    "  - name: 'null'\n";
// prometheus-alertmanager in `dir` on a free loopback port with `config` as its
// alertmanager.yml, once /-/ready answers 200.
Result<std::unique_ptr<Receiver>> start_alertmanager(
    const std::string& binary, const ScratchDir& dir, OrphanGuard* guard,
    const std::string& config = kNullReceiverConfig);

// Alerts from outside that the hub's store in `dir` holds (after the hub stopped).
Result<size_t> stored_external_alerts(const ScratchDir& dir);

}  // namespace reflex::bench
