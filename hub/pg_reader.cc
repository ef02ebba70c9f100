// HubReader on PostgreSQL: the HTTP API's reads, on `store.pool` connections of its own,
// so the API's threads read in parallel and never wait for the store's writer. Same
// results as the SQLite reader (hub/sqlite_reader.cc), from the same row code.
#include <algorithm>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <utility>
#include <vector>

#include "common/pg.h"
#include "hub/pg_store.h"
#include "hub/store_rows.h"

namespace reflex::hub {
namespace {

namespace irows = incidents::rows;
using incidents::AlertRow;
using incidents::IncidentRow;

template <class T, class F>
Result<std::vector<T>> read_all(const pg::Rows& rows, F&& read) {
  std::vector<T> out;
  for (int i = 0; i < rows.size(); ++i) {
    auto v = read(rows[i]);
    if (!v) return v.status();
    out.push_back(std::move(v).value());
  }
  return out;
}

// Connections shared by the API's threads: each call takes a free one, waiting while all
// are busy, and gives it back when it is done.
class ConnectionPool {
 public:
  explicit ConnectionPool(std::vector<pg::Connection> conns) : conns_(std::move(conns)) {
    for (auto& c : conns_) free_.push_back(&c);
  }

  class Lease {
   public:
    Lease(ConnectionPool& pool, pg::Connection* conn) : pool_(pool), conn_(conn) {}
    Lease(const Lease&) = delete;
    Lease& operator=(const Lease&) = delete;
    ~Lease() { pool_.give_back(conn_); }
    pg::Connection& conn() { return *conn_; }

   private:
    ConnectionPool& pool_;
    pg::Connection* conn_;
  };

  // Opens `n` connections (at least one) on `conninfo`.
  static Result<std::unique_ptr<ConnectionPool>> open(const std::string& conninfo, int n) {
    std::vector<pg::Connection> conns;
    for (int i = 0; i < std::max(n, 1); ++i) {
      auto conn = pg::Connection::open(conninfo);
      if (!conn) return conn.status();
      conns.push_back(std::move(conn).value());
    }
    return std::make_unique<ConnectionPool>(std::move(conns));
  }

  // Runs `call(conn)` on a free connection and, when it failed because the connection
  // was lost (a PostgreSQL restart or failover), once more on a new one: reads only, so
  // nothing of the failed call took effect.
  template <class F>
  auto run(F&& call) -> decltype(call(std::declval<pg::Connection&>())) {
    auto lease = take();
    pg::Connection& conn = lease->conn();
    if (conn.broken()) REFLEX_RETURN_IF_ERROR(conn.reset());
    auto result = call(conn);
    if (result || !conn.broken()) return result;
    REFLEX_RETURN_IF_ERROR(conn.reset());
    return call(conn);
  }

 private:
  std::unique_ptr<Lease> take() {
    std::unique_lock lock(mu_);
    available_.wait(lock, [this] { return !free_.empty(); });
    pg::Connection* conn = free_.back();
    free_.pop_back();
    return std::make_unique<Lease>(*this, conn);
  }

  void give_back(pg::Connection* conn) {
    {
      std::lock_guard lock(mu_);
      free_.push_back(conn);
    }
    available_.notify_one();
  }

  std::vector<pg::Connection> conns_;  // never resized: free_ points into it
  std::mutex mu_;
  std::condition_variable available_;
  std::vector<pg::Connection*> free_;  // guarded by mu_
};

class PgHubReader final : public HubReader {
 public:
  explicit PgHubReader(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}

