#include "common/loop.h"

#include <cstdlib>

namespace reflex {

EventLoop::EventLoop() {
  if (uv_loop_init(&loop_) != 0) std::abort();  // only fails when out of fds/memory
}

EventLoop::~EventLoop() {
  // Let close callbacks of handles already closed run, then close the loop.
  uv_run(&loop_, UV_RUN_DEFAULT);
  uv_loop_close(&loop_);
}

void EventLoop::run() {
  uv_run(&loop_, UV_RUN_DEFAULT);
}

void EventLoop::stop() {
  uv_stop(&loop_);
}

LoopDoor::LoopDoor(EventLoop& loop) : async_(new uv_async_t) {
  uv_async_init(loop.raw(), async_, &LoopDoor::on_async);
  async_->data = this;
}

LoopDoor::~LoopDoor() {
  async_->data = nullptr;
  close_and_delete(async_);
}

void LoopDoor::post(std::function<void()> fn) {
  {
    std::lock_guard lock(mu_);
    queue_.push_back(std::move(fn));
  }
  uv_async_send(async_);
}

void LoopDoor::on_async(uv_async_t* handle) {
  auto* self = static_cast<LoopDoor*>(handle->data);
  if (self == nullptr) return;
  std::deque<std::function<void()>> batch;
  {
    std::lock_guard lock(self->mu_);
    batch.swap(self->queue_);
  }
  for (auto& fn : batch) fn();
}

struct UvTimers::Timer {
  uv_timer_t handle;
  UvTimers* owner;
  TimerId id;
  bool repeating;
  std::function<void()> fn;
};

UvTimers::~UvTimers() {
  for (auto& [id, t] : timers_) {
    uv_timer_stop(&t->handle);
    close_and_delete(t);
  }
}

TimerId UvTimers::start(Millis delay, Millis repeat, std::function<void()> fn) {
  auto* t = new Timer{{}, this, next_id_++, repeat.count() > 0, std::move(fn)};
  uv_timer_init(loop_.raw(), &t->handle);
  t->handle.data = t;
  uv_timer_start(&t->handle, &UvTimers::on_timer, static_cast<uint64_t>(delay.count()),
                 static_cast<uint64_t>(repeat.count()));
  timers_[t->id] = t;
  return t->id;
}

void UvTimers::cancel(TimerId id) {
  auto it = timers_.find(id);
  if (it == timers_.end()) return;
  Timer* t = it->second;
  timers_.erase(it);
  uv_timer_stop(&t->handle);
  close_and_delete(t);  // the callback copy, if running, stays valid: see on_timer
}

void UvTimers::on_timer(uv_timer_t* handle) {
  auto* t = static_cast<Timer*>(handle->data);
  UvTimers* owner = t->owner;
  TimerId id = t->id;
  // Copy: the callback may cancel its own timer, which schedules the Timer's deletion.
  auto fn = t->fn;
  if (!t->repeating) {
    owner->timers_.erase(id);
    close_and_delete(t);
  }
  fn();
}

ZmqWatcher::ZmqWatcher(EventLoop& loop, zmq::socket_t& socket, std::function<void()> on_readable)
    : socket_(socket),
      on_readable_(std::move(on_readable)),
      poll_(new uv_poll_t),
      idle_(new uv_idle_t) {
  auto fd = socket_.get(zmq::sockopt::fd);
  uv_poll_init(loop.raw(), poll_, fd);
  poll_->data = this;
  uv_poll_start(poll_, UV_READABLE, &ZmqWatcher::on_poll);
  uv_idle_init(loop.raw(), idle_);
  idle_->data = this;
  kick();  // input may already be queued
}

ZmqWatcher::~ZmqWatcher() {
  uv_poll_stop(poll_);
  uv_idle_stop(idle_);
  close_and_delete(poll_);
  close_and_delete(idle_);
}

void ZmqWatcher::kick() {
  uv_idle_start(idle_, &ZmqWatcher::on_idle);
}

void ZmqWatcher::resume() {
  paused_ = false;
  kick();
}

void ZmqWatcher::on_poll(uv_poll_t* handle, int status, int) {
  if (status < 0) return;
  static_cast<ZmqWatcher*>(handle->data)->drain();
}

void ZmqWatcher::on_idle(uv_idle_t* handle) {
  auto* self = static_cast<ZmqWatcher*>(handle->data);
  uv_idle_stop(handle);
  self->drain();
}

void ZmqWatcher::drain() {
  // Bounded per turn so timers and other sockets get their share under a flood.
  for (int turn = 0; turn < 64; ++turn) {
    if (paused_) return;
    if (!(socket_.get(zmq::sockopt::events) & ZMQ_POLLIN)) return;
    on_readable_();
  }
  kick();
}

SignalHandler::SignalHandler(EventLoop& loop, int signum, std::function<void()> fn)
    : signal_(new uv_signal_t), fn_(std::move(fn)) {
  uv_signal_init(loop.raw(), signal_);
  signal_->data = this;
  uv_signal_start(
      signal_, [](uv_signal_t* h, int) { static_cast<SignalHandler*>(h->data)->fn_(); }, signum);
}

SignalHandler::~SignalHandler() {
  uv_signal_stop(signal_);
  close_and_delete(signal_);
}

}  // namespace reflex
