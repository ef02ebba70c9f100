#include "bench/heal_latency_targets.h"

#include <signal.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <httplib.h>
#include <algorithm>
#include <cctype>
#include <cerrno>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace reflex::bench::heal {

int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

pid_t read_pid(const std::string& pidfile) {
  std::ifstream in(pidfile);
  long pid = 0;
  if (!(in >> pid) || pid <= 0) return 0;
  return static_cast<pid_t>(pid);
}

bool running(pid_t pid) {
  if (pid <= 0) return false;
  std::ifstream in("/proc/" + std::to_string(pid) + "/stat");
  std::string stat;
  if (!std::getline(in, stat)) return false;
  // "PID (comm) S ...": the state follows the last ')', as comm may hold one.
  const size_t close = stat.rfind(')');
  if (close == std::string::npos || close + 2 >= stat.size()) return false;
  const char state = stat[close + 2];
  return state != 'Z' && state != 'X';
}

Status kill_service(pid_t pid, int timeout_ms) {
  if (::kill(pid, SIGKILL) != 0 && errno != ESRCH) {
    return Status::error("kill", "cannot kill pid " + std::to_string(pid));
  }
  int raw = 0;
  if (::waitpid(pid, &raw, 0) == pid) return Status::ok();
  // Not ours (the subreaper did not get it): wait for whoever reaps it.
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::milliseconds(timeout_ms);
  while (::kill(pid, 0) == 0) {
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::error("kill", "pid " + std::to_string(pid) + " was not reaped within " +
                                       std::to_string(timeout_ms) + " ms of SIGKILL");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  return Status::ok();
}

void reap_orphans(const std::vector<pid_t>& keep) {
  const pid_t self = ::getpid();
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || !std::isdigit(static_cast<unsigned char>(name[0]))) continue;
    std::ifstream in(entry.path() / "stat");
    std::string stat;
    if (!std::getline(in, stat)) continue;
    // "PID (comm) S PPID ...": fields after the last ')', as comm may hold one.
    const size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    std::istringstream rest(stat.substr(close + 1));
    char state = 0;
    long ppid = 0;
    if (!(rest >> state >> ppid) || state != 'Z' || ppid != self) continue;
    const auto pid = static_cast<pid_t>(std::stol(name));
    if (std::find(keep.begin(), keep.end(), pid) == keep.end()) ::waitpid(pid, nullptr, WNOHANG);
  }
}

size_t StampFile::count() const {
  std::ifstream in(path_);
  std::ostringstream text;
  text << in.rdbuf();
  size_t lines = 0;
  for (char c : text.str()) lines += c == '\n';
  return lines;
}

std::optional<int64_t> StampFile::at(size_t index) const {
  std::ifstream in(path_);
  std::string line;
  for (size_t i = 0; std::getline(in, line); ++i) {
    if (i == index) {
      if (in.eof()) return std::nullopt;  // not yet terminated: still being written
      try {
        return std::stoll(line);
      } catch (const std::exception&) {
        return std::nullopt;
      }
    }
  }
  return std::nullopt;
}

FlipServer::FlipServer() : server_(std::make_unique<httplib::Server>()) {}

Result<std::unique_ptr<FlipServer>> FlipServer::start() {
  std::unique_ptr<FlipServer> s(new FlipServer());
  s->server_->Get(R"(/.*)", [raw = s.get()](const httplib::Request& req, httplib::Response& res) {
    raw->requests_.fetch_add(1);
    if (raw->failing_.load()) {
      res.status = 500;
      res.set_content("failing\n", "text/plain");
      return;
    }
    res.set_content("ok\n", "text/plain");
    std::lock_guard lock(raw->mu_);
    raw->last_ok_[req.path] = realtime_ns();
  });
  s->port_ = s->server_->bind_to_any_port("127.0.0.1");
  if (s->port_ <= 0) return Status::error("io", "HTTP target: cannot bind 127.0.0.1");
  s->thread_ = std::thread([raw = s.get()] { raw->server_->listen_after_bind(); });
  // stop() before the server runs would be lost, and the thread never joined.
  for (int i = 0; i < 5000 && !s->server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!s->server_->is_running()) return Status::error("io", "HTTP target: did not start");
  return s;
}

FlipServer::~FlipServer() {
  server_->stop();
  if (thread_.joinable()) thread_.join();
}

int64_t FlipServer::last_ok_ns(const std::string& path) const {
  std::lock_guard lock(mu_);
  auto it = last_ok_.find(path);
  return it == last_ok_.end() ? 0 : it->second;
}

}  // namespace reflex::bench::heal
