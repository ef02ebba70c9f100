// Outbox: the delivery stage. Every outbound call is first a row in the hub's store (see
// outbox_row.h), committed in the same group commit as the incident change that caused
// it; this stage then sends due rows through their Integration, records each attempt and
// its outcome through the same group commit, and retries with backoff.
//
// The cycle of a row, and what is durable when:
//   enqueue()            the row is staged into the batch being built; nothing is sent
//                        before that batch commits
//   claim                the row is marked `sending` (attempts + 1) in a batch; the HTTP
//                        call starts only once that batch commits. A new row that is due
//                        and allowed by the limits is claimed in the very batch that
//                        inserts it, so the first attempt costs no extra commit.
//   answer               classified by the integration; the row becomes done, pending
//                        (with its next attempt time) or dead, in the next batch
// After a crash (or when another hub takes over the store), rows found `sending` were
// perhaps applied by the vendor with the answer lost:
//  - an integration whose vendor deduplicates (Integration::idempotent) is sent again;
//  - one that offers a lookup (Integration::lookup) is looked up first, paced like an
//    attempt (a slot of max_in_flight, a token of the row's rate key) and counted as one.
//    Found: the row is done with the result the lookup read, as if the send had answered
//    (on_finished fires). Not found: the row is sent. No verdict: the lookup is tried
//    again after backoff; meanwhile the row stays `sending` in the store, so a hub that
//    starts in between looks before sending too;
//  - any other is sent again, at least once: a call whose answer was lost may be made
//    twice (a warning says so). The window is one HTTP exchange plus one commit.
// Only rows found `sending` are looked up. A row `pending` after a failed attempt is
// retried as it is, although an attempt that timed out or was answered 5xx may have been
// applied too: that window remains.
//
// Pacing: at most IntegrationLimits::max_in_flight attempts per integration, and a token
// bucket per rate key (Slack: the channel). Due rows are claimed in (due time, id)
// order; a row whose key has no token waits, and so do later rows of that key, so rows
// to one channel are started in the order they were enqueued.
//
// Threads: the loop thread only (enqueue, stage, committed, failed, retry, the timers and
// HTTP callbacks). The hub calls stage() while it builds each batch and committed() or
// failed() when it is done, exactly as it does for the correlator.
#pragma once

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <vector>

#include "common/clock.h"
#include "common/http_client.h"
#include "common/metrics.h"
#include "common/status.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_reader.h"
#include "hub/outbox/rate_limit.h"
#include "hub/outbox/retry_policy.h"
#include "hub/store.h"

namespace reflex::hub {

// Uniform in [0, 1): the jitter of backoff. Tests pass a fixed sequence.
using UniformRandom = std::function<double()>;
// A random source for production, seeded from the OS.
UniformRandom system_random();

// The answer to a retry request, set on the loop thread once the requeue is committed.
using OutboxRetryAnswer = std::promise<Result<OutboxRow>>;

class Outbox {
 public:
  // Opens a reader on the store `cfg` names (open_store() must have migrated it). `clock`,
  // `timers`, `http` and `metrics` must outlive the Outbox; `http` must run on the same loop.
  // `request_commit` asks the hub for a group commit soon (it calls stage() while building it).
  static Result<std::unique_ptr<Outbox>> open(const StoreConfig& cfg, const Clock& clock,
                                              Timers& timers, HttpClient& http,
                                              metrics::Registry& metrics,
                                              std::function<void()> request_commit,
                                              RetryPolicy policy, UniformRandom random);
  // Abandons attempts in flight (their rows stay `sending`: resent after a restart).
  ~Outbox();
  Outbox(const Outbox&) = delete;
  Outbox& operator=(const Outbox&) = delete;

  // Before start(). Rows naming an integration that was never added go dead, saying so.
  void add_integration(std::unique_ptr<Integration> integration, IntegrationLimits limits);
  // Resumes the store's pending and sending rows and starts sending.
  Status start();
  // Stops claiming and abandons attempts in flight. Results already received are still
  // staged by the next stage().
  void stop();

  // Stages a new row into `batch` (being built by the hub), or returns the existing row
  // when one already has this idempotency key (then `batch` is untouched). The row is
  // sent once the batch commits; if the batch fails (failed()) it is forgotten, as the
  // incident change that caused it is. Errors: "invalid_argument" naming the field.
  Result<OutboxRow> enqueue(WriteBatch& batch, OutboxRequest request);
  // Requeues a dead row (attempts start again from 0); answered once committed.
  // Errors: "not_found", "conflict" (the row is not dead).
  void retry(uint64_t id, std::shared_ptr<OutboxRetryAnswer> answer);