  Result<std::vector<IncidentRow>> incidents(const IncidentQuery& q) override {
    // Only fixed text and names from enums go into the SQL; values are bound.
    std::string sql = "SELECT " + std::string(irows::kIncidentColumns) +
                      " FROM incidents WHERE opened_ms >= $1 AND ($2::text = '' OR service = $2)";
    if (q.open_only) {
      sql += " AND status != 'resolved'";
    } else if (q.status) {
      sql += std::string(" AND status = '") + incidents::incident_status_name(*q.status) + "'";
    }
    if (q.min_severity) sql += " AND severity IN (" + rows::severities_from(*q.min_severity) + ")";
    sql += " ORDER BY id DESC LIMIT $3";
    return pool_->run([&](pg::Connection& conn) -> Result<std::vector<IncidentRow>> {
      auto rows = conn.query(sql, q.since_ms, q.service, static_cast<int64_t>(q.limit));
      if (!rows) return rows.status();
      return read_all<IncidentRow>(*rows, [](const pg::Row& r) { return irows::read_incident(r); });
    });
  }

  Result<std::optional<IncidentDetail>> incident(uint64_t id) override {
    return pool_->run([&](pg::Connection& conn) -> Result<std::optional<IncidentDetail>> {
      // One snapshot, so the row, its members and its timeline agree.
      auto tx = pg::Transaction::begin(conn, pg::Isolation::kRepeatableRead);
      if (!tx) return tx.status();
      auto detail = read_detail(conn, id);
      if (!detail) return detail.status();
      REFLEX_RETURN_IF_ERROR(tx->commit());
      return detail;
    });
  }

  Result<std::vector<AlertRow>> open_alerts(size_t limit) override {
    return pool_->run([&](pg::Connection& conn) -> Result<std::vector<AlertRow>> {
      auto rows = conn.query("SELECT " + std::string(irows::kAlertColumns) + ", " +
                                 std::string(irows::kAlertDetailColumns) +
                                 " FROM alerts WHERE retained AND state != 'resolved' "
                                 "ORDER BY since_ms DESC, fingerprint COLLATE \"C\" LIMIT $1",
                             static_cast<int64_t>(limit));
      if (!rows) return rows.status();
      return read_all<AlertRow>(*rows, [](const pg::Row& r) { return irows::read_alert(r); });
    });
  }

  Result<std::vector<incidents::Change>> changes(const ChangeQuery& q) override {
    return pool_->run(
        [&](pg::Connection& conn) { return list_changes(conn, q.service, q.since_ms, q.limit); });
  }

  void set_dependencies(DependenciesFn fn) override {
    std::lock_guard lock(mu_);
    dependencies_ = std::move(fn);
  }

 private:
  static constexpr size_t kDetailChanges = 20;

  static Result<std::vector<incidents::Change>> list_changes(pg::Connection& conn,
                                                             const std::string& service,
                                                             int64_t since_ms, size_t limit) {
    auto rows = conn.query("SELECT " + std::string(irows::kChangeColumns) +
                               " FROM changes WHERE ($1::text = '' OR service = $1) AND "
                               "at_ms >= $2 ORDER BY at_ms DESC, seq DESC LIMIT $3",
                           service, since_ms, static_cast<int64_t>(limit));
    if (!rows) return rows.status();
    return read_all<incidents::Change>(*rows,
                                       [](const pg::Row& r) { return irows::read_change(r); });
  }

  // The newest changes of `service` and of its dependencies.
  Result<std::vector<incidents::Change>> recent_changes(pg::Connection& conn,
                                                        const std::string& service) {
    DependenciesFn dependencies;
    {
      std::lock_guard lock(mu_);
      dependencies = dependencies_;
    }
    return rows::recent_changes(
        service, dependencies, kDetailChanges,
        [&](const std::string& s, size_t limit) { return list_changes(conn, s, 0, limit); });
  }

  Result<std::optional<AlertRow>> alert(pg::Connection& conn, const std::string& fingerprint) {
    auto rows = conn.query("SELECT " + std::string(irows::kAlertColumns) + ", " +
                               std::string(irows::kAlertDetailColumns) +
                               " FROM alerts WHERE fingerprint = $1",
                           fingerprint);
    if (!rows) return rows.status();
    if (rows->empty()) return std::optional<AlertRow>();
    auto row = irows::read_alert((*rows)[0]);
    if (!row) return row.status();
    return std::optional<AlertRow>(std::move(row).value());
  }

