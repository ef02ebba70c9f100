#include "hub/outbox/outbox.h"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <climits>
#include <random>

namespace reflex::hub {

UniformRandom system_random() {
  auto engine = std::make_shared<std::mt19937_64>(std::random_device{}());
  return [engine] { return std::uniform_real_distribution<double>(0.0, 1.0)(*engine); };
}

Result<std::unique_ptr<Outbox>> Outbox::open(const StoreConfig& cfg, const Clock& clock,
                                             Timers& timers, HttpClient& http,
                                             metrics::Registry& metrics,
                                             std::function<void()> request_commit,
                                             RetryPolicy policy, UniformRandom random) {
  auto reader = open_outbox_reader(cfg);
  if (!reader) return reader.status();
  return std::unique_ptr<Outbox>(new Outbox(std::move(reader).value(), clock, timers, http, metrics,
                                            std::move(request_commit), policy, std::move(random)));
}

Outbox::Outbox(std::unique_ptr<OutboxReader> reader, const Clock& clock, Timers& timers,
               HttpClient& http, metrics::Registry& metrics, std::function<void()> request_commit,
               RetryPolicy policy, UniformRandom random)
    : reader_(std::move(reader)),
      clock_(clock),
      timers_(timers),
      http_(http),
      request_commit_(std::move(request_commit)),
      policy_(policy),
      random_(random ? std::move(random) : system_random()),
      sent_(&metrics.counter_family("reflex_hub_outbox_sent_total",
                                    "Outbound calls delivered, by integration.", {"integration"})),
      failed_(&metrics.counter_family("reflex_hub_outbox_failed_attempts_total",
                                      "Attempts of outbound calls that failed (retried or not), "
                                      "by integration.",
                                      {"integration"})),
      dead_(&metrics.counter_family(
          "reflex_hub_outbox_dead_total",
          "Outbound calls given up (permanent failure or out of attempts), by integration.",
          {"integration"})),
      depth_(&metrics.gauge("reflex_hub_outbox_depth",
                            "Outbound calls waiting to be delivered (pending or sending).")) {}

Outbox::~Outbox() {
  *alive_ = false;
  stop();
}

void Outbox::add_integration(std::unique_ptr<Integration> integration, IntegrationLimits limits) {
  const std::string name(integration->name());
  Lane& lane = lanes_[name];
  lane.integration = std::move(integration);
  lane.limits = limits;
  lane.limits.max_in_flight = std::max<size_t>(1, limits.max_in_flight);
  lane.buckets = KeyedTokenBuckets(limits.rate_per_key, limits.burst_per_key);
}

Outbox::Lane* Outbox::lane_of(const std::string& integration) {
  auto it = lanes_.find(integration);
  return it == lanes_.end() ? nullptr : &it->second;
}

std::vector<std::string> Outbox::secrets_of(const std::string& integration) {
  Lane* lane = lane_of(integration);
  return lane ? lane->integration->secrets() : std::vector<std::string>{};
}

Status Outbox::start() {
  auto max = reader_->max_id();
  if (!max) return max.status().with_context("outbox");
  next_id_ = *max + 1;
  auto open = reader_->load_open();
  if (!open) return open.status().with_context("outbox");
  const int64_t now = clock_.now_ms();
  for (auto& row : *open) {
    int64_t due = row.next_attempt_ms;
    bool look_first = false;
    if (row.state == OutboxState::kSending) {
      // The hub stopped during an attempt: it may or may not have reached the vendor.
      Lane* lane = lane_of(row.integration);
      if (lane && !lane->integration->idempotent(row)) {
        look_first = lane->integration->lookup(row).has_value();
        if (look_first) {
          spdlog::info(
              "outbox: {} #{} was being sent when the hub stopped; looking it up at the vendor "
              "before sending it again",
              row.operation, row.id);
        } else {
          spdlog::warn(
              "outbox: {} #{} was being sent when the hub stopped; sending it again (the vendor "
              "has no idempotency key, so it may arrive twice)",
              row.operation, row.id);
        }
      }
      due = now;
    }
    const uint64_t id = row.id;
    keys_[row.idempotency_key] = id;
    entries_[id] = Entry{
        .row = std::move(row), .phase = Phase::kQueued, .request = 0, .look_first = look_first};
    queue_.insert({due, id});
  }
  started_ = true;
  if (!entries_.empty()) spdlog::info("outbox: resuming {} undelivered calls", entries_.size());
  update_gauge();
  pump();
  flush();
  return Status::ok();
}

void Outbox::stop() {
  if (stopped_) return;
  stopped_ = true;
  if (timer_) timers_.cancel(timer_);
  timer_ = 0;
  for (auto& [id, e] : entries_) {
    if (e.phase == Phase::kInFlight) http_.cancel(e.request);  // stays `sending`: resent later
  }
}

Result<OutboxRow> Outbox::enqueue(WriteBatch& batch, OutboxRequest request) {
  if (request.integration.empty()) {
    return Status::error("invalid_argument", "integration: must not be empty");
  }
  if (request.operation.empty()) {
    return Status::error("invalid_argument", "operation: must not be empty");
  }
  if (request.idempotency_key.empty()) {
    return Status::error("invalid_argument", "idempotency_key: must not be empty");
  }
  if (!request.payload.is_object()) {
    return Status::error("invalid_argument", "payload: must be a JSON object");
  }
  if (auto it = keys_.find(request.idempotency_key); it != keys_.end()) {
    return entries_.at(it->second).row;
  }
  auto stored = reader_->find_by_key(request.idempotency_key);
  if (!stored) return stored.status().with_context("outbox");
  if (*stored) return std::move(**stored);

  const int64_t now = clock_.now_ms();
  OutboxRow row{.id = next_id_++,
                .integration = std::move(request.integration),
                .operation = std::move(request.operation),
                .idempotency_key = std::move(request.idempotency_key),
                .incident_id = request.incident_id,
                .payload = std::move(request.payload),
                .state = OutboxState::kPending,
                .attempts = 0,
                .next_attempt_ms = now,
                .last_error = "",
                .result = nullptr,
                .created_ms = now,
                .updated_ms = now};
  keys_[row.idempotency_key] = row.id;
  entries_[row.id] = Entry{.row = row, .phase = Phase::kWriting, .request = 0, .look_first = false};
  batch.outbox.push_back(row);
  in_batch_.push_back({.id = row.id, .inserted = true, .then = Then::kQueue, .answer = nullptr});
  update_gauge();
  return row;
}

void Outbox::retry(uint64_t id, std::shared_ptr<OutboxRetryAnswer> answer) {
  if (stopped_) {
    answer->set_value(Status::error("unavailable", "the hub is stopping"));
    return;
  }
  if (auto it = entries_.find(id); it != entries_.end()) {
    answer->set_value(Status::error("conflict", "outbox row " + std::to_string(id) + " is " +
                                                    outbox_state_name(it->second.row.state) +
                                                    "; only dead rows are retried"));
    return;
  }
  auto stored = reader_->find(id);
  if (!stored) {
    answer->set_value(stored.status().with_context("outbox"));
    return;
  }
  if (!*stored) {
    answer->set_value(Status::error("not_found", "no outbox row " + std::to_string(id)));
    return;
  }
  OutboxRow row = std::move(**stored);
  if (row.state != OutboxState::kDead) {
    answer->set_value(Status::error("conflict", "outbox row " + std::to_string(id) + " is " +
                                                    outbox_state_name(row.state) +
                                                    "; only dead rows are retried"));
    return;
  }
  const int64_t now = clock_.now_ms();
  row.state = OutboxState::kPending;
  row.attempts = 0;
  row.next_attempt_ms = now;
  row.updated_ms = now;
  keys_[row.idempotency_key] = id;
  Entry& e = entries_[id] =
      Entry{.row = std::move(row), .phase = Phase::kQueued, .request = 0, .look_first = false};
  write(e, Then::kQueue, std::move(answer));
  update_gauge();
  flush();
}

void Outbox::write(Entry& e, Then then, std::shared_ptr<OutboxRetryAnswer> answer) {
  e.phase = Phase::kWriting;
  unstaged_.push_back(
      {.id = e.row.id, .inserted = false, .then = then, .answer = std::move(answer)});
  want_commit_ = true;
}

void Outbox::flush() {
  if (!want_commit_) return;
  want_commit_ = false;
  if (request_commit_) request_commit_();
}

void Outbox::stage(WriteBatch& batch) {
  for (auto& s : unstaged_) {
    batch.outbox_updates.push_back(update_of(entries_.at(s.id).row));
    in_batch_.push_back(std::move(s));
  }
  unstaged_.clear();
  if (!started_ || stopped_) return;
  // New rows that may go at once are claimed in the batch that inserts them.
  const int64_t now = clock_.now_ms();
  std::set<std::string> blocked;
  int64_t wake = INT64_MAX;
  for (auto& s : in_batch_) {
    if (!s.inserted || s.then != Then::kQueue) continue;
    auto row = std::find_if(batch.outbox.begin(), batch.outbox.end(),
                            [&](const OutboxRow& r) { return r.id == s.id; });
    if (row == batch.outbox.end() || row->next_attempt_ms > now) continue;
    if (!lane_of(row->integration) || !admit(*row, blocked, wake)) continue;
    Entry& e = entries_.at(s.id);
    e.row.state = OutboxState::kSending;
    e.row.attempts += 1;
    e.row.updated_ms = now;
    *row = e.row;
    s.then = Then::kSend;
  }
}

void Outbox::committed() {
  std::vector<Staged> done = std::move(in_batch_);
  in_batch_.clear();
  for (auto& s : done) {
    auto it = entries_.find(s.id);
    if (it == entries_.end()) continue;
    Entry& e = it->second;
    const OutboxRow row = e.row;
    switch (s.then) {
      case Then::kQueue:
        e.phase = Phase::kQueued;
        queue_.insert({e.row.next_attempt_ms, s.id});
        break;
      case Then::kSend:
        send(s.id);
        break;
      case Then::kForget:
        forget(s.id);
        if (on_finished_) on_finished_(row);
        break;
    }
    if (s.answer) s.answer->set_value(row);
  }
  update_gauge();
  pump();
  flush();
}

void Outbox::failed() {
  // New rows go with the incident change that caused them (it is undone too); records of
  // attempts are facts and wait for the next batch, in order.
  std::vector<Staged> again;
  for (auto& s : in_batch_) {
    if (!s.inserted) {
      again.push_back(std::move(s));
      continue;
    }
    auto it = entries_.find(s.id);
    if (it == entries_.end()) continue;
    if (s.then == Then::kSend) {
      if (Lane* lane = lane_of(it->second.row.integration)) --lane->in_flight;
    }
    forget(s.id);
  }
  in_batch_.clear();
  again.insert(again.end(), std::make_move_iterator(unstaged_.begin()),
               std::make_move_iterator(unstaged_.end()));
  unstaged_ = std::move(again);
  update_gauge();
}

bool Outbox::admit(const OutboxRow& row, std::set<std::string>& blocked, int64_t& wake_ms) {
  Lane& lane = *lane_of(row.integration);
  if (lane.in_flight >= lane.limits.max_in_flight) return false;  // an answer frees a slot
  const std::string key = lane.integration->rate_key(row);
  if (key.empty()) {
    ++lane.in_flight;
    return true;
  }
  const std::string lane_key = row.integration + '\n' + key;
  if (blocked.count(lane_key)) return false;  // keeps the key's rows in order
  const int64_t now = clock_.now_ms();
  if (!lane.buckets.take(key, now)) {
    blocked.insert(lane_key);
    wake_ms = std::min(wake_ms, lane.buckets.next_token_ms(key, now));
    return false;
  }
  ++lane.in_flight;
  return true;
}

void Outbox::claim(Entry& e, int64_t now) {
  e.row.state = OutboxState::kSending;
  e.row.attempts += 1;
  e.row.updated_ms = now;
  write(e, Then::kSend);
}

bool Outbox::may_send() const {
  return !leading_ || leading_();
}

void Outbox::pump() {
  if (!started_ || stopped_ || !may_send()) return;
  const int64_t now = clock_.now_ms();
  std::set<std::string> blocked;
  int64_t wake = INT64_MAX;
  auto it = queue_.begin();
  while (it != queue_.end() && it->first <= now) {
    Entry& e = entries_.at(it->second);
    if (!lane_of(e.row.integration)) {
      it = queue_.erase(it);
      finish_attempt(e, Outcome::permanent("integration \"" + e.row.integration +
                                           "\" is not configured (integrations." +
                                           e.row.integration + " in hub.yaml)"));
      continue;
    }
    if (!admit(e.row, blocked, wake)) {
      ++it;
      continue;
    }
    it = queue_.erase(it);
    claim(e, now);
  }
  if (it != queue_.end()) wake = std::min(wake, it->first);
  arm(wake);
}

void Outbox::arm(int64_t wake_ms) {
  if (wake_ms == INT64_MAX) {
    if (timer_) timers_.cancel(timer_);
    timer_ = 0;
    return;
  }
  if (timer_ && timer_due_ms_ == wake_ms) return;
  if (timer_) timers_.cancel(timer_);
  timer_due_ms_ = wake_ms;
  const int64_t delay = std::max<int64_t>(0, wake_ms - clock_.now_ms());
  timer_ = timers_.start(Millis(delay), Millis(0), [this] {
    timer_ = 0;
    pump();
    flush();
  });
}

void Outbox::send(uint64_t id) {
  Entry& e = entries_.at(id);
  Lane* lane = lane_of(e.row.integration);
  if (stopped_ || !lane || !may_send()) {
    e.phase = Phase::kInFlight;  // stays `sending` in the store: resent after a restart
    return;
  }
  if (e.look_first) {
    if (auto lookup = lane->integration->lookup(e.row)) {
      e.phase = Phase::kInFlight;
      e.request =
          http_.request(std::move(*lookup), [this, id, alive = alive_](HttpResponse response) {
            if (!*alive) return;
            on_lookup_answer(id, response);
          });
      return;
    }
    e.look_first = false;  // cannot look (any more): sent, at least once
  }
  auto request = lane->integration->prepare(e.row);
  if (!request) {
    --lane->in_flight;
    finish_attempt(e, Outcome::permanent(request.status().message()));
    return;
  }
  e.phase = Phase::kInFlight;
  e.request =
      http_.request(std::move(request).value(), [this, id, alive = alive_](HttpResponse response) {
        if (!*alive) return;
        on_answer(id, response);
      });
}

void Outbox::on_answer(uint64_t id, const HttpResponse& response) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  Lane* lane = lane_of(e.row.integration);
  if (!lane) return;
  --lane->in_flight;
  finish_attempt(e, lane->integration->classify(e.row, response));
  pump();
  flush();
}

