#include "hub/pg_store.h"

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <limits>
#include <map>
#include <optional>
#include <set>
#include <span>
#include <sstream>
#include <tuple>

#include "common/pg.h"
#include "hub/pg_schema.h"
#include "hub/pg_tables.h"
#include "hub/store_rows.h"
#include "protocol/messages.h"

namespace reflex::hub {
namespace {

// Events go in as multi-row INSERTs of at most this many rows: one round trip per chunk
// instead of per event, and 6 parameters a row stay far below PostgreSQL's 65535.
constexpr size_t kEventsPerInsert = 500;

Result<std::optional<std::string>> read_password(const StoreConfig& cfg) {
  std::string password;
  if (!cfg.password_file.empty()) {
    std::ifstream in(cfg.password_file, std::ios::binary);
    if (!in) {
      return Status::error("config", "store.password_file: cannot read " + cfg.password_file +
                                         ": " + std::strerror(errno));
    }
    std::ostringstream text;
    text << in.rdbuf();
    password = text.str();
    while (!password.empty() && (password.back() == '\n' || password.back() == '\r')) {
      password.pop_back();
    }
    if (password.empty()) {
      return Status::error("config", "store.password_file: " + cfg.password_file + " is empty");
    }
  } else if (!cfg.password_env.empty()) {
    const char* value = std::getenv(cfg.password_env.c_str());
    if (value == nullptr || *value == '\0') {
      return Status::error("config", "store.password_env: the environment variable " +
                                         cfg.password_env + " is not set");
    }
    password = value;
  } else {
    return std::optional<std::string>();
  }
  if (password.find('\0') != std::string::npos) {
    return Status::error("config", std::string(cfg.password_file.empty() ? "store.password_env"
                                                                         : "store.password_file") +
                                       ": the password holds a NUL byte");
  }
  return std::optional<std::string>(std::move(password));
}

bool is_uri(std::string_view dsn) {
  return dsn.starts_with("postgresql://") || dsn.starts_with("postgres://");
}

// A conninfo keyword value in single quotes, backslash and quote escaped (libpq's rules).
std::string conninfo_quoted(std::string_view value) {
  std::string out = "'";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  return out + "'";
}

// Everything but RFC 3986's unreserved characters as %XX.
std::string percent_encoded(std::string_view value) {
  static const char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += kHex[c >> 4];
      out += kHex[c & 15];
    }
  }
  return out;
}

// A PostgreSQL array literal of `values` ('{"a","b"}'), each element quoted, for
// `= ANY($1::text[])`: one parameter however many there are.
std::string text_array(const std::set<std::string>& values) {
  std::string out = "{";
  for (const auto& v : values) {
    if (out.size() > 1) out += ',';
    out += '"';
    for (char c : v) {
      if (c == '\\' || c == '"') out += '\\';
      out += c;
    }
    out += '"';
  }
  return out + "}";
}

std::string int_array(const std::vector<int64_t>& values) {
  std::string out = "{";
  for (int64_t v : values) out += (out.size() > 1 ? "," : "") + std::to_string(v);
  return out + "}";
}

protocol::MessageType parse_type(std::string_view name) {
  for (int t = 0; t <= static_cast<int>(protocol::MessageType::kGap); ++t) {
    const auto type = static_cast<protocol::MessageType>(t);
    if (name == protocol::type_name(type)) return type;
  }
  return protocol::MessageType::kMetrics;  // only ever written from type_name()
}

class PgHubStore final : public HubStore {
 public:
  explicit PgHubStore(pg::Connection conn)
      : conn_(std::move(conn)),
        incidents_(conn_),
        silences_(conn_),
        changes_(conn_),
        expiry_(conn_),
        suspects_(conn_),
        outbox_(conn_),
        workflows_(conn_) {}
  PgHubStore(const PgHubStore&) = delete;
  PgHubStore& operator=(const PgHubStore&) = delete;

