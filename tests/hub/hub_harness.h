// Test support for the hub as a library: a real Hub on its own loop thread (real store,
// real sockets on loopback), a stand-in agent speaking the wire protocol over ZeroMQ,
// and a small JSON client for the hub's HTTP API.
#pragma once

#include <httplib.h>

#include <catch2/catch.hpp>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <thread>
#include <zmq.hpp>

#include "common/clock.h"
#include "common/loop.h"
#include "hub/hub.h"
#include "protocol/codec.h"
#include "tests/support/process.h"

namespace reflex::hub::testing {

// A Hub on loopback with its store in a temp directory, its loop on a thread of its own.
class RunningHub {
 public:
  explicit RunningHub(IncidentsConfig incidents = {}) {
    HubConfig cfg;
    cfg.listen = "tcp://127.0.0.1:0";
    cfg.http = "127.0.0.1:0";
    cfg.store.path = dir_.file("hub.db");
    cfg.incidents = std::move(incidents);
    hub_ = std::make_unique<Hub>(loop_, clock_, timers_);
    const Status st = hub_->start(cfg);
    INFO(st.to_string());
    REQUIRE(st);
    thread_ = std::thread([this] { loop_.run(); });
  }
  // A hub on the same defaults whose config `adjust` completes (suppression keys, ...).
  explicit RunningHub(const std::function<void(HubConfig&)>& adjust) {
    HubConfig cfg;
    cfg.listen = "tcp://127.0.0.1:0";
    cfg.http = "127.0.0.1:0";
    cfg.store.path = dir_.file("hub.db");
    adjust(cfg);
    hub_ = std::make_unique<Hub>(loop_, clock_, timers_);
    const Status st = hub_->start(cfg);
    INFO(st.to_string());
    REQUIRE(st);
    thread_ = std::thread([this] { loop_.run(); });
  }
  ~RunningHub() {
    door_.post([this] {
      hub_->stop();
      loop_.stop();
    });
    thread_.join();
    hub_.reset();
  }
  RunningHub(const RunningHub&) = delete;
  RunningHub& operator=(const RunningHub&) = delete;

  std::string endpoint() const { return hub_->ingest_endpoint(); }
  int http_port() const { return hub_->http_port(); }
  std::string store_path() const { return dir_.file("hub.db"); }

 private:
  reflex::testing::TempDir dir_;
  EventLoop loop_;
  SystemClock clock_;
  UvTimers timers_{loop_};
  LoopDoor door_{loop_};
  std::unique_ptr<Hub> hub_;
  std::thread thread_;
};

// An agent as the hub sees it: a DEALER that says hello and sends sequenced events.
class StandInAgent {
 public:
  StandInAgent(const std::string& endpoint, std::string id, std::string host)
      : id_(std::move(id)), host_(std::move(host)), socket_(ctx_, zmq::socket_type::dealer) {
    socket_.set(zmq::sockopt::linger, 0);
    socket_.set(zmq::sockopt::rcvtimeo, 200);
    socket_.connect(endpoint);
  }

  // Says hello with labels service=checkout, env=prod; waits for the hub's answer and
  // returns the mark it says to resume after.
  uint64_t hello() {
    hello_answered_ = false;
    protocol::Hello h;
    h.hostname = host_;
    h.agent_version = "test";
    h.labels = {{"service", "checkout"}, {"env", "prod"}};
    h.heartbeat_ms = 3'600'000;  // never lost during a test
    send(0, h);
    REQUIRE(wait_ack(0));
    return resume_after_;
  }
  void alert(uint64_t seq, const std::string& fingerprint, protocol::AlertState state,
             protocol::Labels annotations = {}) {
    protocol::Alert a;
    a.rule = "HighErrorRate";
    a.fingerprint = fingerprint;
    a.state = state;
    a.severity = protocol::Severity::kHigh;
    a.labels = {{"series", "web"}};
    a.annotations = std::move(annotations);
    send(seq, a);
  }
  void remediation(
      uint64_t seq, const std::string& fingerprint, const std::string& action,
      protocol::RemediationOutcome outcome = protocol::RemediationOutcome::kSucceeded) {
    protocol::Remediation r;
    r.rule = "HighErrorRate";
    r.alert_fingerprint = fingerprint;
    r.action = action;
    r.outcome = outcome;
    r.attempt = 1;
    send(seq, r);
  }
  // Waits (up to `timeout`) for an ack that covers `seq` (UINT64_MAX: for a command);
  // commands read meanwhile are kept for wait_command().
  bool wait_ack(uint64_t seq, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    return read_until(
        [&] {
          if (seq == UINT64_MAX) return !commands_.empty();
          return seq == 0 ? hello_answered_ : acked_ >= seq;
        },
        timeout);
  }
  uint64_t acked() const { return acked_; }
  // The code the hub refused the frame `seq` with; empty when it did not (within `timeout`).
  std::string refusal(uint64_t seq, std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    read_until([&] { return refused_.contains(seq); }, timeout);
    auto it = refused_.find(seq);
    return it == refused_.end() ? "" : it->second;
  }
  // The next command from the hub (frames read meanwhile are taken as wait_ack does);
  // nullopt when none comes within `timeout`.
  std::optional<protocol::Command> wait_command(
      std::chrono::milliseconds timeout = std::chrono::seconds(10)) {
    if (commands_.empty()) wait_ack(UINT64_MAX, timeout);
    if (commands_.empty()) return std::nullopt;
    protocol::Command c = commands_.front();
    commands_.pop_front();
    return c;
  }
  void metrics(uint64_t seq, std::vector<protocol::Sample> samples) {
    send(seq, protocol::Metrics{std::move(samples)});
  }
  void command_result(uint64_t seq, protocol::CommandResult result) {
    send(seq, std::move(result));
  }

