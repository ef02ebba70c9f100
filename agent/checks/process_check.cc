#include "agent/checks/process_check.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace reflex::agent {
namespace {

// A small file, whole, with plain system calls: name and cmdline checks read a few
// files of every process each run, and a stream costs more than the reading. On failure
// errno says why.
std::optional<std::string> slurp(const std::string& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return std::nullopt;
  std::string out;
  char buf[4096];
  while (true) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<size_t>(n));
    } else if (n == 0 || errno != EINTR) {
      const int saved = errno;
      ::close(fd);
      if (n < 0) {
        errno = saved;
        return std::nullopt;
      }
      return out;
    }
  }
}

// argv from a cmdline file: NUL-separated arguments, usually with a trailing NUL.
std::vector<std::string> split_cmdline(const std::string& cmdline) {
  std::vector<std::string> argv;
  size_t start = 0;
  while (start < cmdline.size()) {
    size_t end = cmdline.find('\0', start);
    if (end == std::string::npos) end = cmdline.size();
    argv.push_back(cmdline.substr(start, end - start));
    start = end + 1;
  }
  return argv;
}

// The state letter of `dir`/stat, '?' when unreadable.
char read_state(const std::string& dir) {
  auto stat = slurp(dir + "/stat");
  if (!stat) return '?';
  // "pid (comm) S ...": comm may hold spaces and parentheses, so look after the last ')'.
  const size_t close = stat->rfind(')');
  return close != std::string::npos && close + 2 < stat->size() ? (*stat)[close + 2] : '?';
}

std::string trim(const std::string& s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return "";
  return s.substr(first, s.find_last_not_of(" \t\r\n") - first + 1);
}

std::optional<pid_t> parse_pid(const std::string& s) {
  long v = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc() || end != s.data() + s.size() || v <= 0 || v > 0x7fffffff) {
    return std::nullopt;
  }
  return static_cast<pid_t>(v);
}

std::string first_line(const std::string& s) {
  return trim(s.substr(0, s.find('\n')));
}

std::string in_quotes(const std::string& s) {
  return "\"" + s + "\"";
}

}  // namespace

