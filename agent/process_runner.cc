#include "agent/process_runner.h"

#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstdlib>

#include "agent/process_spawn.h"

namespace reflex::agent {
namespace {

// Inherited from the agent unless clear_env: enough for plugins to find programs, speak
// the host's locale and write temp files, and nothing that could carry the agent's own
// secrets or settings into a child.
constexpr const char* kInheritedEnv[] = {"PATH", "HOME",   "LANG", "LC_ALL",
                                         "TZ",   "TMPDIR", "USER", "LOGNAME"};
constexpr const char* kDefaultPath = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// Reads land here and are copied out at once; one buffer serves every pipe because all
// reads happen on the loop thread, one at a time.
char g_read_buffer[64 * 1024];

std::vector<std::string> child_environment(const ProcessSpec& spec) {
  std::map<std::string, std::string> env;
  if (!spec.clear_env) {
    for (const char* name : kInheritedEnv) {
      if (const char* v = std::getenv(name)) env[name] = v;
    }
    if (env.count("PATH") == 0) env["PATH"] = kDefaultPath;
  }
  for (const auto& [k, v] : spec.env) env[k] = v;
  std::vector<std::string> out;
  out.reserve(env.size());
  for (const auto& [k, v] : env) out.push_back(k + "=" + v);
  return out;
}

}  // namespace

Result<std::vector<std::string>> split_command_line(std::string_view line) {
  std::vector<std::string> words;
  std::string word;
  bool in_word = false;  // a word has started, even if it is still empty ('' or "")
  for (size_t i = 0; i < line.size(); ++i) {
    const char c = line[i];
    if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
      if (in_word) words.push_back(std::move(word));
      word.clear();
      in_word = false;
    } else if (c == '\'') {
      const size_t end = line.find('\'', i + 1);
      if (end == std::string_view::npos) {
        return Status::error("syntax",
                             "unterminated single quote at column " + std::to_string(i + 1));
      }
      word.append(line.substr(i + 1, end - i - 1));
      in_word = true;
      i = end;
    } else if (c == '"') {
      const size_t start = i;
      for (++i; i < line.size() && line[i] != '"'; ++i) {
        if (line[i] == '\\' && i + 1 < line.size() &&
            std::string_view("\\\"$`").find(line[i + 1]) != std::string_view::npos) {
          ++i;
        }
        word.push_back(line[i]);
      }
      if (i >= line.size()) {
        return Status::error("syntax",
                             "unterminated double quote at column " + std::to_string(start + 1));
      }
      in_word = true;
    } else if (c == '\\') {
      if (i + 1 >= line.size()) return Status::error("syntax", "ends with a lone backslash");
      word.push_back(line[++i]);
      in_word = true;
    } else {
      word.push_back(c);
      in_word = true;
    }
  }
  if (in_word) words.push_back(std::move(word));
  return words;
}

// One child: its libuv handles, its collected output and its timers. Freed when the
// last of its three handles has been closed, which may be after the runner is gone.
struct ProcessRunner::Child {
  ProcessRunner* owner = nullptr;  // null once finished or orphaned: nothing reports back
  RunId id = 0;
  Callback done;
  size_t max_output = 0;
  bool stdout_tail = false;
  // Its exit is seen through one of these: a run-as child is libuv's (uv_spawn reaps it),
  // any other is watched through its pidfd and reaped here.
  uv_process_t process{};
  uv_poll_t exit_watch{};
  int pidfd = -1;
  uv_pipe_t pipes[2]{};  // stdout, stderr
  bool pipe_open[2] = {false, false};
  bool exited = false;
  int open_handles = 0;
  pid_t pid = 0;
  int64_t started_ms = 0;
  TimerId timeout_timer = 0;
  TimerId kill_timer = 0;
  ProcessOutcome outcome;

  void close_handle(uv_handle_t* h) {
    uv_close(h, [](uv_handle_t* handle) {
      auto* c = static_cast<Child*>(handle->data);
      if (--c->open_handles == 0) delete c;
    });
  }

  void close_pipe(int i) {
    if (!pipe_open[i]) return;
    pipe_open[i] = false;
    uv_read_stop(reinterpret_cast<uv_stream_t*>(&pipes[i]));
    close_handle(reinterpret_cast<uv_handle_t*>(&pipes[i]));
  }