  Result<std::optional<IncidentDetail>> read_detail(pg::Connection& conn, uint64_t id) {
    const auto key = static_cast<int64_t>(id);
    auto found = conn.query(
        "SELECT " + std::string(irows::kIncidentColumns) + " FROM incidents WHERE id = $1", key);
    if (!found) return found.status();
    if (found->empty()) return std::optional<IncidentDetail>();
    IncidentDetail d;
    auto incident = irows::read_incident((*found)[0]);
    if (!incident) return incident.status();
    d.incident = std::move(incident).value();

    auto members = conn.query(
        "SELECT fingerprint, host, joined_ms FROM incident_members WHERE incident_id = $1 "
        "ORDER BY seq",
        key);
    if (!members) return members.status();
    for (int i = 0; i < members->size(); ++i) {
      d.members.push_back(irows::read_member((*members)[i], id));
    }
    std::set<std::string> seen;
    for (const auto& m : d.members) {
      if (!seen.insert(m.fingerprint).second) continue;
      auto a = alert(conn, m.fingerprint);
      if (!a) return a.status();
      if (*a) d.alerts.push_back(std::move(**a));
    }

    auto timeline = conn.query("SELECT " + std::string(irows::kTimelineColumns) +
                                   " FROM incident_timeline WHERE incident_id = $1 ORDER BY id",
                               key);
    if (!timeline) return timeline.status();
    auto entries = read_all<incidents::TimelineEntry>(
        *timeline, [id](const pg::Row& r) { return irows::read_timeline_entry(r, id); });
    if (!entries) return entries.status();
    d.timeline = std::move(entries).value();

    auto suspect = conn.query("SELECT " + std::string(rows::kSuspectJoinColumns) +
                                  " FROM incident_suspects s JOIN changes c "
                                  "ON c.id = s.change_id WHERE s.incident_id = $1",
                              key);
    if (!suspect) return suspect.status();
    if (!suspect->empty()) d.suspect = rows::read_suspect((*suspect)[0], id);

    auto workflow = conn.query(
        "SELECT doc, incident_id, updated_ms FROM incident_workflows WHERE incident_id = $1", key);
    if (!workflow) return workflow.status();
    if (!workflow->empty()) {
      auto w = rows::read_workflow((*workflow)[0]);
      if (!w) return w.status();
      d.workflow = std::move(w).value();
    }

    if (!d.incident.service.empty()) {
      auto changes = recent_changes(conn, d.incident.service);
      if (!changes) return changes.status();
      d.changes = std::move(changes).value();
    }
    return std::optional<IncidentDetail>(std::move(d));
  }

  std::unique_ptr<ConnectionPool> pool_;
  std::mutex mu_;
  DependenciesFn dependencies_;  // guarded by mu_
};

// The outbox's rows for the delivery stage and GET /api/v1/outbox.
class PgOutboxReader final : public OutboxReader {
 public:
  explicit PgOutboxReader(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}

  Result<std::vector<OutboxRow>> load_open() override {
    return select("state IN ('pending', 'sending') ORDER BY id");
  }
  Result<std::optional<OutboxRow>> find(uint64_t id) override {
    return first(select("id = $1", static_cast<int64_t>(id)));
  }
  Result<std::optional<OutboxRow>> find_by_key(const std::string& key) override {
    return first(select("idempotency_key = $1", key));
  }
  Result<std::vector<OutboxRow>> list(const OutboxQuery& q) override {
    const std::string state = q.state ? outbox_state_name(*q.state) : "";
    return select(
        "($1::text = '' OR state = $1) AND ($2::bigint < 0 OR incident_id = $2) "
        "ORDER BY id DESC LIMIT $3",
        state, q.incident_id ? static_cast<int64_t>(*q.incident_id) : int64_t{-1},
        static_cast<int64_t>(q.limit));
  }
  Result<uint64_t> max_id() override {
    return pool_->run([](pg::Connection& conn) -> Result<uint64_t> {
      auto rows = conn.query("SELECT COALESCE(MAX(id), 0) FROM outbox");
      if (!rows) return rows.status();
      return static_cast<uint64_t>((*rows)[0].column_int64(0));
    });
  }