std::optional<ProcInfo> read_proc_info(const std::string& proc_root, pid_t pid) {
  const std::string dir = proc_root + "/" + std::to_string(pid);
  struct stat st {};
  if (::stat(dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
  ProcInfo p;
  p.pid = pid;
  if (auto comm = slurp(dir + "/comm")) {
    p.comm = *comm;
    if (!p.comm.empty() && p.comm.back() == '\n') p.comm.pop_back();
  }
  if (auto cmdline = slurp(dir + "/cmdline")) p.argv = split_cmdline(*cmdline);
  p.state = read_state(dir);
  return p;
}

namespace {

// The numeric entries of `proc_root`.
std::vector<pid_t> list_pids(const std::string& proc_root) {
  std::vector<pid_t> out;
  DIR* d = ::opendir(proc_root.c_str());
  if (d == nullptr) return out;
  while (const dirent* e = ::readdir(d)) {
    if (auto pid = parse_pid(e->d_name)) out.push_back(*pid);
  }
  ::closedir(d);
  return out;
}

}  // namespace

std::vector<ProcInfo> list_processes(const std::string& proc_root) {
  std::vector<ProcInfo> out;
  for (pid_t pid : list_pids(proc_root)) {
    if (auto info = read_proc_info(proc_root, pid)) out.push_back(std::move(*info));
  }
  return out;
}

bool matches_name(const ProcInfo& p, const std::string& name) {
  if (p.comm == name) return true;
  if (p.argv.empty() || p.argv[0].empty()) return false;
  const std::string& arg0 = p.argv[0];
  const size_t slash = arg0.rfind('/');
  return (slash == std::string::npos ? arg0 : arg0.substr(slash + 1)) == name;
}

bool matches_cmdline(const ProcInfo& p, const std::regex& re) {
  std::string joined;
  for (const auto& a : p.argv) joined += (joined.empty() ? "" : " ") + a;
  try {
    return std::regex_search(joined, re);
  } catch (const std::regex_error&) {
    return false;  // too complex for this input: treated as no match
  }
}

CheckResult count_result(size_t count, const std::string& what, int64_t min,
                         std::optional<int64_t> max) {
  CheckResult r;
  const auto n = static_cast<int64_t>(count);
  if (count == 0) {
    r.message = "no process matches " + in_quotes(what);
  } else {
    r.message = std::to_string(count) + (count == 1 ? " process matches " : " processes match ") +
                in_quotes(what);
  }
  if (n < min) {
    r.state = CheckState::kCritical;
    if (count > 0) r.message += " (expected at least " + std::to_string(min) + ")";
  } else if (max && n > *max) {
    r.state = CheckState::kCritical;
    r.message += " (expected at most " + std::to_string(*max) + ")";
  } else {
    r.state = CheckState::kOk;
  }
  r.perf.push_back(PerfValue{"count", static_cast<double>(count), "", {}});
  return r;
}

CheckResult unit_state_result(const std::string& unit, const std::string& active_state) {
  CheckResult r;
  const std::string s = trim(active_state);
  if (s == "active") {
    r.state = CheckState::kOk;
  } else if (s == "failed" || s == "inactive") {
    r.state = CheckState::kCritical;
  } else if (s == "activating" || s == "deactivating" || s == "reloading") {
    r.state = CheckState::kWarning;
  } else {
    r.state = CheckState::kUnknown;
    r.message = "unit " + unit + " has an unknown state " + in_quotes(s);
    return r;
  }
  r.message = "unit " + unit + " is " + s;
  return r;
}

void read_process_check(config::MapReader& r, ProcessCheckConfig& out) {
  static const char* kSelectors[] = {"pidfile", "process_name", "cmdline", "unit"};
  std::vector<std::string> given;
  for (const char* key : kSelectors) {
    if (r.has(key)) given.push_back(key);
  }
  if (given.size() != 1) {
    std::string names;
    for (const auto& g : given) names += (names.empty() ? "" : ", ") + g;
    r.errors().add(r.path().empty() ? "(check)" : r.path(),
                   "needs exactly one of pidfile, process_name, cmdline, unit" +
                       (given.empty() ? std::string() : " (got " + names + ")"));
  }
  r.get("pidfile", out.pidfile);
  r.get("process_name", out.name);
  r.get("cmdline", out.cmdline);
  r.get("unit", out.unit);
  r.get("proc_root", out.proc_root);
  const std::pair<const char*, const std::string*> values[] = {{"pidfile", &out.pidfile},
                                                               {"process_name", &out.name},
                                                               {"cmdline", &out.cmdline},
                                                               {"unit", &out.unit}};
  for (const auto& [key, value] : values) {
    const YAML::Node node = r.take(key);
    if (node.IsScalar() && trim(*value).empty()) {
      r.errors().add(node, r.path_of(key), "must not be empty");
    }
  }
  if (!out.cmdline.empty()) {
    try {
      std::regex re(out.cmdline);
    } catch (const std::regex_error& e) {
      r.errors().add(r.take("cmdline"), r.path_of("cmdline"),
                     "invalid regular expression: " + std::string(e.what()));
    }
  }
  if (!out.unit.empty() &&
      (out.unit[0] == '-' || out.unit.find_first_of(" \t\r\n") != std::string::npos)) {
    r.errors().add(r.take("unit"), r.path_of("unit"),
                   "expected a unit name like nginx.service, got " + in_quotes(out.unit));
  }
  const bool counted = !out.name.empty() || !out.cmdline.empty();
  for (const char* key : {"min", "max"}) {
    if (r.has(key) && !counted) {
      r.errors().add(r.take(key), r.path_of(key), "applies only to process_name and cmdline");
    }
  }
  r.get("min", out.min, 0, 1'000'000);
  int64_t max = -1;  // stays -1 when absent or invalid
  r.get("max", max, 0, 1'000'000);
  if (max >= 0) {
    out.max = max;
    if (max < out.min) {
      r.errors().add(r.take("max"), r.path_of("max"),
                     "must be at least min (" + std::to_string(out.min) + ")");
    }
  }
}

ProcessCheck::ProcessCheck(CheckSpec spec, ProcessCheckConfig config, ProcessRunner& runner,
                           EventLoop& loop)
    : spec_(std::move(spec)), config_(std::move(config)), runner_(runner) {
  // Pidfds name real processes: a fake proc tree's pids would watch strangers.
  if (config_.unit.empty() && config_.proc_root == "/proc") {
    watcher_.emplace(loop, [this](pid_t) { wake_(); });
  }
  if (!config_.cmdline.empty()) {
    try {
      cmdline_re_.emplace(config_.cmdline);
    } catch (const std::regex_error&) {
      // read_process_check refuses such a config; run() reports UNKNOWN if one gets here.
    }
  }
}

ProcessCheck::~ProcessCheck() {
  if (in_flight_) runner_.cancel(*in_flight_);
}

void ProcessCheck::run(std::function<void(CheckResult)> done) {
  if (!config_.unit.empty()) {
    check_unit(std::move(done));
    return;
  }
  std::vector<pid_t> alive;
  CheckResult r = config_.pidfile.empty() ? check_matches(alive) : check_pidfile(alive);
  // One already gone since it was counted: this result is stale, so ask for another.
  if (watcher_ && watcher_->watch(alive) > 0) wake_();
  done(std::move(r));
}

Result<pid_t> read_pidfile(const std::string& path) {
  auto text = slurp(path);
  if (!text) {
    return Status::error("io", "cannot read pidfile " + path + ": " + std::strerror(errno));
  }
  auto pid = parse_pid(trim(*text));
  if (!pid) return Status::error("invalid_value", "pidfile " + path + " holds no pid");
  return *pid;
}

CheckResult ProcessCheck::check_pidfile(std::vector<pid_t>& alive) const {
  CheckResult r;
  const std::string& file = config_.pidfile;
  auto pid = read_pidfile(file);
  if (!pid) {
    // No file: the service is down. A file without a pid: we cannot tell.
    const bool unreadable = pid.status().code() == "io";
    r.state = unreadable ? CheckState::kCritical : CheckState::kUnknown;
    r.message = pid.status().message();
    if (unreadable) r.perf.push_back(PerfValue{"count", 0, "", {}});
    return r;
  }
  auto info = read_proc_info(config_.proc_root, *pid);
  const bool running = info && info->state != 'Z';
  if (running) alive.push_back(*pid);
  r.state = running ? CheckState::kOk : CheckState::kCritical;
  r.message = "pid " + std::to_string(*pid) + " from " + file +
              (running ? " is running" : " is not running");
  r.perf.push_back(PerfValue{"count", running ? 1.0 : 0.0, "", {}});
  return r;
}

CheckResult ProcessCheck::check_matches(std::vector<pid_t>& alive) const {
  const bool by_name = !config_.name.empty();
  if (!by_name && !cmdline_re_) {
    CheckResult r;
    r.message = "invalid cmdline regex " + in_quotes(config_.cmdline);
    return r;
  }
  // Reads only what the decision needs, as list_processes would: comm, then cmdline when
  // comm does not already match, then stat (zombies) only for a match. Run every second
  // against every process, this is most of what a process check costs.
  for (pid_t pid : list_pids(config_.proc_root)) {
    const std::string dir = config_.proc_root + "/" + std::to_string(pid);
    ProcInfo p;
    p.pid = pid;
    if (by_name) {
      if (auto comm = slurp(dir + "/comm")) {
        p.comm = std::move(*comm);
        if (!p.comm.empty() && p.comm.back() == '\n') p.comm.pop_back();
      }
    }
    if (!by_name || p.comm != config_.name) {
      auto cmdline = slurp(dir + "/cmdline");
      if (!cmdline) continue;  // gone
      p.argv = split_cmdline(*cmdline);
    }
    if (!(by_name ? matches_name(p, config_.name) : matches_cmdline(p, *cmdline_re_))) continue;
    if (read_state(dir) == 'Z') continue;
    alive.push_back(pid);
  }
  return count_result(alive.size(), by_name ? config_.name : config_.cmdline, config_.min,
                      config_.max);
}

void ProcessCheck::check_unit(std::function<void(CheckResult)> done) {
  ProcessSpec p;
  p.argv = {config_.systemctl, "show", "--property=ActiveState", "--value", "--", config_.unit};
  p.timeout = spec_.timeout;
  p.max_output = 4096;
  const Millis timeout = spec_.timeout;
  in_flight_ = runner_.run(std::move(p), [this, timeout, done = std::move(done)](ProcessOutcome o) {
    in_flight_.reset();
    CheckResult r;
    if (!o.spawn_error.empty()) {
      r.message = "cannot run systemctl: " + o.spawn_error;
    } else if (o.timed_out) {
      r.message = "systemctl timed out after " + std::to_string(timeout.count()) + " ms";
    } else if (o.exit_code != 0) {
      const std::string why = first_line(o.err.empty() ? o.out : o.err);
      r.message = "systemctl failed" + (why.empty() ? std::string() : ": " + why);
    } else {
      r = unit_state_result(config_.unit, o.out);
    }
    done(std::move(r));
  });
}

std::unique_ptr<ProcessCheck> make_process_check(CheckSpec spec, ProcessCheckConfig config,
                                                 ProcessRunner& runner, EventLoop& loop) {
  return std::make_unique<ProcessCheck>(std::move(spec), std::move(config), runner, loop);
}

}  // namespace reflex::agent