void Outbox::on_lookup_answer(uint64_t id, const HttpResponse& response) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  Entry& e = it->second;
  Lane* lane = lane_of(e.row.integration);
  if (!lane) return;
  --lane->in_flight;
  const LookupOutcome verdict = lane->integration->classify_lookup(e.row, response);
  switch (verdict.kind) {
    case LookupOutcome::Kind::kFound:
      spdlog::info("outbox: {} #{} had reached the vendor before the hub stopped; not sent again",
                   e.row.operation, e.row.id);
      e.look_first = false;
      finish_attempt(e, Outcome::done(verdict.result));
      break;
    case LookupOutcome::Kind::kNotFound:
      // Claimed again like any due row (a slot, a token, `sending` recorded), then sent.
      e.look_first = false;
      e.phase = Phase::kQueued;
      queue_.insert({clock_.now_ms(), id});
      break;
    case LookupOutcome::Kind::kRetry:
      finish_attempt(e, Outcome::retry("lookup: " + verdict.error, verdict.retry_after));
      // Still perhaps applied: the store keeps saying so, for whichever hub looks next.
      if (e.row.state == OutboxState::kPending) e.row.state = OutboxState::kSending;
      break;
  }
  pump();
  flush();
}

void Outbox::finish_attempt(Entry& e, const Outcome& outcome) {
  const int64_t now = clock_.now_ms();
  const auto secrets = secrets_of(e.row.integration);
  AttemptDecision d = decide_attempt(outcome, e.row.attempts, policy_, now, random_());
  d.error = redact(std::move(d.error), secrets);
  OutboxRow& row = e.row;
  row.state = d.state;
  row.next_attempt_ms = d.next_attempt_ms;
  row.last_error = d.error;
  row.result = std::move(d.result);
  row.updated_ms = now;
  const std::string& name = row.integration;
  switch (d.state) {
    case OutboxState::kDone:
      sent_->with({name}).inc();
      spdlog::debug("outbox: {} #{} delivered", row.operation, row.id);
      break;
    case OutboxState::kPending:
      failed_->with({name}).inc();
      spdlog::warn("outbox: {} #{} attempt {} failed, next in {} ms: {}", row.operation, row.id,
                   row.attempts, row.next_attempt_ms - now, row.last_error);
      break;
    default:
      failed_->with({name}).inc();
      dead_->with({name}).inc();
      spdlog::error("outbox: {} #{} is a dead letter after {} attempts: {}", row.operation, row.id,
                    row.attempts, row.last_error);
      break;
  }
  write(e, d.state == OutboxState::kPending ? Then::kQueue : Then::kForget);
}

void Outbox::forget(uint64_t id) {
  auto it = entries_.find(id);
  if (it == entries_.end()) return;
  keys_.erase(it->second.row.idempotency_key);
  entries_.erase(it);
}

void Outbox::update_gauge() {
  depth_->set(static_cast<double>(entries_.size()));
}

}  // namespace reflex::hub
