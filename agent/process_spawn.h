// Starting a child process without copying the agent, for ProcessRunner.
//
// fork() copies the page tables of the whole agent and runs its atfork handlers, and
// every page the agent writes until the child execs is copied again; on a busy host that
// is milliseconds. posix_spawn (glibc: clone(CLONE_VM | CLONE_VFORK)) shares the agent's
// memory for the few steps before exec instead, and the child's exit is then watched
// through a pidfd on the loop, so libuv's SIGCHLD handler (which waits only for the pids
// uv_spawn started) never reaps it. Run-as (setuid/setgid) is not offered here:
// ProcessRunner keeps uv_spawn for it.
#pragma once

#include <sys/types.h>

#include <string>
#include <vector>

#include "common/status.h"

namespace reflex::agent {

struct SpawnRequest {
  std::vector<std::string> argv;  // argv[0] is the program: a path, or a name to look up
  std::vector<std::string> env;   // "NAME=value": the child's whole environment
  std::string cwd;                // empty: the agent's working directory
};

// A started child and the parent's ends of its descriptors, all close-on-exec; the pipes'
// ends are non-blocking. The caller owns the descriptors and must reap the child
// (waitpid) once the pidfd is readable.
struct SpawnedChild {
  pid_t pid = -1;
  int pidfd = -1;   // readable once the child has exited
  int out_fd = -1;  // reads the child's stdout
  int err_fd = -1;  // reads the child's stderr
};

// Whether this kernel has pidfds (Linux >= 5.3); asked once, then remembered.
bool can_spawn_with_pidfd();

// Starts the child as the leader of a new session (so of a new process group), stdin on
// /dev/null, stdout and stderr into two new pipes, in `cwd`, every signal at its default
// action and none blocked; a file without the #! line of a script is run by /bin/sh, as
// execvp does. Returns at once after the exec, or an error naming the program or the
// directory (describe_spawn_error), with nothing left running and no descriptor open.
Result<SpawnedChild> spawn_process(const SpawnRequest& req);

// The message for a child that could not start with `err` (an errno): "no such file:
// PROGRAM", "no such directory: CWD", "permission denied: PROGRAM", ...; `run_as` says a
// user or group was asked for.
std::string describe_spawn_error(int err, const std::string& program, const std::string& cwd,
                                 bool run_as);

}  // namespace reflex::agent
