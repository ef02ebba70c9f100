// The libuv glue: one event loop per process owns the state; everything else reaches it
// through these handles.
//
//  - EventLoop: owns a uv_loop_t; run() blocks the calling thread (the loop thread).
//  - LoopDoor: the one door other threads use (uv_async_send; wake-ups coalesce).
//  - UvTimers: the real Timers implementation.
//  - ZmqWatcher: readiness of a ZeroMQ socket. ZMQ_FD is edge-triggered, so after every
//    wake-up it drains while ZMQ_EVENTS says readable, and after the owner sends on the
//    socket (which can consume the edge) kick() re-checks on the next loop turn.
//  - SignalHandler: POSIX signals delivered on the loop thread.
// Every handle must be destroyed (or closed) before its EventLoop; all but LoopDoor::post
// are loop-thread only.
#pragma once

#include <uv.h>

#include <deque>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <mutex>
#include <vector>
#include <zmq.hpp>

#include "common/clock.h"

namespace reflex {

class EventLoop {
 public:
  EventLoop();
  ~EventLoop();  // runs the loop until every closed handle has been released
  EventLoop(const EventLoop&) = delete;
  EventLoop& operator=(const EventLoop&) = delete;

  uv_loop_t* raw() { return &loop_; }
  void run();   // until stop() or no active handles
  void stop();  // loop thread only; use LoopDoor to stop from elsewhere

 private:
  uv_loop_t loop_;
};

// Runs closures on the loop thread; post() is safe from any thread.
class LoopDoor {
 public:
  explicit LoopDoor(EventLoop& loop);
  ~LoopDoor();

  void post(std::function<void()> fn);

  // Runs `fn` on the loop thread and returns its result to the calling (other) thread.
  template <class F>
  auto call(F fn) -> std::future<decltype(fn())> {
    using R = decltype(fn());
    auto task = std::make_shared<std::packaged_task<R()>>(std::move(fn));
    auto fut = task->get_future();
    post([task] { (*task)(); });
    return fut;
  }

 private:
  static void on_async(uv_async_t* handle);
  uv_async_t* async_;  // freed in its close callback
  std::mutex mu_;
  std::deque<std::function<void()>> queue_;
};

class UvTimers final : public Timers {
 public:
  explicit UvTimers(EventLoop& loop) : loop_(loop) {}
  ~UvTimers() override;

  TimerId start(Millis delay, Millis repeat, std::function<void()> fn) override;
  void cancel(TimerId id) override;

 private:
  struct Timer;
  static void on_timer(uv_timer_t* handle);
  EventLoop& loop_;
  TimerId next_id_ = 1;
  std::map<TimerId, Timer*> timers_;
};

class ZmqWatcher {
 public:
  // `on_readable` is called on the loop thread while the socket has input; it should
  // receive with zmq::recv_flags::dontwait. The socket must outlive the watcher.
  ZmqWatcher(EventLoop& loop, zmq::socket_t& socket, std::function<void()> on_readable);
  ~ZmqWatcher();

  // Call after sending on the socket: input that arrived meanwhile is drained on the
  // next loop turn even though the edge-triggered fd will not fire again.
  void kick();
  // While paused, input stays queued in the socket (its high-water mark then pushes back
  // on the peers); resume() reads it again.
  void pause() { paused_ = true; }
  void resume();

 private:
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_idle(uv_idle_t* handle);
  void drain();

  zmq::socket_t& socket_;
  std::function<void()> on_readable_;
  uv_poll_t* poll_;
  uv_idle_t* idle_;
  bool paused_ = false;
};

class SignalHandler {
 public:
  SignalHandler(EventLoop& loop, int signum, std::function<void()> fn);
  ~SignalHandler();

 private:
  uv_signal_t* signal_;
  std::function<void()> fn_;
};

// Closes any libuv handle and frees it with `delete` (as T*) once libuv lets go of it.
template <class T>
void close_and_delete(T* handle) {
  uv_close(reinterpret_cast<uv_handle_t*>(handle),
           [](uv_handle_t* h) { delete reinterpret_cast<T*>(h); });
}

}  // namespace reflex
