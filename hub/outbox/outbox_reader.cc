#include "hub/outbox/outbox_reader.h"

#include <mutex>

#include "common/sqlite.h"
#include "hub/outbox/outbox_tables.h"
#include "hub/pg_store.h"

namespace reflex::hub {
namespace {

class SqliteOutboxReader final : public OutboxReader {
 public:
  static Result<std::unique_ptr<OutboxReader>> open(const std::string& path) {
    sqlite::OpenOptions options;
    options.read_only = true;
    auto db = sqlite::Database::open(path, options);
    if (!db) return db.status();
    std::unique_ptr<SqliteOutboxReader> reader(new SqliteOutboxReader(std::move(db).value()));
    auto tables = OutboxTables::prepare(reader->db_);
    if (!tables) return tables.status();
    reader->tables_.emplace(std::move(tables).value());
    return std::unique_ptr<OutboxReader>(std::move(reader));
  }

  Result<std::vector<OutboxRow>> load_open() override {
    std::lock_guard lock(mu_);
    return tables_->load_open();
  }
  Result<std::optional<OutboxRow>> find(uint64_t id) override {
    std::lock_guard lock(mu_);
    return tables_->find(id);
  }
  Result<std::optional<OutboxRow>> find_by_key(const std::string& key) override {
    std::lock_guard lock(mu_);
    return tables_->find_by_key(key);
  }
  Result<std::vector<OutboxRow>> list(const OutboxQuery& q) override {
    std::lock_guard lock(mu_);
    return tables_->list(q);
  }
  Result<uint64_t> max_id() override {
    std::lock_guard lock(mu_);
    return tables_->max_id();
  }

 private:
  explicit SqliteOutboxReader(sqlite::Database db) : db_(std::move(db)) {}

  std::mutex mu_;
  sqlite::Database db_;                 // guarded by mu_
  std::optional<OutboxTables> tables_;  // on db_; guarded by mu_
};

}  // namespace

Result<std::unique_ptr<OutboxReader>> open_outbox_reader(const StoreConfig& cfg) {
  if (cfg.postgres()) return open_pg_outbox_reader(cfg);
  return SqliteOutboxReader::open(cfg.path);
}

}  // namespace reflex::hub
