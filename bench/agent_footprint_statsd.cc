#include "bench/agent_footprint_statsd.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <random>

namespace reflex::bench {
namespace {

const std::vector<std::string> kTimers = {"api.checkout.latency", "api.search.latency",
                                          "api.login.latency", "db.query.latency"};
const std::vector<std::string> kCounters = {"api.requests", "api.errors", "jobs.processed",
                                            "cache.hits", "cache.misses"};
const std::vector<std::string> kGauges = {"queue.depth", "pool.active", "heap.used_mb"};
const std::string kSet = "users.unique";

constexpr size_t kBatch = 64;  // datagrams per sendmmsg

std::string number(double value) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.1f", value);
  return buf;
}

// One StatsD line, drawn from the mix.
std::string line(std::mt19937& rng) {
  auto pick = [&](const std::vector<std::string>& names) {
    return names[std::uniform_int_distribution<size_t>(0, names.size() - 1)(rng)];
  };
  auto chance = [&](double p) { return std::uniform_real_distribution<double>(0, 1)(rng) < p; };
  const double kind = std::uniform_real_distribution<double>(0, 1)(rng);
  if (kind < 0.45) {
    // Latencies mostly fast, with a long tail.
    const double ms = std::lognormal_distribution<double>(3.0, 0.8)(rng);
    return pick(kTimers) + ":" + number(ms) + "|ms" + (chance(0.2) ? "|@0.5" : "");
  }
  if (kind < 0.80) {
    const std::string name = pick(kCounters);
    if (name == "jobs.processed") {
      return name + ":" + std::to_string(std::uniform_int_distribution<int>(1, 20)(rng)) + "|c";
    }
    if (name == "api.requests") {
      return name + ":1|c|#region:" + (chance(0.5) ? "eu" : "us");
    }
    return name + ":1|c" + (chance(0.3) ? "|@0.1" : "");
  }
  if (kind < 0.95) {
    const std::string name = pick(kGauges);
    if (chance(0.2)) return name + ":+1|g";
    return name + ":" + std::to_string(std::uniform_int_distribution<int>(0, 500)(rng)) + "|g";
  }
  return kSet + ":u" + std::to_string(std::uniform_int_distribution<int>(0, 999)(rng)) + "|s";
}

}  // namespace

std::vector<std::string> statsd_packets(size_t count, uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::string> out;
  out.reserve(count);
  for (size_t i = 0; i < count; ++i) {
    std::string packet = line(rng);
    if (std::uniform_int_distribution<int>(0, 9)(rng) == 0) {
      packet += "\n" + line(rng) + "\n" + line(rng);
    }
    out.push_back(std::move(packet));
  }
  return out;
}

std::vector<std::string> statsd_metric_names() {
  std::vector<std::string> out = kTimers;
  out.insert(out.end(), kCounters.begin(), kCounters.end());
  out.insert(out.end(), kGauges.begin(), kGauges.end());
  out.push_back(kSet);
  return out;
}

Pace pace(double elapsed_s, double rate, uint64_t done, uint64_t max_burst) {
  const double due_f = std::floor(std::max(0.0, elapsed_s) * rate);
  const auto due = static_cast<uint64_t>(due_f);
  if (due <= done) return {};
  const uint64_t behind = due - done;
  if (behind <= max_burst) return {behind, 0};
  return {max_burst, behind - max_burst};
}

Result<std::unique_ptr<StatsdSender>> StatsdSender::start(int port, double rate,
                                                          std::vector<std::string> packets) {
  if (packets.empty() || rate <= 0) return Status::error("usage", "StatsD sender: nothing to send");
  const int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return Status::error("io", std::string("socket: ") + std::strerror(errno));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  // Connected, so each send names no address; a refused port shows up as send errors.
  if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    const Status st = Status::error(
        "io", "connect udp 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno));
    ::close(fd);
    return st;
  }
  std::unique_ptr<StatsdSender> s(new StatsdSender(fd, rate, std::move(packets)));
  s->thread_ = std::thread([raw = s.get()] { raw->run(); });
  return s;
}

void StatsdSender::run() {
  using Clock = std::chrono::steady_clock;
  const auto tick = std::chrono::milliseconds(1);
  const auto max_burst = static_cast<uint64_t>(std::max(1.0, rate_ / 50));  // 20 ms worth
  const auto start = Clock::now();
  auto next = start;
  uint64_t done = 0;
  size_t cursor = 0;
  std::vector<mmsghdr> msgs(kBatch);
  std::vector<iovec> iov(kBatch);
  while (!stopping_.load(std::memory_order_relaxed)) {
    const double elapsed = std::chrono::duration<double>(Clock::now() - start).count();
    const Pace p = pace(elapsed, rate_, done, max_burst);
    done += p.send + p.skip;
    skipped_.fetch_add(p.skip, std::memory_order_relaxed);
    for (uint64_t left = p.send; left > 0;) {
      const size_t n = std::min<uint64_t>(left, kBatch);
      for (size_t i = 0; i < n; ++i) {
        const std::string& packet = packets_[cursor];
        cursor = (cursor + 1) % packets_.size();
        iov[i] = {const_cast<char*>(packet.data()), packet.size()};
        msgs[i] = {};
        msgs[i].msg_hdr.msg_iov = &iov[i];
        msgs[i].msg_hdr.msg_iovlen = 1;
      }
      const int r = ::sendmmsg(fd_, msgs.data(), static_cast<unsigned>(n), 0);
      // A refused datagram (ICMP from a closed port) fails one call; count the batch.
      const uint64_t ok = r > 0 ? static_cast<uint64_t>(r) : 0;
      sent_.fetch_add(ok, std::memory_order_relaxed);
      if (ok < n) errors_.fetch_add(n - ok, std::memory_order_relaxed);
      left -= n;
    }
    next += tick;
    const auto now = Clock::now();
    if (next < now) next = now;
    std::this_thread::sleep_until(next);
  }
}

StatsdSender::~StatsdSender() {
  stopping_.store(true);
  if (thread_.joinable()) thread_.join();
  ::close(fd_);
}

}  // namespace reflex::bench
