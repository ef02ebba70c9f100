#include "bench/agent_footprint_report.h"

#include <cmath>
#include <cstdio>

#include "bench/agent_footprint_config.h"
#include "bench/support/format.h"

namespace reflex::bench {
namespace {

double mib(uint64_t kb) {
  return static_cast<double>(kb) / 1024.0;
}
std::string mib_text(uint64_t kb) {
  return fixed(mib(kb), 1) + " MiB";
}
std::string cpu_text(double percent) {
  return fixed(percent, 2) + "%";
}

const SubjectResult* agent_of(const FootprintReport& r) {
  for (const auto& s : r.subjects) {
    if (s.key == "agent" && s.failure.empty()) return &s;
  }
  return nullptr;
}

void print_row(const SubjectResult& s, bool bold, std::ostream& out) {
  if (!s.failure.empty()) {
    out << "| " << s.title << " | " << s.workload << " | not measured | | | | | " << s.failure
        << " |\n";
    return;
  }
  const Footprint& f = s.footprint;
  auto b = [&](const std::string& text) { return bold ? "**" + text + "**" : text; };
  out << "| " << (bold ? "**" + s.title + "**" : s.title) << " | " << s.workload << " | "
      << b(mib_text(f.rss_median_kb)) << " | " << mib_text(f.rss_peak_kb) << " | "
      << mib_text(f.tree_rss_median_kb) << " (" << f.processes_max
      << (f.processes_max == 1 ? " process" : " processes") << " at most) | "
      << b(cpu_text(f.cpu_percent)) << " | " << cpu_text(f.tree_cpu_percent) << " | VmHWM "
      << mib_text(s.hwm_kb) << "; PSS of all its processes at the end " << mib_text(s.pss_kb)
      << "; " << f.samples << " samples |\n";
}

std::string verdict(bool met) {
  return met ? "**met**" : "**MISSED**";
}

}  // namespace

void print_markdown(const FootprintReport& r, std::ostream& out) {
  out << "| Program | Doing | RSS median | RSS peak | RSS median, all its processes | CPU, % of "
         "one core | CPU incl. child processes | Notes |\n"
      << "|---|---|---:|---:|---:|---:|---:|---|\n";
  for (const auto& s : r.subjects) print_row(s, s.key == "agent", out);
  out << "\nOver " << fixed(r.seconds, 0) << " s after a " << fixed(r.warmup_seconds, 0)
      << " s warm-up, all programs at once. RSS: VmRSS sampled every "
      << fixed(r.sample_interval, 1)
      << " s (\"all its processes\" sums it over the program and its descendants, so pages "
         "they share count more than once; PSS splits them). CPU: utime + stime over the "
         "window / wall time, in clock ticks of "
      << fixed(1000.0 / r.ticks_per_second, 0) << " ms, so to "
      << fixed(100.0 / (r.ticks_per_second * (r.seconds > 0 ? r.seconds : 1)), 3)
      << "% here; \"incl. child processes\" adds its live descendants and the children it "
         "reaped (the agent's plugin runs).\n";

  const double secs = r.seconds > 0 ? r.seconds : 1;
  out << "\nDelivered to reflex-agent during the window: " << grouped(r.statsd_sent)
      << " StatsD datagrams (" << grouped(static_cast<double>(r.statsd_sent) / secs) << "/s of "
      << grouped(r.statsd_rate) << "/s asked; " << grouped(r.statsd_skipped)
      << " skipped by the pacer, " << grouped(r.statsd_errors) << " send errors); "
      << grouped(r.http_requests) << " HTTP check requests ("
      << fixed(static_cast<double>(r.http_requests) / secs, 1) << "/s, " << kHttpChecks
      << " expected); " << grouped(r.tcp_connections) << " TCP check connections ("
      << fixed(static_cast<double>(r.tcp_connections) / secs, 1) << "/s, " << kTcpChecks
      << " expected). ";
  if (r.statsd_names_seen < 0) {
    out << "The agent's /metrics could not be read afterwards, so whether it took in the "
           "StatsD load is not confirmed.";
  } else {
    out << "Afterwards the agent's /metrics named " << r.statsd_names_seen << " of "
        << r.statsd_names_total << " StatsD metric names sent.";
  }
  if (!r.agent_stop_note.empty()) out << " " << r.agent_stop_note;
  out << "\n\n";

  if (const SubjectResult* a = agent_of(r)) {
    const Footprint& f = a->footprint;
    const bool rss_met = mib(f.rss_peak_kb) < kTargetRssMiB;
    const bool cpu_met = f.cpu_percent < kTargetCpuPercent;
    out << "- Target RSS < " << fixed(kTargetRssMiB, 0) << " MiB: " << verdict(rss_met) << " (peak "
        << mib_text(f.rss_peak_kb) << ", median " << mib_text(f.rss_median_kb)
        << ", of the reflex-agent process).\n"
        << "- Target CPU < " << fixed(kTargetCpuPercent, 0) << "% of one core: " << verdict(cpu_met)
        << " (" << cpu_text(f.cpu_percent) << "; " << cpu_text(f.tree_cpu_percent)
        << " counting the plugins it ran).\n";
  } else {
    out << "- reflex-agent was not measured, so neither target is checked.\n";
  }
}

void print_lines(const FootprintReport& r, std::ostream& out) {
  auto line = [&](const std::string& name, double value) {
    out << "agent_footprint_" << name << " " << fixed(value, std::floor(value) == value ? 0 : 3)
        << "\n";
  };
  line("seconds", r.seconds);
  line("warmup_seconds", r.warmup_seconds);
  for (const auto& s : r.subjects) {
    line(s.key + "_measured", s.failure.empty() ? 1 : 0);
    if (!s.failure.empty()) continue;
    const Footprint& f = s.footprint;
    line(s.key + "_rss_median_bytes", static_cast<double>(f.rss_median_kb) * 1024);
    line(s.key + "_rss_peak_bytes", static_cast<double>(f.rss_peak_kb) * 1024);
    line(s.key + "_tree_rss_median_bytes", static_cast<double>(f.tree_rss_median_kb) * 1024);
    line(s.key + "_tree_rss_peak_bytes", static_cast<double>(f.tree_rss_peak_kb) * 1024);
    line(s.key + "_hwm_bytes", static_cast<double>(s.hwm_kb) * 1024);
    line(s.key + "_tree_pss_bytes", static_cast<double>(s.pss_kb) * 1024);
    line(s.key + "_processes_max", f.processes_max);
    line(s.key + "_cpu_percent", std::round(f.cpu_percent * 1000) / 1000);
    line(s.key + "_tree_cpu_percent", std::round(f.tree_cpu_percent * 1000) / 1000);
  }
  const double secs = r.seconds > 0 ? r.seconds : 1;
  line("statsd_packets_sent", static_cast<double>(r.statsd_sent));
  line("statsd_packets_per_second", std::round(static_cast<double>(r.statsd_sent) / secs));
  line("statsd_packets_skipped", static_cast<double>(r.statsd_skipped));
  line("statsd_send_errors", static_cast<double>(r.statsd_errors));
  line("statsd_names_seen", r.statsd_names_seen);
  line("http_check_requests", static_cast<double>(r.http_requests));
  line("tcp_check_connections", static_cast<double>(r.tcp_connections));
  if (const SubjectResult* a = agent_of(r)) {
    line("target_rss_met", mib(a->footprint.rss_peak_kb) < kTargetRssMiB ? 1 : 0);
    line("target_cpu_met", a->footprint.cpu_percent < kTargetCpuPercent ? 1 : 0);
  }
}

}  // namespace reflex::bench
