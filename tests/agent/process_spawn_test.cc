#include "agent/process_spawn.h"

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <filesystem>
#include <sstream>
#include <string>
#include <vector>

#include "tests/support/process.h"

using reflex::agent::can_spawn_with_pidfd;
using reflex::agent::spawn_process;
using reflex::agent::SpawnedChild;
using reflex::agent::SpawnRequest;
using reflex::testing::TempDir;

namespace {

struct Ended {
  int status = 0;
  std::string out;
  std::string err;
};

// Reads both pipes to their end, waits for the pidfd and reaps the child: what
// ProcessRunner does on the loop, done here in plain blocking steps.
Ended wait_for(const SpawnedChild& child) {
  Ended e;
  pollfd fds[2] = {{child.out_fd, POLLIN, 0}, {child.err_fd, POLLIN, 0}};
  std::string* text[2] = {&e.out, &e.err};
  int open = 2;
  while (open > 0) {
    REQUIRE(::poll(fds, 2, 10'000) > 0);
    for (int i = 0; i < 2; ++i) {
      if (fds[i].fd < 0 || fds[i].revents == 0) continue;
      char buf[4096];
      const ssize_t n = ::read(fds[i].fd, buf, sizeof buf);
      if (n > 0) {
        text[i]->append(buf, static_cast<size_t>(n));
      } else if (n == 0 || errno != EAGAIN) {
        ::close(fds[i].fd);
        fds[i].fd = -1;
        --open;
      }
    }
  }
  pollfd exit{child.pidfd, POLLIN, 0};
  REQUIRE(::poll(&exit, 1, 10'000) == 1);
  REQUIRE(::waitpid(child.pid, &e.status, WNOHANG) == child.pid);
  ::close(child.pidfd);
  return e;
}

Ended run(SpawnRequest req) {
  auto child = spawn_process(req);
  INFO(child.status().message());
  REQUIRE(child);
  return wait_for(*child);
}

SpawnRequest sh(const std::string& script) {
  return SpawnRequest{.argv = {"/bin/sh", "-c", script}, .env = {"PATH=/usr/bin:/bin"}, .cwd = ""};
}

// A /proc/<pid>/status field of the child, as `cat` prints its own.
std::string status_field(const std::string& status, const std::string& name) {
  std::istringstream in(status);
  for (std::string line; std::getline(in, line);) {
    if (line.rfind(name + ":", 0) == 0)
      return line.substr(line.find_first_not_of(" \t", name.size() + 1));
  }
  return "";
}

size_t open_descriptors() {
  size_t n = 0;
  for ([[maybe_unused]] const auto& e : std::filesystem::directory_iterator("/proc/self/fd")) ++n;
  return n;
}

}  // namespace

TEST_CASE("this kernel has pidfds, so children start without fork", "[agent][process_spawn]") {
  REQUIRE(can_spawn_with_pidfd());
}

TEST_CASE("a spawned child's exit code or signal is read through its pidfd",
          "[agent][process_spawn]") {
  auto exited = run(sh("echo out; echo err >&2; exit 7"));
  REQUIRE(WIFEXITED(exited.status));
  REQUIRE(WEXITSTATUS(exited.status) == 7);
  REQUIRE(exited.out == "out\n");
  REQUIRE(exited.err == "err\n");

  auto killed = run(sh("kill -TERM $$"));
  REQUIRE(WIFSIGNALED(killed.status));
  REQUIRE(WTERMSIG(killed.status) == SIGTERM);
}

TEST_CASE("a spawned child leads a session of its own with stdin on /dev/null",
          "[agent][process_spawn]") {
  auto child =
      spawn_process(SpawnRequest{.argv = {"/bin/cat", "/proc/self/stat"}, .env = {}, .cwd = ""});
  REQUIRE(child);
  const pid_t pid = child->pid;
  auto e = wait_for(*child);
  // "pid (comm) state ppid pgrp session ..."
  std::istringstream fields(e.out.substr(e.out.rfind(')') + 2));
  std::string state;
  pid_t ppid = 0, pgrp = 0, session = 0;
  fields >> state >> ppid >> pgrp >> session;
  REQUIRE(ppid == ::getpid());
  REQUIRE(pgrp == pid);
  REQUIRE(session == pid);

  auto stdin_of =
      run(SpawnRequest{.argv = {"/bin/readlink", "/proc/self/fd/0"}, .env = {}, .cwd = ""});
  REQUIRE(stdin_of.out == "/dev/null\n");
}

TEST_CASE("a spawned child starts with no signal blocked or ignored, whatever the agent's",
          "[agent][process_spawn]") {
  // The agent ignores SIGPIPE; a thread of it may block signals.
  struct sigaction ignore {};
  struct sigaction previous {};
  ignore.sa_handler = SIG_IGN;
  ::sigaction(SIGPIPE, &ignore, &previous);
  sigset_t block;
  sigset_t old_mask;
  sigemptyset(&block);
  sigaddset(&block, SIGUSR1);
  ::pthread_sigmask(SIG_BLOCK, &block, &old_mask);

  auto e = run(SpawnRequest{.argv = {"/bin/cat", "/proc/self/status"}, .env = {}, .cwd = ""});

  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  ::sigaction(SIGPIPE, &previous, nullptr);
  REQUIRE(status_field(e.out, "SigBlk") == "0000000000000000");
  REQUIRE(status_field(e.out, "SigIgn") == "0000000000000000");
}

TEST_CASE("a program name is looked up in the child's PATH, as execvp would",
          "[agent][process_spawn]") {
  TempDir dir;
  // No #! line: execvp runs such a file with /bin/sh, and so does the spawn.
  const std::string tool = dir.write("reflex-spawn-tool", "echo \"tool ran with $1 in $(pwd)\"\n");
  std::filesystem::permissions(tool, std::filesystem::perms::owner_all);
  const std::string blocked = dir.write("reflex-spawn-blocked", "echo never\n");
  std::filesystem::permissions(blocked, std::filesystem::perms::owner_read);
  TempDir work;
  const std::string path = "PATH=/nonexistent:" + dir.path().string();

  auto e = run(
      SpawnRequest{.argv = {"reflex-spawn-tool", "x"}, .env = {path}, .cwd = work.path().string()});
  REQUIRE(WIFEXITED(e.status));
  REQUIRE(WEXITSTATUS(e.status) == 0);
  REQUIRE(e.out == "tool ran with x in " + std::filesystem::canonical(work.path()).string() + "\n");

  auto denied =
      spawn_process(SpawnRequest{.argv = {"reflex-spawn-blocked"}, .env = {path}, .cwd = ""});
  REQUIRE_FALSE(denied);
  REQUIRE(denied.status().message() == "permission denied: reflex-spawn-blocked");

  // The agent's own PATH does not count: the child's has no such program.
  auto missing =
      spawn_process(SpawnRequest{.argv = {"sh", "-c", "true"}, .env = {path}, .cwd = ""});
  REQUIRE_FALSE(missing);
  REQUIRE(missing.status().message() == "no such file: sh");
}

TEST_CASE("a failed spawn names what is missing and leaves no descriptor open",
          "[agent][process_spawn]") {
  const size_t before = open_descriptors();
  auto no_file = spawn_process(SpawnRequest{.argv = {"/nonexistent/tool"}, .env = {}, .cwd = ""});
  REQUIRE_FALSE(no_file);
  REQUIRE(no_file.status().message() == "no such file: /nonexistent/tool");
  auto no_dir =
      spawn_process(SpawnRequest{.argv = {"/bin/true"}, .env = {}, .cwd = "/nonexistent/dir"});
  REQUIRE_FALSE(no_dir);
  REQUIRE(no_dir.status().message() == "no such directory: /nonexistent/dir");
  auto nothing = spawn_process(SpawnRequest{.argv = {}, .env = {}, .cwd = ""});
  REQUIRE_FALSE(nothing);
  REQUIRE(nothing.status().message() == "no program to run");
  REQUIRE(open_descriptors() == before);

  run(sh("true"));  // wait_for closes the parent's ends and the pidfd
  REQUIRE(open_descriptors() == before);
}