  // In the order SqliteHubStore writes the parts.
  Status write_batch(const WriteBatch& batch) override {
    if (batch.empty()) return Status::ok();
    auto tx = reconnecting([&] { return pg::Transaction::begin(conn_); });
    if (!tx) return tx.status();
    // First, so the lease row is share-locked while the rest is written: a takeover
    // waits for this transaction to end.
    if (fence_) REFLEX_RETURN_IF_ERROR(cluster::fenced_check(conn_, *fence_));
    // Several hubs may take one agent's events: it moved to another hub while a batch of
    // the first was in flight. Its row is locked before anything of it is written, so
    // such batches commit one after the other, and the events at or below the committed
    // mark (already stored by the other) are left out.
    auto marks = lock_marks(batch);
    if (!marks) return marks.status();
    for (const auto& a : batch.agents) REFLEX_RETURN_IF_ERROR(upsert_agent(a));
    // A standby stores its events as the leader does and queues for the leader those it
    // acts on (all but metrics). The leader's first relayed.size() events came from that
    // queue, already stored: they are only taken off it.
    std::vector<const StoredEvent*> stored, queued;
    stored.reserve(batch.events.size());
    for (size_t i = batch.relayed.size(); i < batch.events.size(); ++i) {
      const StoredEvent& e = batch.events[i];
      const auto mark = marks->find(e.agent_id);
      if (mark != marks->end() && e.seq <= mark->second) continue;
      stored.push_back(&e);
      if (batch.relay && e.type != protocol::MessageType::kMetrics) queued.push_back(&e);
    }
    REFLEX_RETURN_IF_ERROR(insert_events("events", stored));
    REFLEX_RETURN_IF_ERROR(insert_events("event_relay", queued));
    REFLEX_RETURN_IF_ERROR(take_relayed(batch.relayed));
    for (const auto& c : batch.state_changes) {
      auto n = std::apply(
          [&](const auto&... v) {
            return conn_.run(
                "INSERT INTO agent_state_changes (agent_id, state, at_ms, reason) "
                "VALUES ($1, $2, $3, $4)",
                v...);
          },
          rows::state_change_values(c));
      if (!n) return n.status();
    }
    // An external alert's end goes with its row when the batch writes one (plan_ends).
    const incidents::EndPlan ends = incidents::plan_ends(batch.incidents.alerts, batch.expiry);
    REFLEX_RETURN_IF_ERROR(
        incidents_.append(batch.incidents, ends.with_row.empty() ? nullptr : &ends.with_row));
    REFLEX_RETURN_IF_ERROR(silences_.append(batch.silences));
    for (const auto& c : batch.changes) {
      auto stored = changes_.append(c);
      if (!stored) return stored.status();
    }
    for (const auto* w : ends.alone) REFLEX_RETURN_IF_ERROR(expiry_.apply(*w));
    for (const auto& s : batch.suspects) REFLEX_RETURN_IF_ERROR(suspects_.append(s));
    for (const auto& r : batch.outbox) REFLEX_RETURN_IF_ERROR(outbox_.insert(r));
    for (const auto& u : batch.outbox_updates) REFLEX_RETURN_IF_ERROR(outbox_.update(u));
    for (const auto& w : batch.workflows) REFLEX_RETURN_IF_ERROR(workflows_.upsert(w));
    if (batch.prune) {
      // Found through the BRIN index of migration 13, which only visits the table's
      // oldest block ranges.
      auto deleted = conn_.run(
          "DELETE FROM events WHERE ctid = ANY(ARRAY("
          "SELECT ctid FROM events WHERE received_ms < $1 LIMIT $2))",
          batch.prune->before_ms, batch.prune->limit);
      if (!deleted) return deleted.status();
      batch.prune->deleted = *deleted;
    }
    return tx->commit();
  }

  Result<std::vector<AgentRecord>> load_agents() override {
    return reconnecting([&]() -> Result<std::vector<AgentRecord>> {
      auto found = conn_.query("SELECT " + std::string(rows::kAgentColumns) +
                               " FROM agents ORDER BY id COLLATE \"C\"");
      if (!found) return found.status();
      std::vector<AgentRecord> out;
      for (int i = 0; i < found->size(); ++i) out.push_back(rows::read_agent((*found)[i]));
      return out;
    });
  }

  Result<std::vector<AgentStateChange>> state_history(const std::string& agent_id) override {
    return reconnecting([&]() -> Result<std::vector<AgentStateChange>> {
      auto found = conn_.query(
          "SELECT state, at_ms, reason FROM agent_state_changes WHERE agent_id = $1 "
          "ORDER BY at_ms, seq",
          agent_id);
      if (!found) return found.status();
      std::vector<AgentStateChange> out;
      for (int i = 0; i < found->size(); ++i) {
        const pg::Row r = (*found)[i];
        out.push_back({agent_id, rows::parse_agent_state(r.column_text_view(0)), r.column_int64(1),
                       r.column_text(2)});
      }
      return out;
    });
  }

