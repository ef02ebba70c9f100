#include "agent/status_http.h"

#include <httplib.h>

#include "common/config.h"
#include "common/metrics.h"

namespace reflex::agent {
namespace {

constexpr auto kLoopAnswerTimeout = std::chrono::seconds(2);

}  // namespace

StatusHttp::StatusHttp(LoopDoor& door, std::function<AgentSnapshot()> snapshot, Control control)
    : door_(door),
      snapshot_(std::move(snapshot)),
      control_(std::move(control)),
      server_(std::make_unique<httplib::Server>()) {
  // One worker: this is a loopback status page, and every thread costs the host memory.
  server_->new_task_queue = [] { return new httplib::ThreadPool(1); };
  auto serve = [this](httplib::Response& res, auto render, const char* type) {
    auto snap = door_.call(snapshot_);
    if (snap.wait_for(kLoopAnswerTimeout) != std::future_status::ready) {
      res.status = 503;
      res.set_content("the agent's event loop did not answer in time\n", "text/plain");
      return;
    }
    res.set_content(render(snap.get()), type);
  };
  server_->Get("/status", [serve](const httplib::Request&, httplib::Response& res) {
    serve(res, status_json, "application/json");
  });
  server_->Get("/metrics", [serve](const httplib::Request&, httplib::Response& res) {
    serve(res, metrics_text, std::string(metrics::kContentType).c_str());
  });
  server_->Post(
      R"(/remediation/([a-z]+))", [this](const httplib::Request& req, httplib::Response& res) {
        const std::string verb = req.matches[1];
        if (verb != "pause" && verb != "resume" && verb != "reset") {
          res.status = 404;
          res.set_content("unknown control \"" + verb + "\" (known: pause, resume, reset)\n",
                          "text/plain");
          return;
        }
        const std::string target = req.get_param_value("target");
        auto done = door_.call([this, verb, target] {
          control_(verb, target);
          return true;
        });
        if (done.wait_for(kLoopAnswerTimeout) != std::future_status::ready) {
          res.status = 503;
          res.set_content("the agent's event loop did not answer in time\n", "text/plain");
          return;
        }
        const char* done_word = verb == "pause" ? "paused" : verb == "resume" ? "resumed" : "reset";
        res.set_content(std::string("remediation ") + done_word +
                            (target.empty() ? " on this host" : " for " + target) + "\n",
                        "text/plain");
      });
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    auto alive = door_.call([] { return true; });
    const bool ok = alive.wait_for(kLoopAnswerTimeout) == std::future_status::ready;
    res.status = ok ? 200 : 503;
    res.set_content(ok ? "ok\n" : "event loop not answering\n", "text/plain");
  });
}

StatusHttp::~StatusHttp() {
  stop();
}

Status StatusHttp::listen(const std::string& host_port) {
  std::string host;
  int port = 0;
  REFLEX_RETURN_IF_ERROR(config::parse_host_port(host_port, host, port));
  port_ =
      port == 0 ? server_->bind_to_any_port(host) : (server_->bind_to_port(host, port) ? port : -1);
  if (port_ <= 0) {
    return Status::error("io", "cannot listen for HTTP on " + host_port +
                                   " (status_http.listen; set status_http.enabled: false to "
                                   "run without it)");
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // A stop() before the accept loop runs would be lost and the join would hang.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) return Status::error("io", "the status HTTP server did not start");
  return Status::ok();
}

void StatusHttp::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace reflex::agent
