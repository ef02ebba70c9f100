#include "bench/notify_latency_receiver.h"

#include <httplib.h>

#include <nlohmann/json.hpp>

namespace reflex::bench {

using nlohmann::json;

NotifyReceiver::NotifyReceiver() : server_(std::make_unique<httplib::Server>()) {}

NotifyReceiver::~NotifyReceiver() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<NotifyReceiver>> NotifyReceiver::start() {
  std::unique_ptr<NotifyReceiver> r(new NotifyReceiver());
  NotifyReceiver* self = r.get();
  // Slack: {"ok": true, "channel": ..., "ts": ...}, the fields the hub keeps.
  auto slack = [self](Arrival::Kind kind) {
    return [self, kind](const httplib::Request& req, httplib::Response& res) {
      const auto at = std::chrono::steady_clock::now();
      auto body = json::parse(req.body, nullptr, false);
      if (body.is_discarded() || !body.contains("channel") || !body["channel"].is_string()) {
        self->reject("slack request without a channel: " + req.body.substr(0, 200));
        res.set_content(R"({"ok":false,"error":"channel_not_found"})", "application/json");
        return;
      }
      std::string channel = body["channel"];
      if (!channel.empty() && channel[0] == '#') channel.erase(0, 1);
      std::string ts;
      if (kind == Arrival::Kind::kSlackUpdate) {
        ts = body.value("ts", "");
      } else {
        std::lock_guard lock(self->mu_);
        ts = std::to_string(self->next_ts_++) + ".000100";
      }
      self->record({.kind = kind, .key = channel, .alerts = 0, .at = at});
      res.set_content(json{{"ok", true}, {"channel", channel}, {"ts", ts}}.dump(),
                      "application/json");
    };
  };
  r->server_->Post("/api/chat.postMessage", slack(Arrival::Kind::kSlackPost));
  r->server_->Post("/api/chat.update", slack(Arrival::Kind::kSlackUpdate));
  r->server_->Post("/alertmanager", [self](const httplib::Request& req, httplib::Response& res) {
    const auto at = std::chrono::steady_clock::now();
    auto body = json::parse(req.body, nullptr, false);
    const json* service = nullptr;
    if (!body.is_discarded() && body.contains("groupLabels")) {
      service = &body["groupLabels"]["service"];
    }
    if (!service || !service->is_string() || !body["alerts"].is_array()) {
      self->reject("alertmanager notification without groupLabels.service or alerts");
      res.status = 400;
      return;
    }
    size_t firing = 0;
    for (const auto& a : body["alerts"]) firing += a.value("status", "") == "firing" ? 1 : 0;
    self->record({.kind = Arrival::Kind::kAlertmanager,
                  .key = service->get<std::string>(),
                  .alerts = firing,
                  .at = at});
    res.status = 200;
  });
  r->port_ = r->server_->bind_to_any_port("127.0.0.1");
  if (r->port_ <= 0) return Status::error("receiver", "cannot bind a port on 127.0.0.1");
  r->thread_ = std::thread([self] { self->server_->listen_after_bind(); });
  for (int i = 0; i < 5000 && !r->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!r->server_->is_running()) return Status::error("receiver", "did not start");
  return r;
}

std::string NotifyReceiver::slack_base_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/api/";
}

std::string NotifyReceiver::alertmanager_url() const {
  return "http://127.0.0.1:" + std::to_string(port_) + "/alertmanager";
}

void NotifyReceiver::record(Arrival a) {
  {
    std::lock_guard lock(mu_);
    arrivals_.push_back(std::move(a));
  }
  arrived_.notify_all();
}

void NotifyReceiver::reject(std::string why) {
  std::lock_guard lock(mu_);
  if (rejected_++ == 0) first_rejection_ = std::move(why);
}

std::optional<SteadyTime> NotifyReceiver::wait_for(Arrival::Kind kind, const std::string& key,
                                                   SteadyTime since, size_t min_alerts,
                                                   SteadyTime deadline) {
  std::unique_lock lock(mu_);
  std::optional<SteadyTime> found;
  arrived_.wait_until(lock, deadline, [&] {
    for (const auto& a : arrivals_) {
      if (a.kind == kind && a.key == key && a.at >= since && a.alerts >= min_alerts) {
        found = a.at;
        return true;
      }
    }
    return false;
  });
  return found;
}

void NotifyReceiver::clear() {
  std::lock_guard lock(mu_);
  arrivals_.clear();
}

size_t NotifyReceiver::rejected() const {
  std::lock_guard lock(mu_);
  return rejected_;
}

std::string NotifyReceiver::first_rejection() const {
  std::lock_guard lock(mu_);
  return first_rejection_;
}

}  // namespace reflex::bench