 private:
  // Reads what the hub sends until `done` holds or `timeout` passes.
  bool read_until(const std::function<bool()>& done, std::chrono::milliseconds timeout) {
    return reflex::testing::wait_until(
        [&] {
          zmq::message_t msg;
          while (socket_.recv(msg, zmq::recv_flags::dontwait)) {
            auto env = protocol::decode(msg.to_string_view());
            if (!env) continue;
            if (const auto* ack = std::get_if<protocol::Ack>(&env->body)) {
              acked_ = std::max(acked_, ack->upto);
              if (ack->proto != 0) {
                hello_answered_ = true;
                resume_after_ = ack->upto;
              }
            }
            if (const auto* e = std::get_if<protocol::Error>(&env->body))
              refused_[e->seq] = e->code;
            if (const auto* c = std::get_if<protocol::Command>(&env->body)) commands_.push_back(*c);
          }
          return done();
        },
        timeout);
  }

  template <class Body>
  void send(uint64_t seq, Body body) {
    protocol::Envelope env;
    env.agent_id = id_;
    env.seq = seq;
    env.ts_ms = 1'700'000'000'000 + seq;
    env.body = std::move(body);
    const std::string frame = protocol::encode(env);
    socket_.send(zmq::buffer(frame), zmq::send_flags::none);
  }

  std::string id_;
  std::string host_;
  zmq::context_t ctx_{1};
  zmq::socket_t socket_;
  uint64_t acked_ = 0;
  bool hello_answered_ = false;
  uint64_t resume_after_ = 0;                // the mark of the last hello's answer
  std::map<uint64_t, std::string> refused_;  // seq -> the code of the hub's refusal
  std::deque<protocol::Command> commands_;   // received, not yet taken
};

// JSON over HTTP to the hub's API.
struct ApiAnswer {
  int status = 0;  // 0: no answer
  nlohmann::json body;
};

class Api {
 public:
  explicit Api(int port) : client_("127.0.0.1", port) {
    client_.set_read_timeout(20);
    client_.set_connection_timeout(2);
  }
  ApiAnswer get(const std::string& path) { return answer(client_.Get(path)); }
  ApiAnswer post(const std::string& path, const std::string& body) {
    return answer(client_.Post(path, body, "application/json"));
  }
  // Waits for an incident to exist; the newest one's id.
  uint64_t first_incident() {
    uint64_t id = 0;
    REQUIRE(reflex::testing::wait_until([&] {
      auto list = get("/api/v1/incidents");
      if (list.status != 200 || list.body["incidents"].empty()) return false;
      id = list.body["incidents"][0]["id"].get<uint64_t>();
      return true;
    }));
    return id;
  }
  nlohmann::json incident(uint64_t id) {
    auto a = get("/api/v1/incidents/" + std::to_string(id));
    REQUIRE(a.status == 200);
    return a.body;
  }
  // Waits for a step entry of incident `id` containing `text`; on failure the test shows
  // the step entries it saw.
  bool wait_step(uint64_t id, const std::string& text) {
    std::string seen;
    const bool found = reflex::testing::wait_until([&] {
      seen.clear();
      const nlohmann::json timeline = incident(id)["timeline"];
      for (const auto& e : timeline) {
        if (e["kind"] != "step") continue;
        const std::string t = e["text"];
        if (t.find(text) != std::string::npos) return true;
        seen += "\n  " + t;
      }
      return false;
    });
    if (!found) UNSCOPED_INFO("step entries:" << seen);
    return found;
  }
  // One sample of /metrics, 0 when absent.
  double metric(const std::string& sample) {
    auto res = client_.Get("/metrics");
    if (!res) return 0;
    const auto pos = res->body.find("\n" + sample + " ");
    return pos == std::string::npos ? 0 : std::stod(res->body.substr(pos + sample.size() + 2));
  }

 private:
  static ApiAnswer answer(const httplib::Result& res) {
    if (!res) return {};
    return {res->status, nlohmann::json::parse(res->body, nullptr, false)};
  }
  httplib::Client client_;
};

// Whether an incident document (GET /api/v1/incidents/{id}) has a step entry containing
// `text`.
inline bool has_step_entry(const nlohmann::json& incident, const std::string& text) {
  for (const auto& e : incident["timeline"]) {
    if (e["kind"] == "step" && e["text"].get<std::string>().find(text) != std::string::npos) {
      return true;
    }
  }
  return false;
}

}  // namespace reflex::hub::testing
