#include "bench/hub_ingest_report.h"

#include <algorithm>
#include <cmath>
#include <cstdio>

#include "bench/hub_ingest_ceilings.h"
#include "bench/support/format.h"
#include "bench/support/stats.h"

namespace reflex::bench {
namespace {

std::string runs_text(const CeilingRuns& c) {
  // The detail of the median run describes the reported figure.
  const double mid = median(c.rates);
  std::string detail;
  for (size_t i = 0; i < c.rates.size() && i < c.details.size(); ++i) {
    if (c.rates[i] == mid) detail = c.details[i];
  }
  std::string out;
  if (c.rates.size() == 1) {
    out = "1 run";
  } else {
    out = "median of " + std::to_string(c.rates.size()) + " (";
    for (size_t i = 0; i < c.rates.size(); ++i) out += (i ? ", " : "") + grouped(c.rates[i]);
    out += ")";
  }
  return detail.empty() ? out : out + "; " + detail;
}

// The slowest ceiling on the measured configuration's path, or nullptr.
const CeilingRuns* lowest_ceiling(const Report& r) {
  const CeilingRuns* low = nullptr;
  for (const auto& c : r.ceilings) {
    if (c.on_hub_path && !c.rates.empty() && (!low || median(c.rates) < median(low->rates))) {
      low = &c;
    }
  }
  return low;
}

std::string verdict(bool met, double got, double want, const std::string& what) {
  if (met) return "**met** (" + what + ")";
  return "**missed** by " + fixed(100.0 * (1.0 - got / want), 0) + "% (" + what + ")";
}

void print_time_breakdown(const LoadResult& l, std::ostream& out) {
  const double wall = l.profile_seconds;
  out << "\nWhere each thread's time went while streaming (" << fixed(wall, 1)
      << " s of wall time, from /proc/PID/task/TID/schedstat; threads under 1% left out):\n\n"
      << "| Process: thread | on a CPU | runnable, waiting for a CPU | blocked (I/O, idle) |\n"
      << "|---|---:|---:|---:|\n";
  double total = 0;
  auto pct = [&](double s) { return fixed(100.0 * s / wall, 0) + "%"; };
  auto rows = [&](const std::string& process, const std::map<std::string, ThreadTime>& threads) {
    std::vector<std::pair<std::string, ThreadTime>> sorted(threads.begin(), threads.end());
    std::sort(sorted.begin(), sorted.end(),
              [](const auto& a, const auto& b) { return a.second.on_cpu_s > b.second.on_cpu_s; });
    for (const auto& [name, t] : sorted) {
      if (t.on_cpu_s + t.waiting_s < 0.01 * wall) continue;
      total += t.on_cpu_s;
      out << "| " << process << ": " << name << " | " << pct(t.on_cpu_s) << " | "
          << pct(t.waiting_s) << " | " << pct(std::max(0.0, wall - t.on_cpu_s - t.waiting_s))
          << " |\n";
    }
  };
  rows("reflex-hub", l.hub_threads);
  rows("load generator", l.load_threads);
  out << "\nThese threads together used " << fixed(total / wall, 2) << " CPUs on average.";
  for (const auto& [name, t] : l.hub_threads) {
    if (name.find("(main)") == std::string::npos || l.acked == 0) continue;
    const double us = 1e6 * t.on_cpu_s / static_cast<double>(l.acked);
    out << " The hub's loop thread (decode, bookkeeping, acks) used " << fixed(us, 1)
        << " us of CPU per event: with a core of its own it could make at most "
        << grouped(1e6 / us) << " events/s durable.";
  }
  if (l.commits > 0) {
    out << " Group commits while streaming: " << grouped(l.commits) << ", "
        << grouped(static_cast<double>(l.acked) / l.commits) << " events each on average, "
        << fixed(1000.0 * l.commit_seconds / l.commits, 1)
        << " ms each (SQLite transaction incl. fsync, on the hub's store-writer thread, while "
           "the loop reads the next batch); "
        << fixed(100.0 * l.commit_seconds / wall, 0) << "% of the wall time was spent in commits.";
  }
  out << "\n";
}

}  // namespace

void print_markdown(const Report& r, std::ostream& out) {
  out << "| Measurement | Result | Target / earlier reference | Notes |\n"
      << "|---|---:|---|---|\n";
  if (r.load && r.load_options) {
    const LoadResult& l = *r.load;
    const LoadOptions& o = *r.load_options;
    out << "| **Durable ingest**: real reflex-hub, CurveZMQ, " << o.agents << " agents, window "
        << grouped(o.window) << " | **" << grouped(l.events_per_second)
        << " events/s** | >= " << grouped(kTargetEventsPerSecond) << " events/s | "
        << grouped(l.sent) << " sent, " << grouped(l.acked) << " acked, " << grouped(l.stored)
        << " in the store" << (l.stored == l.sent ? " (exact)" : " (**MISMATCH**)") << "; "
        << fixed(l.seconds, 2) << " s" << (l.time_limited ? " (**stopped by the time limit**)" : "")
        << "; " << fixed(l.frame_bytes, 0) << " B/frame"
        << (l.errors ? "; " + grouped(l.errors) + " errors, first: " + l.first_error : "")
        << " |\n";
    // A saturated closed loop: every agent keeps its window full, so an event waits for
    // all the events in flight ahead of it (Little's law).
    const double per_agent = std::min<double>(o.window, static_cast<double>(o.events) / o.agents);
    const double in_flight = static_cast<double>(o.agents) * per_agent;
    out << "| Ack latency p50 / p99 / max | " << fixed(l.ack_p50_ms, 1) << " / "
        << fixed(l.ack_p99_ms, 1) << " / " << fixed(l.ack_max_ms, 1)
        << " ms | | send of event `s` to the first ack with `upto` >= `s`; with every window "
           "full, expect about events in flight / rate = "
        << grouped(in_flight) << " / " << grouped(l.events_per_second) << " = "
        << fixed(l.events_per_second > 0 ? 1000.0 * in_flight / l.events_per_second : 0, 0)
        << " ms |\n";
    out << "| Hub peak RSS | " << fixed(static_cast<double>(l.hub_peak_rss_kb) / 1024.0, 1)
        << " MiB | | VmHWM at the end; highest VmRSS sampled every 100 ms: "
        << fixed(static_cast<double>(l.hub_sampled_rss_kb) / 1024.0, 1) << " MiB |\n";
  }
  for (const auto& c : r.ceilings) {
    if (c.rates.empty()) continue;
    out << "| " << (c.on_hub_path ? "Ceiling: " : "Comparison: ") << c.title << " | "
        << grouped(median(c.rates)) << " " << c.unit << " | " << c.reference << " | "
        << runs_text(c) << (c.notes.empty() ? "" : "; " + c.notes) << " |\n";
  }
  const CeilingRuns* low = lowest_ceiling(r);
  if (r.load && low) {
    const double share = r.load->events_per_second / median(low->rates);
    out << "| **Durable / lowest ceiling** | **" << fixed(share, 2)
        << "** | >= " << fixed(kTargetShareOfCeiling, 1) << " | lowest ceiling: " << low->title
        << " |\n";
  }
  out << "\n";
  if (r.load) {
    const double got = r.load->events_per_second;
    out << "- Target >= " << grouped(kTargetEventsPerSecond) << " durable events/s: "
        << verdict(got >= kTargetEventsPerSecond, got, kTargetEventsPerSecond,
                   grouped(got) + " events/s")
        << ".\n";
    if (low) {
      const double ceiling = median(low->rates);
      const double want = kTargetShareOfCeiling * ceiling;
      out << "- Target >= " << fixed(kTargetShareOfCeiling, 1) << " x the lowest ceiling ("
          << grouped(want)
          << " events/s): " << verdict(got >= want, got, want, fixed(got / ceiling, 2) + " x")
          << ".\n";
    }
    print_time_breakdown(*r.load, out);
  }
}

void print_lines(const Report& r, std::ostream& out) {
  auto line = [&](const std::string& name, double value) {
    out << "hub_ingest_" << name << " " << fixed(value, std::floor(value) == value ? 0 : 3) << "\n";
  };
  if (r.load) {
    const LoadResult& l = *r.load;
    line("durable_events_per_second", std::round(l.events_per_second));
    line("events_sent", static_cast<double>(l.sent));
    line("events_acked", static_cast<double>(l.acked));
    line("events_stored", static_cast<double>(l.stored));
    line("seconds", l.seconds);
    line("time_limited", l.time_limited ? 1 : 0);
    line("errors", static_cast<double>(l.errors));
    line("frame_bytes", l.frame_bytes);
    line("ack_latency_p50_ms", l.ack_p50_ms);
    line("ack_latency_p99_ms", l.ack_p99_ms);
    line("ack_latency_max_ms", l.ack_max_ms);
    line("hub_peak_rss_bytes", static_cast<double>(l.hub_peak_rss_kb) * 1024);
    line("hub_sampled_rss_bytes", static_cast<double>(l.hub_sampled_rss_kb) * 1024);
    line("hub_commits", l.commits);
    line("hub_commit_seconds", l.commit_seconds);
  }
  for (const auto& c : r.ceilings) {
    if (!c.rates.empty()) line("ceiling_" + c.key + "_per_second", std::round(median(c.rates)));
  }
  if (const CeilingRuns* low = lowest_ceiling(r); r.load && low) {
    line("durable_to_lowest_ceiling_ratio", r.load->events_per_second / median(low->rates));
  }
}

}  // namespace reflex::bench
