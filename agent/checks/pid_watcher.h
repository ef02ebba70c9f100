// PidWatcher: a process's exit as an event on the loop, for checks that would otherwise
// notice a death only at their next run.
//
// Each watched process gets a pidfd (pidfd_open, Linux >= 5.3) polled for readability,
// which the kernel signals when that process exits (it becomes a zombie or is reaped),
// whether or not it is the agent's child. A pidfd names exactly one process, so a pid the
// kernel hands to a new process is never mistaken for the watched one. Where pidfds are
// unavailable (ENOSYS on old kernels, EPERM under some seccomp filters) nothing is
// watched and the caller's periodic runs are all there is. Loop thread only.
#pragma once

#include <sys/types.h>

#include <cstddef>
#include <functional>
#include <map>
#include <vector>

#include "common/loop.h"

namespace reflex::agent {

class PidWatcher {
 public:
  // At most this many processes are watched; the others are noticed by polling.
  static constexpr size_t kMaxWatched = 16;

  // `on_exit` is called on the loop thread, never from inside watch(), once for each
  // watched process that exits; that pid is no longer watched by then. It must not
  // destroy the watcher. The loop must outlive the watcher.
  PidWatcher(EventLoop& loop, std::function<void(pid_t)> on_exit);
  // Closes every pidfd at once; the poll handles are freed when the loop next turns.
  ~PidWatcher();
  PidWatcher(const PidWatcher&) = delete;
  PidWatcher& operator=(const PidWatcher&) = delete;

  // Watches exactly the first kMaxWatched of `pids`: watches of pids no longer listed are
  // closed, those still listed are kept, new ones are opened. Returns how many listed
  // processes were already gone (and so cannot be watched): the caller's view is stale.
  size_t watch(const std::vector<pid_t>& pids);

  size_t watched() const { return watches_.size(); }
  // False once the kernel said it has no pidfds for us; watch() then does nothing.
  bool supported() const { return supported_; }

 private:
  struct Watch;
  static void on_poll(uv_poll_t* handle, int status, int events);
  void unwatch(pid_t pid);

  EventLoop& loop_;
  std::function<void(pid_t)> on_exit_;
  std::map<pid_t, Watch*> watches_;  // each freed by its handle's close callback
  bool supported_ = true;
};

}  // namespace reflex::agent
