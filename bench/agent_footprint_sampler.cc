#include "bench/agent_footprint_sampler.h"

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>

#include "bench/support/proc_stats.h"

namespace reflex::bench {
namespace {

std::string slurp(const std::string& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

// The number after "KEY:" on its line of `text`, or 0.
uint64_t field_kb(const std::string& text, const std::string& key) {
  const std::string needle = "\n" + key + ":";
  const std::string padded = "\n" + text;
  const size_t at = padded.find(needle);
  if (at == std::string::npos) return 0;
  return std::strtoull(padded.c_str() + at + needle.size(), nullptr, 10);
}

// `root` and every process whose chain of parents reaches it.
std::vector<const ProcEntry*> tree_of(pid_t root, const std::vector<ProcEntry>& all) {
  std::multimap<pid_t, const ProcEntry*> children;
  const ProcEntry* top = nullptr;
  for (const auto& e : all) {
    children.emplace(e.ppid, &e);
    if (e.pid == root) top = &e;
  }
  std::vector<const ProcEntry*> out;
  if (!top) return out;
  out.push_back(top);
  for (size_t i = 0; i < out.size(); ++i) {
    auto [begin, end] = children.equal_range(out[i]->pid);
    for (auto it = begin; it != end; ++it) out.push_back(it->second);
  }
  return out;
}

// The lower middle for an even count, as median() in support/stats.h does.
uint64_t lower_median(std::vector<uint64_t> values) {
  std::sort(values.begin(), values.end());
  return values[(values.size() - 1) / 2];
}

}  // namespace

bool parse_proc_stat(const std::string& text, ProcEntry& out) {
  // "pid (comm) state ppid ...": comm is whatever lies between the first "(" and the
  // last ")".
  const size_t close = text.rfind(')');
  if (close == std::string::npos) return false;
  out.pid = static_cast<pid_t>(std::strtol(text.c_str(), nullptr, 10));
  std::istringstream rest(text.substr(close + 1));
  std::string field;
  std::vector<std::string> fields;  // fields[0] is field 3 of proc(5), "state"
  while (fields.size() < 15 && rest >> field) fields.push_back(field);
  if (fields.size() < 15 || fields[0].size() != 1) return false;
  out.state = fields[0][0];
  out.ppid = static_cast<pid_t>(std::strtol(fields[1].c_str(), nullptr, 10));
  auto num = [&](size_t field_number) {
    return std::strtoull(fields[field_number - 3].c_str(), nullptr, 10);
  };
  out.cpu_ticks = num(14) + num(15);
  out.child_ticks = num(16) + num(17);
  return out.pid > 0;
}

std::vector<ProcEntry> scan_processes() {
  std::vector<ProcEntry> out;
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
    const std::string name = entry.path().filename().string();
    if (name.empty() || name.find_first_not_of("0123456789") != std::string::npos) continue;
    ProcEntry e;
    if (parse_proc_stat(slurp(entry.path() / "stat"), e)) out.push_back(e);
  }
  return out;
}

TreeSample sample_tree(pid_t root, const std::vector<ProcEntry>& all) {
  TreeSample s;
  for (const ProcEntry* e : tree_of(root, all)) {
    ++s.processes;
    s.tree_ticks += e->cpu_ticks + e->child_ticks;
    if (e->state == 'Z') continue;
    const uint64_t rss = read_memory(e->pid).rss_kb;
    s.tree_rss_kb += rss;
    if (e->pid == root) {
      s.alive = true;
      s.rss_kb = rss;
      s.own_ticks = e->cpu_ticks;
    }
  }
  return s;
}

uint64_t tree_pss_kb(pid_t root, const std::vector<ProcEntry>& all) {
  uint64_t total = 0;
  for (const ProcEntry* e : tree_of(root, all)) {
    if (e->state == 'Z') continue;
    total += field_kb(slurp("/proc/" + std::to_string(e->pid) + "/smaps_rollup"), "Pss");
  }
  return total;
}

Footprint summarize(const std::vector<TreeSample>& samples, const TreeSample& first,
                    const TreeSample& last, double wall_seconds, double ticks_per_second) {
  Footprint f;
  std::vector<uint64_t> own, tree;
  for (const auto& s : samples) {
    if (!s.alive) continue;
    own.push_back(s.rss_kb);
    tree.push_back(s.tree_rss_kb);
    f.processes_max = std::max(f.processes_max, s.processes);
  }
  f.samples = own.size();
  if (!own.empty()) {
    f.rss_peak_kb = *std::max_element(own.begin(), own.end());
    f.tree_rss_peak_kb = *std::max_element(tree.begin(), tree.end());
    f.rss_median_kb = lower_median(own);
    f.tree_rss_median_kb = lower_median(tree);
  }
  if (wall_seconds > 0 && ticks_per_second > 0 && last.own_ticks >= first.own_ticks) {
    const double per_tick = 100.0 / (ticks_per_second * wall_seconds);
    f.cpu_percent = static_cast<double>(last.own_ticks - first.own_ticks) * per_tick;
    if (last.tree_ticks >= first.tree_ticks) {
      f.tree_cpu_percent = static_cast<double>(last.tree_ticks - first.tree_ticks) * per_tick;
    }
  }
  return f;
}

}  // namespace reflex::bench
