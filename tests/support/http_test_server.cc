#include "tests/support/http_test_server.h"

#include <stdexcept>

#include "tests/support/process.h"

namespace reflex::testing {

HttpTestServer::HttpTestServer(const std::function<void(httplib::Server&)>& routes,
                               int worker_threads) {
  server_.new_task_queue = [worker_threads] {
    return new httplib::ThreadPool(static_cast<size_t>(worker_threads));
  };
  server_.set_keep_alive_max_count(1);
  routes(server_);
  port_ = server_.bind_to_any_port("127.0.0.1");
  if (port_ <= 0) throw std::runtime_error("HttpTestServer: cannot bind 127.0.0.1");
  thread_ = std::thread([this] { server_.listen_after_bind(); });
  if (!wait_until([this] { return server_.is_running(); })) {
    throw std::runtime_error("HttpTestServer: did not start");
  }
}

HttpTestServer::~HttpTestServer() {
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  cv_.notify_all();
  server_.stop();
  thread_.join();
}

std::string HttpTestServer::url(const std::string& path) const {
  return "http://127.0.0.1:" + std::to_string(port_) + path;
}

void HttpTestServer::sleep_unless_stopping(std::chrono::milliseconds d) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, d, [this] { return stopping_; });
}

}  // namespace reflex::testing
