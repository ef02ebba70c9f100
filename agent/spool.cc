#include "agent/spool.h"

#include <spdlog/spdlog.h>

#include <unordered_set>

#include "protocol/codec.h"

namespace reflex::agent {
namespace {

constexpr sqlite::Migration kMigrations[] = {
    {1, R"sql(
CREATE TABLE events (
  seq INTEGER PRIMARY KEY,
  type TEXT NOT NULL,
  class INTEGER NOT NULL,    -- drop order, see drop_class()
  ts_ms INTEGER NOT NULL,
  frame BLOB NOT NULL
) STRICT;
CREATE INDEX events_by_class ON events(class, seq);
CREATE TABLE state (
  key TEXT PRIMARY KEY,
  value INTEGER NOT NULL
) STRICT;
INSERT INTO state VALUES ('last_seq', 0), ('acked_seq', 0);
)sql"},
};

std::span<const uint8_t> bytes_of(const std::string& s) {
  return {reinterpret_cast<const uint8_t*>(s.data()), s.size()};
}

}  // namespace

int drop_class(protocol::MessageType type) {
  switch (type) {
    case protocol::MessageType::kMetrics:
      return 0;
    case protocol::MessageType::kGap:
      return 1;
    default:
      return 2;
  }
}

Spool::Spool(sqlite::Database db, std::string agent_id, SpoolLimits limits)
    : db_(std::move(db)), agent_id_(std::move(agent_id)), limits_(limits) {}

Result<std::unique_ptr<Spool>> Spool::open(const std::string& path, std::string agent_id,
                                           SpoolLimits limits) {
  auto db = sqlite::Database::open(path);
  if (!db) return db.status();
  REFLEX_RETURN_IF_ERROR(sqlite::migrate(*db, kMigrations));
  std::unique_ptr<Spool> spool(new Spool(std::move(db).value(), std::move(agent_id), limits));
  REFLEX_RETURN_IF_ERROR(spool->load_state());
  return spool;
}

Result<sqlite::Statement*> Spool::statement(const std::string& sql) {
  auto it = statements_.find(sql);
  if (it == statements_.end()) {
    auto st = db_.prepare(sql);
    if (!st) return st.status();
    it = statements_.emplace(sql, std::make_unique<sqlite::Statement>(std::move(st).value())).first;
  }
  return it->second.get();
}

Status Spool::load_state() {
  auto st = db_.prepare("SELECT key, value FROM state");
  if (!st) return st.status();
  for (;;) {
    auto row = st->step();
    if (!row) return row.status();
    if (!*row) break;
    const auto key = st->column_text(0);
    const auto value = static_cast<uint64_t>(st->column_int64(1));
    if (key == "last_seq") last_seq_ = value;
    if (key == "acked_seq") acked_seq_ = value;
  }
  auto counts_st = statement("SELECT count(*), coalesce(sum(length(frame)), 0) FROM events");
  if (!counts_st) return counts_st.status();
  sqlite::Statement& counts = **counts_st;
  auto row = counts.step();
  if (!row) return row.status();
  depth_ = static_cast<uint64_t>(counts.column_int64(0));
  bytes_ = static_cast<uint64_t>(counts.column_int64(1));
  counts.reset();
  return Status::ok();
}

Result<uint64_t> Spool::insert(std::vector<protocol::Body> bodies, int64_t now_ms) {
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return tx.status();
  auto ins_st =
      statement("INSERT INTO events (seq, type, class, ts_ms, frame) VALUES (?, ?, ?, ?, ?)");
  if (!ins_st) return ins_st.status();
  sqlite::Statement& ins = **ins_st;
  uint64_t seq = last_seq_;
  uint64_t added_bytes = 0;
  protocol::Envelope env;
  env.agent_id = agent_id_;
  env.ts_ms = static_cast<uint64_t>(now_ms);
  std::string frame;
  for (auto& body : bodies) {
    env.seq = ++seq;
    env.body = std::move(body);
    frame.clear();
    protocol::encode_into(env, frame);
    const auto type = env.type();
    REFLEX_RETURN_IF_ERROR(ins.bind_all(static_cast<int64_t>(seq),
                                        std::string_view(protocol::type_name(type)),
                                        drop_class(type), now_ms, bytes_of(frame)));
    REFLEX_RETURN_IF_ERROR(ins.run());
    added_bytes += frame.size();
  }
  auto upd_st = statement("UPDATE state SET value = ? WHERE key = 'last_seq'");
  if (!upd_st) return upd_st.status();
  sqlite::Statement& upd = **upd_st;
  REFLEX_RETURN_IF_ERROR(upd.bind_all(static_cast<int64_t>(seq)));
  REFLEX_RETURN_IF_ERROR(upd.run());
  REFLEX_RETURN_IF_ERROR(tx->commit());
  depth_ += bodies.size();
  bytes_ += added_bytes;
  last_seq_ = seq;
  return seq;
}

Result<uint64_t> Spool::append(std::vector<protocol::Body> bodies, int64_t now_ms) {
  if (bodies.empty()) return last_seq_;
  auto seq = insert(std::move(bodies), now_ms);
  if (!seq) return seq;
  auto dropped = drop_over_limits(now_ms);
  if (!dropped) return dropped.status();
  return last_seq_;
}

Result<std::vector<SpooledEvent>> Spool::read_after(uint64_t after, size_t max) {
  auto st_st = statement("SELECT seq, frame FROM events WHERE seq > ? ORDER BY seq LIMIT ?");
  if (!st_st) return st_st.status();
  sqlite::Statement& st = **st_st;
  REFLEX_RETURN_IF_ERROR(st.bind_all(static_cast<int64_t>(after), static_cast<int64_t>(max)));
  std::vector<SpooledEvent> out;
  for (;;) {
    auto row = st.step();
    if (!row) return row.status();
    if (!*row) break;
    auto blob = st.column_blob(1);
    out.push_back(
        {static_cast<uint64_t>(st.column_int64(0)), std::string(blob.begin(), blob.end())});
  }
  st.reset();
  return out;
}

Status Spool::acknowledge(uint64_t upto) {
  if (upto <= acked_seq_) return Status::ok();
  if (upto > last_seq_) {
    return Status::error("invalid_value", "the hub acknowledged sequence " + std::to_string(upto) +
                                              " but the last one written is " +
                                              std::to_string(last_seq_));
  }
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return tx.status();
  auto counts_st =
      statement("SELECT count(*), coalesce(sum(length(frame)), 0) FROM events WHERE seq <= ?");
  if (!counts_st) return counts_st.status();
  sqlite::Statement& counts = **counts_st;
  REFLEX_RETURN_IF_ERROR(counts.bind_all(static_cast<int64_t>(upto)));
  auto row = counts.step();
  if (!row) return row.status();
  const auto n = static_cast<uint64_t>(counts.column_int64(0));
  const auto b = static_cast<uint64_t>(counts.column_int64(1));
  counts.reset();
  auto del_st = statement("DELETE FROM events WHERE seq <= ?");
  if (!del_st) return del_st.status();
  sqlite::Statement& del = **del_st;
  REFLEX_RETURN_IF_ERROR(del.bind_all(static_cast<int64_t>(upto)));
  REFLEX_RETURN_IF_ERROR(del.run());
  auto upd_st = statement("UPDATE state SET value = ? WHERE key = 'acked_seq'");
  if (!upd_st) return upd_st.status();
  sqlite::Statement& upd = **upd_st;
  REFLEX_RETURN_IF_ERROR(upd.bind_all(static_cast<int64_t>(upto)));
  REFLEX_RETURN_IF_ERROR(upd.run());
  REFLEX_RETURN_IF_ERROR(tx->commit());
  acked_seq_ = upto;
  depth_ -= n;
  bytes_ -= b;
  return Status::ok();
}

Status Spool::skip_to(uint64_t seq) {
  if (seq <= last_seq_) return Status::ok();
  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return tx.status();
  auto upd_st = statement("UPDATE state SET value = ? WHERE key IN ('last_seq', 'acked_seq')");
  if (!upd_st) return upd_st.status();
  sqlite::Statement& upd = **upd_st;
  REFLEX_RETURN_IF_ERROR(upd.bind_all(static_cast<int64_t>(seq)));
  REFLEX_RETURN_IF_ERROR(upd.run());
  REFLEX_RETURN_IF_ERROR(tx->commit());
  spdlog::warn(
      "the hub has this agent's events up to {} but the spool ended at {}: continuing at {}", seq,
      last_seq_, seq + 1);
  last_seq_ = acked_seq_ = seq;
  return Status::ok();
}

Result<uint64_t> Spool::drop_over_limits(int64_t now_ms) {
  const int64_t oldest_allowed = now_ms - limits_.max_age.count();
  // Age first (any class), then size by class, oldest first.
  // Cursors stop as soon as enough is selected, so no LIMIT is needed.
  // Events are written in time order, so the aged ones are a prefix: the scan stops at
  // the first young event instead of reading the whole spool on every append.
  auto aged_st = statement("SELECT seq, type, ts_ms, length(frame) FROM events ORDER BY seq");
  if (!aged_st) return aged_st.status();
  sqlite::Statement& aged = **aged_st;
  auto victims_by_class_st =
      statement("SELECT seq, type, ts_ms, length(frame) FROM events WHERE class = ? ORDER BY seq");
  if (!victims_by_class_st) return victims_by_class_st.status();
  sqlite::Statement& victims_by_class = **victims_by_class_st;

  protocol::Gap gap;
  std::string reason;
  std::vector<int64_t> victims;
  std::unordered_set<uint64_t> chosen;
  uint64_t victim_bytes = 0;
  auto over = [&] {
    return depth_ - victims.size() > limits_.max_events ||
           bytes_ - victim_bytes > limits_.max_bytes;
  };
  // Takes rows from `st` until `done` says so (or the rows run out).
  auto take = [&](sqlite::Statement& st, auto done) -> Status {
    for (;;) {
      if (done(0, true)) break;
      auto row = st.step();
      if (!row) return row.status();
      if (!*row || done(st.column_int64(2), false)) break;
      const auto seq = static_cast<uint64_t>(st.column_int64(0));
      if (!chosen.insert(seq).second) continue;  // already taken for its age
      victims.push_back(static_cast<int64_t>(seq));
      victim_bytes += static_cast<uint64_t>(st.column_int64(3));
      gap.dropped_by_type[st.column_text(1)]++;
      const auto ts = static_cast<uint64_t>(st.column_int64(2));
      if (gap.first_seq == 0 || seq < gap.first_seq) gap.first_seq = seq;
      gap.last_seq = std::max(gap.last_seq, seq);
      if (gap.first_ts_ms == 0 || ts < gap.first_ts_ms) gap.first_ts_ms = ts;
      gap.last_ts_ms = std::max(gap.last_ts_ms, ts);
    }
    st.reset();  // ends the statement's read transaction
    return Status::ok();
  };
  auto full = [&](int64_t, bool before_row) { return before_row && !over(); };
  auto young = [&](int64_t ts, bool before_row) { return !before_row && ts >= oldest_allowed; };
  if (limits_.max_age.count() > 0) {
    aged.reset();
    REFLEX_RETURN_IF_ERROR(take(aged, young));
    if (!victims.empty()) reason = "max_age";
  }
  for (int cls = 0; cls <= 2 && over(); ++cls) {
    REFLEX_RETURN_IF_ERROR(victims_by_class.bind_all(cls));
    const size_t before = victims.size();
    REFLEX_RETURN_IF_ERROR(take(victims_by_class, full));
    if (victims.size() > before) reason = reason.empty() ? "spool_full" : reason + ",spool_full";
  }
  if (victims.empty()) return uint64_t{0};

  auto tx = sqlite::Transaction::begin(db_);
  if (!tx) return tx.status();
  auto del_st = statement("DELETE FROM events WHERE seq = ?");
  if (!del_st) return del_st.status();
  sqlite::Statement& del = **del_st;
  for (int64_t seq : victims) {
    REFLEX_RETURN_IF_ERROR(del.bind_all(seq));
    REFLEX_RETURN_IF_ERROR(del.run());
  }
  REFLEX_RETURN_IF_ERROR(tx->commit());
  depth_ -= victims.size();
  bytes_ -= victim_bytes;
  dropped_total_ += victims.size();
  gap.dropped = victims.size();
  gap.reason = reason;
  spdlog::warn(
      "spool over its limits: dropped {} events (seq {}..{}, {}); a gap record tells the hub",
      gap.dropped, gap.first_seq, gap.last_seq, reason);
  auto seq = insert({gap}, now_ms);
  if (!seq) return seq.status();
  return static_cast<uint64_t>(victims.size());
}

}  // namespace reflex::agent
