#include "bench/incidents_load.h"

#include <httplib.h>

#include <atomic>
#include <chrono>
#include <mutex>
#include <nlohmann/json.hpp>
#include <thread>

#include "hub/incidents/rfc3339.h"

namespace reflex::bench {

AlertBodies make_alert_bodies(size_t first, size_t alerts, size_t per_request, size_t services,
                              int64_t starts_at_ms) {
  static const char* kRules[] = {"HighErrorRate", "HighLatency", "InstanceDown", "DiskFull"};
  const std::string starts = hub::incidents::format_rfc3339_ms(starts_at_ms);
  const std::string ends = hub::incidents::format_rfc3339_ms(starts_at_ms + 3600'000);
  AlertBodies out;
  nlohmann::json batch = nlohmann::json::array();
  for (size_t n = 0; n < alerts; ++n) {
    const size_t i = first + n;
    const std::string host = "host-" + std::to_string(i);
    const std::string rule = kRules[(i / services) % 4];
    batch.push_back({{"labels",
                      {{"alertname", rule},
                       {"service", "svc-" + std::to_string(i % services)},
                       {"env", "prod"},
                       {"instance", host + ":9100"},
                       {"job", "node"},
                       {"severity", i % 7 == 0 ? "critical" : "warning"}}},
                     {"annotations", {{"summary", rule + " on " + host}}},
                     {"startsAt", starts},
                     {"endsAt", ends},
                     {"generatorURL", "http://prometheus:9090/graph?g0.expr=up"}});
    if (batch.size() == per_request || n + 1 == alerts) {
      out.bodies.push_back(batch.dump());
      batch = nlohmann::json::array();
    }
  }
  out.alerts = alerts;
  return out;
}

Result<LoadResult> post_all(int port, const std::string& path, const AlertBodies& bodies,
                            size_t connections) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  std::string failure;
  std::vector<std::thread> threads;
  const auto start = std::chrono::steady_clock::now();
  for (size_t c = 0; c < connections; ++c) {
    threads.emplace_back([&] {
      httplib::Client client("127.0.0.1", port);
      client.set_keep_alive(true);
      // Without it each small request waits for the peer's delayed ACK (about 40 ms).
      client.set_tcp_nodelay(true);
      client.set_read_timeout(60, 0);
      for (size_t i = next++; i < bodies.bodies.size(); i = next++) {
        auto res = client.Post(path, bodies.bodies[i], "application/json");
        if (!res || res->status != 200) {
          std::lock_guard lock(mutex);
          if (failure.empty()) {
            failure = res ? "HTTP " + std::to_string(res->status) + ": " + res->body
                          : "request failed: " + httplib::to_string(res.error());
          }
          next = bodies.bodies.size();  // stop everyone
          return;
        }
      }
    });
  }
  for (auto& t : threads) t.join();
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  if (!failure.empty()) return Status::error("load", "POST " + path + ": " + failure);
  return LoadResult{.seconds = seconds, .requests = bodies.bodies.size(), .alerts = bodies.alerts};
}

}  // namespace reflex::bench
