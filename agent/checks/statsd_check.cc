#include "agent/checks/statsd_check.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <unordered_map>
#include <unordered_set>

namespace reflex::agent {
namespace {

constexpr size_t kMaxDatagram = 64 * 1024;
constexpr size_t kMaxSetSize = 10'000;

// "127.0.0.1:8125" or "[::1]:8125" into a socket address.
Result<sockaddr_storage> parse_listen(const std::string& listen) {
  const auto bad = [&](const std::string& why) {
    return Status::error("config", "expected host:port like 127.0.0.1:8125 or [::1]:8125, got \"" +
                                       listen + "\" (" + why + ")");
  };
  std::string host;
  int port = 0;
  if (Status st = config::parse_host_port(listen, host, port); !st) return bad(st.message());
  sockaddr_storage addr{};
  if (host.find(':') != std::string::npos) {  // parse_host_port took off the brackets
    if (uv_ip6_addr(host.c_str(), port, reinterpret_cast<sockaddr_in6*>(&addr)) != 0) {
      return bad("not an IPv6 address");
    }
  } else if (uv_ip4_addr(host.c_str(), port, reinterpret_cast<sockaddr_in*>(&addr)) != 0) {
    return bad("not an IPv4 address");
  }
  return addr;
}

// What the check remembers about one series (a name plus its tag set).
struct Series {
  std::string name;  // "<check>.<metric>"
  Labels labels;     // the check's labels over the metric's tags
  std::optional<double> gauge;
  bool is_set = false;
  std::unordered_set<std::string> members;  // this flush interval's distinct set values
};

class StatsdCheckImpl final : public StatsdCheck {
 public:
  StatsdCheckImpl(CheckSpec spec, StatsdCheckConfig config, CheckContext& ctx)
      : spec_(std::move(spec)), config_(std::move(config)), ctx_(ctx) {
    status_.name = spec_.name;
    status_.type = spec_.type.empty() ? "statsd" : spec_.type;
  }
  ~StatsdCheckImpl() override { stop(); }

  const CheckSpec& spec() const override { return spec_; }
  const CheckStatus& status() const override { return status_; }
  int port() const override { return port_; }

  Status start() override {
    if (udp_ != nullptr) return Status::ok();
    auto addr = parse_listen(config_.listen);
    if (!addr) return addr.status().with_context("check " + spec_.name);
    udp_ = new uv_udp_t;
    uv_udp_init(ctx_.loop.raw(), udp_);
    udp_->data = this;
    int rc = uv_udp_bind(udp_, reinterpret_cast<const sockaddr*>(&*addr), 0);
    if (rc == 0)
      rc = uv_udp_recv_start(udp_, &StatsdCheckImpl::on_alloc, &StatsdCheckImpl::on_recv);
    if (rc != 0) {
      close_socket();
      return Status::error("io", "check " + spec_.name + ": cannot listen on " + config_.listen +
                                     ": " + uv_strerror(rc));
    }
    sockaddr_storage bound{};
    int len = sizeof(bound);
    if (uv_udp_getsockname(udp_, reinterpret_cast<sockaddr*>(&bound), &len) == 0) {
      port_ = ntohs(bound.ss_family == AF_INET6 ? reinterpret_cast<sockaddr_in6*>(&bound)->sin6_port
                                                : reinterpret_cast<sockaddr_in*>(&bound)->sin_port);
    }
    flush_timer_ =
        ctx_.timers.start(config_.flush_interval, config_.flush_interval, [this] { flush_sets(); });
    status_.last_state = CheckState::kOk;
    status_.last_message = "listening on " + config_.listen;
    return Status::ok();
  }

  void stop() override {
    ctx_.timers.cancel(flush_timer_);
    flush_timer_ = 0;
    close_socket();
  }

 private:
  void close_socket() {
    if (udp_ == nullptr) return;
    uv_udp_recv_stop(udp_);
    udp_->data = nullptr;
    close_and_delete(udp_);
    udp_ = nullptr;
    port_ = 0;
  }

  static void on_alloc(uv_handle_t* handle, size_t, uv_buf_t* buf) {
    auto* self = static_cast<StatsdCheckImpl*>(handle->data);
    if (self == nullptr) {
      *buf = uv_buf_init(nullptr, 0);
      return;
    }
    // One datagram at a time is delivered, so one buffer serves them all.
    *buf = uv_buf_init(self->buffer_, sizeof(self->buffer_));
  }

