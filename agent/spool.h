// Spool: the agent's durable queue of sequenced events, one SQLite file (WAL).
//
// Every event is written here before it is sent; it is deleted only when the hub has
// acknowledged it. Sequence numbers are per agent, start at 1, and never go back, even
// across restarts (the last one is kept in the file). When the spool is over its limits
// it drops the oldest events of the lowest class first (metrics before anything else;
// alerts, remediation records and command results last) and records what it dropped in
// a `gap` event, so loss is never silent. Loop thread only.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/sqlite.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace reflex::agent {

struct SpoolLimits {
  uint64_t max_events = 1'000'000;
  uint64_t max_bytes = 256ull << 20;
  Millis max_age = Millis(7LL * 24 * 3600 * 1000);
};

struct SpooledEvent {
  uint64_t seq = 0;
  std::string frame;  // the encoded envelope, sent as is
};

class Spool {
 public:
  static Result<std::unique_ptr<Spool>> open(const std::string& path, std::string agent_id,
                                             SpoolLimits limits);

  // Assigns sequence numbers and writes all `bodies` in one transaction. Returns the
  // last sequence number written. Enforces the limits afterwards (see drop_over_limits).
  Result<uint64_t> append(std::vector<protocol::Body> bodies, int64_t now_ms);

  // Up to `max` events with seq > `after`, in order.
  Result<std::vector<SpooledEvent>> read_after(uint64_t after, size_t max);

  // The hub has committed everything up to `upto`: delete it.
  Status acknowledge(uint64_t upto);

  // The hub has already committed up to `seq` (this spool file is younger than the
  // agent's history, e.g. it was deleted): continue numbering after it, never reuse.
  Status skip_to(uint64_t seq);

  // Drops what exceeds the limits and appends one gap event describing it.
  // Returns how many events were dropped.
  Result<uint64_t> drop_over_limits(int64_t now_ms);

  uint64_t last_seq() const { return last_seq_; }
  uint64_t acked_seq() const { return acked_seq_; }
  uint64_t depth() const { return depth_; }
  uint64_t bytes() const { return bytes_; }
  uint64_t dropped_total() const { return dropped_total_; }
  void set_agent_id(std::string id) { agent_id_ = std::move(id); }
  void set_limits(SpoolLimits limits) { limits_ = limits; }

 private:
  Spool(sqlite::Database db, std::string agent_id, SpoolLimits limits);
  Status load_state();
  Result<uint64_t> insert(std::vector<protocol::Body> bodies, int64_t now_ms);
  // Prepared once and reused: appends and acknowledgements are the agent's hot path.
  Result<sqlite::Statement*> statement(const std::string& sql);

  sqlite::Database db_;
  std::map<std::string, std::unique_ptr<sqlite::Statement>> statements_;  // after db_: freed first
  std::string agent_id_;
  SpoolLimits limits_;
  uint64_t last_seq_ = 0;
  uint64_t acked_seq_ = 0;
  uint64_t depth_ = 0;
  uint64_t bytes_ = 0;
  uint64_t dropped_total_ = 0;
};

// Drop order: lower classes go first. Metrics 0, gaps 1, everything else 2.
int drop_class(protocol::MessageType type);

}  // namespace reflex::agent
