// The hub's HTTP API (cpp-httplib on its own threads). Handlers never touch loop state
// directly: they hand work to the loop through the LoopDoor and wait for the answer.
//
//   GET /healthz          200 "ok" while the loop answers, 503 otherwise
//   GET /api/v1/agents    every agent as JSON
//   GET /api/v1/whoami    {"name", "role", "open"}: the caller's token (open: no tokens)
//   /api/v1/incidents...  and /api/v1/alerts: see incident_api.h
//   GET /metrics          the hub's own health, Prometheus text format
// Errors are JSON: {"error": {"code": "...", "message": "..."}}.
#pragma once

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <thread>

#include "common/clock.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "common/status.h"
#include "hub/agents.h"
#include "hub/api_auth.h"
#include "hub/incident_api.h"

namespace httplib {
class Server;
struct Response;
}  // namespace httplib

namespace reflex::hub {

class HttpApi {
 public:
  // `registry` is read on the loop thread only (through `door`); `submit` runs there
  // too. All must outlive this.
  HttpApi(LoopDoor& door, const Clock& clock, const AgentRegistry& registry,
          const metrics::Registry& metrics, HubReader& reader, SubmitAction submit);
  ~HttpApi();

  // Binds host:port (port 0 = any free port) and starts serving.
  Status listen(const std::string& host_port);
  int port() const { return port_; }
  // Lets another module add its routes (e.g. SilenceApi::add_routes); before listen().
  void add_routes(const std::function<void(httplib::Server&)>& add);
  // Bearer tokens: every request passes through it before routing (see api_auth.h).
  ApiAuth& auth() { return auth_; }
  // Stops accepting, finishes requests in progress, joins the server thread.
  void stop();

  // Before listen(): how many requests are served at once (each connection holds a
  // worker while it is open; a write holds it until its commit). Also keeps connections
  // open for many requests and sends answers without delay (TCP_NODELAY).
  void set_threads(size_t n);

 private:
  void routes();

  LoopDoor& door_;
  const Clock& clock_;
  const AgentRegistry& registry_;
  const metrics::Registry& metrics_;
  IncidentApi incidents_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
  ApiAuth auth_;  // joined server thread first (stop()), so it outlives every request
};

// Answers `http_status` with the JSON error body.
void json_error(httplib::Response& res, int http_status, const std::string& code,
                const std::string& message);

// The JSON document GET /api/v1/agents returns.
std::string agents_json(const std::vector<AgentRecord>& agents, int64_t now_ms);
// GET /api/v1/agents/{id}: the agent and its last `metrics` summary (when one arrived
// since the hub started); none when no agent has that id.
std::optional<std::string> agent_detail_json(const AgentRegistry& registry, const std::string& id,
                                             int64_t now_ms);

}  // namespace reflex::hub
