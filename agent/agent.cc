#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include <utility>

#include "common/log.h"

namespace reflex::agent {
namespace {

constexpr Millis kLoadTestTick(10);
constexpr uint64_t kLoadTestMaxBatch = 2000;
constexpr Millis kRuleInterval(1000);     // the agent knows every second
constexpr size_t kSamplesPerEvent = 500;  // keeps each metrics frame far below 1 MiB

bool same_windows(const WindowConfig& a, const WindowConfig& b) {
  return a.length == b.length && a.slices == b.slices && a.max_series == b.max_series;
}

}  // namespace

Agent::Agent(EventLoop& loop, const Clock& clock, Timers& timers)
    : loop_(loop),
      clock_(clock),
      timers_(timers),
      started_mono_ms_(clock.monotonic_ms()),
      zmq_(1),
      door_(loop) {}

Agent::~Agent() {
  stop();
}

Status Agent::start(const AgentConfig& cfg) {
  cfg_ = cfg;
  auto spool = Spool::open(cfg.spool.path, cfg.id, cfg.spool.limits);
  if (!spool) return spool.status().with_context("spool " + cfg.spool.path);
  spool_ = std::move(spool).value();
  uplink_ = std::make_unique<Uplink>(loop_, zmq_, clock_, timers_, *spool_,
                                     [this] { return heartbeat(); });
  REFLEX_RETURN_IF_ERROR(uplink_->start(cfg));
  REFLEX_RETURN_IF_ERROR(start_measuring(cfg));
  if (cfg.status_http.enabled) {
    status_http_ = std::make_unique<StatusHttp>(
        door_, [this] { return snapshot(); },
        [this](const std::string& verb, const std::string& target) {
          control_healing(verb == "pause"    ? HealControl::kPause
                          : verb == "resume" ? HealControl::kResume
                                             : HealControl::kReset,
                          target);
        });
    REFLEX_RETURN_IF_ERROR(status_http_->listen(cfg.status_http.listen));
  }
  if (cfg.load_test.events > 0) {
    load_started_ms_ = clock_.monotonic_ms();
    load_first_seq_ = spool_->last_seq();
    load_timer_ = timers_.start(kLoadTestTick, kLoadTestTick, [this] { load_test_tick(); });
  }
  spdlog::info(
      "agent {} on host {} started: {} checks, {} rules, status on {} (spool {}: {} events "
      "waiting, next seq {})",
      cfg.id, cfg.hostname, cfg.checks.size(), cfg.rules.size(),
      status_http_ ? "127.0.0.1:" + std::to_string(status_http_->port()) : "(off)", cfg.spool.path,
      spool_->depth(), spool_->last_seq() + 1);
  return Status::ok();
}

Status Agent::reload(const AgentConfig& cfg) {
  if (!uplink_) return start(cfg);
  if (cfg.spool.path != cfg_.spool.path) {
    spdlog::warn("reload: a new spool path takes effect after a restart");
  }
  if (cfg.status_http.enabled != cfg_.status_http.enabled ||
      cfg.status_http.listen != cfg_.status_http.listen) {
    spdlog::warn("reload: status_http changes take effect after a restart");
  }
  AgentConfig applied = cfg;
  applied.spool.path = cfg_.spool.path;
  applied.status_http = cfg_.status_http;
  REFLEX_RETURN_IF_ERROR(uplink_->start(applied));  // may refuse (a key file): nothing changed yet
  // A check that cannot start (a port taken) refuses the reload; the old checks run on,
  // and the uplink goes back to the running config (new hub endpoints would otherwise
  // stay in use although the reload was refused).
  if (Status st = start_measuring(applied); !st) {
    if (Status back = uplink_->start(cfg_); !back) {
      spdlog::error("reload: cannot return the uplink to the running config: {}", back.to_string());
    }
    return st;
  }
  cfg_ = applied;
  spool_->set_limits(cfg.spool.limits);
  spool_->set_agent_id(cfg.id);
  spdlog::info("configuration reloaded");
  return Status::ok();
}

void Agent::reload_from_file(const std::string& path) {
  auto next = load_agent_config(path);
  Status st = next ? reload(*next) : next.status();
  if (st) st = setup_logging(next->log, "reflex-agent");  // last: a refusal changes nothing
  if (!st) spdlog::error("reload refused, the running configuration stays:\n{}", st.message());
}

void Agent::stop() {
  status_http_.reset();  // first: its threads reach into the loop
  if (load_timer_) timers_.cancel(load_timer_);
  load_timer_ = 0;
  stop_measuring();
  uplink_.reset();
  spool_.reset();
}

Status Agent::start_measuring(const AgentConfig& cfg) {
  if (!http_) http_ = std::make_unique<HttpClient>(loop_, timers_);
  if (!processes_) processes_ = std::make_unique<ProcessRunner>(loop_, timers_, clock_);
  // The running checks stop first: the new ones may need their ports and files.
  const bool reloading = checks_ != nullptr;
  checks_.reset();
  const bool new_windows = !windows_ || !same_windows(windows_->config(), cfg.windows);
  auto windows = new_windows ? std::make_unique<WindowStore>(clock_, cfg.windows) : nullptr;
  auto context = std::make_unique<CheckContext>(
      CheckContext{loop_, clock_, timers_, windows ? *windows : *windows_});
  auto checks = CheckSet::start(cfg.checks, {*context, *http_, *processes_});
  if (!checks) {
    if (reloading) {
      auto previous = CheckSet::start(cfg_.checks, {*check_context_, *http_, *processes_});
      if (previous) checks_ = std::move(previous).value();
    }
    return checks.status();
  }
  if (windows) windows_ = std::move(windows);
  check_context_ = std::move(context);
  checks_ = std::move(checks).value();
  checks_->set_on_state_change([this](const CheckSpec&, CheckState) { evaluate_soon(); });

  if (!healer_) {
    healer_ = std::make_unique<heal::Healer>(
        heal::HealServices{clock_, timers_, *processes_, *http_, "/proc",
                           [this](const protocol::Labels& labels) { recheck(labels); }},
        [this](std::vector<protocol::Body> events) {
          if (heal_batch_ != nullptr) {
            for (auto& e : events) heal_batch_->push_back(std::move(e));
            return;
          }
          if (auto st = emit(std::move(events)); !st) spdlog::error("heal: {}", st.to_string());
        });
    uplink_->set_command_handler([this](const protocol::Command& c) { healer_->on_command(c); });
  }
  healer_->configure(heal_config(cfg));
  if (!rules_) {
    rules_ = std::make_unique<RuleEngine>(cfg.rules);
  } else {
    handle_alerts(rules_->set_rules(cfg.rules));
  }
  for (TimerId* t : {&rules_timer_, &metrics_timer_, &expire_timer_}) {
    if (*t) timers_.cancel(*t);
  }
  rules_timer_ = timers_.start(kRuleInterval, kRuleInterval, [this] { evaluate_rules(); });
  metrics_timer_ =
      timers_.start(cfg.metrics_interval, cfg.metrics_interval, [this] { send_metrics(); });
  expire_timer_ = timers_.start(cfg.windows.length, cfg.windows.length,
                                [this] { windows_->expire(clock_.monotonic_ms()); });
  return Status::ok();
}

void Agent::stop_measuring() {
  for (TimerId* t : {&rules_timer_, &soon_timer_, &metrics_timer_, &expire_timer_}) {
    if (*t) timers_.cancel(*t);
    *t = 0;
  }
  if (uplink_) uplink_->set_command_handler(nullptr);
  healer_.reset();  // before the runners it uses
  checks_.reset();
  check_context_.reset();
  processes_.reset();
  http_.reset();
}

void Agent::evaluate_rules() {
  handle_alerts(rules_->evaluate(*windows_, clock_.monotonic_ms(), clock_.now_ms()));
}

void Agent::evaluate_soon() {
  if (soon_timer_) return;
  soon_timer_ = timers_.start(Millis(0), Millis(0), [this] {
    soon_timer_ = 0;
    evaluate_rules();
  });
}

void Agent::recheck(const protocol::Labels& labels) {
  auto series = labels.find("series");
  if (series == labels.end() || !checks_) return;
  // The check's name is the series name, or its part before a ".<metric>" suffix.
  std::string name = series->second;
  while (!checks_->wake(name)) {
    const size_t dot = name.rfind('.');
    if (dot == std::string::npos) return;
    name.resize(dot);
  }
}

void Agent::handle_alerts(std::vector<protocol::Alert> alerts) {
  if (alerts.empty()) return;
  for (const auto& a : alerts) {
    spdlog::info("rule {} {} for {} (value {}, threshold {})", a.rule,
                 a.state == protocol::AlertState::kFiring    ? "firing"
                 : a.state == protocol::AlertState::kPending ? "pending"
                                                             : "resolved",
                 a.labels.count("series") ? a.labels.at("series") : "", a.value, a.threshold);
  }
  std::vector<protocol::Body> events(alerts.begin(), alerts.end());
  if (healer_) {
    std::vector<protocol::Body>* outer = std::exchange(heal_batch_, &events);
    for (const auto& a : alerts) healer_->on_alert(a);
    heal_batch_ = outer;
    // A firing alert this host is healing says so (the healer's events follow it).
    for (size_t i = 0; i < alerts.size(); ++i) {
      if (alerts[i].state != protocol::AlertState::kFiring) continue;
      if (auto ladder = healer_->healing(alerts[i].fingerprint)) {
        std::get<protocol::Alert>(events[i]).annotations["healing"] = std::move(*ladder);
      }
    }
  }
  if (auto st = emit(std::move(events)); !st) spdlog::error("alerts: {}", st.to_string());
}

heal::HealConfig Agent::heal_config(const AgentConfig& cfg) const {
  heal::HealConfig h;
  h.host = cfg.remediation;
  h.actions = cfg.actions;
  for (const auto& rule : cfg.rules) {
    if (!rule.heal.empty()) h.ladders[rule.name] = rule.heal;
  }
  return h;
}

void Agent::control_healing(HealControl what, const std::string& target) {
  if (!healer_) return;
  switch (what) {
    case HealControl::kPause:
      healer_->pause(target);
      break;
    case HealControl::kResume:
      healer_->resume(target);
      break;
    case HealControl::kReset:
      healer_->reset(target);
      break;
  }
}

void Agent::send_metrics() {
  auto samples = windows_->to_samples(clock_.monotonic_ms());
  std::vector<protocol::Body> events;
  for (size_t i = 0; i < samples.size(); i += kSamplesPerEvent) {
    protocol::Metrics m;
    const size_t end = std::min(samples.size(), i + kSamplesPerEvent);
    m.samples.assign(std::make_move_iterator(samples.begin() + static_cast<ptrdiff_t>(i)),
                     std::make_move_iterator(samples.begin() + static_cast<ptrdiff_t>(end)));
    events.push_back(std::move(m));
  }
  if (events.empty()) return;
  if (auto st = emit(std::move(events)); !st) spdlog::error("metrics: {}", st.to_string());
}

AgentSnapshot Agent::snapshot() const {
  AgentSnapshot s;
  s.id = cfg_.id;
  s.hostname = cfg_.hostname;
  s.version = REFLEX_VERSION;
  s.now_ms = clock_.now_ms();
  s.uptime_ms = clock_.monotonic_ms() - started_mono_ms_;
  if (uplink_) {
    s.hub_endpoint = uplink_->endpoint();
    s.registered = uplink_->registered();
    s.in_flight = uplink_->in_flight();
  }
  if (spool_) {
    s.spool_depth = spool_->depth();
    s.spool_bytes = spool_->bytes();
    s.spool_last_seq = spool_->last_seq();
    s.spool_acked_seq = spool_->acked_seq();
    s.spool_dropped = spool_->dropped_total();
  }
  if (checks_) s.checks = checks_->status();
  if (rules_) s.rules = rules_->status();
  if (healer_) s.heal = healer_->status();
  if (windows_) {
    s.series = windows_->snapshot(clock_.monotonic_ms());
    s.dropped_series = windows_->dropped_series();
  }
  return s;
}

Status Agent::emit(std::vector<protocol::Body> events) {
  auto seq = spool_->append(std::move(events), clock_.now_ms());
  if (!seq) return seq.status();
  uplink_->pump();
  return Status::ok();
}

void Agent::load_test_tick() {
  // Events numbered by sequence: the load resumes where a restarted agent left off and
  // stops when the spool has written `events` in all.
  const auto target = static_cast<uint64_t>(cfg_.load_test.events);
  const int64_t elapsed = clock_.monotonic_ms() - load_started_ms_ + kLoadTestTick.count();
  const uint64_t due = std::min<uint64_t>(
      target, load_first_seq_ + static_cast<uint64_t>(elapsed * cfg_.load_test.rate / 1000));
  if (spool_->last_seq() >= target) {
    timers_.cancel(load_timer_);
    load_timer_ = 0;
    spdlog::info("load test: all {} events written", target);
    return;
  }
  // A spool that fell behind catches up a bounded step per tick, so the generator's own
  // batches never weigh on the agent's memory.
  const uint64_t last = std::min<uint64_t>(due, spool_->last_seq() + kLoadTestMaxBatch);
  std::vector<protocol::Body> batch;
  for (uint64_t seq = spool_->last_seq() + 1; seq <= last; ++seq) {
    protocol::Metrics m;
    m.samples.push_back({"reflex.load_test.event", {}, static_cast<double>(seq), ""});
    batch.push_back(std::move(m));
  }
  if (auto st = emit(std::move(batch)); !st) spdlog::error("load test: {}", st.to_string());
}

protocol::Heartbeat Agent::heartbeat() const {
  protocol::Heartbeat hb;
  hb.uptime_ms = static_cast<uint64_t>(clock_.monotonic_ms() - started_mono_ms_);
  hb.spool_depth = spool_ ? spool_->depth() : 0;
  hb.open_circuits = healer_ ? healer_->open_circuits() : 0;
  return hb;
}

}  // namespace reflex::agent
