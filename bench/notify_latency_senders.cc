#include "bench/notify_latency_senders.h"

#include <httplib.h>

#include <chrono>
#include <nlohmann/json.hpp>
#include <zmq.hpp>

#include "protocol/codec.h"

namespace reflex::bench {
namespace {

using nlohmann::json;

std::string rfc3339(std::chrono::system_clock::time_point t) {
  const std::time_t secs = std::chrono::system_clock::to_time_t(t);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

uint64_t wall_ms() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::milliseconds>(
                                   std::chrono::system_clock::now().time_since_epoch())
                                   .count());
}

}  // namespace

AlertPoster::AlertPoster(int http_port)
    : client_(std::make_unique<httplib::Client>("127.0.0.1", http_port)) {
  client_->set_keep_alive(true);
  client_->set_tcp_nodelay(true);
  client_->set_read_timeout(10);
}

AlertPoster::~AlertPoster() = default;

Status AlertPoster::post(const std::string& service, const std::string& instance) {
  const auto now = std::chrono::system_clock::now();
  const json body = json::array({{
      {"labels",
       {{"alertname", "HighErrorRate"},
        {"service", service},
        {"env", "bench"},
        {"severity", "high"},
        {"instance", instance}}},
      {"annotations", {{"summary", "5xx above 5% on " + instance}}},
      {"startsAt", rfc3339(now)},
      {"endsAt", rfc3339(now + std::chrono::hours(1))},
      {"generatorURL", "http://prometheus.bench:9090/graph?g0.expr=errors"},
  }});
  auto res = client_->Post("/api/v2/alerts", body.dump(), "application/json");
  if (!res) return Status::error("post", "request failed: " + httplib::to_string(res.error()));
  if (res->status != 200) {
    return Status::error("post", "answered " + std::to_string(res->status) + ": " + res->body);
  }
  return Status::ok();
}

struct BenchAgent::Socket {
  zmq::context_t ctx{1};
  zmq::socket_t socket{ctx, zmq::socket_type::dealer};
};

BenchAgent::BenchAgent(std::unique_ptr<Socket> socket, std::string id)
    : socket_(std::move(socket)), id_(std::move(id)) {}

BenchAgent::~BenchAgent() = default;

Result<std::unique_ptr<BenchAgent>> BenchAgent::connect(const std::string& endpoint,
                                                        const std::string& id,
                                                        const std::string& hostname) {
  auto socket = std::make_unique<Socket>();
  socket->socket.set(zmq::sockopt::linger, 0);
  socket->socket.set(zmq::sockopt::rcvtimeo, 100);
  socket->socket.connect(endpoint);
  std::unique_ptr<BenchAgent> agent(new BenchAgent(std::move(socket), id));

  protocol::Hello hello;
  hello.hostname = hostname;
  hello.agent_version = "bench";
  hello.labels = {{"env", "bench"}};
  hello.heartbeat_ms = 3'600'000;  // never taken for lost during a run
  protocol::Envelope env{.version = 1, .agent_id = id, .seq = 0, .ts_ms = wall_ms(), .body = hello};
  REFLEX_RETURN_IF_ERROR(agent->send(0, protocol::encode(env)));
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (std::chrono::steady_clock::now() < deadline) {
    zmq::message_t msg;
    if (!agent->socket_->socket.recv(msg)) continue;
    auto answer = protocol::decode(msg.to_string_view());
    if (!answer) continue;
    if (const auto* ack = std::get_if<protocol::Ack>(&answer->body); ack && ack->proto != 0) {
      return agent;
    }
    if (const auto* err = std::get_if<protocol::Error>(&answer->body)) {
      return Status::error("agent", "hub refused hello: " + err->code + ": " + err->message);
    }
  }
  return Status::error("agent", "no answer to hello from " + endpoint + " within 10 s");
}

Status BenchAgent::alert(const std::string& service) {
  drain();
  protocol::Alert a;
  a.rule = "HighErrorRate";
  a.fingerprint = "bench-" + service;
  a.state = protocol::AlertState::kFiring;
  a.severity = protocol::Severity::kHigh;
  a.labels = {{"service", service}};
  ++seq_;
  protocol::Envelope env{.version = 1, .agent_id = id_, .seq = seq_, .ts_ms = wall_ms(), .body = a};
  return send(seq_, protocol::encode(env));
}

Status BenchAgent::send(uint64_t seq, const std::string& frame) {
  if (!socket_->socket.send(zmq::buffer(frame), zmq::send_flags::dontwait)) {
    return Status::error("agent", "event " + std::to_string(seq) + " not sent: queue full");
  }
  return Status::ok();
}

void BenchAgent::drain() {
  zmq::message_t msg;
  while (socket_->socket.recv(msg, zmq::recv_flags::dontwait)) {
  }
}

}  // namespace reflex::bench