  static void on_recv(uv_udp_t* handle, ssize_t nread, const uv_buf_t* buf, const sockaddr* addr,
                      unsigned flags) {
    auto* self = static_cast<StatsdCheckImpl*>(handle->data);
    if (self == nullptr || nread < 0 || (nread == 0 && addr == nullptr)) return;
    ++self->status_.runs;
    self->status_.last_run_ms = self->ctx_.clock.now_ms();
    if (flags & UV_UDP_PARTIAL) {
      ++self->status_.bad_input["truncated_datagram"];
      return;
    }
    self->handle_datagram(std::string_view(buf->base, static_cast<size_t>(nread)));
  }

  void handle_datagram(std::string_view data) {
    while (!data.empty()) {
      const size_t nl = data.find('\n');
      const std::string_view line = data.substr(0, nl);
      if (!line.empty() && line != "\r") handle_line(line);
      if (nl == std::string_view::npos) break;
      data.remove_prefix(nl + 1);
    }
  }

  void handle_line(std::string_view line) {
    auto parsed = parse_statsd_line(line);
    if (!parsed) {
      ++status_.bad_input[parsed.status().code()];
      status_.last_message = "bad line: " + parsed.status().message();
      return;
    }
    StatsdMetric& m = *parsed;
    Series* s = series_for(m);
    if (s == nullptr) {
      ++status_.bad_input["too_many_metrics"];
      return;
    }
    switch (m.type) {
      case StatsdMetric::Type::kCounter:
        ctx_.recorder.counter(s->name, s->labels, m.value / m.sample_rate);
        break;
      case StatsdMetric::Type::kTimer:
        status_.last_latency_ms = m.value;
        ctx_.recorder.event(s->name, s->labels, false, m.value);
        break;
      case StatsdMetric::Type::kGauge:
        s->gauge = m.relative ? s->gauge.value_or(0) + m.value : m.value;
        ctx_.recorder.gauge(s->name, s->labels, *s->gauge, "");
        break;
      case StatsdMetric::Type::kSet:
        s->is_set = true;
        if (s->members.size() >= kMaxSetSize && s->members.count(m.set_member) == 0) {
          ++status_.bad_input["set_overflow"];
        } else {
          s->members.insert(std::move(m.set_member));
        }
        break;
    }
  }

  // The series for a metric, created while fewer than max_series exist; else nullptr.
  Series* series_for(StatsdMetric& m) {
    std::string key = m.name;
    for (const auto& [k, v] : m.tags) key += '\0' + k + '\x01' + v;
    auto it = series_.find(key);
    if (it != series_.end()) return &it->second;
    if (static_cast<int64_t>(series_.size()) >= config_.max_series) return nullptr;
    Series s;
    s.name = spec_.name + "." + m.name;
    s.labels = std::move(m.tags);
    for (const auto& [k, v] : spec_.labels) s.labels[k] = v;
    return &series_.emplace(std::move(key), std::move(s)).first->second;
  }

  void flush_sets() {
    for (auto& [key, s] : series_) {
      if (!s.is_set) continue;
      ctx_.recorder.gauge(s.name, s.labels, static_cast<double>(s.members.size()), "");
      s.members.clear();
    }
  }

  CheckSpec spec_;
  StatsdCheckConfig config_;
  CheckContext& ctx_;
  CheckStatus status_;
  uv_udp_t* udp_ = nullptr;  // freed by its close callback
  int port_ = 0;
  TimerId flush_timer_ = 0;
  std::unordered_map<std::string, Series> series_;
  char buffer_[kMaxDatagram];
};

}  // namespace

void read_statsd_check(config::MapReader& r, StatsdCheckConfig& out) {
  r.get("listen", out.listen);
  r.get("flush_interval", out.flush_interval);
  r.get("max_series", out.max_series, 1, 1'000'000);
  if (auto addr = parse_listen(out.listen); !addr) {
    r.errors().add(r.take("listen"), r.path_of("listen"), addr.status().message());
  }
  if (out.flush_interval < Millis(100)) {
    r.errors().add(r.take("flush_interval"), r.path_of("flush_interval"), "must be at least 100ms");
  }
}

std::unique_ptr<StatsdCheck> make_statsd_check(CheckSpec spec, StatsdCheckConfig config,
                                               CheckContext& ctx) {
  return std::make_unique<StatsdCheckImpl>(std::move(spec), std::move(config), ctx);
}

}  // namespace reflex::agent