  void kill_group(int sig) const {
    if (pid > 0) ::kill(-pid, sig);
  }

  void append(int stream, const char* data, size_t n) {
    if (stream == 0 && !stdout_tail) {
      std::string& out = outcome.out;
      const size_t room = out.size() < max_output ? max_output - out.size() : 0;
      out.append(data, std::min(room, n));
      if (n > room) outcome.out_truncated = true;
    } else {
      // The tail is kept: trim in batches so appends stay amortised O(n).
      std::string& text = stream == 0 ? outcome.out : outcome.err;
      text.append(data, n);
      if (text.size() > 2 * max_output + sizeof g_read_buffer) keep_tail(stream);
    }
  }

  void keep_tail(int stream) {
    std::string& text = stream == 0 ? outcome.out : outcome.err;
    if (text.size() <= max_output) return;
    text.erase(0, text.size() - max_output);
    (stream == 0 ? outcome.out_truncated : outcome.err_truncated) = true;
  }

  // Reports once the child has exited and both pipes are done.
  void maybe_finish() {
    if (owner != nullptr && exited && !pipe_open[0] && !pipe_open[1]) owner->finish(this);
  }

  void record_exit(int exit_status, int term_signal) {
    exited = true;
    if (owner != nullptr) outcome.duration_ms = owner->clock_.monotonic_ms() - started_ms;
    if (term_signal != 0) {
      outcome.term_signal = term_signal;
    } else {
      outcome.exit_code = exit_status;
    }
  }

  static void on_exit(uv_process_t* process, int64_t exit_status, int term_signal) {
    auto* c = static_cast<Child*>(process->data);
    c->record_exit(static_cast<int>(exit_status), term_signal);
    c->close_handle(reinterpret_cast<uv_handle_t*>(process));
    c->maybe_finish();
  }

  static void on_pidfd(uv_poll_t* handle, int /*status*/, int /*events*/) {
    auto* c = static_cast<Child*>(handle->data);
    int status = 0;
    pid_t reaped;
    do {
      reaped = ::waitpid(c->pid, &status, WNOHANG);
    } while (reaped < 0 && errno == EINTR);
    if (reaped == 0) return;  // not exited after all: keep watching
    // uv_close takes the fd out of epoll at once, so the pidfd can be closed now.
    c->close_handle(reinterpret_cast<uv_handle_t*>(&c->exit_watch));
    ::close(c->pidfd);
    c->pidfd = -1;
    if (reaped < 0) {
      // ECHILD: reaped by someone else (SIGCHLD set to SIG_IGN?); how it ended is lost.
      c->record_exit(-1, 0);
    } else {
      c->record_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 0,
                     WIFSIGNALED(status) ? WTERMSIG(status) : 0);
    }
    c->maybe_finish();
  }

  static void on_alloc(uv_handle_t*, size_t, uv_buf_t* buf) {
    *buf = uv_buf_init(g_read_buffer, sizeof g_read_buffer);
  }

  static void on_read(uv_stream_t* stream, ssize_t nread, const uv_buf_t* buf) {
    auto* c = static_cast<Child*>(stream->data);
    const int i = stream == reinterpret_cast<uv_stream_t*>(&c->pipes[0]) ? 0 : 1;
    if (nread > 0) {
      c->append(i, buf->base, static_cast<size_t>(nread));
    } else if (nread < 0) {  // EOF or a read error: either way this stream is done
      c->close_pipe(i);
      c->maybe_finish();
    }
  }
};

