// Silences and maintenance windows: the "notify nobody" decisions people make ahead of
// time. A silence (created through the API) mutes the alerts its matchers select from
// its start to its end; a maintenance window (declared in hub.yaml) does the same on a
// weekly schedule. Muted alerts are still recorded: SilenceSet only answers "why must
// this notify nobody", and the incident engine writes that reason on the timeline.
//
// Pure logic with an explicit clock, like the engine: every call takes `now_ms` and
// SilenceSet does no I/O. Calls that change a silence return its row for the hub to
// write (SilenceTables); restore() loads the rows back after a restart.
//
// Reminders: a long silence (at least ReminderPolicy::min_length) that is about to end
// (within ReminderPolicy::lead) is returned once by reminders(), so the hub can tell its
// creator; the reminded time is part of the row, so a restart does not remind again.
//
// Loop thread only. Matching costs one pass over the held silences and windows (people
// create tens, not thousands).
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "hub/incidents/maintenance.h"
#include "hub/incidents/matchers.h"

namespace reflex::hub::incidents {

// What a person asks for (API `POST silences`).
struct SilenceSpec {
  Matchers matchers;
  int64_t starts_at_ms = 0;  // 0 or in the past: now
  int64_t ends_at_ms = 0;
  std::string created_by;
  std::string comment;
};

enum class SilenceState : uint8_t { kPending, kActive, kExpired };
const char* silence_state_name(SilenceState s);

struct Silence {
  uint64_t id = 0;
  Matchers matchers;
  int64_t starts_at_ms = 0;  // hub clock, Unix ms; end exclusive
  int64_t ends_at_ms = 0;
  std::string created_by;
  std::string comment;
  int64_t created_ms = 0;
  std::string expired_by;   // who ended it before its time; "" otherwise
  int64_t reminded_ms = 0;  // when its reminder was handed out; 0: not yet

  SilenceState state(int64_t now_ms) const {
    if (now_ms >= ends_at_ms) return SilenceState::kExpired;
    return now_ms < starts_at_ms ? SilenceState::kPending : SilenceState::kActive;
  }
  bool operator==(const Silence&) const = default;
};

struct ReminderPolicy {
  int64_t lead_ms = 15 * 60'000;        // remind this long before the end; 0: never
  int64_t min_length_ms = 60 * 60'000;  // only silences at least this long
};

// What a restarted SilenceSet continues from (SilenceTables::load()).
struct SilenceSnapshot {
  uint64_t next_id = 1;
  std::vector<Silence> silences;
  bool operator==(const SilenceSnapshot&) const = default;
};

class SilenceSet {
 public:
  explicit SilenceSet(ReminderPolicy policy = {}) : policy_(policy) {}

  void set_policy(ReminderPolicy policy) { policy_ = policy; }
  // The windows from hub.yaml; a reload replaces them all.
  void set_windows(std::vector<MaintenanceWindow> windows) { windows_ = std::move(windows); }
  const std::vector<MaintenanceWindow>& windows() const { return windows_; }

  // Refuses ("invalid_silence", naming the field): no matchers; matchers that all match
  // an absent label (they would silence every alert, as Alertmanager also refuses); an
  // end not after the start or not after now; an empty created_by or comment. A start in
  // the past becomes now. Returns the new silence, to be written.
  Result<Silence> create(SilenceSpec spec, int64_t now_ms);
  // Ends a silence now (a pending one never starts). Refuses an empty actor
  // ("invalid_argument"), an id it does not hold ("not_found") and a silence already
  // expired ("conflict"). Returns the row to write.
  Result<Silence> expire(uint64_t id, const std::string& actor, int64_t now_ms);

  // Why alerts with these labels notify nobody at `now_ms`: "silenced by 42 (alice)"
  // for the lowest-numbered active silence that matches, else "in maintenance window
  // nightly-db until 2026-10-25 04:00 Europe/Berlin" for the first open window that
  // matches; nullopt when nothing mutes them. Pass match_labels(signal) for a signal.
  std::optional<std::string> match(const protocol::Labels& labels, int64_t now_ms) const;

  // Long active silences whose end is within the lead time, each returned once: marks
  // them reminded and returns their rows (to write, and to notify their creators). A
  // silence that ended or was expired before a call is never reminded.
  std::vector<Silence> reminders(int64_t now_ms);
  // When reminders() next has something to return, if ever (possibly <= now_ms: call it
  // then). Silences that have ended by `now_ms` are never due.
  std::optional<int64_t> next_reminder_ms(int64_t now_ms) const;

  // ---- reading ----
  const Silence* find(uint64_t id) const;
  std::vector<Silence> list() const;  // every held silence, by id
  std::vector<Silence> active(int64_t now_ms) const;
  // Windows open at `now_ms` with their current occurrence.
  std::vector<std::pair<std::string, Occurrence>> open_windows(int64_t now_ms) const;

  // Lets go of silences that ended before `ms` (the store keeps them).
  void forget_ended_before(int64_t ms);

  // ---- persistence ----
  SilenceSnapshot snapshot() const;
  // Loads rows into a set that holds no silence yet; refuses duplicate ids and a
  // next_id not above every id ("invalid_argument").
  Status restore(SilenceSnapshot snapshot);

 private:
  bool due_for_reminder(const Silence& s) const;

  ReminderPolicy policy_;
  std::map<uint64_t, Silence> silences_;
  std::vector<MaintenanceWindow> windows_;
  uint64_t next_id_ = 1;
};

}  // namespace reflex::hub::incidents
