// AlertBook: the alerts the incident engine currently holds, by fingerprint.
//
// Only a compact record per alert stays in memory (state, severity, host, times, the
// incident it belongs to); labels, annotations and the state history go to the store
// as rows (AlertRow, AlertTransition) and are read back from there. An alert stays in
// the book while it is pending or firing, or while an incident the engine holds still
// lists it; the engine drops the rest, so memory follows the open alerts, not all
// alerts ever seen. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <absl/container/flat_hash_map.h>

#include "hub/incidents/alert_signal.h"
#include "hub/incidents/compact_key.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents {

struct AlertRecord {
  std::string host;
  protocol::AlertState state = protocol::AlertState::kPending;
  protocol::Severity severity = protocol::Severity::kWarning;
  int64_t since_ms = 0;      // signal time of the last state change
  int64_t last_ms = 0;       // signal time of the last signal
  uint64_t incident_id = 0;  // the incident it last joined; 0: none

  bool operator==(const AlertRecord&) const = default;
};

// What the store keeps of an alert: the current row. `detail` comes with rows written
// for a signal; rows written for the engine's own changes (an incident let go, the
// alert dropped from memory) carry only the compact record.
struct AlertRow {
  struct Detail {
    std::string source;
    std::string rule;
    protocol::Labels labels;
    protocol::Labels annotations;
    bool operator==(const Detail&) const = default;
  };
  std::string fingerprint;
  AlertRecord record;
  bool retained = true;  // still in the engine's memory (restored on load)
  std::optional<Detail> detail;

  bool operator==(const AlertRow&) const = default;
};

// One entry of an alert's state history: a new alert, a state change, or a severity
// change. Repeated signals with nothing new (sources that resend firing alerts) are not
// history.
struct AlertTransition {
  std::string fingerprint;
  std::string source;
  std::optional<protocol::AlertState> from;  // none: first seen
  protocol::AlertState to = protocol::AlertState::kPending;
  protocol::Severity severity = protocol::Severity::kWarning;
  int64_t at_ms = 0;        // the signal's time
  int64_t recorded_ms = 0;  // the hub's time

  bool operator==(const AlertTransition&) const = default;
};

class AlertBook {
 public:
  struct Applied {
    AlertRecord* alert;   // valid until the next record is added (or this one erased)
    AlertRecord before;   // the record as it was (default-constructed when new)
    bool is_new = false;  // first signal for this fingerprint in the book
    bool state_changed = false;
  };

  // Records a validated signal: creates or updates the alert and appends a history entry
  // to `history` when something changed. Does not touch incident_id.
  Applied apply(const AlertSignal& signal, int64_t now_ms, std::vector<AlertTransition>& history);

  // nullptr when the book does not hold it; like Applied::alert, valid until a record is added.
  AlertRecord* find(std::string_view fingerprint);
  const AlertRecord* find(std::string_view fingerprint) const;
  void erase(std::string_view fingerprint) {
    if (auto it = alerts_.find(fingerprint); it != alerts_.end()) alerts_.erase(it);
  }
  // Restores a record loaded from the store.
  void put(const std::string& fingerprint, const AlertRecord& record) {
    alerts_[CompactKey(fingerprint)] = record;
  }
  size_t size() const { return alerts_.size(); }
  // Every alert as a retained row without detail, sorted by fingerprint.
  std::vector<AlertRow> rows() const;

 private:
  // Open addressing, keys inline (CompactKey): a lookup reads one slot, where a node map
  // reads its bucket, the node before and the node, each a cache miss with 100,000
  // alerts. Pointers into it last until the next insertion.
  absl::flat_hash_map<CompactKey, AlertRecord, CompactKeyHash, CompactKeyEq> alerts_;
};

}  // namespace reflex::hub::incidents