  Result<incidents::EngineSnapshot> load_incidents() override {
    return reconnecting([&] { return incidents_.load(); });
  }
  Result<incidents::SilenceSnapshot> load_silences(int64_t ended_after_ms) override {
    return reconnecting([&] { return silences_.load(ended_after_ms); });
  }
  Result<std::vector<incidents::AlertRow>> load_firing_alerts() override {
    return reconnecting([&] { return incidents_.firing_alerts(); });
  }
  Result<std::vector<incidents::ExpiryEnd>> load_external_expiry() override {
    return reconnecting([&] { return expiry_.load(); });
  }
  Result<incidents::ChangeSnapshot> load_changes(size_t per_service) override {
    return reconnecting([&] { return changes_.load(per_service); });
  }
  Result<std::vector<policy::IncidentWorkflow>> load_workflows() override {
    return reconnecting([&] { return workflows_.load_active(); });
  }
  Result<std::optional<incidents::ExpiryRow>> load_external_expiry_row(
      const std::string& fingerprint) override {
    return reconnecting([&] { return expiry_.row(fingerprint); });
  }

 private:
  // Runs `call` (reads, or a transaction's BEGIN) and, when it failed because the
  // connection was lost, once more on a new one: after PostgreSQL restarted or failed
  // over, the first call goes through. Safe because nothing of a failed read or BEGIN
  // took effect. A batch that loses the connection after BEGIN fails (the server rolled
  // it back) and the hub retries it.
  template <class F>
  auto reconnecting(F&& call) -> decltype(call()) {
    if (conn_.broken()) REFLEX_RETURN_IF_ERROR(conn_.reset());
    auto result = call();
    if (result || !conn_.broken()) return result;
    REFLEX_RETURN_IF_ERROR(conn_.reset());
    return call();
  }

