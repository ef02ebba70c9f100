#include "agent/checks/tcp_check.h"

#include <uv.h>

#include <algorithm>
#include <cstdio>
#include <cstring>
#include <vector>

namespace reflex::agent {
namespace {

constexpr size_t kMaxReceived = 64 * 1024;  // give up looking for `expect` after this
constexpr size_t kShownBytes = 64;          // of what was received, in messages

std::string format_ms(double ms) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", ms);
  return buf;
}

// `s` quoted for a message: control bytes escaped, cut after kShownBytes.
std::string shown(const std::string& s) {
  std::string out = "\"";
  for (size_t i = 0; i < s.size() && i < kShownBytes; ++i) {
    const auto c = static_cast<unsigned char>(s[i]);
    if (c == '\r') {
      out += "\\r";
    } else if (c == '\n') {
      out += "\\n";
    } else if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 32 || c >= 127) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "\\x%02x", c);
      out += hex;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + (s.size() > kShownBytes ? "\"..." : "\"");
}

CheckResult critical(std::string message) {
  CheckResult r;
  r.state = CheckState::kCritical;
  r.message = std::move(message);
  return r;
}

// One run: owns its libuv handles and requests and frees itself once libuv has let go
// of all of them, which may be after the check (and its run) is gone.
class Probe {
 public:
  Probe(EventLoop& loop, Timers& timers, const TcpCheckConfig& config, Millis timeout,
        std::function<void(CheckResult)> done)
      : loop_(loop), timers_(timers), config_(config), timeout_(timeout), done_(std::move(done)) {
    gai_req_.data = this;
    connect_req_.data = this;
    write_req_.data = this;
  }

  void start() {
    start_ns_ = uv_hrtime();  // a real probe's latency: measured, not a decision input
    timeout_timer_ = timers_.start(timeout_, Millis(0), [this] {
      timeout_timer_ = 0;
      on_timeout();
    });
    sockaddr_storage addr{};
    if (uv_ip4_addr(config_.host.c_str(), config_.port, reinterpret_cast<sockaddr_in*>(&addr)) ==
            0 ||
        uv_ip6_addr(config_.host.c_str(), config_.port, reinterpret_cast<sockaddr_in6*>(&addr)) ==
            0) {
      addrs_.push_back(addr);
      connect_next();
      return;
    }
    addrinfo hints{};
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    const std::string port = std::to_string(config_.port);
    const int rc = uv_getaddrinfo(loop_.raw(), &gai_req_, &Probe::on_resolved, config_.host.c_str(),
                                  port.c_str(), &hints);
    if (rc < 0) {
      fail_soon("cannot resolve " + config_.host + ": " + uv_strerror(rc));
    } else {
      resolving_ = true;
    }
  }

  // Ends the run without calling back; the probe frees itself when libuv lets go.
  void abandon() {
    done_ = nullptr;
    finish(CheckResult{});
  }

 private:
  double ms_since_start() const { return static_cast<double>(uv_hrtime() - start_ns_) / 1e6; }

  void connect_next() {
    if (next_addr_ >= addrs_.size()) {
      fail_soon(last_error_ == UV_ECONNREFUSED
                    ? "connection refused"
                    : "cannot connect to " + config_.host + ":" + std::to_string(config_.port) +
                          ": " + uv_strerror(last_error_));
      return;
    }
    const sockaddr_storage& addr = addrs_[next_addr_++];
    tcp_ = new uv_tcp_t;
    uv_tcp_init(loop_.raw(), tcp_);
    tcp_->data = this;
    ++open_handles_;
    const int rc = uv_tcp_connect(&connect_req_, tcp_, reinterpret_cast<const sockaddr*>(&addr),
                                  &Probe::on_connect);
    if (rc < 0) connect_failed(rc);
  }

  void connect_failed(int rc) {
    last_error_ = rc;
    close_tcp();
    connect_next();  // the next resolved address, if any
  }

