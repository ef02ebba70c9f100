// StoreWriter: the hub's group commits, on a thread of their own.
//
// The loop hands over one WriteBatch at a time and goes on reading frames while it is
// written; the frames that arrive meanwhile become the next, larger batch (group commit).
// Each result comes back to the loop thread through a LoopDoor, so acknowledgements are
// still sent only after the commit. While a batch is being written the store belongs to
// the writer: the loop must not use it.
#pragma once

#include <condition_variable>
#include <functional>
#include <mutex>
#include <optional>
#include <thread>

#include "common/loop.h"
#include "hub/store.h"

namespace reflex::hub {

class StoreWriter {
 public:
  // Called on the loop thread with the batch back, the commit's outcome and its duration.
  using Done = std::function<void(WriteBatch batch, Status status, double seconds)>;

  // `store` must outlive the writer.
  StoreWriter(EventLoop& loop, HubStore& store);
  // Waits for a write in progress; a result not yet delivered is dropped.
  ~StoreWriter();
  StoreWriter(const StoreWriter&) = delete;
  StoreWriter& operator=(const StoreWriter&) = delete;

  // A batch is being written or its result has not been delivered yet. Loop thread only.
  bool busy() const { return busy_; }
  // Starts writing `batch`; `done` runs on the loop thread when it is written. Requires
  // !busy(). Loop thread only.
  void submit(WriteBatch batch, Done done);
  // Blocks until no batch is in flight, running each result's `done` on this (the loop)
  // thread, including batches those callbacks submit. For shutdown.
  void drain();

 private:
  struct Job {
    WriteBatch batch;
    Done done;
    std::optional<Status> status;  // set once written
    double seconds = 0;
  };
  void run();
  void deliver();  // loop thread: runs the finished job's callback

  HubStore& store_;
  LoopDoor door_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::optional<Job> job_;  // guarded by mu_
  bool quit_ = false;       // guarded by mu_
  bool busy_ = false;       // loop thread only
  std::thread thread_;
};

}  // namespace reflex::hub
