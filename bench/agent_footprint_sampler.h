// What a process and everything it forked cost at an instant, from /proc, and the
// footprint of a run of such samples: RSS (median, peak) and CPU as a share of one core.
//
// "Own" figures are the process alone (all its threads). "Tree" figures add its live
// descendants (zabbix_agentd's workers) and the CPU of descendants it has already reaped
// (the agent's plugin runs), so nothing a program causes escapes the count.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <string>
#include <vector>

namespace reflex::bench {

// One line of /proc/PID/stat, the fields a footprint needs.
struct ProcEntry {
  pid_t pid = 0;
  pid_t ppid = 0;
  char state = '?';
  uint64_t cpu_ticks = 0;    // utime + stime
  uint64_t child_ticks = 0;  // cutime + cstime: reaped descendants
};

// Parses the text of /proc/PID/stat (the command name may hold spaces and parentheses);
// false when it is not one.
bool parse_proc_stat(const std::string& text, ProcEntry& out);

// Every process in /proc now; processes that vanish while being read are left out.
std::vector<ProcEntry> scan_processes();

struct TreeSample {
  bool alive = false;        // the root exists and is not a zombie
  uint64_t rss_kb = 0;       // the root's VmRSS
  uint64_t tree_rss_kb = 0;  // VmRSS summed over the root and its descendants
  uint64_t own_ticks = 0;    // the root's utime + stime
  uint64_t tree_ticks = 0;   // utime + stime + cutime + cstime summed over the tree
  int processes = 0;         // in the tree, zombies included
};

// `root` and its descendants as found in `all` (from scan_processes()).
TreeSample sample_tree(pid_t root, const std::vector<ProcEntry>& all);

// Proportional set size summed over `root` and its descendants (/proc/PID/smaps_rollup):
// shared pages split between their users, unlike RSS. 0 when unreadable.
uint64_t tree_pss_kb(pid_t root, const std::vector<ProcEntry>& all);

struct Footprint {
  size_t samples = 0;
  uint64_t rss_median_kb = 0;
  uint64_t rss_peak_kb = 0;
  uint64_t tree_rss_median_kb = 0;
  uint64_t tree_rss_peak_kb = 0;
  int processes_max = 0;
  double cpu_percent = 0;       // of one core: own ticks over the wall time
  double tree_cpu_percent = 0;  // the same for the tree
};

// The footprint over `wall_seconds` between the samples `first` and `last`, with
// `samples` (taken between them) for RSS. `ticks_per_second` is sysconf(_SC_CLK_TCK).
Footprint summarize(const std::vector<TreeSample>& samples, const TreeSample& first,
                    const TreeSample& last, double wall_seconds, double ticks_per_second);

}  // namespace reflex::bench
