#include "bench/support/proc_stats.h"

#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

namespace reflex::bench {
namespace {

// The number on the "KEY:   123 kB" line of /proc/PID/status, or 0.
uint64_t status_kb(const std::string& text, const std::string& key) {
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    if (line.size() > key.size() && line.compare(0, key.size(), key) == 0 &&
        line[key.size()] == ':') {
      return std::strtoull(line.c_str() + key.size() + 1, nullptr, 10);
    }
  }
  return 0;
}

std::string slurp(const std::filesystem::path& path) {
  std::ifstream in(path);
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

}  // namespace

Memory read_memory(pid_t pid) {
  const std::string text = slurp("/proc/" + std::to_string(pid) + "/status");
  return {status_kb(text, "VmRSS"), status_kb(text, "VmHWM")};
}

std::map<std::string, ThreadTime> thread_times(pid_t pid) {
  std::map<std::string, ThreadTime> out;
  std::error_code ec;
  const std::filesystem::path tasks = "/proc/" + std::to_string(pid) + "/task";
  for (const auto& entry : std::filesystem::directory_iterator(tasks, ec)) {
    std::string name = slurp(entry.path() / "comm");
    while (!name.empty() && name.back() == '\n') name.pop_back();
    if (entry.path().filename() == std::to_string(pid)) name += " (main)";
    std::istringstream sched(slurp(entry.path() / "schedstat"));
    uint64_t run_ns = 0, wait_ns = 0;
    if (!(sched >> run_ns >> wait_ns)) continue;  // the thread ended meanwhile
    ThreadTime& t = out[name];
    t.on_cpu_s += static_cast<double>(run_ns) / 1e9;
    t.waiting_s += static_cast<double>(wait_ns) / 1e9;
  }
  return out;
}

std::map<std::string, ThreadTime> time_delta(const std::map<std::string, ThreadTime>& before,
                                             const std::map<std::string, ThreadTime>& after) {
  std::map<std::string, ThreadTime> out;
  for (const auto& [name, t] : after) {
    auto it = before.find(name);
    const ThreadTime b = it == before.end() ? ThreadTime{} : it->second;
    out[name] = {t.on_cpu_s - b.on_cpu_s, t.waiting_s - b.waiting_s};
  }
  return out;
}

std::string cpu_model() {
  std::ifstream in("/proc/cpuinfo");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("model name", 0) == 0) {
      auto colon = line.find(':');
      if (colon != std::string::npos) return line.substr(line.find_first_not_of(" \t", colon + 1));
    }
  }
  return "unknown";
}

}  // namespace reflex::bench