// Starts `spec` as `c`, which then has its three handles open and pid set. On failure
// returns the error, and c is gone or goes once its handles have closed.
Status ProcessRunner::spawn(Child* c, const ProcessSpec& spec) {
  const std::vector<std::string> env = child_environment(spec);
  for (auto& pipe : c->pipes) {
    uv_pipe_init(loop_.raw(), &pipe, 0);
    pipe.data = c;
  }
  c->open_handles = 2;
  auto give_up = [c](const std::string& error) {
    c->owner = nullptr;
    for (auto& pipe : c->pipes) c->close_handle(reinterpret_cast<uv_handle_t*>(&pipe));
    return Status::error("spawn", error);
  };

  if (!spec.uid && !spec.gid && can_spawn_with_pidfd()) {
    auto child = spawn_process(SpawnRequest{.argv = spec.argv, .env = env, .cwd = spec.cwd});
    if (!child) return give_up(child.status().message());
    // Each pipe handle owns its descriptor once opened, and closes it with the handle.
    int rc = uv_pipe_open(&c->pipes[0], child->out_fd);
    const bool out_owned = rc == 0;
    if (rc == 0) rc = uv_pipe_open(&c->pipes[1], child->err_fd);
    const bool err_owned = out_owned && rc == 0;
    if (rc == 0) rc = uv_poll_init(loop_.raw(), &c->exit_watch, child->pidfd);
    if (rc != 0) {  // not seen in practice: the descriptors are new
      ::kill(-child->pid, SIGKILL);
      while (::waitpid(child->pid, nullptr, 0) < 0 && errno == EINTR) {
      }
      if (!out_owned) ::close(child->out_fd);
      if (!err_owned) ::close(child->err_fd);
      ::close(child->pidfd);
      return give_up("cannot start " + spec.argv[0] + ": " + uv_strerror(rc));
    }
    c->pid = child->pid;
    c->pidfd = child->pidfd;
    c->exit_watch.data = c;
    c->open_handles = 3;
    uv_poll_start(&c->exit_watch, UV_READABLE, &Child::on_pidfd);
    return Status::ok();
  }

  // Run-as: uv_spawn forks, and sets the user and group in the child before exec.
  std::vector<char*> args;
  for (const auto& a : spec.argv) args.push_back(const_cast<char*>(a.c_str()));
  args.push_back(nullptr);
  std::vector<char*> envp;
  for (const auto& e : env) envp.push_back(const_cast<char*>(e.c_str()));
  envp.push_back(nullptr);
  c->process.data = c;
  uv_stdio_container_t stdio[3];
  stdio[0].flags = UV_IGNORE;  // libuv opens /dev/null for an ignored 0..2
  for (int i = 0; i < 2; ++i) {
    stdio[i + 1].flags = static_cast<uv_stdio_flags>(UV_CREATE_PIPE | UV_WRITABLE_PIPE);
    stdio[i + 1].data.stream = reinterpret_cast<uv_stream_t*>(&c->pipes[i]);
  }
  uv_process_options_t options{};
  options.exit_cb = &Child::on_exit;
  options.file = args[0];
  options.args = args.data();
  options.env = envp.data();
  options.cwd = spec.cwd.empty() ? nullptr : spec.cwd.c_str();
  options.stdio_count = 3;
  options.stdio = stdio;
  // A session (and so process group) of its own, so a timeout can kill all it started.
  options.flags = UV_PROCESS_DETACHED;
  if (spec.uid) {
    options.flags |= UV_PROCESS_SETUID;
    options.uid = *spec.uid;
  }
  if (spec.gid) {
    options.flags |= UV_PROCESS_SETGID;
    options.gid = *spec.gid;
  }
  const int rc = uv_spawn(loop_.raw(), &c->process, &options);
  c->open_handles = 3;  // the process handle is initialised even when the spawn failed
  if (rc != 0) {
    c->close_handle(reinterpret_cast<uv_handle_t*>(&c->process));
    return give_up(describe_spawn_error(-rc, spec.argv[0], spec.cwd, spec.uid || spec.gid));
  }
  c->pid = c->process.pid;
  return Status::ok();
}

ProcessRunner::ProcessRunner(EventLoop& loop, Timers& timers, const Clock& clock,
                             ProcessRunnerLimits limits)
    : loop_(loop), timers_(timers), clock_(clock), limits_(limits) {}

ProcessRunner::~ProcessRunner() {
  for (auto& [id, c] : running_) orphan(c);
  running_.clear();
  queue_.clear();
  for (auto& [id, timer] : failing_) timers_.cancel(timer);
  failing_.clear();
}

RunId ProcessRunner::run(ProcessSpec spec, Callback done) {
  const RunId id = next_id_++;
  if (running_.size() < limits_.max_concurrent && queue_.empty()) {
    start(Pending{id, std::move(spec), std::move(done)});
  } else if (queue_.size() < limits_.max_queued) {
    queue_.push_back(Pending{id, std::move(spec), std::move(done)});
  } else {
    fail_later(id, std::move(done), "too many processes");
  }
  return id;
}

