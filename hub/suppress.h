// Suppress: the hub's inhibit/silence stage, run inside correlation. It keeps a
// Suppressor (hub/incidents/suppression.h) as the incident engine's verdict hook, feeds it
// what the engine did, runs people's silence commands and the silence reminders, and puts
// the silence rows they return into the batch being built, so a silence is written in
// the same transaction as everything else and answered only once it is durable.
//
// Like the engine, its memory is "the store, plus the one batch being written": after a
// failed commit restore() rebuilds it from the store (silences, open incidents, firing
// alerts), and a reload is applied at the start of the next batch, when no batch is in
// flight and the store's firing alerts can be replayed into the new inhibit rules.
// Loop thread only (SilenceAnswer may be waited for on any thread).
#pragma once

#include <cstdint>
#include <future>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/metrics.h"
#include "common/status.h"
#include "hub/incidents/engine.h"
#include "hub/incidents/suppression.h"
#include "hub/store.h"

namespace reflex::hub {

// Something a person does to silences through the API.
struct SilenceCommand {
  enum class Kind { kCreate, kExpire };
  Kind kind = Kind::kCreate;
  incidents::SilenceSpec spec;  // kCreate
  uint64_t id = 0;              // kExpire
  std::string actor;            // kExpire
};

// The silence's row once committed; else why not: SilenceSet's refusal
// ("invalid_silence", "invalid_argument", "not_found", "conflict") or "unavailable" when
// its commit failed and nothing changed.
using SilenceAnswer = std::promise<Result<incidents::Silence>>;

class SuppressStage {
 public:
  // `store` is read only while no batch is in flight; it must outlive the stage.
  explicit SuppressStage(HubStore& store);
  ~SuppressStage();
  SuppressStage(const SuppressStage&) = delete;
  SuppressStage& operator=(const SuppressStage&) = delete;

  // Before the first restore(): the configuration it builds from. Later (a reload): kept
  // and applied by the next prepare().
  void configure(incidents::SuppressionConfig config);
  // Registers reflex_hub_signals_suppressed_total{by} and
  // reflex_hub_silence_reminders_total; `registry` must outlive the stage.
  void set_metrics(metrics::Registry& registry);

  // After `engine` restored `snapshot` from the store: builds a new Suppressor from the
  // configuration and the store (silences not ended by `now_ms`, the snapshot's open
  // incidents, the firing alerts) and sets it as `engine`'s verdict hook. On an error
  // nothing changes (the old Suppressor stays, serving the old engine).
  Status restore(incidents::IncidentEngine& engine, const incidents::EngineSnapshot& snapshot,
                 int64_t now_ms);
  // At the start of a batch: applies a configuration given since (Suppressor::reconfigure
  // and a replay of the store's firing alerts into the new inhibit index).
  Status prepare();

  // What the engine did, in order: every Changes, and every signal it accepted.
  void observe(const incidents::Changes& changes) { suppressor_->observe(changes); }
  void observe(const incidents::AlertSignal& signal) { suppressor_->observe(signal); }

  // Queues a command for the next batch.
  void submit(SilenceCommand command, std::shared_ptr<SilenceAnswer> answer);
  // Runs the queued commands (refusals are answered at once) and the reminders due by
  // `now_ms`, appending the rows they return to batch.silences.
  void run(WriteBatch& batch, int64_t now_ms);
  // The batch built last is durable: answers its commands, logs and counts its reminders.
  void committed();
  // The batch built last was not written: answers its commands with `answer`. Restore
  // the stage (restore()) after.
  void failed(const Status& answer);
  // Answers the commands not yet run with `answer` (the store cannot be read).
  void refuse_queued(const Status& answer);

  // When run() next has a reminder to hand out, if ever.
  std::optional<int64_t> next_due_ms(int64_t now_ms) const;
  const incidents::Suppressor& suppressor() const { return *suppressor_; }

 private:
  struct Queued {
    SilenceCommand command;
    std::shared_ptr<SilenceAnswer> answer;
  };
  struct Awaiting {
    std::shared_ptr<SilenceAnswer> answer;
    incidents::Silence row;
  };
  Status replay_firing(incidents::Suppressor& suppressor);
  incidents::VerdictHook counted_hook() const;

  HubStore& store_;
  incidents::SuppressionConfig config_;
  bool reconfigure_ = false;  // config_ is newer than what suppressor_ was built with
  std::unique_ptr<incidents::Suppressor> suppressor_;
  std::vector<Queued> queued_;
  std::vector<Awaiting> awaiting_;
  std::vector<incidents::Silence> reminded_;  // in the batch in flight
  metrics::CounterFamily* suppressed_ = nullptr;
  metrics::Counter* reminders_ = nullptr;
};

// What a suppression reason is, for counting: "silence", "maintenance", "dependency",
// "rule" (from the reasons' documented forms), or "other".
const char* suppression_kind(const std::string& reason);

}  // namespace reflex::hub
