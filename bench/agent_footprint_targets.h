// What the agent's checks probe during the footprint benchmark: an HTTP server and a TCP
// listener on 127.0.0.1, each on a thread of the benchmark, each counting what it served
// so the report can show that the checks really ran. Both stop (and join their threads)
// on destruction; counts may be read from any thread.
#pragma once

#include <atomic>
#include <memory>
#include <thread>

#include "common/status.h"

namespace httplib {
class Server;
}

namespace reflex::bench {

// Answers every GET with 200 "ok" at once.
class HttpTarget {
 public:
  static Result<std::unique_ptr<HttpTarget>> start();
  ~HttpTarget();
  HttpTarget(const HttpTarget&) = delete;
  HttpTarget& operator=(const HttpTarget&) = delete;

  int port() const { return port_; }
  uint64_t requests() const { return requests_.load(); }

 private:
  HttpTarget();
  std::unique_ptr<httplib::Server> server_;
  std::thread thread_;
  std::atomic<uint64_t> requests_{0};
  int port_ = 0;
};

// Accepts connections and closes them at once.
class TcpListener {
 public:
  static Result<std::unique_ptr<TcpListener>> start();
  ~TcpListener();
  TcpListener(const TcpListener&) = delete;
  TcpListener& operator=(const TcpListener&) = delete;

  int port() const { return port_; }
  uint64_t connections() const { return connections_.load(); }

 private:
  TcpListener(int fd, int port) : fd_(fd), port_(port) {}
  void run();

  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stopping_{false};
  std::atomic<uint64_t> connections_{0};
  std::thread thread_;
};

// A port on 127.0.0.1 that was free a moment ago (bound to 0, read back, closed), for a
// program that must be told its port in its configuration. `udp` for a UDP port.
Result<int> free_port(bool udp);
// The same for TCP, within [lo, hi], for programs that refuse ephemeral ports
// (zabbix_agentd's ListenPort must be 1024-32767).
Result<int> free_tcp_port_in(int lo, int hi);

}  // namespace reflex::bench
