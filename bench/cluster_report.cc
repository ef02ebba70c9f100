#include "bench/cluster_report.h"

#include <algorithm>
#include <cmath>

#include "bench/support/format.h"
#include "bench/support/stats.h"

namespace reflex::bench {
namespace {

std::vector<double> rates(const std::vector<IngestRun>& runs) {
  std::vector<double> out;
  for (const auto& r : runs) out.push_back(r.load.events_per_second);
  return out;
}

// The run whose rate is the median: its latency and counts stand for the configuration.
const IngestRun* median_run(const std::vector<IngestRun>& runs) {
  if (runs.empty()) return nullptr;
  const double m = median(rates(runs));
  for (const auto& r : runs) {
    if (r.load.events_per_second == m) return &r;
  }
  return &runs.front();
}

double median_rate(const ClusterReport& r, const std::string& key) {
  auto it = r.runs.find(key);
  return it == r.runs.end() ? 0 : median(rates(it->second));
}

std::string hubs_text(const IngestConfig& c, const std::vector<IngestRun>& runs) {
  int least = c.hubs, most = 0;
  for (const auto& r : runs) {
    least = std::min(least, r.ingesting);
    most = std::max(most, r.ingesting);
  }
  const std::string ingesting =
      least == most ? std::to_string(most) : std::to_string(least) + "-" + std::to_string(most);
  return std::to_string(c.hubs) + ", " + ingesting + " ingesting";
}

// Bytes per stored event, median over the runs: table (true) or WAL (false).
double per_event(const std::vector<IngestRun>& runs, bool table) {
  std::vector<double> v;
  for (const auto& r : runs) {
    if (r.load.stored == 0) continue;
    const auto bytes = static_cast<double>(table ? r.table_bytes : r.wal_bytes);
    v.push_back(bytes / static_cast<double>(r.load.stored));
  }
  return median(v);
}

bool all_valid(const std::vector<IngestRun>& runs) {
  return std::all_of(runs.begin(), runs.end(), [](const IngestRun& r) { return r.valid(); });
}

void print_ingest(const ClusterReport& r, std::ostream& out) {
  const LoadOptions& l = r.load;
  out << "### Durable ingest: SQLite and PostgreSQL\n\n"
      << l.agents << " simulated agents (CurveZMQ DEALERs, window " << grouped(l.window) << "), "
      << grouped(static_cast<double>(l.events)) << " events per run, " << r.repeat
      << (r.repeat == 1 ? " run" : " runs")
      << " of each configuration, interleaved; a fresh hub (and a fresh database) per "
         "run. Events/s: acknowledged events / seconds from the first sent to the last ack "
         "(with two hubs, until the leader has also taken every event a standby queued for it). "
         "SQLite: WAL, synchronous=FULL. PostgreSQL "
      << r.postgres_version
      << " on this machine over its unix socket, fsync on, synchronous_commit on, "
         "shared_buffers 128MB.\n\n"
      << "| configuration | hubs | durable events/s (median) | runs | ack p50 / p99 (ms), "
         "median run | in the store |\n"
      << "|---|---|---:|---|---|---|\n";
  for (const auto& c : r.configs) {
    auto it = r.runs.find(c.key);
    if (it == r.runs.end() || it->second.empty()) continue;
    const auto& runs = it->second;
    std::string each;
    for (const auto& run : runs) {
      each += (each.empty() ? "" : ", ") + grouped(run.load.events_per_second);
    }
    const IngestRun* mid = median_run(runs);
    out << "| " << c.title << " | " << hubs_text(c, runs) << " | **" << grouped(median(rates(runs)))
        << "** | " << each << " | " << fixed(mid->load.ack_p50_ms, 1) << " / "
        << fixed(mid->load.ack_p99_ms, 1) << " | "
        << (all_valid(runs) ? "exactly the events sent, every run" : "**NOT the events sent**")
        << " |\n";
  }
  const double sqlite = median_rate(r, "sqlite");
  out << "\n";
  if (sqlite > 0) {
    out << "- PostgreSQL / SQLite, by median: one hub **"
        << fixed(median_rate(r, "pg_one") / sqlite, 2) << "x**, two hubs **"
        << fixed(median_rate(r, "pg_two") / sqlite, 2) << "x**.\n";
  }
  std::string sizes;
  for (const auto& c : r.configs) {
    auto it = r.runs.find(c.key);
    if (c.store != IngestStore::postgres || it == r.runs.end() || it->second.empty()) continue;
    sizes += (sizes.empty() ? "" : "; ") + c.title + ": " + grouped(per_event(it->second, true)) +
             " and " + grouped(per_event(it->second, false));
  }
  if (!sizes.empty()) {
    out << "- Bytes per stored event on PostgreSQL, in the events table with its TOAST "
           "(`pg_total_relation_size`) and in WAL written during the run "
           "(`pg_current_wal_lsn`), medians: "
        << sizes << ".\n";
  }
  out << "- Two hubs: the load goes to every hub whose ready file names an agent endpoint "
         "(agent i to hub i mod n); the column says how many did. A standby stores what it "
         "acknowledges and queues for the leader, in event_relay, what the leader acts on "
         "(all but metrics: this load queues nothing); the run lasts until the queue is empty";
  if (auto it = r.runs.find("pg_two"); it != r.runs.end() && !it->second.empty()) {
    std::vector<double> drains;
    for (const auto& run : it->second) drains.push_back(run.relay_drain_seconds * 1000);
    out << ": after the last acknowledgement, " << grouped(median(drains)) << " ms more, median";
  }
  out << ".\n";
}

struct Spread {
  double p50 = -1, p99 = -1, min = -1, max = -1;
  size_t n = 0;
};

Spread spread(const std::vector<FailoverTrial>& trials, double FailoverTrial::*field) {
  std::vector<double> v;
  for (const auto& t : trials) {
    if (t.*field >= 0) v.push_back(t.*field);
  }
  Spread s;
  s.n = v.size();
  if (v.empty()) return s;
  s.min = *std::min_element(v.begin(), v.end());
  s.max = *std::max_element(v.begin(), v.end());
  s.p50 = percentile(v, 0.50);
  s.p99 = percentile(v, 0.99);
  return s;
}

std::string ms(double v) {
  return v < 0 ? "-" : grouped(v);
}

void print_failover(const ClusterReport& r, std::ostream& out) {
  const auto lease = r.lease.count();
  out << "### Failover: leader killed -> first notification from the new leader\n\n"
      << r.trials.size() << " trials (" << r.trials_wanted << " wanted), each on a fresh "
      << "database: two hubs with lease " << grouped(static_cast<double>(lease))
      << " ms (renewed every third of it; a standby tries again 20 ms after the expiry it "
         "read), a route posting every high incident to Slack (the tests' FakeSlack). One "
         "alert opens an incident; the leader's chat.postMessage is held by the fake, "
         "neither applied nor answered, and after a random pause of 0 to a third of the "
         "lease (so the kill lands anywhere in the leader's renewal cycle; seed "
      << r.seed << ") the leader is SIGKILLed. Milliseconds from just before the kill to:\n\n"
      << "| step | p50 | p99 | min | max | trials |\n|---|---:|---:|---:|---:|---:|\n";
  const struct {
    const char* title;
    double FailoverTrial::*field;
  } steps[] = {
      {"the standby's term begins (lease row, database clock)", &FailoverTrial::elected_ms},
      {"its ready file says leader (polled every 2 ms)", &FailoverTrial::serving_ms},
      {"it looks in the channel's history (conversations.history)", &FailoverTrial::lookup_ms},
      {"**its chat.postMessage reaches Slack**", &FailoverTrial::posted_ms},
  };
  for (const auto& step : steps) {
    const Spread s = spread(r.trials, step.field);
    out << "| " << step.title << " | " << ms(s.p50) << " | " << ms(s.p99) << " | " << ms(s.min)
        << " | " << ms(s.max) << " | " << s.n << " |\n";
  }
  const size_t valid =
      std::count_if(r.trials.begin(), r.trials.end(), [](const auto& t) { return t.valid(); });
  out << "\np99 is the nearest rank: with " << r.trials.size()
      << " trials it is the largest value. The lease bounds the figure: the leader's last "
         "renewal was between 0 and a third of the lease before the kill, so the term ends "
         "between "
      << grouped(static_cast<double>(lease) * 2 / 3) << " and "
      << grouped(static_cast<double>(lease))
      << " ms after it. Every trial checks that the message was posted exactly once (the "
         "stalled post was not applied, the new leader's was) and that the outbox is done: "
      << valid << " of " << r.trials.size() << " did.\n\n"
      << "| trial | pause before the kill | term begins | serving | history | **posted** | "
         "messages posted |\n"
      << "|---:|---:|---:|---:|---:|---:|---:|\n";
  for (size_t i = 0; i < r.trials.size(); ++i) {
    const auto& t = r.trials[i];
    out << "| " << (i + 1) << " | " << ms(t.pause_ms) << " | " << ms(t.elected_ms) << " | "
        << ms(t.serving_ms) << " | " << ms(t.lookup_ms) << " | **" << ms(t.posted_ms) << "** | "
        << t.posted << (t.valid() ? "" : " (invalid)") << " |\n";
  }
}

}  // namespace

void print_markdown(const ClusterReport& r, std::ostream& out) {
  if (r.has_ingest()) print_ingest(r, out);
  if (r.has_ingest() && r.has_failover()) out << "\n";
  if (r.has_failover()) print_failover(r, out);
  out << "\nThe run took " << grouped(r.seconds) << " s.\n";
}

void print_lines(const ClusterReport& r, std::ostream& out) {
  auto line = [&](const std::string& name, double value) {
    out << "cluster_" << name << " " << fixed(value, std::floor(value) == value ? 0 : 3) << "\n";
  };
  for (const auto& c : r.configs) {
    auto it = r.runs.find(c.key);
    if (it == r.runs.end() || it->second.empty()) continue;
    line("ingest_" + c.key + "_events_per_second", std::round(median(rates(it->second))));
    const IngestRun* mid = median_run(it->second);
    line("ingest_" + c.key + "_ingesting_hubs", mid->ingesting);
    line("ingest_" + c.key + "_relay_drain_ms", mid->relay_drain_seconds * 1000);
    line("ingest_" + c.key + "_valid", all_valid(it->second) ? 1 : 0);
    if (c.store == IngestStore::postgres) {
      line("ingest_" + c.key + "_table_bytes_per_event", per_event(it->second, true));
      line("ingest_" + c.key + "_wal_bytes_per_event", per_event(it->second, false));
    }
  }
  if (const double sqlite = median_rate(r, "sqlite"); sqlite > 0) {
    line("ingest_pg_one_to_sqlite", median_rate(r, "pg_one") / sqlite);
    line("ingest_pg_two_to_sqlite", median_rate(r, "pg_two") / sqlite);
  }
  if (r.has_failover()) {
    line("failover_lease_ms", static_cast<double>(r.lease.count()));
    line("failover_trials", static_cast<double>(r.trials.size()));
    const Spread posted = spread(r.trials, &FailoverTrial::posted_ms);
    const Spread elected = spread(r.trials, &FailoverTrial::elected_ms);
    line("failover_notify_p50_ms", posted.p50);
    line("failover_notify_p99_ms", posted.p99);
    line("failover_notify_min_ms", posted.min);
    line("failover_notify_max_ms", posted.max);
    line("failover_elected_p50_ms", elected.p50);
    line("failover_elected_p99_ms", elected.p99);
  }
}

}  // namespace reflex::bench