void ProcessRunner::cancel(RunId id) {
  if (auto it = running_.find(id); it != running_.end()) {
    Child* c = it->second;
    running_.erase(it);
    orphan(c);
    start_queued();
    return;
  }
  if (auto it = failing_.find(id); it != failing_.end()) {
    timers_.cancel(it->second);
    failing_.erase(it);
    return;
  }
  for (auto it = queue_.begin(); it != queue_.end(); ++it) {
    if (it->id == id) {
      queue_.erase(it);
      return;
    }
  }
}

void ProcessRunner::start(Pending p) {
  const ProcessSpec& spec = p.spec;
  if (spec.argv.empty() || spec.argv[0].empty()) {
    fail_later(p.id, std::move(p.done), "no program to run");
    return;
  }
  auto* c = new Child;
  c->owner = this;
  c->id = p.id;
  c->max_output = spec.max_output;
  c->stdout_tail = spec.stdout_tail;
  c->started_ms = clock_.monotonic_ms();
  if (Status started = spawn(c, spec); !started) {
    fail_later(p.id, std::move(p.done), started.message());
    return;
  }
  c->done = std::move(p.done);
  for (int i = 0; i < 2; ++i) {
    c->pipe_open[i] = true;
    uv_read_start(reinterpret_cast<uv_stream_t*>(&c->pipes[i]), &Child::on_alloc, &Child::on_read);
  }
  running_[c->id] = c;

  // On timeout: SIGTERM to the group, SIGKILL after the grace, and after another grace
  // stop waiting for pipes that something outside the group still holds open.
  const Millis grace = limits_.kill_grace;
  c->timeout_timer = timers_.start(spec.timeout, Millis(0), [this, c, grace] {
    c->timeout_timer = 0;
    c->outcome.timed_out = true;
    c->kill_group(SIGTERM);
    c->kill_timer = timers_.start(grace, Millis(0), [this, c, grace] {
      c->kill_group(SIGKILL);
      c->kill_timer = timers_.start(grace, Millis(0), [c] {
        c->kill_timer = 0;
        c->close_pipe(0);
        c->close_pipe(1);
        c->maybe_finish();
      });
    });
  });
}

void ProcessRunner::finish(Child* c) {
  if (c->timeout_timer != 0) timers_.cancel(c->timeout_timer);
  if (c->kill_timer != 0) timers_.cancel(c->kill_timer);
  c->timeout_timer = c->kill_timer = 0;
  c->keep_tail(1);
  if (c->stdout_tail) c->keep_tail(0);
  ProcessOutcome outcome = std::move(c->outcome);
  Callback done = std::move(c->done);
  running_.erase(c->id);
  c->owner = nullptr;  // its handles are all closing; the last close frees it
  start_queued();
  // Last: the callback may destroy this runner.
  if (done) done(std::move(outcome));
}

void ProcessRunner::orphan(Child* c) {
  if (c->timeout_timer != 0) timers_.cancel(c->timeout_timer);
  if (c->kill_timer != 0) timers_.cancel(c->kill_timer);
  c->timeout_timer = c->kill_timer = 0;
  c->owner = nullptr;
  c->done = nullptr;
  // The whole group, even when the leader has exited: a grandchild may still be running.
  c->kill_group(SIGKILL);
  c->close_pipe(0);
  c->close_pipe(1);
  // The exit watch (pidfd or libuv's process handle) stays open until the child is
  // reaped (no zombie is left); it then closes, and the last close frees c.
}

void ProcessRunner::fail_later(RunId id, Callback done, std::string error) {
  failing_[id] = timers_.start(Millis(0), Millis(0),
                               [this, id, done = std::move(done), error = std::move(error)] {
                                 failing_.erase(id);
                                 ProcessOutcome outcome;
                                 outcome.spawn_error = error;
                                 if (done) done(std::move(outcome));
                               });
}

void ProcessRunner::start_queued() {
  while (running_.size() < limits_.max_concurrent && !queue_.empty()) {
    Pending p = std::move(queue_.front());
    queue_.pop_front();
    start(std::move(p));
  }
}

}  // namespace reflex::agent
