#include "bench/heal_latency_report.h"

#include <algorithm>
#include <cmath>

#include "bench/support/format.h"
#include "bench/support/stats.h"

namespace reflex::bench::heal {
namespace {

struct Summary {
  size_t n = 0;
  double median = 0, p90 = 0, p99 = 0, max = 0, min = 0;
};

Summary summarize(std::vector<double> ms) {
  Summary s;
  s.n = ms.size();
  if (ms.empty()) return s;
  s.median = median(ms);
  s.p90 = percentile(ms, 0.90);
  s.p99 = percentile(ms, 0.99);
  s.max = *std::max_element(ms.begin(), ms.end());
  s.min = *std::min_element(ms.begin(), ms.end());
  return s;
}

// Milliseconds with the precision they deserve: 0.734 ms, 12.3 ms, 1,234 ms.
std::string ms_text(double ms) {
  if (ms < 10) return fixed(ms, 3) + " ms";
  if (ms < 100) return fixed(ms, 1) + " ms";
  return grouped(ms) + " ms";
}

const LatencySeries* find(const std::vector<LatencySeries>& all, const std::string& key) {
  for (const auto& s : all) {
    if (s.key == key && !s.ms.empty()) return &s;
  }
  return nullptr;
}

// Monit's median over Reflex's; 0 when either is missing.
double speedup(const std::vector<LatencySeries>& all) {
  const LatencySeries* r = find(all, "reflex");
  const LatencySeries* m = find(all, "monit");
  if (!r || !m) return 0;
  const double reflex = summarize(r->ms).median;
  return reflex > 0 ? summarize(m->ms).median / reflex : 0;
}

std::string verdict(bool met) {
  return met ? "**met**" : "**MISSED**";
}

std::string interval_text(double seconds) {
  return fixed(seconds, seconds == std::floor(seconds) ? 0 : 1) + " s";
}

void rows(const std::string& scenario, const std::vector<LatencySeries>& all,
          const std::string& reflex_detection, std::ostream& out) {
  for (const auto& s : all) {
    const Summary m = summarize(s.ms);
    const bool reflex = s.key == "reflex";
    auto b = [&](const std::string& text) { return reflex ? "**" + text + "**" : text; };
    out << "| " << scenario << " | " << b(s.title) << " | "
        << (reflex             ? reflex_detection
            : s.key == "floor" ? "nothing to detect: the floor under both supervisors"
                               : "`set daemon 1`: a cycle every 1 s")
        << " | " << m.n << " | " << b(ms_text(m.median)) << " | " << ms_text(m.p90) << " | "
        << b(ms_text(m.p99)) << " | " << ms_text(m.max) << " | " << ms_text(m.min) << " |\n";
  }
}

void phase_table(const std::vector<Phases>& phases, int trials, std::ostream& out) {
  if (phases.empty()) {
    out << "\nWhere reflex-agent's time went could not be read: its /status had moved on "
           "before the benchmark asked.\n";
    return;
  }
  auto column = [&](double Phases::*field) {
    std::vector<double> v;
    for (const auto& p : phases) v.push_back(p.*field);
    return summarize(v);
  };
  out << "\nWhere reflex-agent's time went in the process trials (its GET /status read right "
         "after each stamp, wall-clock milliseconds, so each phase is +-1 ms; "
      << phases.size() << " of " << trials << " trials still showed the episode):\n\n"
      << "| Phase | Median | Max |\n|---|---:|---:|\n";
  const struct {
    const char* name;
    double Phases::*field;
  } kRows[] = {
      {"kill -> the process check's CRITICAL result (detection)", &Phases::detect_ms},
      {"-> the rule finds `state == CRITICAL` (evaluation)", &Phases::evaluate_ms},
      {"-> the stamp program starts (healer, fork, exec)", &Phases::act_ms},
  };
  for (const auto& r : kRows) {
    const Summary s = column(r.field);
    // Whole milliseconds, and never "-0": the clocks' truncation can make a phase -0.4 ms.
    auto whole = [](double ms) { return fixed(std::round(ms) + 0.0, 0) + " ms"; };
    out << "| " << r.name << " | " << whole(s.median) << " | " << whole(s.max) << " |\n";
  }
}

void config_block(const std::string& summary, const std::string& lang, const std::string& text,
                  std::ostream& out) {
  out << "\n<details><summary>" << summary << "</summary>\n\n```" << lang << "\n"
      << text << (text.empty() || text.back() == '\n' ? "" : "\n") << "```\n\n</details>\n";
}

// Which value percentile(0.99) picks from `n`, in words.
std::string p99_rank_text(int n) {
  const int index = std::min(static_cast<int>(0.99 * n), n - 1);
  return index >= n - 1 ? "largest" : std::to_string(index + 1) + "th smallest";
}

}  // namespace

void print_markdown(const HealReport& r, std::ostream& out) {
  const std::string process_detection =
      "process check on the pidfile every " + interval_text(r.process_interval_s) +
      ", woken by the process's exit (pidfd); rule `state == CRITICAL`, heal `[restart-svc]`";
  const std::string http_detection = "http check every " + interval_text(r.http_interval_s) +
                                     "; rule `state == CRITICAL`, heal `[stamp-web]`";
  out << "| Scenario | Supervisor | Detection | Trials | Median | p90 | p99 | Max | Min |\n"
      << "|---|---|---|---:|---:|---:|---:|---:|---:|\n";
  rows("Process SIGKILLed -> restart started", r.process, process_detection, out);
  rows("HTTP 200 -> 500 -> action started", r.http, http_detection, out);

  out << "\nLatency: from CLOCK_REALTIME read by the benchmark just before `kill(pid, "
         "SIGKILL)` (or before the target turns to 500) to CLOCK_REALTIME read by "
         "`heal_latency_stamp` as its first instruction; both supervisors run that same "
         "program, which then starts the service again (process) or exits (HTTP). The floor row "
         "times "
         "the benchmark itself forking and executing that program (once per process round, "
         "from before `fork` to the stamp): what any supervisor pays at least, on this "
         "machine under its load at the time. Each "
         "supervisor has its own copy of the service and its own path on the HTTP target; "
         "both run throughout, the process trials alternate between them and each HTTP "
         "trial fails both at once. Before every trial each supervisor has seen its target "
         "healthy again (Reflex: /status shows the check OK after the restart, the rule "
         "inactive and no remediation in flight; Monit: its log names the new pid, or it "
         "was answered 200 again); then the benchmark pauses a random 0 to "
      << fixed(r.max_pause_s, 1)
      << " s (Monit's cycle and the agent's rule tick are 1 s), so that the break lands "
         "anywhere in their cycles as a real failure would (seed "
      << r.seed
      << "). Killed services are reaped at once (the benchmark is "
         "their subreaper), so neither sees a zombie. p99 is the nearest rank: with "
      << r.trials << " trials, the " << p99_rank_text(r.trials) << " value. The run took "
      << fixed(r.seconds, 0) << " s; load average at its end " << r.load_after << ".\n\n";

  const LatencySeries* reflex = find(r.process, "reflex");
  if (reflex) {
    const Summary s = summarize(reflex->ms);
    out << "- Target p99 < " << fixed(kTargetP99Ms, 0)
        << " ms from the kill to the restart starting: " << verdict(s.p99 < kTargetP99Ms)
        << " (p99 " << ms_text(s.p99) << ", "
        << (s.p99 < kTargetP99Ms ? "within the target" : fixed(s.p99 / kTargetP99Ms, 1) + "x it");
    if (const LatencySeries* floor = find(r.process, "floor")) {
      const Summary f = summarize(floor->ms);
      out << "; the floor's p99 " << ms_text(f.p99) << ", median " << ms_text(f.median);
    }
    out << ").\n";
    const double x = speedup(r.process);
    if (x > 0) {
      out << "- Target at least " << fixed(kTargetSpeedup, 0)
          << "x faster than Monit's median: " << verdict(x >= kTargetSpeedup) << " (Monit's "
          << ms_text(summarize(find(r.process, "monit")->ms).median) << " / Reflex's "
          << ms_text(s.median) << " = " << fixed(x, x < 10 ? 2 : 0) << "x).\n";
    } else {
      out << "- Monit was not measured, so the ratio to it is not checked.\n";
    }
  }
  if (const double x = speedup(r.http); x > 0) {
    out << "- HTTP, not a target: Monit's median / Reflex's = " << fixed(x, 2)
        << "x. Both poll (Reflex every " << interval_text(r.http_interval_s)
        << ", Monit every 1 s), so the latency is bounded by the interval: about half of it on "
           "average, up to all of it.\n";
  }
  phase_table(r.reflex_phases, r.trials, out);
  config_block("reflex-agent's configuration (paths in the run's scratch directory)", "yaml",
               r.agent_yaml, out);
  if (!r.monitrc.empty()) config_block("Monit's control file", "", r.monitrc, out);
}

void print_lines(const HealReport& r, std::ostream& out) {
  auto line = [&](const std::string& name, double value) {
    out << "heal_latency_" << name << " " << fixed(value, std::floor(value) == value ? 0 : 3)
        << "\n";
  };
  line("trials", r.trials);
  line("process_interval_seconds", r.process_interval_s);
  line("http_interval_seconds", r.http_interval_s);
  line("seconds", std::round(r.seconds));
  for (const auto* group : {&r.process, &r.http}) {
    const std::string scenario = group == &r.process ? "process_" : "http_";
    for (const auto& s : *group) {
      const Summary m = summarize(s.ms);
      const std::string p = scenario + s.key + "_";
      line(p + "trials", static_cast<double>(m.n));
      line(p + "median_ms", m.median);
      line(p + "p90_ms", m.p90);
      line(p + "p99_ms", m.p99);
      line(p + "max_ms", m.max);
      line(p + "min_ms", m.min);
    }
    line(scenario + "speedup", speedup(*group));
  }
  if (const LatencySeries* reflex = find(r.process, "reflex")) {
    line("target_p99_met", summarize(reflex->ms).p99 < kTargetP99Ms ? 1 : 0);
    if (speedup(r.process) > 0) line("target_speedup_met", speedup(r.process) >= kTargetSpeedup);
  }
  if (r.reflex_phases.empty()) return;
  line("reflex_phases_trials", static_cast<double>(r.reflex_phases.size()));
  const struct {
    const char* name;
    double Phases::*field;
  } kPhases[] = {
      {"detect", &Phases::detect_ms}, {"evaluate", &Phases::evaluate_ms}, {"act", &Phases::act_ms}};
  for (const auto& p : kPhases) {
    std::vector<double> v;
    for (const auto& ph : r.reflex_phases) v.push_back(ph.*(p.field));
    line(std::string("reflex_phase_") + p.name + "_median_ms", median(v));
  }
}

}  // namespace reflex::bench::heal