  static void on_resolved(uv_getaddrinfo_t* req, int status, addrinfo* res) {
    auto* self = static_cast<Probe*>(req->data);
    self->resolving_ = false;
    if (self->finished_) {
      uv_freeaddrinfo(res);
      self->release_if_idle();
      return;
    }
    if (status < 0) {
      uv_freeaddrinfo(res);
      self->finish(critical("cannot resolve " + self->config_.host + ": " + uv_strerror(status)));
      return;
    }
    for (addrinfo* a = res; a != nullptr; a = a->ai_next) {
      sockaddr_storage addr{};
      std::memcpy(&addr, a->ai_addr, std::min<size_t>(a->ai_addrlen, sizeof addr));
      self->addrs_.push_back(addr);
    }
    uv_freeaddrinfo(res);
    self->last_error_ = UV_EADDRNOTAVAIL;  // reported if the name had no address at all
    self->connect_next();
  }

  static void on_connect(uv_connect_t* req, int status) {
    auto* self = static_cast<Probe*>(req->data);
    if (self->finished_) return;  // cancelled by close; the close callback releases
    if (status < 0) {
      self->connect_failed(status);
      return;
    }
    self->connect_ms_ = self->ms_since_start();
    auto* stream = reinterpret_cast<uv_stream_t*>(self->tcp_);
    if (!self->config_.send.empty()) {
      uv_buf_t buf =
          uv_buf_init(self->config_.send.data(), static_cast<unsigned>(self->config_.send.size()));
      if (const int rc = uv_write(&self->write_req_, stream, &buf, 1, &Probe::on_write); rc < 0) {
        self->finish(critical(std::string("send failed: ") + uv_strerror(rc)));
        return;
      }
    }
    if (!self->config_.expect.empty()) {
      if (const int rc = uv_read_start(stream, &Probe::on_alloc, &Probe::on_read); rc < 0) {
        self->finish(critical(std::string("read failed: ") + uv_strerror(rc)));
      }
    } else if (self->config_.send.empty()) {
      self->succeed();
    }
  }

  static void on_write(uv_write_t* req, int status) {
    auto* self = static_cast<Probe*>(req->data);
    if (self->finished_) return;
    if (status < 0) {
      self->finish(critical(std::string("send failed: ") + uv_strerror(status)));
    } else if (self->config_.expect.empty()) {
      self->succeed();
    }
  }

