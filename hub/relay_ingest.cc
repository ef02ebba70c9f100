#include "hub/relay_ingest.h"

#include <spdlog/spdlog.h>

namespace reflex::hub {
namespace {

constexpr Millis kCommitRetry(500);

}  // namespace

RelayIngest::RelayIngest(EventLoop& loop, const Clock& clock, Timers& timers)
    : loop_(loop),
      clock_(clock),
      timers_(timers),
      metrics_(metrics_registry_),
      registry_(LivenessPolicy{}),  // liveness is the leader's to judge
      zmq_(1) {}

RelayIngest::~RelayIngest() {
  stop();
}

Status RelayIngest::start(const HubConfig& cfg) {
  cfg_ = cfg;
  auto store = open_store(cfg.store);
  if (!store) return store.status().with_context("store " + cfg.store.where());
  store_ = std::move(store).value();
  auto known = store_->load_agents();
  if (!known) return known.status().with_context("store " + cfg.store.where());
  registry_.load(std::move(known).value());
  writer_ = std::make_unique<StoreWriter>(loop_, *store_);
  std::string secret_key;
  auto zap = start_agent_guard(loop_, zmq_, clock_, cfg.security, *metrics_.connections_refused,
                               secret_key);
  if (!zap) return zap.status();
  zap_ = std::move(zap).value();
  ingest_ =
      std::make_unique<Ingest>(loop_, zmq_, clock_, registry_, metrics_, [this] { commit(); });
  REFLEX_RETURN_IF_ERROR(ingest_->bind(cfg.listen, secret_key, ZapAuthenticator::kDomain));
  ingest_->set_window(static_cast<uint32_t>(cfg.agents.window));
  spdlog::info("standby hub ingesting for the leader on {}", ingest_->endpoint());
  return Status::ok();
}

void RelayIngest::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (retry_timer_) timers_.cancel(retry_timer_);
  // What was accepted is made durable and acknowledged before the port closes.
  if (writer_ && ingest_) {
    writer_->drain();
    commit();
    writer_->drain();
  }
  ingest_.reset();
  writer_.reset();
}

void RelayIngest::commit() {
  if (!writer_ || !ingest_ || writer_->busy()) return;
  WriteBatch batch = registry_.take_batch();
  Ingest::Taken taken = ingest_->take();
  batch.events = std::move(taken.events);
  batch.relay = true;
  if (batch.empty()) {
    ingest_->committed(taken);  // acks owed for redeliveries
    return;
  }
  writer_->submit(std::move(batch), [this, taken = std::move(taken)](WriteBatch batch, Status st,
                                                                     double seconds) mutable {
    on_committed(std::move(batch), std::move(taken), std::move(st), seconds);
  });
}

void RelayIngest::on_committed(WriteBatch batch, Ingest::Taken taken, Status st, double seconds) {
  metrics_.commit_seconds->observe(seconds);
  ingest_->set_window(
      granted_window(cfg_.agents.window, seconds * 1000, cfg_.agents.slow_commit.count()));
  if (st) {
    ingest_->committed(taken);  // only now may the agents trim their spools
    commit();                   // what arrived while this batch was written
    return;
  }
  // Nothing acknowledged is lost: the events were not acknowledged, so their agents send
  // them again, and the agents' rows go with the next batch.
  spdlog::error("standby ingest: store commit failed, will retry: {}", st.to_string());
  ingest_->commit_failed();
  batch.events.clear();
  registry_.restore_batch(std::move(batch));
  if (!retry_timer_ && !stopped_) {
    retry_timer_ = timers_.start(kCommitRetry, Millis(0), [this] {
      retry_timer_ = 0;
      commit();
    });
  }
}

}  // namespace reflex::hub
