#include "bench/support/hub_process.h"

#include <fcntl.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <fstream>
#include <nlohmann/json.hpp>
#include <sstream>
#include <thread>
#include <vector>

namespace reflex::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

std::string read_text(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

Result<std::unique_ptr<ScratchDir>> ScratchDir::create(const std::string& parent,
                                                       const std::string& prefix) {
  std::string pattern = (std::filesystem::path(parent) / (prefix + "XXXXXX")).string();
  std::vector<char> buf(pattern.begin(), pattern.end());
  buf.push_back('\0');
  if (::mkdtemp(buf.data()) == nullptr) {
    return Status::error("io",
                         "cannot create a directory like " + pattern + ": " + std::strerror(errno));
  }
  return std::unique_ptr<ScratchDir>(new ScratchDir(buf.data()));
}

ScratchDir::~ScratchDir() {
  std::error_code ec;
  if (!keep_) std::filesystem::remove_all(path_, ec);
}

Status ScratchDir::write(const std::string& name, const std::string& text) const {
  std::ofstream out(file(name));
  out << text;
  out.close();
  if (!out) return Status::error("io", "cannot write " + file(name));
  return Status::ok();
}

Result<std::unique_ptr<HubProcess>> HubProcess::start(const std::string& binary,
                                                      const std::string& config,
                                                      const std::string& dir,
                                                      const std::string& log,
                                                      std::chrono::milliseconds ready_timeout) {
  const std::string ready = (std::filesystem::path(dir) / "hub.ready").string();
  // The child changes directory before exec, so a relative path would miss.
  std::error_code ec;
  const std::string program = std::filesystem::absolute(binary, ec).string();
  std::vector<std::string> args = {program, "--config", config, "--ready-file", ready};
  std::vector<char*> argv;
  for (auto& a : args) argv.push_back(a.data());
  argv.push_back(nullptr);

  const pid_t pid = ::fork();
  if (pid < 0) return Status::error("io", std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec. The kernel kills the hub if the
    // benchmark dies without cleaning up.
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    const int fd = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (fd >= 0) {
      ::dup2(fd, STDOUT_FILENO);
      ::dup2(fd, STDERR_FILENO);
    }
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execv(argv[0], argv.data());
    ::_exit(127);
  }
  std::unique_ptr<HubProcess> hub(new HubProcess(pid, log, ready));

  const auto deadline = Clock::now() + ready_timeout;
  while (!std::filesystem::exists(ready)) {
    int status = 0;
    if (hub->reap(std::chrono::milliseconds(0), status)) {
      return Status::error(
          "hub", binary + " exited before it was ready (status " + std::to_string(status) +
                     (status == 127 ? ": cannot execute it" : "") + "):\n" + hub->log_tail());
    }
    if (Clock::now() > deadline) {
      return Status::error("hub", binary + " not ready within " +
                                      std::to_string(ready_timeout.count()) + " ms:\n" +
                                      hub->log_tail());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
  REFLEX_RETURN_IF_ERROR(hub->refresh());
  return hub;
}

Status HubProcess::refresh() {
  // The hub replaces the file by a rename, so a read sees one whole version of it.
  auto doc = nlohmann::json::parse(read_text(ready_), nullptr, false);
  if (!doc.is_object() || !doc.contains("ingest") || !doc["http_port"].is_number_integer()) {
    return Status::error("hub", "unreadable ready file " + ready_);
  }
  ingest_ = doc["ingest"].is_string() ? doc["ingest"].get<std::string>() : "";
  http_port_ = doc["http_port"].get<int>();
  role_ = doc.value("role", "");
  hub_id_ = doc.value("hub_id", "");
  return Status::ok();
}

Status HubProcess::wait_role(const std::string& role, std::chrono::milliseconds timeout) {
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    REFLEX_RETURN_IF_ERROR(refresh());
    if (role_ == role) return Status::ok();
    int status = 0;
    if (reap(std::chrono::milliseconds(0), status)) {
      return Status::error("hub", "exited (status " + std::to_string(status) + ") before it was " +
                                      role + ":\n" + log_tail());
    }
    if (Clock::now() > deadline) {
      return Status::error("hub", "not " + role + " within " + std::to_string(timeout.count()) +
                                      " ms (it is " + role_ + "):\n" + log_tail());
    }
    std::this_thread::sleep_for(kPollInterval);
  }
}

void HubProcess::kill() {
  if (!running_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  (void)reap(std::chrono::seconds(10), status);
}

HubProcess::~HubProcess() {
  if (!running_) return;
  ::kill(pid_, SIGKILL);
  int status = 0;
  (void)reap(std::chrono::seconds(10), status);
}

bool HubProcess::reap(std::chrono::milliseconds timeout, int& status) {
  if (!running_) return true;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int raw = 0;
    const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      running_ = false;
      status = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status HubProcess::stop(std::chrono::milliseconds timeout) {
  if (!running_) return Status::error("hub", "the hub had already exited");
  ::kill(pid_, SIGTERM);
  int status = 0;
  if (!reap(timeout, status)) {
    ::kill(pid_, SIGKILL);
    (void)reap(std::chrono::seconds(10), status);
    return Status::error("hub", "did not stop within " + std::to_string(timeout.count()) +
                                    " ms of SIGTERM; killed:\n" + log_tail());
  }
  if (status != 0) {
    return Status::error("hub",
                         "exited with status " + std::to_string(status) + ":\n" + log_tail());
  }
  return Status::ok();
}

std::string HubProcess::log_tail() const {
  const std::string text = read_text(log_);
  constexpr size_t kTail = 4000;
  return text.size() > kTail ? "..." + text.substr(text.size() - kTail) : text;
}

}  // namespace reflex::bench