 private:
  template <class... Args>
  Result<std::vector<OutboxRow>> select(const std::string& where_and_tail, const Args&... args) {
    const std::string sql =
        "SELECT " + std::string(rows::kOutboxColumns) + " FROM outbox WHERE " + where_and_tail;
    return pool_->run([&](pg::Connection& conn) -> Result<std::vector<OutboxRow>> {
      auto rows = conn.query(sql, args...);
      if (!rows) return rows.status();
      return read_all<OutboxRow>(
          *rows, [](const pg::Row& r) -> Result<OutboxRow> { return rows::read_outbox(r); });
    });
  }
  static Result<std::optional<OutboxRow>> first(Result<std::vector<OutboxRow>> found) {
    if (!found) return found.status();
    if (found->empty()) return std::optional<OutboxRow>();
    return std::optional<OutboxRow>(std::move(found->front()));
  }

  std::unique_ptr<ConnectionPool> pool_;
};

// The silences for GET /api/v1/silences.
class PgSilenceReader final : public SilenceReader {
 public:
  explicit PgSilenceReader(std::unique_ptr<ConnectionPool> pool) : pool_(std::move(pool)) {}

  Result<std::vector<incidents::Silence>> all() override { return select("TRUE ORDER BY id"); }
  Result<std::optional<incidents::Silence>> silence(uint64_t id) override {
    auto found = select("id = $1", static_cast<int64_t>(id));
    if (!found) return found.status();
    if (found->empty()) return std::optional<incidents::Silence>();
    return std::optional<incidents::Silence>(std::move(found->front()));
  }

 private:
  template <class... Args>
  Result<std::vector<incidents::Silence>> select(const std::string& where_and_tail,
                                                 const Args&... args) {
    const std::string sql =
        "SELECT " + std::string(irows::kSilenceColumns) + " FROM silences WHERE " + where_and_tail;
    return pool_->run([&](pg::Connection& conn) -> Result<std::vector<incidents::Silence>> {
      auto rows = conn.query(sql, args...);
      if (!rows) return rows.status();
      return read_all<incidents::Silence>(*rows,
                                          [](const pg::Row& r) { return irows::read_silence(r); });
    });
  }

  std::unique_ptr<ConnectionPool> pool_;
};

}  // namespace

Result<std::unique_ptr<HubReader>> open_pg_reader(const StoreConfig& cfg) {
  auto conninfo = pg_conninfo(cfg);
  if (!conninfo) return conninfo.status();
  auto pool = ConnectionPool::open(*conninfo, cfg.pool);
  if (!pool) return pool.status();
  return std::unique_ptr<HubReader>(std::make_unique<PgHubReader>(std::move(pool).value()));
}

Result<std::unique_ptr<OutboxReader>> open_pg_outbox_reader(const StoreConfig& cfg) {
  auto conninfo = pg_conninfo(cfg);
  if (!conninfo) return conninfo.status();
  auto pool = ConnectionPool::open(*conninfo, 1);
  if (!pool) return pool.status();
  return std::unique_ptr<OutboxReader>(std::make_unique<PgOutboxReader>(std::move(pool).value()));
}

Result<std::unique_ptr<SilenceReader>> open_pg_silence_reader(const StoreConfig& cfg) {
  auto conninfo = pg_conninfo(cfg);
  if (!conninfo) return conninfo.status();
  auto pool = ConnectionPool::open(*conninfo, 1);
  if (!pool) return pool.status();
  return std::unique_ptr<SilenceReader>(std::make_unique<PgSilenceReader>(std::move(pool).value()));
}

}  // namespace reflex::hub
