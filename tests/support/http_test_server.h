// Test support: a real HTTP server (cpp-httplib) on 127.0.0.1 and a free port, serving
// on its own threads the routes a test gives it.
#pragma once

#include <httplib.h>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace reflex::testing {

class HttpTestServer {
 public:
  // `routes` registers the handlers (svr.Get(...)) before the server starts listening;
  // the constructor returns once it accepts connections. Each connection serves one
  // request, so many concurrent clients never wait on keep-alive workers.
  explicit HttpTestServer(const std::function<void(httplib::Server&)>& routes,
                          int worker_threads = 64);
  // Wakes every handler in sleep_unless_stopping(), stops the server and joins it.
  ~HttpTestServer();
  HttpTestServer(const HttpTestServer&) = delete;
  HttpTestServer& operator=(const HttpTestServer&) = delete;

  int port() const { return port_; }
  // "http://127.0.0.1:<port><path>"
  std::string url(const std::string& path) const;

  // For handlers: sleeps for `d`, or less when the server is being stopped, so a test
  // that times a request out does not wait for the handler on its way out.
  void sleep_unless_stopping(std::chrono::milliseconds d);

 private:
  httplib::Server server_;
  int port_ = 0;
  std::thread thread_;
  std::mutex mu_;
  std::condition_variable cv_;
  bool stopping_ = false;
};

}  // namespace reflex::testing
