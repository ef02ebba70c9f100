#include "bench/agent_footprint_targets.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <httplib.h>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <thread>

namespace reflex::bench {
namespace {

Status socket_error(const std::string& what) {
  return Status::error("io", what + ": " + std::strerror(errno));
}

// A socket bound to 127.0.0.1:`port` (0: any), and the port it got.
Result<std::pair<int, int>> bind_loopback(int type, int port = 0) {
  const int fd = ::socket(AF_INET, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return socket_error("socket");
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  socklen_t len = sizeof addr;
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
    const Status st = socket_error("bind 127.0.0.1:" + std::to_string(port));
    ::close(fd);
    return st;
  }
  return std::make_pair(fd, static_cast<int>(ntohs(addr.sin_port)));
}

constexpr size_t kWorkers = 64;

}  // namespace

HttpTarget::HttpTarget() : server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<HttpTarget>> HttpTarget::start() {
  std::unique_ptr<HttpTarget> t(new HttpTarget());
  // A worker per connection: the 30 HTTP checks keep theirs alive, and with httplib's
  // default of 8 workers the others would queue and the checks would measure the queue.
  t->server_->new_task_queue = [] { return new httplib::ThreadPool(kWorkers); };
  t->server_->set_keep_alive_max_count(100);
  t->server_->Get(R"(/.*)", [raw = t.get()](const httplib::Request&, httplib::Response& res) {
    raw->requests_.fetch_add(1);
    res.set_content("ok\n", "text/plain");
  });
  t->port_ = t->server_->bind_to_any_port("127.0.0.1");
  if (t->port_ <= 0) return Status::error("io", "HTTP target: cannot bind 127.0.0.1");
  t->thread_ = std::thread([raw = t.get()] { raw->server_->listen_after_bind(); });
  // stop() before the server runs would be lost, and the thread never joined.
  for (int i = 0; i < 5000 && !t->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!t->server_->is_running()) return Status::error("io", "HTTP target: did not start");
  return t;
}

HttpTarget::~HttpTarget() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

Result<std::unique_ptr<TcpListener>> TcpListener::start() {
  auto bound = bind_loopback(SOCK_STREAM);
  if (!bound) return bound.status();
  const auto [fd, port] = *bound;
  if (::listen(fd, 128) != 0) {
    const Status st = socket_error("listen");
    ::close(fd);
    return st;
  }
  std::unique_ptr<TcpListener> l(new TcpListener(fd, port));
  l->thread_ = std::thread([raw = l.get()] { raw->run(); });
  return l;
}

void TcpListener::run() {
  while (!stopping_.load()) {
    pollfd p{fd_, POLLIN, 0};
    // Wakes up now and then to notice stopping_.
    if (::poll(&p, 1, 100) <= 0) continue;
    const int conn = ::accept4(fd_, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    connections_.fetch_add(1);
    ::close(conn);
  }
}

TcpListener::~TcpListener() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

Result<int> free_port(bool udp) {
  auto bound = bind_loopback(udp ? SOCK_DGRAM : SOCK_STREAM);
  if (!bound) return bound.status();
  ::close(bound->first);
  return bound->second;
}

Result<int> free_tcp_port_in(int lo, int hi) {
  // Start somewhere in the range, so parallel runs rarely try the same ports first.
  const int span = hi - lo + 1;
  const int offset = static_cast<int>(::getpid() % span);
  for (int i = 0; i < span; ++i) {
    const int port = lo + (offset + i) % span;
    auto bound = bind_loopback(SOCK_STREAM, port);
    if (!bound) continue;
    ::close(bound->first);
    return port;
  }
  return Status::error(
      "io", "no free TCP port on 127.0.0.1 in " + std::to_string(lo) + "-" + std::to_string(hi));
}

}  // namespace reflex::bench
