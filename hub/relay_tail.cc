#include "hub/relay_tail.h"

#include <pthread.h>

namespace reflex::hub {

Result<std::unique_ptr<RelayTail>> RelayTail::open(EventLoop& loop, const StoreConfig& cfg) {
  auto store = open_store(cfg);
  if (!store) return store.status();
  return std::unique_ptr<RelayTail>(new RelayTail(loop, std::move(store).value()));
}

RelayTail::RelayTail(EventLoop& loop, std::unique_ptr<HubStore> store)
    : store_(std::move(store)), door_(loop), thread_([this] { run(); }) {}

RelayTail::~RelayTail() {
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void RelayTail::read(size_t limit, int64_t agents_seen_since_ms, Done done) {
  busy_ = true;
  {
    std::lock_guard lock(mu_);
    request_ = Request{limit, agents_seen_since_ms, std::move(done)};
  }
  cv_.notify_all();
}

void RelayTail::run() {
  pthread_setname_np(pthread_self(), "relay-tail");
  std::unique_lock lock(mu_);
  for (;;) {
    cv_.wait(lock, [this] { return quit_ || request_; });
    if (quit_) return;
    Request request = std::move(*request_);
    request_.reset();
    lock.unlock();
    auto read = std::make_shared<Result<RelayedEvents>>(
        store_->read_relay(request.limit, request.agents_seen_since_ms));
    lock.lock();
    if (quit_) return;
    door_.post([this, done = std::move(request.done), read] {
      busy_ = false;
      done(std::move(*read));
    });
  }
}

}  // namespace reflex::hub
