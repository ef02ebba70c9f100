#include "hub/store_writer.h"

#include <pthread.h>

#include <chrono>

namespace reflex::hub {

StoreWriter::StoreWriter(EventLoop& loop, HubStore& store)
    : store_(store), door_(loop), thread_([this] { run(); }) {}

StoreWriter::~StoreWriter() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void StoreWriter::submit(WriteBatch batch, Done done) {
  busy_ = true;
  {
    std::lock_guard lock(mu_);
    job_ = Job{std::move(batch), std::move(done), std::nullopt, 0};
  }
  cv_.notify_all();
}

void StoreWriter::run() {
  pthread_setname_np(pthread_self(), "store-writer");  // for top -H and the benchmark
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return quit_ || (job_ && !job_->status); });
    // A job already taken is finished before quitting, so no half-known commit remains.
    if (!job_ || job_->status) return;
    const WriteBatch& batch = job_->batch;  // untouched by the loop until delivered
    lock.unlock();
    const auto started = std::chrono::steady_clock::now();
    Status st = store_.write_batch(batch);
    const double seconds =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    lock.lock();
    job_->status = std::move(st);
    job_->seconds = seconds;
    cv_.notify_all();
    if (!quit_) door_.post([this] { deliver(); });
  }
}

void StoreWriter::deliver() {
  std::optional<Job> finished;
  {
    std::lock_guard lock(mu_);
    if (!job_ || !job_->status) return;  // already delivered by drain()
    finished.swap(job_);
  }
  busy_ = false;
  finished->done(std::move(finished->batch), std::move(*finished->status), finished->seconds);
}

void StoreWriter::drain() {
  while (busy_) {
    {
      std::unique_lock lock(mu_);
      cv_.wait(lock, [this] { return job_ && job_->status; });
    }
    deliver();
  }
}

}  // namespace reflex::hub
