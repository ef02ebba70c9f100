#include "bench/cluster_failover.h"

#include <httplib.h>

#include <nlohmann/json.hpp>
#include <thread>

#include "bench/cluster_hubs.h"
#include "bench/support/hub_process.h"
#include "tests/support/fake_slack.h"
#include "tests/support/pg_server.h"

namespace reflex::bench {
namespace {

using SteadyClock = std::chrono::steady_clock;
using std::chrono::milliseconds;

constexpr milliseconds kStallLimit{15'000};     // alert -> hub-a's stalled post
constexpr milliseconds kTakeoverExtra{20'000};  // beyond the lease, for hub-b's post
constexpr milliseconds kSettleLimit{15'000};    // hub-b's post -> the outbox done
constexpr milliseconds kPoll{2};
constexpr const char* kService = "checkout";
constexpr const char* kText = "checkout is failing";

// Every high incident posts one message to C123, the fake's channel. Backoff is short so
// that a retry, if one were needed, does not hide inside the figure.
std::string notify_yaml(const testing::FakeSlack& slack, const std::string& token_file) {
  return "integrations:\n"
         "  slack: {token_file: " +
         token_file + ", base_url: \"" + slack.base_url() +
         "\", rate_per_channel: 100, burst_per_channel: 100, max_in_flight: 8}\n"
         "outbox: {backoff_base: 100ms, backoff_cap: 500ms, max_attempts: 100}\n"
         "routes:\n"
         "  - {name: all, match: {severity: [high]}, workflow: notify}\n"
         "workflows:\n"
         "  notify:\n"
         "    steps:\n"
         "      - {name: post, on: [opened], kind: chat.post,\n"
         "         with: {channel: C123, text: \"{{service}} is failing\"}}\n";
}

Status post_alert(int http_port) {
  const nlohmann::json alerts = nlohmann::json::array(
      {{{"labels",
         {{"alertname", "Down"}, {"service", kService}, {"env", "prod"}, {"severity", "high"}}}}});
  httplib::Client client("127.0.0.1", http_port);
  client.set_connection_timeout(5);
  client.set_read_timeout(15);
  auto res = client.Post("/api/v2/alerts", alerts.dump(), "application/json");
  if (!res || res->status != 200) {
    return Status::error("hub", "POST /api/v2/alerts to port " + std::to_string(http_port) +
                                    " failed" + (res ? ": " + res->body : ""));
  }
  return Status::ok();
}

// The first request for `method` received at or after `since`, if any.
const testing::FakeSlack::Received* first_since(
    const std::vector<testing::FakeSlack::Received>& received, const std::string& method,
    SteadyClock::time_point since) {
  for (const auto& r : received) {
    if (r.method == method && r.at >= since) return &r;
  }
  return nullptr;
}

double ms_between(SteadyClock::time_point from, SteadyClock::time_point to) {
  return std::chrono::duration<double, std::milli>(to - from).count();
}

// Waits (bounded) until hub-a's chat.postMessage is held by the fake.
Status wait_stalled(const testing::FakeSlack& slack, HubProcess& leader) {
  const auto deadline = SteadyClock::now() + kStallLimit;
  while (slack.held_answers() == 0) {
    if (SteadyClock::now() > deadline) {
      return Status::error("bench", "hub-a sent no chat.postMessage within " +
                                        std::to_string(kStallLimit.count()) + " ms");
    }
    if (!leader.running()) return Status::error("bench", "hub-a exited");
    std::this_thread::sleep_for(kPoll);
  }
  return Status::ok();
}

// From the kill until hub-b's first post (bounded): when its ready file said leader, when
// it looked at the channel's history, when it posted.
void watch_takeover(const testing::FakeSlack& slack, HubProcess& standby,
                    SteadyClock::time_point killed, milliseconds limit, FailoverTrial& trial) {
  const auto deadline = killed + limit;
  while (SteadyClock::now() < deadline) {
    if (trial.serving_ms < 0 && standby.refresh() && standby.role() == "leader") {
      trial.serving_ms = ms_between(killed, SteadyClock::now());
    }
    const auto received = slack.received();
    if (const auto* post = first_since(received, "chat.postMessage", killed)) {
      trial.posted_ms = ms_between(killed, post->at);
      if (const auto* look = first_since(received, "conversations.history", killed)) {
        trial.lookup_ms = ms_between(killed, look->at);
      }
      return;
    }
    std::this_thread::sleep_for(kPoll);
  }
}

// After the post: waits (bounded) for the outbox to be done, then counts what was posted.
Status check_delivery(const testing::FakeSlack& slack, const std::string& dsn,
                      FailoverTrial& trial) {
  const auto deadline = SteadyClock::now() + kSettleLimit;
  for (;;) {
    auto undone = query_text(dsn, "SELECT count(*) FROM outbox WHERE state <> 'done'");
    if (!undone) return undone.status();
    trial.undone = std::stoi(*undone);
    if (trial.undone == 0 || SteadyClock::now() > deadline) break;
    std::this_thread::sleep_for(milliseconds(20));
  }
  for (const auto& m : slack.messages("C123")) {
    if (m.text == kText) ++trial.posted;
  }
  return Status::ok();
}

// hub-b's term began at acquired_at_ms, by the server's clock; the server runs on this
// machine, so that clock is the one the kill was stamped with.
Status read_election(const std::string& dsn, int64_t killed_wall_ms, FailoverTrial& trial) {
  auto holder = query_text(dsn, "SELECT holder FROM leader_lease WHERE name = 'hub'");
  if (!holder) return holder.status();
  trial.leader = *holder;
  auto acquired = query_text(dsn, "SELECT acquired_at_ms FROM leader_lease WHERE name = 'hub'");
  if (!acquired) return acquired.status();
  if (!acquired->empty()) {
    trial.elected_ms = static_cast<double>(std::stoll(*acquired) - killed_wall_ms);
  }
  return Status::ok();
}

int64_t wall_ms() {
  return std::chrono::duration_cast<milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

}  // namespace

Result<FailoverTrial> run_failover_trial(const FailoverOptions& opt, testing::PgServer& pg,
                                         const std::string& database, PauseBeforeKill pause) {
  FailoverTrial trial;
  trial.pause_ms = static_cast<double>(pause.count());
  REFLEX_RETURN_IF_ERROR(pg.create_database(database));
  auto dir = ScratchDir::create(opt.work_dir, "reflex-bench-failover-");
  if (!dir) return dir.status();
  if (opt.keep_dir) {
    (*dir)->keep();
    trial.scratch_dir = (*dir)->path().string();
  }
  testing::FakeSlack slack;
  REFLEX_RETURN_IF_ERROR((*dir)->write("slack-token", slack.token() + "\n"));
  const std::string dsn = pg.dsn_for(database);
  const ClusterSetup setup{.hub_binary = opt.hub_binary,
                           .dsn = dsn,
                           .lease = opt.lease,
                           .extra_yaml = notify_yaml(slack, (*dir)->file("slack-token"))};
  auto hubs = start_cluster(setup, (*dir)->path(), 2);
  if (!hubs) return hubs.status();
  HubProcess& leader = *(*hubs)[0];
  HubProcess& standby = *(*hubs)[1];

  slack.stall_next_post();
  REFLEX_RETURN_IF_ERROR(post_alert(leader.http_port()));
  REFLEX_RETURN_IF_ERROR(wait_stalled(slack, leader));
  std::this_thread::sleep_for(pause);

  const int64_t killed_wall = wall_ms();
  const auto killed = SteadyClock::now();
  leader.kill();
  watch_takeover(slack, standby, killed, opt.lease + kTakeoverExtra, trial);
  if (trial.posted_ms >= 0) REFLEX_RETURN_IF_ERROR(check_delivery(slack, dsn, trial));
  REFLEX_RETURN_IF_ERROR(read_election(dsn, killed_wall, trial));
  REFLEX_RETURN_IF_ERROR(stop_cluster(*hubs));
  return trial;
}

}  // namespace reflex::bench
