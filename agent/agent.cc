#include "agent/agent.h"

#include <spdlog/spdlog.h>

#include "common/log.h"

namespace reflex::agent {
namespace {

constexpr Millis kLoadTestTick(10);
constexpr uint64_t kLoadTestMaxBatch = 2000;

}  // namespace

Agent::Agent(EventLoop& loop, const Clock& clock, Timers& timers)
    : loop_(loop),
      clock_(clock),
      timers_(timers),
      started_mono_ms_(clock.monotonic_ms()),
      zmq_(1) {}

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
  if (cfg.load_test.events > 0) {
    load_started_ms_ = clock_.monotonic_ms();
    load_first_seq_ = spool_->last_seq();
    load_timer_ = timers_.start(kLoadTestTick, kLoadTestTick, [this] { load_test_tick(); });
  }
  spdlog::info("agent {} on host {} started (spool {}: {} events waiting, next seq {})", cfg.id,
               cfg.hostname, cfg.spool.path, spool_->depth(), spool_->last_seq() + 1);
  return Status::ok();
}

Status Agent::reload(const AgentConfig& cfg) {
  if (!uplink_) return start(cfg);
  if (cfg.spool.path != cfg_.spool.path) {
    spdlog::warn("reload: a new spool path takes effect after a restart");
  }
  AgentConfig applied = cfg;
  applied.spool.path = cfg_.spool.path;
  REFLEX_RETURN_IF_ERROR(uplink_->start(applied));  // may refuse (a key file): nothing changed yet
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
  if (load_timer_) timers_.cancel(load_timer_);
  load_timer_ = 0;
  uplink_.reset();
  spool_.reset();
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
  return hb;
}

}  // namespace reflex::agent
