// The two ways an alert reaches a receiver in the notification-latency benchmark: an
// Alertmanager-style POST /api/v2/alerts (the same client for reflex-hub and for
// Alertmanager), and an agent's alert event over the hub's ZeroMQ ingest, sent by a
// stand-in agent that says hello as reflex-agent does. Both send one alert and return
// once it is written; neither waits for what it causes.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include "common/status.h"

namespace httplib {
class Client;
}

namespace reflex::bench {

// A firing alert of `service` on `instance`, severity high, as Prometheus posts it.
class AlertPoster {
 public:
  explicit AlertPoster(int http_port);
  ~AlertPoster();
  // Fails unless the receiver answered 200.
  Status post(const std::string& service, const std::string& instance);

 private:
  std::unique_ptr<httplib::Client> client_;
};

// A stand-in agent on a plaintext loopback connection (the hub accepts those without a
// key), whose alert events carry a `service` label of their own.
class BenchAgent {
 public:
  // Connects to `endpoint`, says hello as `id` on `hostname` and waits (up to 10 s) for
  // the hub's answer.
  static Result<std::unique_ptr<BenchAgent>> connect(const std::string& endpoint,
                                                     const std::string& id,
                                                     const std::string& hostname);
  ~BenchAgent();
  // A firing alert for `service`; acknowledgements are read and dropped as they come.
  Status alert(const std::string& service);

 private:
  struct Socket;
  BenchAgent(std::unique_ptr<Socket> socket, std::string id);
  Status send(uint64_t seq, const std::string& frame);
  void drain();

  std::unique_ptr<Socket> socket_;
  std::string id_;
  uint64_t seq_ = 0;
};

}  // namespace reflex::bench
