// Ceilings for hub ingest: how fast each part of the hub's path can go on its own, on
// the frames of the full run, on the same machine.
//
//  - ZeroMQ: one DEALER sends the frames to a ROUTER over tcp loopback, plaintext or
//    CurveZMQ; the receiver only counts. Separate contexts (one I/O thread each), as
//    agent and hub are separate processes.
//  - decode: protocol::decode of the frames on one core, per second of the thread's CPU
//    time, so that other work on a shared machine does not lower it.
//  - SQLite: the rows the hub writes, into the hub's events table, in transactions of the
//    hub's group-commit size, WAL and synchronous=FULL as the hub opens it; optionally
//    with one secondary index. The table is created from `events_schema`: the statements
//    a full run read back from the hub's own store, so the ceiling follows the hub's
//    schema; without one, from kEventsDdlCopy.
//
// Each function runs one measurement, bounded by its count and by `time_limit`, and
// blocks until it is done. Exceptions from libraries do not escape.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "common/status.h"

namespace reflex::bench {

struct CeilingOptions {
  std::string work_dir = "/tmp";  // SQLite files go to a scratch directory in here
  int agents = 50;                // SQLite rows interleave this many agents' sequences
  uint64_t zmq_frames = 1'000'000;
  uint64_t decodes = 1'000'000;
  uint64_t rows = 300'000;
  uint64_t rows_per_commit = 1024;         // the hub commits after at most 1024 frames
  std::vector<std::string> events_schema;  // CREATE statements; empty: kEventsDdlCopy
  std::chrono::milliseconds time_limit{3000};
};

struct Rate {
  uint64_t count = 0;  // what was measured: frames, decodes, rows
  double seconds = 0;  // wall time, or for decode_rate the thread's CPU time
  std::string detail;  // where the time went, when the measurement knows
  double per_second() const { return seconds > 0 ? static_cast<double>(count) / seconds : 0; }
};

Result<Rate> zmq_throughput(const std::vector<std::string>& frames, bool curve,
                            const CeilingOptions& options);
Result<Rate> decode_rate(const std::vector<std::string>& frames, const CeilingOptions& options);
Result<Rate> sqlite_insert_rate(const std::vector<std::string>& frames, bool secondary_index,
                                const CeilingOptions& options);

// The extra index of the comparison run, as SQL.
extern const char* const kSecondaryIndexSql;
// The events table of hub/sqlite_store.cc (migration 2) when this file was written; used
// only when no full run has read the real schema from the hub's store.
extern const char* const kEventsDdlCopy;

}  // namespace reflex::bench
