// Two reflex-hub processes sharing one PostgreSQL: one leads, the other stands by and
// takes over; nothing acknowledged is lost and nothing is sent twice. Real processes, a
// real (throwaway) PostgreSQL, the fake Slack and Jira of the other tests.
#include <httplib.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <map>
#include <numeric>
#include <thread>

#include "tests/cluster/cluster_fixture.h"
#include "tests/support/fake_jira.h"
#include "tests/support/fake_slack.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// Slack and Jira for every incident of severity high: one message, one ticket.
std::string notify_config(const FakeSlack& slack, const FakeJira& jira, const TempDir& secrets) {
  return "integrations:\n"
         "  slack: {token_file: " +
         secrets.write("slack", slack.token() + "\n") + ", base_url: \"" + slack.base_url() +
         "\", rate_per_channel: 100, burst_per_channel: 100, max_in_flight: 8}\n"
         "  jira: {base_url: \"" +
         jira.base_url() + "\", user: " + jira.user() +
         ", token_file: " + secrets.write("jira", jira.token() + "\n") +
         "}\n"
         "outbox: {backoff_base: 100ms, backoff_cap: 500ms, max_attempts: 100}\n"
         "routes:\n"
         "  - {name: all, match: {severity: [high]}, workflow: notify}\n"
         "workflows:\n"
         "  notify:\n"
         "    steps:\n"
         "      - {name: post, on: [opened], kind: chat.post,\n"
         "         with: {channel: C123, text: \"{{service}} is failing\"}}\n"
         "      - {name: ticket, on: [opened], kind: ticket.create,\n"
         "         with: {project: OPS, issue_type: Incident, summary: \"{{service}} is "
         "failing\"}}\n";
}

// One alert per service svc-FROM .. svc-(TO-1), so as many incidents.
void post_alerts(const ClusterHub& hub, int from, int to) {
  json alerts = json::array();
  for (int i = from; i < to; ++i) {
    alerts.push_back({{"labels",
                       {{"alertname", "Down"},
                        {"service", "svc-" + std::to_string(i)},
                        {"env", "prod"},
                        {"severity", "high"}}}});
  }
  httplib::Client client("127.0.0.1", hub.http_port());
  client.set_read_timeout(30, 0);
  auto res = client.Post("/api/v2/alerts", alerts.dump(), "application/json");
  REQUIRE(res);
  INFO(res->body);
  REQUIRE(res->status == 200);
}

// How many times each text was posted with chat.postMessage and answered ok.
std::map<std::string, int> posted(const FakeSlack& slack) {
  std::map<std::string, int> out;
  for (const auto& r : slack.delivered()) {
    if (r.method == "chat.postMessage") ++out[r.body.value("text", "")];
  }
  return out;
}

std::map<std::string, int> tickets(const FakeJira& jira) {
  std::map<std::string, int> out;
  for (const auto& issue : jira.issues()) ++out[issue.summary];
  return out;
}

// Every svc-0 .. svc-(n-1) exactly once, nothing else.
void check_once_each(const std::map<std::string, int>& seen, int n) {
  CHECK(seen.size() == static_cast<size_t>(n));
  for (int i = 0; i < n; ++i) {
    const std::string text = "svc-" + std::to_string(i) + " is failing";
    INFO(text);
    CHECK(seen.count(text) == 1);
    if (seen.count(text)) CHECK(seen.at(text) == 1);
  }
}

std::vector<uint64_t> one_to(uint64_t n) {
  std::vector<uint64_t> v(n);
  std::iota(v.begin(), v.end(), 1);
  return v;
}

int64_t elapsed_ms(std::chrono::steady_clock::time_point since) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               since)
      .count();
}

// hub-a leading and hub-b standing by, started in that order.
std::pair<ClusterHub&, ClusterHub&> leader_and_standby(ClusterHubs& hubs) {
  auto& a = hubs.add("hub-a");
  auto& b = hubs.add("hub-b");
  a.start();
  REQUIRE(&hubs.wait_leader() == &a);
  b.start();
  REQUIRE(wait_until([&] { return b.role() == "standby"; }));
  return {a, b};
}

}  // namespace

