#include "agent/checks/host_check.h"

#include <sys/statvfs.h>

#include <cerrno>
#include <charconv>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <set>
#include <sstream>

namespace reflex::agent {
namespace {

// Filesystems that hold no disk space worth watching.
const std::set<std::string, std::less<>>& pseudo_filesystems() {
  static const std::set<std::string, std::less<>> names{
      "autofs",     "binfmt_misc", "bpf",        "cgroup",     "cgroup2",   "configfs",
      "debugfs",    "devpts",      "devtmpfs",   "efivarfs",   "fusectl",   "fuse.gvfsd-fuse",
      "fuse.lxcfs", "fuse.portal", "hugetlbfs",  "mqueue",     "nsfs",      "proc",
      "pstore",     "ramfs",       "rpc_pipefs", "securityfs", "selinuxfs", "squashfs",
      "sysfs",      "tmpfs",       "tracefs"};
  return names;
}

std::vector<std::string_view> split_ws(std::string_view s) {
  std::vector<std::string_view> out;
  size_t i = 0;
  while (i < s.size()) {
    while (i < s.size() && (s[i] == ' ' || s[i] == '\t')) ++i;
    const size_t start = i;
    while (i < s.size() && s[i] != ' ' && s[i] != '\t') ++i;
    if (i > start) out.push_back(s.substr(start, i - start));
  }
  return out;
}

template <class T>
std::optional<T> number(std::string_view s) {
  T v{};
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (s.empty() || ec != std::errc() || ptr != s.data() + s.size()) return std::nullopt;
  return v;
}

// "\040" style escapes that /proc/self/mounts uses for spaces, tabs, newlines, backslashes.
std::string unescape_mount(std::string_view s) {
  const auto octal = [](char c) { return c >= '0' && c <= '7'; };
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '\\' && i + 3 < s.size() && octal(s[i + 1]) && octal(s[i + 2]) && octal(s[i + 3])) {
      out.push_back(
          static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

Result<std::string> read_text(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::error("io", "cannot read " + path + ": " + std::strerror(errno));
  std::stringstream buf;
  buf << in.rdbuf();
  return buf.str();
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.1f", v);
  return buf;
}

class HostCheck final : public PeriodicCheck {
 public:
  HostCheck(CheckSpec spec, HostCheckConfig config)
      : spec_(std::move(spec)), config_(std::move(config)) {}

  const CheckSpec& spec() const override { return spec_; }

  void run(std::function<void(CheckResult)> done) override { done(measure()); }

 private:
  CheckResult measure() {
    CheckResult r;
    const auto unknown = [&](const Status& s) {
      r.state = CheckState::kUnknown;
      r.message = s.message();
      r.perf.clear();
      return r;
    };
    auto stat = read_text(config_.proc_root + "/stat");
    if (!stat) return unknown(stat.status());
    auto cpu = parse_proc_stat(*stat);
    if (!cpu) return unknown(cpu.status().with_context(config_.proc_root + "/stat"));
    auto meminfo = read_text(config_.proc_root + "/meminfo");
    if (!meminfo) return unknown(meminfo.status());
    auto mem = parse_meminfo(*meminfo);
    if (!mem) return unknown(mem.status().with_context(config_.proc_root + "/meminfo"));
    auto loadavg = read_text(config_.proc_root + "/loadavg");
    if (!loadavg) return unknown(loadavg.status());
    auto load = parse_loadavg(*loadavg);
    if (!load) return unknown(load.status().with_context(config_.proc_root + "/loadavg"));

    std::optional<double> cpu_pct;
    if (previous_cpu_) cpu_pct = cpu_busy_pct(*previous_cpu_, *cpu);
    previous_cpu_ = *cpu;
    if (cpu_pct) r.perf.push_back({"cpu_used", *cpu_pct, "%", {}});
    r.perf.push_back({"mem_used", mem->used_pct(), "%", {}});
    r.perf.push_back({"mem_available", static_cast<double>(mem->available_bytes), "B", {}});
    r.perf.push_back({"load1", load->load1, "", {}});
    r.perf.push_back({"load5", load->load5, "", {}});
    r.perf.push_back({"load15", load->load15, "", {}});

    std::vector<std::string> mounts = config_.mounts;
    std::string problems;
    if (mounts.empty()) {
      auto text = read_text(config_.proc_root + "/self/mounts");
      if (text) {
        mounts = parse_real_mounts(*text);
      } else {
        problems += "; " + text.status().message();
      }
    }
    for (const auto& m : mounts) {
      auto disk = disk_usage(m);
      if (!disk) {
        problems += "; " + disk.status().message();
        continue;
      }
      r.perf.push_back({"disk_used", disk->used_pct, "%", {{"mount", m}}});
      r.perf.push_back({"disk_free", static_cast<double>(disk->free_bytes), "B", {{"mount", m}}});
    }

    r.state = CheckState::kOk;
    r.message = (cpu_pct ? "cpu " + fmt(*cpu_pct) + "%, " : std::string()) + "mem " +
                fmt(mem->used_pct()) + "%, load " + fmt(load->load1) + problems;
    return r;
  }

  CheckSpec spec_;
  HostCheckConfig config_;
  std::optional<CpuTimes> previous_cpu_;
};

}  // namespace

Result<CpuTimes> parse_proc_stat(std::string_view text) {
  const size_t eol = text.find('\n');
  const auto f = split_ws(text.substr(0, eol));
  if (f.size() < 5 || f[0] != "cpu") return Status::error("parse", "no aggregate cpu line");
  // user nice system idle iowait irq softirq steal (guest time is already in user).
  uint64_t v[8] = {};
  for (size_t i = 0; i < 8 && i + 1 < f.size(); ++i) {
    auto n = number<uint64_t>(f[i + 1]);
    if (!n) return Status::error("parse", "bad cpu field \"" + std::string(f[i + 1]) + "\"");
    v[i] = *n;
  }
  CpuTimes t;
  t.busy = v[0] + v[1] + v[2] + v[5] + v[6] + v[7];
  t.total = t.busy + v[3] + v[4];
  return t;
}

std::optional<double> cpu_busy_pct(const CpuTimes& before, const CpuTimes& after) {
  if (after.total <= before.total || after.busy < before.busy) return std::nullopt;
  const double busy = static_cast<double>(after.busy - before.busy);
  const double total = static_cast<double>(after.total - before.total);
  return std::min(100.0, 100.0 * busy / total);
}

double MemInfo::used_pct() const {
  if (total_bytes == 0) return 0;
  const uint64_t used = total_bytes > available_bytes ? total_bytes - available_bytes : 0;
  return 100.0 * static_cast<double>(used) / static_cast<double>(total_bytes);
}

Result<MemInfo> parse_meminfo(std::string_view text) {
  std::optional<uint64_t> total, available;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const auto f = split_ws(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (f.size() < 2) continue;
    std::optional<uint64_t>* slot = f[0] == "MemTotal:"       ? &total
                                    : f[0] == "MemAvailable:" ? &available
                                                              : nullptr;
    if (slot == nullptr) continue;
    auto kib = number<uint64_t>(f[1]);
    if (!kib) return Status::error("parse", "bad value for " + std::string(f[0]));
    *slot = *kib * 1024;  // the kernel writes "kB" and means KiB
  }
  if (!total || !available) return Status::error("parse", "no MemTotal or MemAvailable");
  return MemInfo{*total, *available};
}

Result<LoadAvg> parse_loadavg(std::string_view text) {
  const auto f = split_ws(text.substr(0, text.find('\n')));
  if (f.size() < 3) return Status::error("parse", "expected three load averages");
  LoadAvg l;
  double* out[3] = {&l.load1, &l.load5, &l.load15};
  for (size_t i = 0; i < 3; ++i) {
    auto v = number<double>(f[i]);
    if (!v || *v < 0) return Status::error("parse", "bad load \"" + std::string(f[i]) + "\"");
    *out[i] = *v;
  }
  return l;
}

std::vector<std::string> parse_real_mounts(std::string_view text) {
  std::vector<std::string> out;
  std::set<std::string> seen;
  while (!text.empty()) {
    const size_t eol = text.find('\n');
    const auto f = split_ws(text.substr(0, eol));
    text.remove_prefix(eol == std::string_view::npos ? text.size() : eol + 1);
    if (f.size() < 3 || pseudo_filesystems().count(f[2]) > 0) continue;
    std::string mount = unescape_mount(f[1]);
    if (seen.insert(mount).second) out.push_back(std::move(mount));
  }
  return out;
}

Result<DiskUsage> disk_usage(const std::string& mount) {
  struct statvfs st {};
  if (::statvfs(mount.c_str(), &st) != 0) {
    return Status::error("io", "statvfs " + mount + ": " + std::strerror(errno));
  }
  const double unit = static_cast<double>(st.f_frsize);
  const double used = static_cast<double>(st.f_blocks - st.f_bfree) * unit;
  const double avail = static_cast<double>(st.f_bavail) * unit;
  DiskUsage d;
  d.used_pct = used + avail > 0 ? 100.0 * used / (used + avail) : 0;
  d.free_bytes = static_cast<uint64_t>(st.f_bavail) * st.f_frsize;
  return d;
}

void read_host_check(config::MapReader& r, HostCheckConfig& out) {
  r.get("mounts", out.mounts);
  r.get("proc_root", out.proc_root);
  for (size_t i = 0; i < out.mounts.size(); ++i) {
    if (out.mounts[i].empty() || out.mounts[i].front() != '/') {
      r.errors().add(r.take("mounts")[i], r.path_of("mounts") + "[" + std::to_string(i) + "]",
                     "expected an absolute path, got \"" + out.mounts[i] + "\"");
    }
  }
  if (out.proc_root.empty()) {
    r.errors().add(r.take("proc_root"), r.path_of("proc_root"), "must not be empty");
  }
}

std::unique_ptr<PeriodicCheck> make_host_check(CheckSpec spec, HostCheckConfig config) {
  return std::make_unique<HostCheck>(std::move(spec), std::move(config));
}

}  // namespace reflex::agent
