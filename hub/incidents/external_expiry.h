// ExternalExpiry: external alerts resolve by themselves at their end time unless their
// sender re-sends them, the Alertmanager contract ("anything with no update before its
// endsAt counts as resolved"). Prometheus keeps a firing alert alive by re-sending it
// every minute with a new endsAt a few minutes ahead; a client that sends no endsAt gets
// now + resolve_timeout.
//
// The hub's loop feeds every accepted ExternalAlert to observe() (after the engine took
// its signal), asks next_due_ms() when to wake, and at that time calls expire(now) and
// gives the engine each resolved signal it returns. Call expire(now) before observe() for
// the same `now`, so an end that has passed resolves before a late re-send fires again.
//
// Re-sending moves the end. One exception, from Alertmanager's Alert.Merge: an end the
// sender set explicitly and that lies further ahead is kept when the re-send's end is
// earlier (a timeout end never wins over an explicit one).
//
// Costs: O(log n) per observe and per expired alert; no scans, fine for 100,000 open
// alerts. Memory per open alert is one packed string (source, rule, host, labels and
// annotations as JSON) plus two tree/hash nodes, about 450 bytes for a typical Prometheus
// alert. The labels are kept so the resolved signal carries them: silences match on
// them, and the engine writes a signal's labels and annotations into the alert's row.
//
// Durable: every observe() returns the write the store must make (upsert the row, or
// delete it); each signal expire() returns means "delete its row". snapshot() is the
// full row set, restore() rebuilds an equal structure after a restart. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/alertmanager_in.h"

namespace reflex::hub::incidents {

// One open external alert, as stored (and as snapshot() and row() give it).
struct ExpiryRow {
  std::string fingerprint;
  std::string source;
  std::string rule;
  protocol::Severity severity = protocol::Severity::kWarning;
  std::string host;
  std::string labels_json = "{}";       // JSON object
  std::string annotations_json = "{}";  // JSON object
  int64_t ends_at_ms = 0;
  bool timeout = false;

  bool operator==(const ExpiryRow&) const = default;
};

// The store write an observe() calls for: upsert `row`, or (no row) delete the
// fingerprint's row.
struct ExpiryWrite {
  std::string fingerprint;
  std::optional<ExpiryRow> row;

  bool operator==(const ExpiryWrite&) const = default;
};

class ExternalExpiry {
 public:
  // A firing alert is tracked with its end (see the merge rule above); a resolved one is
  // forgotten.
  ExpiryWrite observe(const ExternalAlert& alert);
  // Stops tracking (an alert resolved by other means). Returns whether it was tracked.
  bool forget(const std::string& fingerprint);

  // The earliest end, if any alert is tracked.
  std::optional<int64_t> next_due_ms() const;
  // Every alert whose end is at or before now_ms, earliest first (ties by fingerprint),
  // as resolved signals dated at their end, with their labels and annotations. They are
  // no longer tracked.
  std::vector<AlertSignal> expire(int64_t now_ms);

  std::optional<ExpiryRow> row(const std::string& fingerprint) const;
  size_t size() const { return by_fp_.size(); }

  // Rows ordered by (end, fingerprint).
  std::vector<ExpiryRow> snapshot() const;
  // Into an empty structure. Refuses ("corrupt") a row without a fingerprint, a
  // duplicate fingerprint, or labels/annotations that are not JSON objects of strings.
  Status restore(const std::vector<ExpiryRow>& rows);

 private:
  struct DueOrder {
    bool operator()(const std::pair<int64_t, const std::string*>& a,
                    const std::pair<int64_t, const std::string*>& b) const {
      return a.first != b.first ? a.first < b.first : *a.second < *b.second;
    }
  };
  // Keys of by_fp_ are stable (node-based map), so the due set points at them.
  using DueSet = std::set<std::pair<int64_t, const std::string*>, DueOrder>;

  struct Entry {
    std::string packed;  // source, rule, host, labels, annotations; each length-prefixed
    int64_t ends_at_ms = 0;
    protocol::Severity severity = protocol::Severity::kWarning;
    bool timeout = false;
  };

  void put(const ExpiryRow& row);
  static ExpiryRow unpack(const std::string& fingerprint, const Entry& entry);

  std::unordered_map<std::string, Entry> by_fp_;
  DueSet due_;
};

}  // namespace reflex::hub::incidents
