#include "agent/checks/pid_watcher.h"

#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <set>

namespace reflex::agent {
namespace {

int pidfd_open(pid_t pid) {
  return static_cast<int>(::syscall(SYS_pidfd_open, pid, 0));
}

}  // namespace

struct PidWatcher::Watch {
  uv_poll_t poll;
  PidWatcher* owner;
  pid_t pid;
  int pidfd;
};

PidWatcher::PidWatcher(EventLoop& loop, std::function<void(pid_t)> on_exit)
    : loop_(loop), on_exit_(std::move(on_exit)) {}

PidWatcher::~PidWatcher() {
  while (!watches_.empty()) unwatch(watches_.begin()->first);
}

size_t PidWatcher::watch(const std::vector<pid_t>& pids) {
  const size_t n = std::min(pids.size(), kMaxWatched);
  const std::set<pid_t> wanted(pids.begin(), pids.begin() + static_cast<std::ptrdiff_t>(n));
  std::vector<pid_t> dropped;
  for (const auto& [pid, w] : watches_) {
    if (!wanted.count(pid)) dropped.push_back(pid);
  }
  for (pid_t pid : dropped) unwatch(pid);
  if (!supported_) return 0;

  size_t gone = 0;
  for (pid_t pid : wanted) {
    if (watches_.count(pid)) continue;
    const int fd = pidfd_open(pid);
    if (fd < 0) {
      if (errno == ENOSYS || errno == EPERM) {
        supported_ = false;  // polling it is, silently: the check still works
        return gone;
      }
      if (errno == ESRCH) ++gone;
      continue;  // EMFILE and the like: this one is left to polling
    }
    auto* w = new Watch{{}, this, pid, fd};
    if (uv_poll_init(loop_.raw(), &w->poll, fd) != 0) {
      delete w;
      ::close(fd);
      continue;
    }
    w->poll.data = w;
    uv_poll_start(&w->poll, UV_READABLE, &PidWatcher::on_poll);
    watches_[pid] = w;
  }
  return gone;
}

void PidWatcher::unwatch(pid_t pid) {
  auto it = watches_.find(pid);
  if (it == watches_.end()) return;
  Watch* w = it->second;
  watches_.erase(it);
  // uv_close stops the poll (taking the fd out of epoll) at once, so the pidfd can be
  // closed now; libuv never touches the fd again, and only the handle waits for the loop.
  const int fd = w->pidfd;
  close_and_delete(w);
  ::close(fd);
}

void PidWatcher::on_poll(uv_poll_t* handle, int /*status*/, int /*events*/) {
  // Readable, or an error on the fd: either way this watch is done and the caller should
  // look again.
  auto* w = static_cast<Watch*>(handle->data);
  PidWatcher* self = w->owner;
  const pid_t pid = w->pid;
  self->unwatch(pid);
  self->on_exit_(pid);
}

}  // namespace reflex::agent
