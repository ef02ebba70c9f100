#include "agent/checks/statsd_check.h"

#include <netinet/in.h>
#include <sys/socket.h>

#include <unordered_map>
#include <unordered_set>

#include "agent/checks/datagram_reader.h"

namespace reflex::agent {
namespace {

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

// Lets the maps below be searched with a string_view, without building a std::string.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};

// What the check remembers about one series (a name plus its tag set).
struct Series {
  std::string name;  // "<check>.<metric>"
  Labels labels;     // the check's labels over the metric's tags
  std::optional<double> gauge;
  bool is_set = false;
  // This flush interval's distinct set values.
  std::unordered_set<std::string, StringHash, std::equal_to<>> members;
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
  int port() const override { return reader_ ? reader_->port() : 0; }

  Status start() override {
    if (reader_ != nullptr) return Status::ok();
    auto addr = parse_listen(config_.listen);
    if (!addr) return addr.status().with_context("check " + spec_.name);
    auto reader =
        DatagramReader::open(ctx_.loop, ctx_.timers, *addr,
                             [this](std::string_view data, bool truncated, uint64_t dropped) {
                               on_datagram(data, truncated, dropped);
                             });
    if (!reader) {
      return Status::error("io", "check " + spec_.name + ": cannot listen on " + config_.listen +
                                     ": " + reader.status().message());
    }
    reader_ = std::move(reader).value();
    flush_timer_ =
        ctx_.timers.start(config_.flush_interval, config_.flush_interval, [this] { flush_sets(); });
    status_.last_state = CheckState::kOk;
    status_.last_message = "listening on " + config_.listen;
    return Status::ok();
  }

  void stop() override {
    ctx_.timers.cancel(flush_timer_);
    flush_timer_ = 0;
    reader_.reset();
  }

 private:
  void on_datagram(std::string_view data, bool truncated, uint64_t dropped) {
    ++status_.runs;
    status_.last_run_ms = ctx_.clock.now_ms();
    if (dropped > 0) status_.bad_input["receive_overflow"] += dropped;
    if (truncated) {
      ++status_.bad_input["truncated_datagram"];
      return;
    }
    handle_datagram(data);
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
        if (s->members.contains(m.set_member)) break;
        if (s->members.size() >= kMaxSetSize) {
          ++status_.bad_input["set_overflow"];
        } else {
          s->members.emplace(m.set_member);
        }
        break;
    }
  }

  // The series for a metric, created while fewer than max_series exist; else nullptr.
  // Looked up by a key built in a reused buffer, so a known series costs no allocation.
  Series* series_for(StatsdMetric& m) {
    key_.assign(m.name);
    for (const auto& [k, v] : m.tags) {
      key_ += '\0';
      key_ += k;
      key_ += '\x01';
      key_ += v;
    }
    auto it = series_.find(std::string_view(key_));
    if (it != series_.end()) return &it->second;
    if (static_cast<int64_t>(series_.size()) >= config_.max_series) return nullptr;
    Series s;
    s.name = spec_.name + "." + std::string(m.name);
    s.labels = std::move(m.tags);
    for (const auto& [k, v] : spec_.labels) s.labels[k] = v;
    return &series_.emplace(key_, std::move(s)).first->second;
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
  std::unique_ptr<DatagramReader> reader_;
  TimerId flush_timer_ = 0;
  std::unordered_map<std::string, Series, StringHash, std::equal_to<>> series_;
  std::string key_;  // series_for's buffer
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