  Status upsert_agent(const AgentRecord& a) {
    // first_seen_ms is kept from the first row, as in SQLite.
    static const std::string sql =
        "INSERT INTO agents (" + std::string(rows::kAgentColumns) +
        R"sql() VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12)
ON CONFLICT (id) DO UPDATE SET hostname = EXCLUDED.hostname, version = EXCLUDED.version,
  labels = EXCLUDED.labels, last_seen_ms = GREATEST(agents.last_seen_ms, EXCLUDED.last_seen_ms),
  state = EXCLUDED.state, state_since_ms = EXCLUDED.state_since_ms,
  heartbeat_ms = EXCLUDED.heartbeat_ms, spool_depth = EXCLUDED.spool_depth,
  open_circuits = EXCLUDED.open_circuits,
  acked_seq = GREATEST(agents.acked_seq, EXCLUDED.acked_seq))sql";
    auto n =
        std::apply([&](const auto&... v) { return conn_.run(sql, v...); }, rows::agent_values(a));
    return n ? Status::ok() : n.status();
  }

  // The committed marks of the agents `batch` writes, their rows locked (in one order, so
  // two hubs' batches cannot deadlock) until the transaction ends. An agent without a row
  // yet has no mark.
  Result<std::map<std::string, uint64_t>> lock_marks(const WriteBatch& batch) {
    std::set<std::string> ids;
    for (const auto& a : batch.agents) ids.insert(a.id);
    for (size_t i = batch.relayed.size(); i < batch.events.size(); ++i) {
      ids.insert(batch.events[i].agent_id);
    }
    std::map<std::string, uint64_t> marks;
    if (ids.empty()) return marks;
    auto locked = conn_.query(
        "SELECT id, acked_seq FROM agents WHERE id = ANY($1::text[]) "
        "ORDER BY id COLLATE \"C\" FOR UPDATE",
        text_array(ids));
    if (!locked) return locked.status();
    for (int i = 0; i < locked->size(); ++i) {
      const pg::Row r = (*locked)[i];
      marks[r.column_text(0)] = static_cast<uint64_t>(r.column_int64(1));
    }
    return marks;
  }

  // Takes the relayed rows a leader's batch correlated off the queue. They are gone only
  // if another leader took them, which fencing rules out: then this hub's term is over.
  Status take_relayed(const std::vector<int64_t>& ids) {
    if (ids.empty()) return Status::ok();
    auto n = conn_.run("DELETE FROM event_relay WHERE id = ANY($1::bigint[])", int_array(ids));
    if (!n) return n.status();
    if (*n != static_cast<int64_t>(ids.size())) {
      return Status::error("fenced", std::to_string(ids.size() - static_cast<size_t>(*n)) +
                                         " relayed events were already taken by another hub");
    }
    return Status::ok();
  }

  Result<RelayedEvents> read_relay(size_t limit, int64_t agents_seen_since_ms) override {
    return reconnecting([&]() -> Result<RelayedEvents> {
      RelayedEvents out;
      auto relayed = conn_.query(
          "SELECT id, agent_id, seq, type, ts_ms, received_ms, frame FROM event_relay "
          "ORDER BY id LIMIT $1",
          static_cast<int64_t>(limit));
      if (!relayed) return relayed.status();
      for (int i = 0; i < relayed->size(); ++i) {
        const pg::Row r = (*relayed)[i];
        out.ids.push_back(r.column_int64(0));
        const std::vector<uint8_t> frame = r.column_blob(6);
        out.events.push_back(StoredEvent{r.column_text(1), static_cast<uint64_t>(r.column_int64(2)),
                                         parse_type(r.column_text_view(3)), r.column_int64(4),
                                         r.column_int64(5),
                                         std::string(frame.begin(), frame.end())});
      }
      // And the rows of the agents those events came from, which this hub may not know.
      std::set<std::string> senders;
      for (const auto& e : out.events) senders.insert(e.agent_id);
      // An idle poll that asks for no agents reads nothing more.
      if (senders.empty() && agents_seen_since_ms == std::numeric_limits<int64_t>::max()) {
        return out;
      }
      auto agents = conn_.query("SELECT " + std::string(rows::kAgentColumns) +
                                    " FROM agents WHERE last_seen_ms >= $1 OR id = ANY($2::text[])",
                                agents_seen_since_ms, text_array(senders));
      if (!agents) return agents.status();
      for (int i = 0; i < agents->size(); ++i) out.agents.push_back(rows::read_agent((*agents)[i]));
      return out;
    });
  }

  Status insert_events(std::string_view table, const std::vector<const StoredEvent*>& events) {
    for (size_t start = 0; start < events.size(); start += kEventsPerInsert) {
      const size_t count = std::min(kEventsPerInsert, events.size() - start);
      std::string sql = "INSERT INTO " + std::string(table) +
                        " (agent_id, seq, type, ts_ms, received_ms, frame) VALUES ";
      pg::Params params;
      for (size_t i = 0; i < count; ++i) {
        const StoredEvent& e = *events[start + i];
        const size_t p = i * 6;
        sql += i == 0 ? "(" : ", (";
        for (size_t k = 1; k <= 6; ++k) sql += (k > 1 ? ", $" : "$") + std::to_string(p + k);
        sql += ")";
        params.add(e.agent_id);
        params.add(static_cast<int64_t>(e.seq));
        params.add(std::string_view(protocol::type_name(e.type)));
        params.add(e.ts_ms);
        params.add(e.received_ms);
        params.add_blob(std::span<const uint8_t>(reinterpret_cast<const uint8_t*>(e.frame.data()),
                                                 e.frame.size()));
      }
      auto done = conn_.query_params(sql, params);
      if (!done) return done.status();
    }
    return Status::ok();
  }

  Status set_fence(const cluster::Fence& fence) override {
    fence_ = fence;
    return Status::ok();
  }

  pg::Connection conn_;
  std::optional<cluster::Fence> fence_;  // every batch's, once set
  // On conn_, which must not move (the store is only ever on the heap).
  PgIncidentTables incidents_;
  PgSilenceTables silences_;
  PgChangeTables changes_;
  PgExpiryTables expiry_;
  PgSuspectTables suspects_;
  PgOutboxTables outbox_;
  PgWorkflowTables workflows_;
};

}  // namespace

Result<std::string> pg_conninfo(const StoreConfig& cfg) {
  if (cfg.dsn.empty()) {
    return Status::error("config", "store.dsn: required with backend postgres");
  }
  auto password = read_password(cfg);
  if (!password) return password.status();
  if (!*password) return cfg.dsn;
  if (is_uri(cfg.dsn)) {
    const char separator = cfg.dsn.find('?') == std::string::npos ? '?' : '&';
    return cfg.dsn + separator + "password=" + percent_encoded(**password);
  }
  // A later keyword overrides an earlier one, so this password wins over one in the dsn.
  return cfg.dsn + " password=" + conninfo_quoted(**password);
}

Result<std::unique_ptr<HubStore>> open_pg_store(const StoreConfig& cfg) {
  auto conninfo = pg_conninfo(cfg);
  if (!conninfo) return conninfo.status();
  auto conn = pg::Connection::open(*conninfo);
  if (!conn) return conn.status();
  REFLEX_RETURN_IF_ERROR(pg::migrate(*conn, pg_migrations()));
  return std::unique_ptr<HubStore>(std::make_unique<PgHubStore>(std::move(conn).value()));
}

}  // namespace reflex::hub