  static void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* self = static_cast<Probe*>(handle->data);
    *buf = uv_buf_init(self->read_buf_, sizeof self->read_buf_);
  }

  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* self = static_cast<Probe*>(stream->data);
    if (self->finished_) return;
    const std::string& expect = self->config_.expect;
    if (nread > 0) {
      const size_t before = self->received_.size();
      self->received_.append(buf->base, static_cast<size_t>(nread));
      // Only where the new bytes could complete a match.
      const size_t from = before >= expect.size() ? before - expect.size() + 1 : 0;
      if (self->received_.find(expect, from) != std::string::npos) {
        self->succeed();
      } else if (self->received_.size() > kMaxReceived) {
        self->finish(critical("expected " + shown(expect) + ", got " + shown(self->received_)));
      }
    } else if (nread == UV_EOF) {
      self->finish(critical("expected " + shown(expect) + ", got " +
                            (self->received_.empty() ? std::string("nothing (connection closed)")
                                                     : shown(self->received_))));
    } else if (nread < 0) {
      self->finish(critical(std::string("read failed: ") + uv_strerror(static_cast<int>(nread))));
    }
  }

  void on_timeout() {
    std::string message = "timed out after " + std::to_string(timeout_.count()) + " ms";
    if (!config_.expect.empty() && !received_.empty()) {
      message += " waiting for " + shown(config_.expect) + ", got " + shown(received_);
    }
    CheckResult result = critical(std::move(message));
    result.timed_out = true;
    finish(std::move(result));
  }

  void succeed() {
    CheckResult r;
    r.state = CheckState::kOk;
    r.latency_ms = connect_ms_;
    r.message = "connected in " + format_ms(connect_ms_) + " ms";
    if (!config_.expect.empty()) {
      const double response_ms = ms_since_start();
      r.perf.push_back({"response", response_ms, "ms", {}});
      r.message += ", " + shown(config_.expect) + " after " + format_ms(response_ms) + " ms";
    }
    finish(std::move(r));
  }

  void fail_soon(std::string message) {
    // Never call back from inside run(): a turn later, through the timers.
    deferred_timer_ = timers_.start(Millis(0), Millis(0), [this, message] {
      deferred_timer_ = 0;
      finish(critical(message));
    });
  }

  void finish(CheckResult result) {
    if (finished_) return;
    finished_ = true;
    timers_.cancel(timeout_timer_);
    timers_.cancel(deferred_timer_);
    close_tcp();
    if (resolving_) uv_cancel(reinterpret_cast<uv_req_t*>(&gai_req_));  // may be too late
    auto done = std::move(done_);
    done_ = nullptr;
    if (done) done(std::move(result));
    release_if_idle();  // may delete this
  }

  void close_tcp() {
    if (tcp_ == nullptr) return;
    // Pending connect/write requests are called back (ECANCELED) before the close
    // callback, so the probe outlives them.
    uv_close(reinterpret_cast<uv_handle_t*>(tcp_), [](uv_handle_t* h) {
      auto* self = static_cast<Probe*>(h->data);
      delete reinterpret_cast<uv_tcp_t*>(h);
      --self->open_handles_;
      self->release_if_idle();
    });
    tcp_ = nullptr;
  }

  void release_if_idle() {
    if (finished_ && open_handles_ == 0 && !resolving_) delete this;
  }

  EventLoop& loop_;
  Timers& timers_;
  TcpCheckConfig config_;
  Millis timeout_;
  std::function<void(CheckResult)> done_;

  uint64_t start_ns_ = 0;
  double connect_ms_ = 0;
  TimerId timeout_timer_ = 0;
  TimerId deferred_timer_ = 0;
  bool finished_ = false;
  bool resolving_ = false;
  int open_handles_ = 0;
  int last_error_ = 0;
  std::vector<sockaddr_storage> addrs_;
  size_t next_addr_ = 0;
  uv_getaddrinfo_t gai_req_{};
  uv_tcp_t* tcp_ = nullptr;  // the current connection attempt; freed in its close callback
  uv_connect_t connect_req_{};
  uv_write_t write_req_{};
  char read_buf_[4096];
  std::string received_;
};

class TcpCheck final : public PeriodicCheck {
 public:
  TcpCheck(CheckSpec spec, TcpCheckConfig config, EventLoop& loop, Timers& timers)
      : spec_(std::move(spec)), config_(std::move(config)), loop_(loop), timers_(timers) {}
  ~TcpCheck() override {
    if (probe_ != nullptr) probe_->abandon();
  }

  const CheckSpec& spec() const override { return spec_; }

  void run(std::function<void(CheckResult)> done) override {
    probe_ = new Probe(loop_, timers_, config_, spec_.timeout, [this, done](CheckResult r) {
      probe_ = nullptr;  // the probe frees itself
      done(std::move(r));
    });
    probe_->start();
  }

 private:
  CheckSpec spec_;
  TcpCheckConfig config_;
  EventLoop& loop_;
  Timers& timers_;
  Probe* probe_ = nullptr;  // the run in flight
};

}  // namespace

void read_tcp_check(config::MapReader& r, TcpCheckConfig& out) {
  r.get("host", out.host);
  if (out.host.empty()) r.errors().add(r.take("host"), r.path_of("host"), "must not be empty");
  r.require("port");
  int64_t port = out.port;
  r.get("port", port, 1, 65535);
  out.port = static_cast<int>(port);
  r.get("send", out.send);
  r.get("expect", out.expect);
}

std::unique_ptr<PeriodicCheck> make_tcp_check(CheckSpec spec, TcpCheckConfig config,
                                              EventLoop& loop, Timers& timers) {
  return std::make_unique<TcpCheck>(std::move(spec), std::move(config), loop, timers);
}

}  // namespace reflex::agent