TEST_CASE("one hub leads, the other stands by and says who leads", "[cluster]") {
  ClusterHubs hubs;
  auto [a, b] = leader_and_standby(hubs);
  const json view = b.cluster();
  CHECK(view["leader"] == "hub-a");
  CHECK(view["self"]["hub_id"] == "hub-b");
  CHECK(view["lease"]["token"] == 1);
  REQUIRE(view["members"].size() == 2);
  CHECK(view["members"][0]["hub_id"] == "hub-a");
  CHECK(view["members"][0]["role"] == "leader");
  CHECK(view["members"][1]["role"] == "standby");
  CHECK(view["database"]["in_recovery"] == false);

  // A standby refuses the rest of the API, naming the leader; it binds no agent port.
  auto out = run({"/usr/bin/curl", "-sS", b.url() + "/api/v1/incidents"});
  CHECK_THAT(out.out, Catch::Contains("\"standby\""));
  CHECK_THAT(out.out, Catch::Contains("hub-a"));
  CHECK(run({"/usr/bin/curl", "-fsS", b.url() + "/healthz"}).exit_code == 0);

  // reflexctl cluster, from either hub.
  auto ctl = run({ctl_binary(), "--hub", b.url(), "cluster"});
  INFO(ctl.out << ctl.err);
  CHECK(ctl.exit_code == 0);
  CHECK_THAT(ctl.out, Catch::Contains("leader: hub-a, term 1"));
  CHECK_THAT(ctl.out, Catch::Contains("answered by: hub-b (standby)"));

  // A clean stop hands over at once: the lease is released, not left to expire.
  const auto stopped = std::chrono::steady_clock::now();
  a.signal(SIGTERM);
  CHECK(a.child().wait() == 0);
  REQUIRE(&hubs.wait_leader() == &b);
  CHECK(elapsed_ms(stopped) < 2000);
  CHECK(b.cluster()["lease"]["token"] == 2);
}

TEST_CASE(
    "the leader killed with 100 incidents' notifications in flight: the standby takes over "
    "within the lease plus a second, and Slack and Jira get each exactly once",
    "[cluster]") {
  FakeSlack slack;
  FakeJira jira;
  TempDir secrets;
  ClusterHubs hubs(notify_config(slack, jira, secrets));
  auto [a, b] = leader_and_standby(hubs);

  // Killed mid-stream: some calls were answered, some are in flight (claimed, perhaps
  // applied by the vendor, their answers lost), the rest are still queued.
  post_alerts(a, 0, 100);
  REQUIRE(wait_until([&] { return posted(slack).size() >= 10; }, 30s));
  a.kill();
  const auto killed = std::chrono::steady_clock::now();
  REQUIRE(&hubs.wait_leader() == &b);
  const int64_t takeover_ms = elapsed_ms(killed);
  INFO("takeover after " << takeover_ms << " ms");
  CHECK(takeover_ms <= 2000 + 1000);

  REQUIRE(
      wait_until([&] { return posted(slack).size() >= 100 && jira.issues().size() >= 100; }, 60s));
  std::this_thread::sleep_for(2s);  // time for a duplicate to show up, if one were coming
  check_once_each(posted(slack), 100);
  check_once_each(tickets(jira), 100);
  CHECK(hubs.peek("SELECT COUNT(*) FROM outbox WHERE state <> 'done'") == "0");
}

