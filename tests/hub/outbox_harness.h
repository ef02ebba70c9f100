// Test support for the outbox: the real delivery stage on a real SQLite file, a real
// loop and real HTTP, with the outbox's own time simulated (its backoff and rate-limit
// timers fire only when a test advances it). The loop runs on the test's thread
// (run_loop_until), and commits go through a real StoreWriter as the hub does them.
#pragma once

#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <catch2/catch.hpp>
#include <memory>
#include <sstream>
#include <string>
#include <vector>

#include "common/http_client.h"
#include "common/loop.h"
#include "common/metrics.h"
#include "hub/outbox/outbox.h"
#include "hub/outbox/outbox_tables.h"
#include "hub/store.h"
#include "hub/store_writer.h"
#include "tests/support/loop_helpers.h"
#include "tests/support/process.h"

namespace reflex::hub::testing {

// Everything spdlog writes while it lives, at every level (for "no secret in the logs").
class LogCapture {
 public:
  LogCapture() : sink_(std::make_shared<spdlog::sinks::ostream_sink_mt>(text_)) {
    level_ = spdlog::default_logger()->level();
    spdlog::default_logger()->sinks().push_back(sink_);
    spdlog::default_logger()->set_level(spdlog::level::trace);
  }
  ~LogCapture() {
    auto& sinks = spdlog::default_logger()->sinks();
    std::erase(sinks, sink_);
    spdlog::default_logger()->set_level(level_);
  }
  std::string text() {
    spdlog::default_logger()->flush();
    return text_.str();
  }

 private:
  std::ostringstream text_;
  std::shared_ptr<spdlog::sinks::ostream_sink_mt> sink_;
  spdlog::level::level_enum level_;
};

class OutboxHarness {
 public:
  using MakeIntegrations = std::function<void(Outbox&)>;

  explicit OutboxHarness(MakeIntegrations add, RetryPolicy policy = {})
      : add_(std::move(add)), policy_(policy) {
    store_config_.path = path();
    auto store = open_store(store_config_);
    REQUIRE(store);
    store_ = std::move(store).value();
    writer_ = std::make_unique<StoreWriter>(loop_, *store_);
    open_outbox();
    sqlite::OpenOptions ro;
    ro.read_only = true;
    auto db = sqlite::Database::open(path(), ro);
    REQUIRE(db);
    db_ = std::make_unique<sqlite::Database>(std::move(db).value());
    auto tables = OutboxTables::prepare(*db_);
    REQUIRE(tables);
    tables_.emplace(std::move(tables).value());
  }
  ~OutboxHarness() {
    outbox_.reset();
    writer_.reset();
  }

  // A crash: the outbox goes away with whatever it had in flight (nothing more is
  // written), and a new one starts on the same file.
  void restart() {
    wait_idle_writer();
    outbox_.reset();
    open_outbox();
  }

  // Enqueues in a batch of its own and waits for its commit; returns the row (or the
  // existing one for a known key).
  Result<OutboxRow> enqueue(OutboxRequest request) {
    wait_idle_writer();
    WriteBatch batch;
    auto row = outbox_->enqueue(batch, std::move(request));
    outbox_->stage(batch);
    submit(std::move(batch));
    wait_idle_writer();
    return row;
  }
  // Enqueues several rows in one batch.
  std::vector<OutboxRow> enqueue_all(std::vector<OutboxRequest> requests) {
    wait_idle_writer();
    WriteBatch batch;
    std::vector<OutboxRow> rows;
    for (auto& r : requests) {
      auto row = outbox_->enqueue(batch, std::move(r));
      REQUIRE(row);
      rows.push_back(*row);
    }
    outbox_->stage(batch);
    submit(std::move(batch));
    wait_idle_writer();
    return rows;
  }

  // The hub's commit, for the outbox alone.
  void commit() {
    if (writer_->busy()) {
      again_ = true;
      return;
    }
    WriteBatch batch;
    outbox_->stage(batch);
    submit(std::move(batch));
  }

  // The row as committed in the store.
  OutboxRow row(uint64_t id) {
    auto r = tables_->find(id);
    REQUIRE(r);
    REQUIRE(*r);
    return **r;
  }
  std::vector<OutboxRow> rows() {
    auto r = tables_->list({.state = std::nullopt, .incident_id = std::nullopt, .limit = 1000});
    REQUIRE(r);
    return *r;
  }
  // Runs the loop until row `id` is committed in `state`.
  bool wait_state(uint64_t id, OutboxState state) {
    return run_until([&] {
      auto r = tables_->find(id);
      return r && *r && (*r)->state == state && !writer_->busy();
    });
  }
  // Runs the loop until row `id` is committed in `state` after `attempts` attempts.
  bool wait_attempt(uint64_t id, OutboxState state, uint32_t attempts) {
    return run_until([&] {
      auto r = tables_->find(id);
      return r && *r && (*r)->state == state && (*r)->attempts == attempts && !writer_->busy();
    });
  }
  bool run_until(const std::function<bool()>& cond) {
    return reflex::testing::run_loop_until(loop_, cond);
  }
  void wait_idle_writer() {
    REQUIRE(run_until([&] { return !writer_->busy(); }));
  }
  void advance(Millis d) { time_.advance(d); }
  int64_t now_ms() const { return time_.now_ms(); }

  Outbox& outbox() { return *outbox_; }
  metrics::Registry& metrics() { return metrics_; }
  std::string path() const { return dir_.file("hub.db"); }
  const StoreConfig& store_config() const { return store_config_; }
  EventLoop& loop() { return loop_; }
  // The random numbers the backoff draws, in order (0.5 once they run out).
  std::vector<double> randoms;

 private:
  void open_outbox() {
    auto outbox = Outbox::open(
        store_config_, time_, time_, http_, metrics_, [this] { commit(); }, policy_,
        [this] {
          if (drawn_ < randoms.size()) return randoms[drawn_++];
          return 0.5;
        });
    REQUIRE(outbox);
    outbox_ = std::move(outbox).value();
    add_(*outbox_);
    REQUIRE(outbox_->start());
  }
  void submit(WriteBatch batch) {
    if (batch.empty()) {
      outbox_->committed();
      return;
    }
    writer_->submit(std::move(batch), [this](WriteBatch, Status st, double) {
      if (st) {
        outbox_->committed();
      } else {
        FAIL_CHECK("commit failed: " << st.to_string());
        outbox_->failed();
      }
      if (again_) {
        again_ = false;
        commit();
      }
    });
  }

  reflex::testing::TempDir dir_;
  StoreConfig store_config_;
  EventLoop loop_;
  UvTimers uv_timers_{loop_};
  SimulatedTime time_;
  HttpClient http_{loop_, uv_timers_};
  metrics::Registry metrics_;
  MakeIntegrations add_;
  RetryPolicy policy_;
  std::unique_ptr<HubStore> store_;
  std::unique_ptr<StoreWriter> writer_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<sqlite::Database> db_;
  std::optional<OutboxTables> tables_;
  size_t drawn_ = 0;
  bool again_ = false;
};

}  // namespace reflex::hub::testing
