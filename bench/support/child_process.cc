#include "bench/support/child_process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>
#include <vector>

namespace reflex::bench {
namespace {

using Clock = std::chrono::steady_clock;
constexpr auto kPollInterval = std::chrono::milliseconds(10);

// The helper's life: collect groups until told all is well (0) or the pipe closes.
[[noreturn]] void guard_main(int fd) {
  ::signal(SIGINT, SIG_IGN);  // Ctrl-C reaches the benchmark's whole group
  ::signal(SIGTERM, SIG_IGN);
  ::signal(SIGHUP, SIG_IGN);
  ::prctl(PR_SET_NAME, "footprint-guard");
  std::vector<pid_t> groups;
  for (;;) {
    int32_t message = 0;
    const ssize_t n = ::read(fd, &message, sizeof message);
    if (n < 0 && errno == EINTR) continue;
    if (n != static_cast<ssize_t>(sizeof message)) break;  // the benchmark is gone
    if (message == 0) ::_exit(0);
    if (message > 0) {
      groups.push_back(message);
    } else {
      std::erase(groups, -message);
    }
  }
  for (pid_t g : groups) ::kill(-g, SIGTERM);
  if (!groups.empty()) ::sleep(1);
  for (pid_t g : groups) ::kill(-g, SIGKILL);
  ::_exit(0);
}

}  // namespace

Result<std::unique_ptr<OrphanGuard>> OrphanGuard::start() {
  int fds[2];
  if (::pipe2(fds, O_CLOEXEC) != 0) {
    return Status::error("io", std::string("pipe: ") + std::strerror(errno));
  }
  const pid_t pid = ::fork();
  if (pid < 0) {
    ::close(fds[0]);
    ::close(fds[1]);
    return Status::error("io", std::string("fork: ") + std::strerror(errno));
  }
  if (pid == 0) {
    ::close(fds[1]);
    guard_main(fds[0]);
  }
  ::close(fds[0]);
  return std::unique_ptr<OrphanGuard>(new OrphanGuard(pid, fds[1]));
}

OrphanGuard::~OrphanGuard() {
  send(0);
  ::close(fd_);
  int status = 0;
  ::waitpid(pid_, &status, 0);
}

void OrphanGuard::watch(pid_t group) {
  send(static_cast<int32_t>(group));
}
void OrphanGuard::forget(pid_t group) {
  send(-static_cast<int32_t>(group));
}

void OrphanGuard::send(int32_t message) {
  // Four bytes into a pipe are written whole or not at all.
  while (::write(fd_, &message, sizeof message) < 0 && errno == EINTR) {
  }
}

Result<std::unique_ptr<ChildProcess>> ChildProcess::start(const std::vector<std::string>& args,
                                                          const std::string& dir,
                                                          const std::string& log,
                                                          OrphanGuard* guard) {
  if (args.empty()) return Status::error("usage", "ChildProcess::start: no program");
  std::vector<std::string> copy = args;
  // The child changes directory before exec, so a relative path would miss.
  if (copy[0].find('/') != std::string::npos) {
    std::error_code ec;
    copy[0] = std::filesystem::absolute(copy[0], ec).string();
  }
  std::vector<char*> argv;
  for (auto& a : copy) argv.push_back(a.data());
  argv.push_back(nullptr);
  const pid_t parent = ::getpid();

  const pid_t pid = ::fork();
  if (pid < 0) return Status::error("io", std::string("fork: ") + std::strerror(errno));
  if (pid == 0) {
    // Only async-signal-safe calls between fork and exec.
    ::setpgid(0, 0);
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != parent) ::_exit(125);  // the benchmark died before prctl
    const int in = ::open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (in >= 0) ::dup2(in, STDIN_FILENO);
    const int out = ::open(log.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
    if (out >= 0) {
      ::dup2(out, STDOUT_FILENO);
      ::dup2(out, STDERR_FILENO);
    }
    if (::chdir(dir.c_str()) != 0) ::_exit(126);
    ::execvp(argv[0], argv.data());
    static const char kCannot[] = "cannot execute ";
    (void)!::write(STDERR_FILENO, kCannot, sizeof kCannot - 1);
    (void)!::write(STDERR_FILENO, argv[0], std::strlen(argv[0]));
    (void)!::write(STDERR_FILENO, "\n", 1);
    ::_exit(127);
  }
  // Also from the parent, so a kill of the group right after start cannot miss it.
  ::setpgid(pid, pid);
  if (guard) guard->watch(pid);
  return std::unique_ptr<ChildProcess>(new ChildProcess(pid, log, guard));
}

ChildProcess::~ChildProcess() {
  if (running_) (void)stop(std::chrono::seconds(3));
}

bool ChildProcess::exited() {
  return reap(std::chrono::milliseconds(0));
}

bool ChildProcess::reap(std::chrono::milliseconds timeout) {
  if (!running_) return true;
  const auto deadline = Clock::now() + timeout;
  for (;;) {
    int raw = 0;
    const pid_t r = ::waitpid(pid_, &raw, WNOHANG);
    if (r == pid_ || (r < 0 && errno == ECHILD)) {
      running_ = false;
      status_ = WIFEXITED(raw) ? WEXITSTATUS(raw) : 128 + WTERMSIG(raw);
      // Whatever it forked and left behind goes with it.
      ::kill(-pid_, SIGKILL);
      if (guard_) guard_->forget(pid_);
      return true;
    }
    if (Clock::now() >= deadline) return false;
    std::this_thread::sleep_for(kPollInterval);
  }
}

Status ChildProcess::stop(std::chrono::milliseconds timeout) {
  if (!running_) return Status::ok();
  ::kill(-pid_, SIGTERM);
  if (reap(timeout)) return Status::ok();
  ::kill(-pid_, SIGKILL);
  (void)reap(std::chrono::seconds(10));
  return Status::error("child", "pid " + std::to_string(pid_) + " did not stop within " +
                                    std::to_string(timeout.count()) + " ms of SIGTERM; killed");
}

std::string ChildProcess::log_tail(size_t bytes) const {
  std::ifstream in(log_);
  std::ostringstream out;
  out << in.rdbuf();
  const std::string text = out.str();
  return text.size() > bytes ? "..." + text.substr(text.size() - bytes) : text;
}

}  // namespace reflex::bench
