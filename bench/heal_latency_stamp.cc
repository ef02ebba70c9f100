// heal_latency_stamp: the remediation command of the heal latency benchmark, the same
// program for reflex-agent and for Monit, so both pay the same exec (a small one: it is
// linked statically, so the exec loads no shared library).
//
//   heal_latency_stamp STAMP_FILE                      the HTTP scenario's action
//   heal_latency_stamp STAMP_FILE PIDFILE WATCH_PID    the process scenario's restart
//
// First it appends one line to STAMP_FILE: CLOCK_REALTIME in nanoseconds, read before
// anything else, so the line says when the remediation started. With PIDFILE it then
// starts the service: a detached process (a session of its own, stdio on /dev/null) whose
// pid it writes to PIDFILE (atomically, by rename) before exiting, so a supervisor that
// reads the pidfile after this program exits finds the new service. The service does
// nothing until it is killed or WATCH_PID (the benchmark) is gone, so it never outlives
// the benchmark. Exit status 0, or 1 with a message on stderr.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <string>

namespace {

int64_t realtime_ns() {
  timespec ts{};
  ::clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1'000'000'000 + ts.tv_nsec;
}

int fail(const std::string& what) {
  std::fprintf(stderr, "heal_latency_stamp: %s: %s\n", what.c_str(), std::strerror(errno));
  return 1;
}

// Appends `text` in one write(2), so concurrent writers never interleave within a line.
bool append(const char* path, const std::string& text) {
  const int fd = ::open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok;
}

bool write_pidfile(const std::string& path, pid_t pid) {
  const std::string tmp = path + ".tmp";
  const std::string text = std::to_string(pid) + "\n";
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (fd < 0) return false;
  const bool ok = ::write(fd, text.data(), text.size()) == static_cast<ssize_t>(text.size());
  return ::close(fd) == 0 && ok && ::rename(tmp.c_str(), path.c_str()) == 0;
}

// The service: waits for `watch` to exit (a pidfd), checking once a second when pidfds
// are not available.
[[noreturn]] void serve(pid_t watch) {
  ::setsid();
  const int null = ::open("/dev/null", O_RDWR);
  if (null >= 0) {
    for (int fd : {STDIN_FILENO, STDOUT_FILENO, STDERR_FILENO}) ::dup2(null, fd);
    if (null > STDERR_FILENO) ::close(null);
  }
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, watch, 0));
  for (;;) {
    if (pidfd >= 0) {
      pollfd p{pidfd, POLLIN, 0};
      if (::poll(&p, 1, -1) == 1) ::_exit(0);
    } else {
      if (::kill(watch, 0) != 0 && errno == ESRCH) ::_exit(0);
      ::sleep(1);
    }
  }
}

}  // namespace

int main(int argc, char** argv) {
  const int64_t now = realtime_ns();
  if (argc != 2 && argc != 4) {
    std::fprintf(stderr, "usage: heal_latency_stamp STAMP_FILE [PIDFILE WATCH_PID]\n");
    return 2;
  }
  if (!append(argv[1], std::to_string(now) + "\n"))
    return fail(std::string("append to ") + argv[1]);
  if (argc == 2) return 0;

  const pid_t watch = static_cast<pid_t>(std::atol(argv[3]));
  if (watch <= 0) {
    std::fprintf(stderr, "heal_latency_stamp: bad WATCH_PID %s\n", argv[3]);
    return 2;
  }
  const pid_t service = ::fork();
  if (service < 0) return fail("fork");
  if (service == 0) serve(watch);
  if (!write_pidfile(argv[2], service)) {
    ::kill(service, SIGKILL);
    return fail(std::string("write ") + argv[2]);
  }
  return 0;
}
