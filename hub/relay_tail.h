// RelayTail: how the leader of hubs sharing a PostgreSQL store reads what the others
// ingested (hub/relay_ingest.h): HubStore::read_relay on a thread and a connection of its
// own, so the loop never waits for the database. One read at a time.
#pragma once

#include <condition_variable>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "common/loop.h"
#include "hub/config.h"
#include "hub/store.h"

namespace reflex::hub {

class RelayTail {
 public:
  // Called on the loop thread with what was read.
  using Done = std::function<void(Result<RelayedEvents>)>;

  // Opens a store connection of its own on `cfg` (already migrated).
  static Result<std::unique_ptr<RelayTail>> open(EventLoop& loop, const StoreConfig& cfg);
  // Waits for a read in progress; its result is dropped.
  ~RelayTail();
  RelayTail(const RelayTail&) = delete;
  RelayTail& operator=(const RelayTail&) = delete;

  // A read is in progress or its result has not been delivered. Loop thread only.
  bool busy() const { return busy_; }
  // Starts read_relay(limit, agents_seen_since_ms); requires !busy(). Loop thread only.
  void read(size_t limit, int64_t agents_seen_since_ms, Done done);

 private:
  RelayTail(EventLoop& loop, std::unique_ptr<HubStore> store);
  void run();

  struct Request {
    size_t limit;
    int64_t agents_seen_since_ms;
    Done done;
  };
  std::unique_ptr<HubStore> store_;  // the thread's
  LoopDoor door_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Request> request_;  // guarded by mu_
  bool quit_ = false;               // guarded by mu_
  bool busy_ = false;               // loop thread only
  std::thread thread_;
};

}  // namespace reflex::hub
