// The load client for POST /api/v2/alerts: the same bodies, the same connections and the
// same measurement against reflex-hub and against Alertmanager.
//
// Bodies are what a Prometheus server sends (a JSON array of alerts with labels,
// annotations, startsAt, endsAt and generatorURL), built before the clock starts, so the
// client's own cost is sending and reading only. Each connection is a thread with one
// keep-alive HTTP/1.1 connection that posts its share of the bodies in turn, waiting for
// each answer (as Prometheus's notifier does per alertmanager).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace reflex::bench {

struct AlertBodies {
  std::vector<std::string> bodies;
  size_t alerts = 0;
};

// `alerts` distinct alerts numbered from `first`, `per_request` to a body. Every alert
// fires from `starts_at_ms` until an hour later, on one of `services` services.
AlertBodies make_alert_bodies(size_t first, size_t alerts, size_t per_request, size_t services,
                              int64_t starts_at_ms);

struct LoadResult {
  double seconds = 0;
  size_t requests = 0;
  size_t alerts = 0;
  double alerts_per_second() const { return seconds > 0 ? alerts / seconds : 0; }
};

// Posts every body to 127.0.0.1:`port` `path` over `connections` connections. Fails on
// the first answer other than 200 (naming it) or a broken connection.
Result<LoadResult> post_all(int port, const std::string& path, const AlertBodies& bodies,
                            size_t connections);

}  // namespace reflex::bench
