// The host check: CPU, memory, load and disk usage of this host, from /proc and statvfs.
//
// Each run reports state OK with perf values cpu_used (%; absent on the first run, which
// only takes the baseline), mem_used (%), mem_available (B), load1, load5, load15, and per
// mount disk_used (%) and disk_free (B) labelled {mount: <path>}. A /proc file that cannot
// be read or parsed makes the run UNKNOWN with the reason; a mount that cannot be statted
// is left out (and named in the message).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "agent/checks/check.h"
#include "common/config.h"

namespace reflex::agent {

struct HostCheckConfig {
  std::vector<std::string> mounts;  // empty: every real filesystem in /proc/self/mounts
  std::string proc_root = "/proc";  // tests point this at a fake tree
};

void read_host_check(config::MapReader& r, HostCheckConfig& out);

// The pure parsers, fed the files' text.

// The aggregate "cpu" line of /proc/stat, in jiffies.
struct CpuTimes {
  uint64_t busy = 0;   // user + nice + system + irq + softirq + steal
  uint64_t total = 0;  // busy + idle + iowait
};
Result<CpuTimes> parse_proc_stat(std::string_view text);
// Busy share of the time between two samples, 0..100; nullopt when no time passed.
std::optional<double> cpu_busy_pct(const CpuTimes& before, const CpuTimes& after);

struct MemInfo {
  uint64_t total_bytes = 0;
  uint64_t available_bytes = 0;
  double used_pct() const;
};
Result<MemInfo> parse_meminfo(std::string_view text);  // needs MemTotal and MemAvailable

struct LoadAvg {
  double load1 = 0, load5 = 0, load15 = 0;
};
Result<LoadAvg> parse_loadavg(std::string_view text);

// Mount points of real filesystems in /proc/self/mounts text, each once, in file order:
// pseudo filesystems (proc, sysfs, tmpfs, devtmpfs, cgroup, ...) are skipped, overlay is
// kept. Octal escapes ("\040" for a space) are decoded.
std::vector<std::string> parse_real_mounts(std::string_view text);

struct DiskUsage {
  double used_pct = 0;  // of the space available to unprivileged users, like df
  uint64_t free_bytes = 0;
};
Result<DiskUsage> disk_usage(const std::string& mount);

std::unique_ptr<PeriodicCheck> make_host_check(CheckSpec spec, HostCheckConfig config);

}  // namespace reflex::agent
