// The far end of the notification-latency benchmark: one HTTP server on 127.0.0.1 that
// plays Slack's Web API for reflex-hub (chat.postMessage and chat.update, answered as
// Slack answers them) and an Alertmanager webhook receiver, and stamps each request with
// the time it arrived. Runs on threads of its own; arrivals may be read from any thread.
#pragma once

#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace reflex::bench {

using SteadyTime = std::chrono::steady_clock::time_point;

// One request that reached the receiver.
struct Arrival {
  enum class Kind { kSlackPost, kSlackUpdate, kAlertmanager };
  Kind kind = Kind::kSlackPost;
  std::string key;    // Slack: the channel without '#'; Alertmanager: the group's service
  size_t alerts = 0;  // Alertmanager: firing alerts in the notification
  SteadyTime at;
};

class NotifyReceiver {
 public:
  static Result<std::unique_ptr<NotifyReceiver>> start();
  ~NotifyReceiver();
  NotifyReceiver(const NotifyReceiver&) = delete;
  NotifyReceiver& operator=(const NotifyReceiver&) = delete;

  int port() const { return port_; }
  // Slack's base URL for integrations.slack.base_url; the webhook URL for Alertmanager.
  std::string slack_base_url() const;
  std::string alertmanager_url() const;

  // When the first arrival of `kind` for `key` with at least `min_alerts` alerts, at or
  // after `since`, came; waits for it until `deadline`; nullopt if none came by then.
  std::optional<SteadyTime> wait_for(Arrival::Kind kind, const std::string& key, SteadyTime since,
                                     size_t min_alerts, SteadyTime deadline);
  // Forgets every arrival so far (between runs).
  void clear();
  // Requests it could not parse or did not expect, with the first one's description.
  size_t rejected() const;
  std::string first_rejection() const;

 private:
  NotifyReceiver();
  void record(Arrival a);
  void reject(std::string why);

  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  mutable std::mutex mu_;
  std::condition_variable arrived_;
  std::vector<Arrival> arrivals_;
  size_t rejected_ = 0;
  std::string first_rejection_;
  uint64_t next_ts_ = 1;  // Slack message timestamps handed out
};

}  // namespace reflex::bench
