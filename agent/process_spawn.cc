#include "agent/process_spawn.h"

#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <uv.h>

#include <algorithm>
#include <cerrno>

namespace reflex::agent {
namespace {

// execvp's search path when the environment has no PATH (glibc's _CS_PATH).
constexpr const char* kExecvpDefaultPath = "/bin:/usr/bin";

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

bool is_directory(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

void close_all(std::initializer_list<int> fds) {
  for (int fd : fds) {
    if (fd >= 0) ::close(fd);
  }
}

// The program execvp would run, as the child sees it (a relative PATH entry is relative
// to the child's working directory), or the errno execvp would fail with.
struct Resolved {
  std::string path;
  int error = 0;
};

Resolved resolve_program(const std::string& program, const std::vector<std::string>& env,
                         const std::string& cwd) {
  if (program.find('/') != std::string::npos) return {program, 0};
  std::string search = kExecvpDefaultPath;
  for (const auto& e : env) {
    if (e.compare(0, 5, "PATH=") == 0) {
      search = e.substr(5);
      break;
    }
  }
  int error = ENOENT;
  for (size_t start = 0;;) {
    const size_t end = std::min(search.find(':', start), search.size());
    // An empty entry is the working directory.
    std::string candidate = end == start ? std::string(".") : search.substr(start, end - start);
    candidate.append("/").append(program);
    std::string seen = candidate;
    if (candidate[0] != '/' && !cwd.empty()) seen.insert(0, cwd + "/");
    struct stat st {};
    if (::stat(seen.c_str(), &st) == 0 && S_ISREG(st.st_mode)) {
      if (::access(seen.c_str(), X_OK) == 0) return {candidate, 0};
      error = EACCES;  // execvp goes on looking, and reports EACCES if nothing else runs
    }
    if (end == search.size()) break;
    start = end + 1;
  }
  return {"", error};
}

// A pipe for one of the child's output streams: both ends close-on-exec and above 2 (so
// that the child's dup2 onto 1 and 2 never meets them), the parent's end non-blocking.
int make_pipe(int fds[2]) {
  if (::pipe2(fds, O_CLOEXEC) != 0) return errno;
  for (int i = 0; i < 2; ++i) {
    if (fds[i] > STDERR_FILENO) continue;
    const int moved = ::fcntl(fds[i], F_DUPFD_CLOEXEC, STDERR_FILENO + 1);
    const int err = errno;
    ::close(fds[i]);
    fds[i] = moved;
    if (moved < 0) {
      close_all({fds[0], fds[1]});
      return err;
    }
  }
  if (::fcntl(fds[0], F_SETFL, O_NONBLOCK) != 0) {
    const int err = errno;
    close_all({fds[0], fds[1]});
    return err;
  }
  return 0;
}

// Every signal, glibc's two internal ones (32 and 33) included: sigfillset leaves them out,
// and posix_spawn then sets them to SIG_IGN in the child, which the exec keeps, so a
// program not built on glibc would find them ignored where fork and exec (uv_spawn) leave
// them at their default. sigaddset refuses them, hence the bits.
sigset_t every_signal() {
  sigset_t set;
  sigfillset(&set);
  constexpr size_t kBits = 8 * sizeof set.__val[0];
  for (int sig = 32; sig < SIGRTMIN; ++sig) {
    const auto bit = static_cast<size_t>(sig - 1);
    set.__val[bit / kBits] |= 1UL << (bit % kBits);
  }
  return set;
}

std::vector<char*> c_strings(const std::vector<std::string>& strings) {
  std::vector<char*> out;
  out.reserve(strings.size() + 1);
  for (const auto& s : strings) out.push_back(const_cast<char*>(s.c_str()));
  out.push_back(nullptr);
  return out;
}

// posix_spawn with the attributes and file actions every child gets; returns an errno.
int spawn(pid_t* pid, const std::string& path, const std::vector<std::string>& argv,
          const std::vector<std::string>& env, const std::string& cwd, int out_fd, int err_fd) {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  if (int rc = posix_spawn_file_actions_init(&actions); rc != 0) return rc;
  if (int rc = posix_spawnattr_init(&attr); rc != 0) {
    posix_spawn_file_actions_destroy(&actions);
    return rc;
  }
  int rc = posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, out_fd, STDOUT_FILENO);
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&actions, err_fd, STDERR_FILENO);
  if (rc == 0 && !cwd.empty()) rc = posix_spawn_file_actions_addchdir_np(&actions, cwd.c_str());
  // The agent ignores SIGPIPE and may block signals on its threads; a child starts clean.
  sigset_t none;
  sigemptyset(&none);
  const sigset_t all = every_signal();
  if (rc == 0) rc = posix_spawnattr_setsigmask(&attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&attr, &all);
  if (rc == 0) {
    rc = posix_spawnattr_setflags(
        &attr, POSIX_SPAWN_SETSID | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) {
    std::vector<char*> args = c_strings(argv);
    std::vector<char*> envp = c_strings(env);
    rc = posix_spawn(pid, path.c_str(), &actions, &attr, args.data(), envp.data());
    if (rc == ENOEXEC) {
      // No #! line: execvp hands such a file to the shell, and so does this.
      std::vector<std::string> sh_argv = {"/bin/sh", path};
      sh_argv.insert(sh_argv.end(), argv.begin() + 1, argv.end());
      std::vector<char*> sh_args = c_strings(sh_argv);
      rc = posix_spawn(pid, "/bin/sh", &actions, &attr, sh_args.data(), envp.data());
    }
  }
  posix_spawnattr_destroy(&attr);
  posix_spawn_file_actions_destroy(&actions);
  return rc;
}

}  // namespace

bool can_spawn_with_pidfd() {
  static const bool supported = [] {
    const int fd = pidfd_open(::getpid());
    if (fd >= 0) ::close(fd);
    return fd >= 0 || (errno != ENOSYS && errno != EPERM);
  }();
  return supported;
}

Result<SpawnedChild> spawn_process(const SpawnRequest& req) {
  const std::string program = req.argv.empty() ? std::string() : req.argv[0];
  auto fail = [&](int err) {
    return Status::error("spawn", describe_spawn_error(err, program, req.cwd, false));
  };
  if (program.empty()) return Status::error("spawn", "no program to run");
  const Resolved resolved = resolve_program(program, req.env, req.cwd);
  if (resolved.error != 0) return fail(resolved.error);

  int out[2];
  int err[2];
  if (int e = make_pipe(out); e != 0) return fail(e);
  if (int e = make_pipe(err); e != 0) {
    close_all({out[0], out[1]});
    return fail(e);
  }
  pid_t pid = -1;
  const int rc = spawn(&pid, resolved.path, req.argv, req.env, req.cwd, out[1], err[1]);
  close_all({out[1], err[1]});
  if (rc != 0) {
    close_all({out[0], err[0]});
    return fail(rc);
  }
  const int pidfd = pidfd_open(pid);
  if (pidfd < 0) {
    // Unwatchable, so not left running: the child leads its own group.
    const int e = errno;
    ::kill(-pid, SIGKILL);
    while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
    }
    close_all({out[0], err[0]});
    return fail(e);
  }
  return SpawnedChild{.pid = pid, .pidfd = pidfd, .out_fd = out[0], .err_fd = err[0]};
}

std::string describe_spawn_error(int err, const std::string& program, const std::string& cwd,
                                 bool run_as) {
  switch (err) {
    case ENOENT:
      if (!cwd.empty() && !is_directory(cwd)) return "no such directory: " + cwd;
      return "no such file: " + program;
    case EACCES:
      return "permission denied: " + program;
    case EPERM:
      if (run_as) return "not permitted to run " + program + " as another user";
      return "operation not permitted: " + program;
    default:
      // libuv's wording, as for runs started by uv_spawn (its codes are negated errnos).
      return "cannot start " + program + ": " + uv_strerror(-err);
  }
}

}  // namespace reflex::agent
