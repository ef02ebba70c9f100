#include "hub/incidents/change_suspect.h"

#include <algorithm>
#include <cstdio>
#include <set>

namespace reflex::hub::incidents {
namespace {

std::string fixed(double v, int decimals) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.*f", decimals, v);
  return buf;
}

std::string count_of(size_t n, const char* one, const char* many) {
  return std::to_string(n) + " " + (n == 1 ? one : many);
}

std::string lead_text(int64_t lead_ms) {
  if (lead_ms < 60'000) return count_of(static_cast<size_t>(lead_ms / 1000), "second", "seconds");
  return count_of(static_cast<size_t>(lead_ms / 60'000), "minute", "minutes");
}

std::string summary_of(const Change& c, const std::string& service, bool dependency,
                       int64_t lead_ms) {
  std::string what = !c.version.empty()  ? c.version
                     : !c.commit.empty() ? c.commit.substr(0, 12)
                                         : c.id;
  std::string text = "started " + lead_text(lead_ms) + " after deploy " + what + " of " + c.service;
  if (dependency) text += " (a dependency of " + service + ")";
  if (!c.author.empty()) text += " by " + c.author;
  return text;
}

std::string overlap_text(const Change& c, const std::vector<std::string>& affected) {
  if (c.hosts.empty() || affected.empty()) return "";
  const std::set<std::string> changed(c.hosts.begin(), c.hosts.end());
  const std::set<std::string> hit(affected.begin(), affected.end());
  size_t both = 0;
  for (const auto& h : hit) both += changed.count(h);
  return std::to_string(both) + " of " + count_of(hit.size(), "affected host", "affected hosts") +
         " changed";
}

void append(std::string& text, const std::string& part) {
  if (part.empty()) return;
  if (!text.empty()) text += "; ";
  text += part;
}

}  // namespace

std::string compare_canary(const std::vector<std::string>& changed_hosts,
                           const std::map<std::string, HostStats>& host_stats) {
  const std::set<std::string> changed(changed_hosts.begin(), changed_hosts.end());
  HostStats in, out;
  size_t n_in = 0, n_out = 0;
  for (const auto& [host, s] : host_stats) {
    HostStats& sum = changed.count(host) ? in : out;
    (changed.count(host) ? n_in : n_out) += 1;
    sum.error_rate += s.error_rate;
    sum.p99_ms += s.p99_ms;
  }
  if (n_in == 0) return "no error rate or latency for the changed hosts";
  if (n_out == 0) return "no error rate or latency for the unchanged hosts";
  const double n1 = static_cast<double>(n_in), n2 = static_cast<double>(n_out);
  return "error rate " + fixed(100 * in.error_rate / n1, 1) + "% on the " +
         count_of(n_in, "changed host", "changed hosts") + " vs " +
         fixed(100 * out.error_rate / n2, 1) + "% on the " + count_of(n_out, "other", "others") +
         "; p99 " + fixed(in.p99_ms / n1, 0) + "ms vs " + fixed(out.p99_ms / n2, 0) + "ms";
}

std::optional<HostStats> series_stats(const protocol::Metrics& metrics,
                                      const protocol::Labels& alert_labels) {
  const auto series = alert_labels.find("series");
  if (series == alert_labels.end()) return std::nullopt;
  auto carried = [&](const protocol::Labels& labels) {
    return std::all_of(labels.begin(), labels.end(), [&](const auto& label) {
      const auto it = alert_labels.find(label.first);
      return it != alert_labels.end() && it->second == label.second;
    });
  };
  std::optional<double> error_rate, p99;
  for (const auto& s : metrics.samples) {
    if (s.name == series->second + ".error_rate" && carried(s.labels)) error_rate = s.value;
    if (s.name == series->second + ".p99" && carried(s.labels)) p99 = s.value;
  }
  if (!error_rate && !p99) return std::nullopt;
  return HostStats{.error_rate = error_rate.value_or(0), .p99_ms = p99.value_or(0)};
}

std::optional<Suspect> find_suspect(const SuspectQuery& q, const std::vector<Change>& changes,
                                    const SuspectPolicy& policy) {
  const std::set<std::string> deps(q.dependencies.begin(), q.dependencies.end());
  const Change* best = nullptr;
  bool best_dep = false;
  for (const Change& c : changes) {
    const bool own = c.service == q.service;
    if (!own && !deps.count(c.service)) continue;
    if (!q.environment.empty() && !c.environment.empty() && c.environment != q.environment) {
      continue;
    }
    const int64_t lead = q.opened_at_ms - c.at_ms;
    if (lead < 0 || lead > policy.window_ms) continue;
    // Latest wins; at the same time the service's own change beats a dependency's.
    if (!best || c.at_ms > best->at_ms || (c.at_ms == best->at_ms && own && best_dep)) {
      best = &c;
      best_dep = !own;
    }
  }
  if (!best) return std::nullopt;

  Suspect s;
  s.change = *best;
  s.on_dependency = best_dep;
  s.lead_ms = q.opened_at_ms - best->at_ms;
  s.summary = summary_of(*best, q.service, best_dep, s.lead_ms);
  if (best->strategy == DeployStrategy::kCanary) {
    append(s.evidence, compare_canary(best->hosts, q.host_stats));
  } else if (best->strategy == DeployStrategy::kBlueGreen) {
    append(s.evidence, best->active_color.empty()
                           ? "blue-green: the active colour was not reported"
                           : "blue-green: " + best->active_color + " is active");
  }
  append(s.evidence, overlap_text(*best, q.affected_hosts));
  return s;
}

}  // namespace reflex::hub::incidents
