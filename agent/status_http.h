// The agent's local HTTP surface (cpp-httplib, one server thread): GET /status (JSON),
// GET /metrics (Prometheus text), GET /healthz, and the remediation controls
// POST /remediation/{pause,resume,reset}[?target=T] (no target: the whole host). The
// handlers take a snapshot (or apply a control) on the loop thread through the LoopDoor
// and render on the server thread.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <thread>

#include "agent/status_report.h"
#include "common/loop.h"
#include "common/status.h"

namespace httplib {
class Server;
}

namespace reflex::agent {

class StatusHttp {
 public:
  // Applies "pause", "resume" or "reset" to a target ("" = host); runs on the loop thread.
  using Control = std::function<void(const std::string& verb, const std::string& target)>;

  // `snapshot` and `control` run on the loop thread. `door` must outlive this.
  StatusHttp(LoopDoor& door, std::function<AgentSnapshot()> snapshot, Control control);
  ~StatusHttp();

  // Binds host:port (port 0: any free one) and starts serving.
  Status listen(const std::string& host_port);
  int port() const { return port_; }
  void stop();

 private:
  LoopDoor& door_;
  std::function<AgentSnapshot()> snapshot_;
  Control control_;
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  int port_ = 0;
};

}  // namespace reflex::agent
