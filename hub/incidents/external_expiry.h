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
// alerts. Memory per open alert is one hash node holding its fingerprint (inline), end
// and timeout flag, and a pointer in a heap: about 90 bytes. The labels and annotations
// are not kept here, nor stored twice: the engine writes each send's source, rule, host,
// labels and annotations into the alert's row in `alerts`, and the end sits beside them
// in that row. When the alert expires the hub reads that row back (expired_signal()), so
// the resolved signal carries what the alert's latest send carried: silences match on
// it, and the engine writes it into the alert's row.
//
// Durable: every observe() returns the write the store must make (set the alert's end,
// or clear it); each alert expire() returns means "clear its end" (after reading its row
// for the resolved signal). restore() rebuilds an equal structure from the stored ends
// after a restart; snapshot() is what it holds. Loop thread only.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "common/status.h"
#include "hub/incidents/alert_book.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/alertmanager_in.h"
#include "hub/incidents/compact_key.h"

namespace reflex::hub::incidents {

// One open external alert as the store reads it back when it expires: its end beside
// what the alert's row holds of its latest send.
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

// What the structure holds of one open external alert (and what the store keeps of it
// beside the alert's row).
struct ExpiryEnd {
  std::string fingerprint;
  int64_t ends_at_ms = 0;
  bool timeout = false;

  bool operator==(const ExpiryEnd&) const = default;
};

// The resolved signal for an alert that reached its end, from its stored row: dated at
// the row's end, with the row's source, rule, severity, host, labels and annotations.
// Refuses ("corrupt") labels or annotations that are not JSON objects of strings.
Result<AlertSignal> expired_signal(const ExpiryRow& row);

// The store write an observe() calls for: set the end of the alert's row, or (no end)
// clear it. The alert's row is the engine's, written in the same batch or an earlier one.
struct ExpiryWrite {
  std::string fingerprint;
  std::optional<int64_t> ends_at_ms;
  bool timeout = false;  // the end came from resolve_timeout

  bool operator==(const ExpiryWrite&) const = default;
};

// The refusal of an end set for an alert the store has no row of ("not_found"): its
// expiry could not be read back.
Status no_alert_row(const std::string& fingerprint);

// How a store writes a batch's ends with as few statements as it can. Of an alert's
// writes only the last one counts, and it goes with the alert's last row of the batch
// (`with_row`, index-aligned with the rows; null: the row leaves the end as stored). The
// ends of alerts without a row in the batch are left in `alone`, each alert's last one,
// to be applied after the rows. The result is that of the rows, then every write in
// order.
struct EndPlan {
  std::vector<const ExpiryWrite*> with_row;
  std::vector<const ExpiryWrite*> alone;
};
EndPlan plan_ends(const std::vector<AlertRow>& rows, const std::vector<ExpiryWrite>& writes);

class ExternalExpiry {
 public:
  // A firing alert is tracked with its end (see the merge rule above); a resolved one is
  // forgotten.
  ExpiryWrite observe(const ExternalAlert& alert);
  // Stops tracking (an alert resolved by other means). Returns whether it was tracked.
  bool forget(const std::string& fingerprint);

  // The earliest end, if any alert is tracked.
  std::optional<int64_t> next_due_ms() const;
  // Every alert whose end is at or before now_ms, earliest first (ties by fingerprint).
  // They are no longer tracked; each resolves as expired_signal() of its stored row.
  std::vector<ExpiryEnd> expire(int64_t now_ms);

  std::optional<ExpiryEnd> tracked(const std::string& fingerprint) const;
  size_t size() const { return by_fp_.size(); }

  // Ordered by (end, fingerprint).
  std::vector<ExpiryEnd> snapshot() const;
  // Into an empty structure. Refuses ("corrupt") an end without a fingerprint or a
  // duplicate fingerprint.
  Status restore(const std::vector<ExpiryEnd>& ends);

 private:
  struct Entry {
    int64_t ends_at_ms = 0;
    uint32_t heap_pos = 0;  // its index in due_
    bool timeout = false;
  };
  using Map = std::unordered_map<CompactKey, Entry, CompactKeyHash, CompactKeyEq>;
  using Node = Map::value_type;

  void put(const std::string& fingerprint, int64_t ends_at_ms, bool timeout);
  // The due heap: ordered by (end, fingerprint).
  static bool earlier(const Node* a, const Node* b);
  void place(size_t i, Node* node);
  void sift_up(size_t i);
  void sift_down(size_t i);
  void remove_due(size_t i);

  Map by_fp_;
  // A binary min-heap of the tracked alerts by (end, fingerprint): a pointer each instead
  // of a tree node. Each entry knows its index, so a re-send moves it in O(log n); map
  // nodes are stable, so the heap points at them.
  std::vector<Node*> due_;
};

}  // namespace reflex::hub::incidents
