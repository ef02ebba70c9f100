// What Linux says about a process: memory (/proc/PID/status) and scheduling per thread
// (/proc/PID/task/*/schedstat). Readers return zero or empty when the process is gone.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <string>

namespace reflex::bench {

struct Memory {
  uint64_t rss_kb = 0;   // VmRSS: resident now
  uint64_t peak_kb = 0;  // VmHWM: the most ever resident
};
Memory read_memory(pid_t pid);

// Where a thread's time went, from /proc/PID/task/TID/schedstat (nanosecond counters).
struct ThreadTime {
  double on_cpu_s = 0;   // running
  double waiting_s = 0;  // runnable, waiting for a CPU: time other work took from it
};

// Per thread of `pid`, summed by thread name ("reflex-hub", "ZMQbg/IO/0", ...); the main
// thread's name gets " (main)" appended, as helper threads often share it.
std::map<std::string, ThreadTime> thread_times(pid_t pid);

// `after` minus `before`, per thread name; names only in `after` count from zero.
std::map<std::string, ThreadTime> time_delta(const std::map<std::string, ThreadTime>& before,
                                             const std::map<std::string, ThreadTime>& after);

// "model name" from /proc/cpuinfo, or "unknown".
std::string cpu_model();

}  // namespace reflex::bench