  // The hub's batch cycle: stage() adds the attempt records waiting to be written;
  // committed() or failed() follows for that batch.
  void stage(WriteBatch& batch);
  void committed();
  void failed();

  // Called on the loop thread when a row reaches done or dead (committed), e.g. for a
  // workflow that keeps Slack's ts. Set before start().
  void on_finished(std::function<void(const OutboxRow&)> fn) { on_finished_ = std::move(fn); }

  // A hub that shares its store with others sends only while it leads: `leading` is
  // asked (cheaply, on the loop thread) before each claim and each send; while it says
  // no, nothing starts. A row already claimed stays `sending` for the next leader, which
  // looks before it resends. Set before start().
  void set_gate(std::function<bool()> leading) { leading_ = std::move(leading); }

  // Rows pending or being sent.
  size_t depth() const { return entries_.size(); }
  // A row as last committed (its reader); nullopt when there is none.
  Result<std::optional<OutboxRow>> find(uint64_t id) { return reader_->find(id); }

 private:
  enum class Then { kQueue, kSend, kForget };
  enum class Phase { kQueued, kWriting, kInFlight };
  struct Entry {
    OutboxRow row;
    Phase phase = Phase::kQueued;
    HttpRequestId request = 0;
    bool look_first = false;  // perhaps applied: its next attempt is a lookup
  };
  // One write about a row, and what to do with the row once it is durable.
  struct Staged {
    uint64_t id = 0;
    bool inserted = false;  // the row itself (enqueue), not an update
    Then then = Then::kQueue;
    std::shared_ptr<OutboxRetryAnswer> answer;
  };
  struct Lane {  // per integration
    std::unique_ptr<Integration> integration;
    IntegrationLimits limits;
    KeyedTokenBuckets buckets{0, 1};
    size_t in_flight = 0;  // claimed and not yet answered
  };

  Outbox(std::unique_ptr<OutboxReader> reader, const Clock& clock, Timers& timers, HttpClient& http,
         metrics::Registry& metrics, std::function<void()> request_commit, RetryPolicy policy,
         UniformRandom random);
  // Whether this hub may start an outbound call now (set_gate).
  bool may_send() const;
  // Claims every due row the limits allow; arms the timer for the next.
  void pump();
  // Whether `row` may start an attempt now (takes a token and a slot when it may).
  // `blocked` collects rate keys that had no token in this pass.
  bool admit(const OutboxRow& row, std::set<std::string>& blocked, int64_t& wake_ms);
  void claim(Entry& e, int64_t now);
  void send(uint64_t id);
  void on_answer(uint64_t id, const HttpResponse& response);
  void on_lookup_answer(uint64_t id, const HttpResponse& response);
  // Records the verdict of an attempt on row `id` (staged for the next batch).
  void finish_attempt(Entry& e, const Outcome& outcome);
  void write(Entry& e, Then then, std::shared_ptr<OutboxRetryAnswer> answer = nullptr);
  void forget(uint64_t id);
  void arm(int64_t wake_ms);
  Lane* lane_of(const std::string& integration);
  std::vector<std::string> secrets_of(const std::string& integration);
  void update_gauge();
  // Asks the hub for a commit if anything was written; called last by every entry point,
  // since the hub may build the batch (and call stage()) from inside the request.
  void flush();

  std::unique_ptr<OutboxReader> reader_;  // reads only (the writer owns writes)
  const Clock& clock_;
  Timers& timers_;
  HttpClient& http_;
  std::function<void()> request_commit_;
  RetryPolicy policy_;
  UniformRandom random_;
  std::function<void(const OutboxRow&)> on_finished_;
  std::function<bool()> leading_;  // unset: always

  std::map<std::string, Lane> lanes_;
  std::map<uint64_t, Entry> entries_;               // every row not yet done or dead
  std::unordered_map<std::string, uint64_t> keys_;  // idempotency key -> id, of entries_
  std::set<std::pair<int64_t, uint64_t>> queue_;    // (due, id) of kQueued entries
  std::vector<Staged> unstaged_;                    // updates waiting for a batch
  std::vector<Staged> in_batch_;                    // writes of the batch in flight
  uint64_t next_id_ = 1;
  TimerId timer_ = 0;
  int64_t timer_due_ms_ = 0;
  bool started_ = false;
  bool stopped_ = false;
  bool want_commit_ = false;
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);

  metrics::CounterFamily* sent_;
  metrics::CounterFamily* failed_;
  metrics::CounterFamily* dead_;
  metrics::Gauge* depth_;
};

}  // namespace reflex::hub
