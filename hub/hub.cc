#include "hub/hub.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <limits>

#include "hub/dashboard.h"
#include "hub/integrations/slack.h"
#include "hub/integrations/vendors.h"

namespace reflex::hub {
namespace {

constexpr Millis kCommitRetry(500);
// Leading a cluster: the other hubs' events are read in chunks of this many, again at
// once after a full chunk is committed, after kRelayPoll when there was nothing, and
// after kRelayRetry when the read failed. Agents' rows are read as often as liveness is
// checked, at most every kRelayAgentsEvery, those seen within kRelayAgentsSlack of the
// newest (hubs' clocks and commits differ by that much).
constexpr size_t kRelayChunk = 5000;
constexpr Millis kRelayPoll(100);
constexpr Millis kRelayRetry(1000);
constexpr int64_t kRelayAgentsEveryMs = 1000;
constexpr int64_t kRelayAgentsSlackMs = 5000;
// Retention (store.events_retention): every kPruneEvery (or half the retention, if
// shorter) the next batch deletes up to kPruneLimit of the events past it, and each batch
// after it does too while a full kPruneLimit went, so a hub behind catches up within a
// few commits without one of them growing long.
constexpr Millis kPruneEvery(60'000);
constexpr int64_t kPruneLimit = 5000;

// What the workflow runner needs of the config: the routes and workflows, and which
// integrations the outbox has (a step for another is skipped, saying so).
policy::RunnerSettings runner_settings(const HubConfig& cfg) {
  policy::RunnerSettings s;
  s.policy = cfg.policy;
  s.oncall = cfg.oncall;
  const IntegrationsConfig& i = cfg.integrations;
  for (const auto& [name, enabled] :
       {std::pair{"slack", i.slack.enabled}, std::pair{"jira", i.jira.enabled},
        std::pair{"statuspage", i.statuspage.enabled}, std::pair{"pagerduty", i.pagerduty.enabled},
        std::pair{"dynatrace", i.dynatrace.enabled}, std::pair{"webhook", i.webhook.enabled},
        std::pair{"jenkins", i.jenkins.enabled}, std::pair{"github", i.github.enabled},
        std::pair{"email", i.email.enabled}, std::pair{"mattermost", i.mattermost.enabled},
        std::pair{"teams", i.teams.enabled}}) {
    if (enabled) s.integrations.insert(name);
  }
  // Tickets link to Jira's browse page.
  if (i.jira.enabled) {
    std::string base = i.jira.base_url;
    if (!base.empty() && base.back() != '/') base += '/';
    s.links["jira"] = base;
  }
  return s;
}

LivenessPolicy policy_of(const HubConfig& cfg) {
  return {cfg.agents.lost_after_missed, cfg.agents.default_heartbeat.count()};
}

// The longest time any of `agents` may stay silent before it is lost.
int64_t longest_lost_window(const std::vector<AgentRecord>& agents, const LivenessPolicy& p) {
  int64_t longest = 0;
  for (const auto& a : agents) {
    const int64_t interval = a.heartbeat_ms > 0 ? a.heartbeat_ms : p.default_heartbeat_ms;
    longest = std::max(longest, interval * p.lost_after_missed);
  }
  return longest;
}

}  // namespace

Hub::Hub(EventLoop& loop, const Clock& clock, Timers& timers)
    : loop_(loop),
      clock_(clock),
      timers_(timers),
      metrics_(metrics_registry_),
      registry_(LivenessPolicy{}),
      zmq_(1),
      door_(loop) {}

Hub::~Hub() {
  stop();
}

Status Hub::start(const HubConfig& cfg) {
  cfg_ = cfg;
  registry_.set_policy(policy_of(cfg));
  auto store = open_store(cfg.store);
  if (!store) return store.status().with_context("store " + cfg.store.where());
  store_ = std::move(store).value();
  if (term_) REFLEX_RETURN_IF_ERROR(store_->set_fence(term_->fence));
  auto known = store_->load_agents();
  if (!known) return known.status().with_context("store " + cfg.store.where());
  registry_.load(std::move(known).value());
  // While the hub was down it could not hear its agents: none is judged lost before it
  // has had a full window to reach the restarted hub (a lost agent opens an incident).
  liveness_grace_until_ms_ =
      clock_.now_ms() + longest_lost_window(registry_.snapshot(), policy_of(cfg));
  auto reader = open_reader(cfg.store);
  if (!reader) return reader.status().with_context("store " + cfg.store.where());
  reader_ = std::move(reader).value();
  correlator_ =
      std::make_unique<Correlator>(*store_, registry_, clock_, timers_, [this] { commit(); });
  correlator_->set_suppression(cfg.suppression);
  correlator_->set_metrics(metrics_registry_);
  REFLEX_RETURN_IF_ERROR(correlator_->start(incident_policy(cfg.incidents))
                             .with_context("store " + cfg.store.where()));
  correlator_->set_suspect_policy({.window_ms = cfg.changes.suspect_window.count()});
  correlator_->set_dependencies([this](const std::string& service) {
    return correlator_->suppressor().topology().dependencies(service);
  });
  share_topology(cfg);
  writer_ = std::make_unique<StoreWriter>(loop_, *store_);
  if (term_) {
    auto tail = RelayTail::open(loop_, cfg.store);
    if (!tail) return tail.status().with_context("store " + cfg.store.where());
    relay_tail_ = std::move(tail).value();
    relay_catching_up_ = true;
    read_relay();
  }

  std::string secret_key;
  auto zap = start_agent_guard(loop_, zmq_, clock_, cfg.security, *metrics_.connections_refused,
                               secret_key);
  if (!zap) return zap.status();
  zap_ = std::move(zap).value();
  ingest_ =
      std::make_unique<Ingest>(loop_, zmq_, clock_, registry_, metrics_, [this] { commit(); });
  REFLEX_RETURN_IF_ERROR(ingest_->bind(cfg.listen, secret_key, ZapAuthenticator::kDomain));
  ingest_->set_window(static_cast<uint32_t>(cfg.agents.window));
  metrics_.granted_window->set(static_cast<double>(cfg.agents.window));
  auto submit_action = [this](IncidentAction action, std::shared_ptr<ActionAnswer> answer) {
    if (stopped_ || !correlator_) {
      answer->set_value(Status::error("unavailable", "the hub is stopping"));
      return;
    }
    correlator_->submit(std::move(action), std::move(answer));
  };
  http_ = std::make_unique<HttpApi>(door_, clock_, registry_, metrics_registry_, *reader_,
                                    submit_action);
  slack_actions_ = std::make_unique<SlackActions>(door_, clock_, submit_action);
  http_->add_routes([this](httplib::Server& server) { slack_actions_->add_routes(server); });
  if (term_ && term_->routes) http_->add_routes(term_->routes);
  auto silence_api =
      SilenceApi::open(cfg.store, door_, clock_,
                       [this](SilenceCommand command, std::shared_ptr<SilenceAnswer> answer) {
                         if (stopped_ || !correlator_) {
                           answer->set_value(Status::error("unavailable", "the hub is stopping"));
                           return;
                         }
                         correlator_->submit(std::move(command), std::move(answer));
                       });
  if (!silence_api) return silence_api.status().with_context("store " + cfg.store.where());
  silence_api_ = std::move(silence_api).value();
  http_->add_routes([this](httplib::Server& server) { silence_api_->add_routes(server); });
  route_api_.set_policy(cfg.policy);
  http_->add_routes([this](httplib::Server& server) { route_api_.add_routes(server); });
  maintenance_api_.set_windows(cfg.suppression.maintenance);
  http_->add_routes([this](httplib::Server& server) { maintenance_api_.add_routes(server); });
  oncall_api_.set_config(cfg.oncall);
  http_->add_routes([this](httplib::Server& server) { oncall_api_.add_routes(server); });
  // The dashboard and its live updates. Each open stream holds an HTTP worker: half the
  // pool at most, so open dashboards never starve the API.
  events_ = std::make_unique<EventStream>(
      metrics_registry_,
      EventStream::Limits{.max_streams = static_cast<size_t>(cfg.http_threads / 2),
                          .queue_capacity = 256,
                          .heartbeat = std::chrono::seconds(15)});
  http_->add_routes([this](httplib::Server& server) {
    events_->add_routes(server);
    add_dashboard_routes(server);
  });
  REFLEX_RETURN_IF_ERROR(install_api_tokens(cfg.api, cfg.http));
  REFLEX_RETURN_IF_ERROR(start_external(cfg));
  REFLEX_RETURN_IF_ERROR(start_outbox(cfg));
  REFLEX_RETURN_IF_ERROR(http_->listen(cfg.http));

  liveness_timer_ = timers_.start(cfg.agents.check_interval, cfg.agents.check_interval,
                                  [this] { check_liveness(); });
  if (cfg.store.events_retention > Millis(0)) {
    const Millis every = std::min(kPruneEvery, cfg.store.events_retention / 2);
    prune_timer_ = timers_.start(every, every, [this] {
      prune_due_ = true;
      commit();
    });
  }
  update_gauges();
  spdlog::info("hub listening for agents on {}, HTTP on port {}, store {}", ingest_->endpoint(),
               http_->port(), cfg.store.where());
  return Status::ok();
}

Status Hub::start_external(const HubConfig& cfg) {
  auto settings = external_settings(cfg);
  if (!settings) return settings.status();
  http_->set_threads(static_cast<size_t>(cfg.http_threads));
  external_ = std::make_unique<ExternalApi>(
      door_, clock_, *reader_,
      [this](ExternalInput input, std::shared_ptr<InputAnswer> answer) {
        if (stopped_ || !correlator_) {
          answer->set_value(Status::error("unavailable", "the hub is stopping"));
          return;
        }
        correlator_->submit_input(std::move(input), std::move(answer));
      },
      std::move(settings).value());
  http_->add_routes([this](httplib::Server& server) { external_->add_routes(server); });
  return Status::ok();
}

Status Hub::start_outbox(const HubConfig& cfg) {
  http_client_ = std::make_unique<HttpClient>(loop_, timers_);
  const RetryPolicy policy{.max_attempts = static_cast<uint32_t>(cfg.outbox.max_attempts),
                           .backoff_base = cfg.outbox.backoff_base,
                           .backoff_cap = cfg.outbox.backoff_cap};
  auto outbox = Outbox::open(
      cfg.store, clock_, timers_, *http_client_, metrics_registry_, [this] { commit(); }, policy,
      system_random());
  if (!outbox) return outbox.status().with_context("store " + cfg.store.where());
  outbox_ = std::move(outbox).value();
  if (term_) outbox_->set_gate(term_->leading);
  if (const SlackConfig& slack = cfg.integrations.slack; slack.enabled) {
    auto settings = slack_settings(slack);
    if (!settings) return settings.status();
    slack_actions_->set_secret(settings->signing_secret);
    outbox_->add_integration(std::make_unique<SlackIntegration>(std::move(settings).value()),
                             {.max_in_flight = static_cast<size_t>(slack.max_in_flight),
                              .rate_per_key = slack.rate_per_channel,
                              .burst_per_key = slack.burst_per_channel});
  }
  {  // Jira, Statuspage, PagerDuty, Dynatrace, webhook: each when its section is present
    auto vendors = vendor_integrations(cfg.integrations, clock_);
    if (!vendors) return vendors.status();
    for (auto& v : *vendors) outbox_->add_integration(std::move(v.integration), v.limits);
  }
  runner_ = std::make_unique<policy::WorkflowRunner>(*outbox_, [this](uint64_t id) {
    return correlator_ ? correlator_->engine().incident(id) : nullptr;
  });
  runner_->configure(runner_settings(cfg));
  runner_->set_agent_link(agent_link());
  auto workflows = store_->load_workflows();
  if (!workflows) return workflows.status().with_context("store " + cfg.store.where());
  REFLEX_RETURN_IF_ERROR(runner_->start(std::move(workflows).value(),
                                        [this](uint64_t id) { return outbox_->find(id); }));
  arm_runner_timer();  // what fell due while the hub was down goes now
  outbox_->on_finished([this](const OutboxRow& row) {
    if (runner_) runner_->on_finished(row, [this] { commit(); });
  });
  REFLEX_RETURN_IF_ERROR(outbox_->start());
  auto api = OutboxApi::open(
      cfg.store, door_, [this](uint64_t id, std::shared_ptr<OutboxRetryAnswer> answer) {
        if (stopped_ || !outbox_) {
          answer->set_value(Status::error("unavailable", "the hub is stopping"));
          return;
        }
        outbox_->retry(id, std::move(answer));
      });
  if (!api) return api.status().with_context("store " + cfg.store.where());
  outbox_api_ = std::move(api).value();
  http_->add_routes([this](httplib::Server& server) { outbox_api_->add_routes(server); });
  return Status::ok();
}

void Hub::share_topology(const HubConfig& cfg) {
  // The reader answers on the HTTP threads: it gets a copy of its own.
  auto topology = std::make_shared<const incidents::ServiceTopology>(cfg.suppression.services);
  if (reader_) {
    reader_->set_dependencies(
        [topology](const std::string& service) { return topology->dependencies(service); });
  }
}

Status Hub::reload(const HubConfig& cfg) {
  // Read first: a bad token file refuses the whole reload and the old tokens stay.
  auto tokens = load_token_table(cfg.api);
  if (!tokens) return tokens.status();
  if (tokens->empty() && !cfg.api.insecure_open && !is_loopback_endpoint("tcp://" + cfg_.http)) {
    // The listen address changes only on restart: the running one is what is exposed.
    return Status::error("config", "api.tokens: the hub serves HTTP on " + cfg_.http +
                                       " until it restarts; removing every token would open "
                                       "it (or set api.insecure_open: true)");
  }
  auto external = external_settings(cfg);  // secret files: a bad one refuses the reload
  if (!external) return external.status();
  if (cfg.security.curve() && cfg_.security.curve() && zap_) {
    // A bad allowlist refuses the whole reload: the old list keeps working.
    REFLEX_RETURN_IF_ERROR(zap_->load(cfg.security.allowlist).with_context("security.allowlist"));
  }
  if (cfg.security.secret_key_file != cfg_.security.secret_key_file ||
      cfg.security.insecure_plaintext != cfg_.security.insecure_plaintext) {
    spdlog::warn("reload: security key and plaintext changes take effect after a restart");
  }
  if (cfg.listen != cfg_.listen || cfg.http != cfg_.http || cfg.store != cfg_.store ||
      cfg.cluster != cfg_.cluster) {
    spdlog::warn("reload: listen, http, store and cluster changes take effect after a restart");
  }
  if (!(cfg.integrations == cfg_.integrations) || !(cfg.outbox == cfg_.outbox)) {
    spdlog::warn("reload: integrations and outbox changes take effect after a restart");
  }
  registry_.set_policy(policy_of(cfg));
  if (correlator_) correlator_->set_policy(incident_policy(cfg.incidents));
  if (correlator_) correlator_->set_suppression(cfg.suppression);
  if (correlator_) {
    correlator_->set_suspect_policy({.window_ms = cfg.changes.suspect_window.count()});
  }
  share_topology(cfg);
  route_api_.set_policy(cfg.policy);
  maintenance_api_.set_windows(cfg.suppression.maintenance);
  if (runner_) {
    policy::RunnerSettings settings = runner_settings(cfg);
    settings.integrations = runner_settings(cfg_).integrations;  // the outbox's, until a restart
    runner_->configure(std::move(settings));
    arm_runner_timer();
  }
  oncall_api_.set_config(cfg.oncall);
  if (external_) external_->configure(std::move(external).value());
  if (cfg.agents.check_interval != cfg_.agents.check_interval) {
    timers_.cancel(liveness_timer_);
    liveness_timer_ = timers_.start(cfg.agents.check_interval, cfg.agents.check_interval,
                                    [this] { check_liveness(); });
  }
  HubConfig applied = cfg;
  applied.listen = cfg_.listen;
  applied.http = cfg_.http;
  applied.store = cfg_.store;
  applied.security.secret_key_file = cfg_.security.secret_key_file;
  applied.security.insecure_plaintext = cfg_.security.insecure_plaintext;
  applied.http_threads = cfg_.http_threads;
  applied.integrations = cfg_.integrations;
  applied.outbox = cfg_.outbox;
  cfg_ = applied;
  if (http_) {
    http_->auth().set_tokens(std::make_shared<const TokenTable>(std::move(tokens).value()));
  }
  spdlog::info("configuration reloaded");
  return Status::ok();
}

Status Hub::install_api_tokens(const ApiConfig& api, const std::string& http) {
  auto tokens = load_token_table(api);
  if (!tokens) return tokens.status();
  // read_hub_config refuses this too; a config built in code must not slip past it.
  if (tokens->empty() && !api.insecure_open && !is_loopback_endpoint("tcp://" + http)) {
    return Status::error("config",
                         "http: a non-loopback HTTP address needs api.tokens or "
                         "api.insecure_open: true");
  }
  if (tokens->empty()) {
    spdlog::warn(
        "no api.tokens configured: the HTTP API is open to anyone who can reach it; "
        "set api.tokens to require bearer tokens");
  } else {
    spdlog::info("HTTP API requires bearer tokens; {} configured", tokens->size());
  }
  http_->auth().set_tokens(std::make_shared<const TokenTable>(std::move(tokens).value()));
  return Status::ok();
}

void Hub::reload_from_file(const std::string& path) {
  auto next = load_hub_config(path);
  Status st = next ? reload(*next) : next.status();
  if (st) st = setup_logging(next->log, "reflex-hub");  // last: a refusal changes nothing
  metrics_.config_reloads->with({st ? "ok" : "rejected"}).inc();
  metrics_.config_last_reload_ok->set(st ? 1 : 0);
  if (!st) spdlog::error("reload refused, the running configuration stays:\n{}", st.message());
}

void Hub::stop() {
  if (stopped_ || !store_) return;
  stopped_ = true;
  if (events_) events_->stop();  // open streams end, so the HTTP server's stop does not wait
  if (http_) http_->stop();
  if (liveness_timer_) timers_.cancel(liveness_timer_);
  if (commit_retry_timer_) timers_.cancel(commit_retry_timer_);
  if (runner_timer_) timers_.cancel(runner_timer_);
  if (relay_timer_) timers_.cancel(relay_timer_);
  if (prune_timer_) timers_.cancel(prune_timer_);
  // No new attempt starts; the results already received are written by the commit below.
  if (outbox_) outbox_->stop();
  // What was accepted is made durable and acknowledged before the socket closes.
  if (writer_) {  // absent when start() failed early
    writer_->drain();
    commit();
    writer_->drain();
  }
  ingest_.reset();
  writer_.reset();
  relay_tail_.reset();
  correlator_.reset();  // answers what still waits: the hub is stopping
}

void Hub::commit() {
  if (!writer_ || writer_->busy()) return;
  WriteBatch batch = registry_.take_batch();
  Ingest::Taken taken;
  if (ingest_ && !relay_catching_up_) taken = ingest_->take();
  // The other hubs' events first: they were acknowledged before this hub's were taken.
  batch.relayed = relayed_.ids;
  batch.events = relayed_.events;
  if (batch.events.empty()) {
    batch.events = std::move(taken.events);
  } else {
    batch.events.insert(batch.events.end(), std::make_move_iterator(taken.events.begin()),
                        std::make_move_iterator(taken.events.end()));
  }
  if (Status st = correlator_->correlate(batch, clock_.now_ms()); !st) {
    give_back(std::move(batch), st);
    return;
  }
  if (runner_) runner_->stage(batch, clock_.now_ms());  // workflow steps into the outbox
  if (outbox_) outbox_->stage(batch);                   // records of outbound calls' attempts
  if (prune_due_) {
    batch.prune = WriteBatch::EventPrune{
        .before_ms = clock_.now_ms() - cfg_.store.events_retention.count(), .limit = kPruneLimit};
    prune_due_ = false;
  }
  if (batch.empty()) {
    if (ingest_) ingest_->committed(taken);  // acks owed for redeliveries
    correlator_->committed();                // actions that changed nothing
    if (runner_) runner_->committed();
    if (outbox_) outbox_->committed();
    arm_runner_timer();
    return;
  }
  writer_->submit(std::move(batch), [this, taken = std::move(taken)](WriteBatch batch, Status st,
                                                                     double seconds) mutable {
    on_committed(std::move(batch), std::move(taken), std::move(st), seconds);
  });
}

void Hub::on_committed(WriteBatch batch, Ingest::Taken taken, Status st, double seconds) {
  metrics_.commit_seconds->observe(seconds);
  if (ingest_) {
    const uint32_t window =
        granted_window(cfg_.agents.window, seconds * 1000, cfg_.agents.slow_commit.count());
    metrics_.granted_window->set(window);
    ingest_->set_window(window);
  }
  if (st) {
    metrics_.events_committed->inc(batch.events.size());
    if (batch.prune) {
      metrics_.events_pruned->inc(batch.prune->deleted);
      prune_due_ = batch.prune->deleted >= batch.prune->limit;  // more are past it
    }
    if (ingest_) ingest_->committed(taken);  // only now may the agents trim their spools
    correlator_->committed();
    if (events_) events_->publish_batch(batch);  // durable now: the dashboards may read it
    if (runner_) runner_->committed();
    arm_runner_timer();
    update_gauges();
    // The outbox sends what the batch claimed.
    if (outbox_) outbox_->committed();
    if (!batch.relayed.empty()) {
      relayed_ = {};
      read_relay();  // there may be more
    }
    commit();  // what arrived while this batch was written
    return;
  }
  metrics_.commit_failures->inc();
  if (batch.prune) prune_due_ = true;  // with the retry
  give_back(std::move(batch), st);
  if (st.code() == "fenced" && term_ && term_->on_fenced) {
    spdlog::error("store commit refused, this hub no longer leads: {}", st.to_string());
    term_->on_fenced(st);  // may stop this hub
    return;
  }
  spdlog::error("store commit failed, will retry: {}", st.to_string());
}

void Hub::give_back(WriteBatch batch, const Status& why) {
  // Nothing acknowledged is lost: agent rows go with the next commit, and the events
  // were never acknowledged, so their agents send them again.
  if (ingest_) ingest_->commit_failed();
  correlator_->failed(why);
  if (runner_) runner_->failed();
  if (outbox_) outbox_->failed();  // its new rows go with the undone incident changes
  batch.events.clear();
  batch.incidents = {};
  registry_.restore_batch(std::move(batch));
  // Retry on a timer: on a quiet hub no new frame would trigger the next commit.
  if (!commit_retry_timer_ && !stopped_) {
    commit_retry_timer_ = timers_.start(kCommitRetry, Millis(0), [this] {
      commit_retry_timer_ = 0;
      commit();
    });
  }
  update_gauges();
}

policy::AgentLink Hub::agent_link() {
  policy::AgentLink link;
  link.hosts = [this](uint64_t incident_id) {
    std::set<std::string> firing, all;
    const auto& engine = correlator_->engine();
    for (const auto& fp : engine.members(incident_id)) {
      const auto* alert = engine.alert(fp);
      if (!alert || alert->host.empty()) continue;
      all.insert(alert->host);
      if (alert->state == protocol::AlertState::kFiring) firing.insert(alert->host);
    }
    const auto& hosts = firing.empty() ? all : firing;
    return std::vector<std::string>(hosts.begin(), hosts.end());
  };
  link.agent_for = [this](const std::string& host) -> std::optional<std::string> {
    if (!ingest_) return std::nullopt;
    if (ingest_->connected(host)) return host;  // an agent id
    for (const auto& a : registry_.snapshot()) {
      if (a.hostname == host && ingest_->connected(a.id)) return a.id;
    }
    return std::nullopt;
  };
  link.send = [this](const std::string& agent_id, const protocol::Command& command) {
    return ingest_ && ingest_->send_command(agent_id, command);
  };
  return link;
}

void Hub::arm_runner_timer() {
  if (runner_timer_) timers_.cancel(runner_timer_);
  runner_timer_ = 0;
  const auto due = runner_ && !stopped_ ? runner_->next_due_ms() : std::nullopt;
  if (!due) return;
  // At least 1 ms: a level due now goes with the batch the timer asks for.
  const Millis delay(std::max<int64_t>(*due - clock_.now_ms(), 1));
  runner_timer_ = timers_.start(delay, Millis(0), [this] {
    runner_timer_ = 0;
    commit();
  });
}

void Hub::read_relay() {
  if (!relay_tail_ || stopped_ || relay_tail_->busy() || !relayed_.ids.empty()) return;
  if (relay_timer_) timers_.cancel(relay_timer_);
  relay_timer_ = 0;
  // As often as liveness is checked (agents.check_interval), at most every second.
  const int64_t every = std::min(kRelayAgentsEveryMs, cfg_.agents.check_interval.count());
  const bool agents = clock_.monotonic_ms() - relay_agents_read_at_ >= every;
  relay_tail_->read(kRelayChunk,
                    agents ? relay_agents_since_ms_ : std::numeric_limits<int64_t>::max(),
                    [this, agents](Result<RelayedEvents> read) {
                      if (agents && read) relay_agents_read_at_ = clock_.monotonic_ms();
                      on_relay_read(std::move(read));
                    });
}

void Hub::on_relay_read(Result<RelayedEvents> read) {
  if (stopped_) return;
  const auto again = [this](Millis after) {
    relay_timer_ = timers_.start(after, Millis(0), [this] {
      relay_timer_ = 0;
      read_relay();
    });
  };
  if (!read) {
    if (!relay_failing_) {
      spdlog::error("cannot read the events other hubs ingested, will retry: {}",
                    read.status().to_string());
    }
    relay_failing_ = true;
    again(kRelayRetry);
    return;
  }
  relay_failing_ = false;
  const bool caught_up = relay_catching_up_ && read->ids.size() < kRelayChunk;
  if (caught_up) relay_catching_up_ = false;
  bool back = false;  // an agent this hub had judged lost
  for (const auto& a : read->agents) {
    back = registry_.seen_elsewhere(a) || back;
    relay_agents_since_ms_ = std::max(relay_agents_since_ms_, a.last_seen_ms - kRelayAgentsSlackMs);
  }
  if (read->ids.empty()) {
    if (caught_up || back) commit();  // own agents' events that waited, state changes
    again(kRelayPoll);
    return;
  }
  relayed_ = std::move(read).value();
  commit();
}

void Hub::check_liveness() {
  const int64_t now = clock_.now_ms();
  if (now < liveness_grace_until_ms_) return;
  if (registry_.check_liveness(now) > 0) commit();
}

void Hub::update_gauges() {
  metrics_.agents->with({"alive"}).set(static_cast<double>(registry_.count(AgentState::kAlive)));
  metrics_.agents->with({"lost"}).set(static_cast<double>(registry_.count(AgentState::kLost)));
}

}  // namespace reflex::hub
