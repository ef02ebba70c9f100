// HubReader on the hub's SQLite file: a connection of its own, so the API reads the last
// committed state while the StoreWriter writes (WAL: readers never wait for the writer).
#include <algorithm>
#include <mutex>
#include <set>

#include "common/sqlite.h"
#include "hub/incidents/alert_signal.h"
#include "hub/incidents/incident_store.h"
#include "hub/pg_store.h"
#include "hub/store.h"
#include "hub/store_rows.h"
#include "hub/suspect_tables.h"

namespace reflex::hub {
namespace {

using incidents::AlertRow;
using incidents::IncidentRow;

class SqliteHubReader final : public HubReader {
 public:
  explicit SqliteHubReader(sqlite::Database db) : db_(std::move(db)) {}

  Status prepare() {
    auto tables = incidents::IncidentTables::prepare(db_);
    if (!tables) return tables.status();
    tables_.emplace(std::move(tables).value());
    auto changes = incidents::ChangeTables::prepare(db_);
    if (!changes) return changes.status();
    changes_.emplace(std::move(changes).value());
    auto suspects = SuspectTables::prepare(db_);
    if (!suspects) return suspects.status();
    suspects_.emplace(std::move(suspects).value());
    auto workflows = policy::WorkflowTables::prepare(db_);
    if (!workflows) return workflows.status();
    workflows_.emplace(std::move(workflows).value());
    return Status::ok();
  }

  Result<std::vector<IncidentRow>> incidents(const IncidentQuery& q) override {
    // Only fixed text and names from enums go into the SQL; values are bound.
    std::string sql =
        "SELECT id FROM incidents WHERE opened_ms >= ?1 AND (?2 = '' OR service = ?2)";
    if (q.open_only) {
      sql += " AND status != 'resolved'";
    } else if (q.status) {
      sql += std::string(" AND status = '") + incidents::incident_status_name(*q.status) + "'";
    }
    if (q.min_severity) sql += " AND severity IN (" + rows::severities_from(*q.min_severity) + ")";
    sql += " ORDER BY id DESC LIMIT ?3";
    std::lock_guard lock(mu_);
    std::vector<uint64_t> ids;
    {
      auto st = db_.prepare(sql);
      if (!st) return st.status();
      REFLEX_RETURN_IF_ERROR(st->bind_all(q.since_ms, q.service, static_cast<int64_t>(q.limit)));
      for (;;) {
        auto row = st->step();
        if (!row) return row.status();
        if (!*row) break;
        ids.push_back(static_cast<uint64_t>(st->column_int64(0)));
      }
    }
    // Read row by row through the incident tables' own reader: primary-key lookups, and
    // one definition of how a row is read.
    std::vector<IncidentRow> out;
    for (uint64_t id : ids) {
      auto row = tables_->incident(id);
      if (!row) return row.status();
      if (*row) out.push_back(std::move(**row));
    }
    return out;
  }

  Result<std::optional<IncidentDetail>> incident(uint64_t id) override {
    std::lock_guard lock(mu_);
    // One read transaction, so the row, its members and its timeline agree.
    REFLEX_RETURN_IF_ERROR(db_.exec("BEGIN"));
    auto detail = read_detail(id);
    (void)db_.exec("COMMIT");
    return detail;
  }

  Result<std::vector<AlertRow>> open_alerts(size_t limit) override {
    std::lock_guard lock(mu_);
    std::vector<std::string> fingerprints;
    {
      auto st = db_.prepare(
          "SELECT fingerprint FROM alerts WHERE retained = 1 AND state != 'resolved' "
          "ORDER BY since_ms DESC, fingerprint LIMIT ?");
      if (!st) return st.status();
      REFLEX_RETURN_IF_ERROR(st->bind_all(static_cast<int64_t>(limit)));
      for (;;) {
        auto row = st->step();
        if (!row) return row.status();
        if (!*row) break;
        fingerprints.push_back(st->column_text(0));
      }
    }
    std::vector<AlertRow> out;
    for (const auto& fp : fingerprints) {
      auto row = tables_->alert(fp);
      if (!row) return row.status();
      if (*row) out.push_back(std::move(**row));
    }
    return out;
  }

  Result<std::vector<incidents::Change>> changes(const ChangeQuery& q) override {
    std::lock_guard lock(mu_);
    return changes_->list(q.service, q.since_ms, q.limit);
  }

  void set_dependencies(DependenciesFn fn) override {
    std::lock_guard lock(mu_);
    dependencies_ = std::move(fn);
  }

 private:
  static constexpr size_t kDetailChanges = 20;

  // The newest changes of `service` and of its dependencies.
  Result<std::vector<incidents::Change>> recent_changes(const std::string& service) {
    return rows::recent_changes(
        service, dependencies_, kDetailChanges,
        [&](const std::string& s, size_t limit) { return changes_->list(s, 0, limit); });
  }

  Result<std::optional<IncidentDetail>> read_detail(uint64_t id) {
    auto row = tables_->incident(id);
    if (!row) return row.status();
    if (!*row) return std::optional<IncidentDetail>();
    IncidentDetail d;
    d.incident = std::move(**row);
    auto members = tables_->members(id);
    if (!members) return members.status();
    d.members = std::move(members).value();
    std::set<std::string> seen;
    for (const auto& m : d.members) {
      if (!seen.insert(m.fingerprint).second) continue;
      auto alert = tables_->alert(m.fingerprint);
      if (!alert) return alert.status();
      if (*alert) d.alerts.push_back(std::move(**alert));
    }
    auto timeline = tables_->timeline(id);
    if (!timeline) return timeline.status();
    d.timeline = std::move(timeline).value();
    auto suspect = suspects_->load(id);
    if (!suspect) return suspect.status();
    d.suspect = std::move(suspect).value();
    auto workflow = workflows_->find(id);
    if (!workflow) return workflow.status();
    d.workflow = std::move(workflow).value();
    if (!d.incident.service.empty()) {
      auto changes = recent_changes(d.incident.service);
      if (!changes) return changes.status();
      d.changes = std::move(changes).value();
    }
    return std::optional<IncidentDetail>(std::move(d));
  }

  std::mutex mu_;
  sqlite::Database db_;                              // guarded by mu_
  std::optional<incidents::IncidentTables> tables_;  // on db_; guarded by mu_
  std::optional<incidents::ChangeTables> changes_;   // on db_; guarded by mu_
  std::optional<SuspectTables> suspects_;            // on db_; guarded by mu_
  std::optional<policy::WorkflowTables> workflows_;  // on db_; guarded by mu_
  DependenciesFn dependencies_;                      // guarded by mu_
};

}  // namespace

Result<std::unique_ptr<HubReader>> open_reader(const StoreConfig& cfg) {
  if (cfg.postgres()) return open_pg_reader(cfg);
  sqlite::OpenOptions options;
  options.read_only = true;
  auto db = sqlite::Database::open(cfg.path, options);
  if (!db) return db.status();
  auto reader = std::make_unique<SqliteHubReader>(std::move(db).value());
  REFLEX_RETURN_IF_ERROR(reader->prepare());
  return std::unique_ptr<HubReader>(std::move(reader));
}

}  // namespace reflex::hub
