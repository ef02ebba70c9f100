#include "hub/silence_reader.h"

#include <climits>
#include <mutex>

#include "common/sqlite.h"
#include "hub/incidents/silence_store.h"
#include "hub/pg_store.h"

namespace reflex::hub {
namespace {

class SqliteSilenceReader final : public SilenceReader {
 public:
  static Result<std::unique_ptr<SilenceReader>> open(const std::string& path) {
    sqlite::OpenOptions options;
    options.read_only = true;
    auto db = sqlite::Database::open(path, options);
    if (!db) return db.status();
    std::unique_ptr<SqliteSilenceReader> reader(new SqliteSilenceReader(std::move(db).value()));
    auto tables = incidents::SilenceTables::prepare(reader->db_);
    if (!tables) return tables.status();
    reader->tables_.emplace(std::move(tables).value());
    return std::unique_ptr<SilenceReader>(std::move(reader));
  }

  Result<std::vector<incidents::Silence>> all() override {
    std::lock_guard lock(mu_);
    auto snap = tables_->load(INT64_MIN);
    if (!snap) return snap.status();
    return std::move(snap->silences);
  }
  Result<std::optional<incidents::Silence>> silence(uint64_t id) override {
    std::lock_guard lock(mu_);
    return tables_->silence(id);
  }

 private:
  explicit SqliteSilenceReader(sqlite::Database db) : db_(std::move(db)) {}

  std::mutex mu_;
  sqlite::Database db_;                             // guarded by mu_
  std::optional<incidents::SilenceTables> tables_;  // on db_; guarded by mu_
};

}  // namespace

Result<std::unique_ptr<SilenceReader>> open_silence_reader(const StoreConfig& cfg) {
  if (cfg.postgres()) return open_pg_silence_reader(cfg);
  return SqliteSilenceReader::open(cfg.path);
}

}  // namespace reflex::hub