TEST_CASE("an agent streaming 20,000 events moves to the other hub when its hub is killed",
          "[cluster]") {
  ClusterHubs hubs;
  auto [a, b] = leader_and_standby(hubs);
  auto agent = hubs.start_agent("web-1", 20'000, 4'000);
  REQUIRE(wait_until([&] { return hubs.stored_seqs("web-1").size() > 4'000; }, 30s));
  a.kill();
  REQUIRE(&hubs.wait_leader() == &b);
  // Generous: under a loaded CI machine the agent's resend of its spool takes a while.
  const bool all = wait_until([&] { return hubs.stored_seqs("web-1").size() >= 20'000; }, 180s);
  INFO(hubs.stored_seqs("web-1").size() << " stored;\n" << (all ? "" : hubs.logs()));
  REQUIRE(all);
  CHECK(hubs.stored_seqs("web-1") == one_to(20'000));
}

TEST_CASE(
    "a standby ingests: its agent's events are stored once, in order, and its alert is "
    "correlated and notified by the leader",
    "[cluster]") {
  FakeSlack slack;
  FakeJira jira;
  TempDir secrets;
  ClusterHubs hubs(notify_config(slack, jira, secrets));
  auto [a, b] = leader_and_standby(hubs);
  // A check of a port nothing listens on, and a rule that fires while it fails.
  const std::string failing =
      "checks:\n  - {name: db, type: tcp, port: " + std::to_string(reserve_port()) +
      ", interval: 200ms, timeout: 100ms}\n"
      "rules:\n  - {name: db-down, series: db, when: 'state == CRITICAL', severity: high}\n";
  auto agent = hubs.start_agent("web-2", 5'000, 2'000, &b, failing);
  const bool stored = wait_until(
      [&] {
        return hubs.stored_seqs("web-2").size() >= 5'000 &&
               hubs.peek("SELECT COUNT(*) FROM event_relay") == "0";
      },
      60s);
  INFO(hubs.logs());
  REQUIRE(stored);
  CHECK(a.role() == "leader");
  CHECK(b.role() == "standby");
  // Through the standby: it registered the agent and relayed every event.
  CHECK(read_file(hubs.dir().file("web-2.log")).find("registered with hub " + b.ingest()) !=
        std::string::npos);
  CHECK(hubs.peek("SELECT COUNT(*) FROM event_relay") == "0");
  const auto seqs = hubs.stored_seqs("web-2");
  CHECK(seqs == one_to(seqs.size()));  // metrics and alerts, each once, in order
  // The leader correlated the alert: one incident, one message, one ticket.
  REQUIRE(wait_until([&] { return posted(slack).count("checkout is failing") == 1; }, 30s));
  REQUIRE(wait_until([&] { return tickets(jira).count("checkout is failing") == 1; }, 30s));
  // The leader hears of the agent through the store: not lost, though it never spoke to it.
  std::this_thread::sleep_for(3s);
  httplib::Client client("127.0.0.1", a.http_port());
  auto res = client.Get("/api/v1/agents/web-2");
  REQUIRE(res);
  INFO(res->body);
  CHECK(json::parse(res->body)["agent"].value("state", "") == "alive");
  CHECK(posted(slack) == std::map<std::string, int>{{"checkout is failing", 1}});
  CHECK(tickets(jira) == std::map<std::string, int>{{"checkout is failing", 1}});
}

TEST_CASE("a leader frozen past its lease sends nothing when it wakes, and stands by",
          "[cluster]") {
  FakeSlack slack;
  FakeJira jira;
  TempDir secrets;
  ClusterHubs hubs(notify_config(slack, jira, secrets));
  auto [a, b] = leader_and_standby(hubs);

  // Slack is down: the leader holds 20 messages it keeps retrying.
  slack.down();
  post_alerts(a, 0, 20);
  REQUIRE(wait_until([&] { return jira.issues().size() == 20; }, 30s));
  a.signal(SIGSTOP);
  REQUIRE(&hubs.wait_leader() == &b);
  slack.up();
  REQUIRE(wait_until([&] { return posted(slack).size() >= 20; }, 30s));

  // The old leader wakes with retries long due: it must neither send nor write.
  a.signal(SIGCONT);
  REQUIRE(wait_until([&] { return a.role() == "standby"; }, 15s));
  std::this_thread::sleep_for(2s);
  check_once_each(posted(slack), 20);
  check_once_each(tickets(jira), 20);
  CHECK(b.role() == "leader");
  CHECK(a.running());
  CHECK_THAT(a.log(), Catch::Contains("no longer leads"));
}

TEST_CASE("PostgreSQL restarted under load: the hub reconnects, keeps its term and loses nothing",
          "[cluster]") {
  ClusterHubs hubs("", "10s");
  auto& a = hubs.add("hub-a");
  a.start();
  REQUIRE(&hubs.wait_leader() == &a);
  const json before = a.cluster();
  auto agent = hubs.start_agent("web-1", 20'000, 4'000);
  REQUIRE(wait_until([&] { return hubs.stored_seqs("web-1").size() > 4'000; }, 30s));
  REQUIRE(hubs.pg().stop());        // immediate: sessions end without warning
  std::this_thread::sleep_for(1s);  // the outage itself; the agent spools meanwhile
  REQUIRE(hubs.pg().start());
  const bool all = wait_until([&] { return hubs.stored_seqs("web-1").size() >= 20'000; }, 180s);
  INFO(hubs.stored_seqs("web-1").size() << " stored;\n" << (all ? "" : hubs.logs()));
  REQUIRE(all);
  CHECK(hubs.stored_seqs("web-1") == one_to(20'000));
  const json after = a.cluster();
  CHECK(after["leader"] == "hub-a");
  CHECK(after["lease"]["token"] == before["lease"]["token"]);
}
