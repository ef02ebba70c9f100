// Live updates for the dashboard: GET /api/v1/events/stream answers text/event-stream
// (server-sent events) and stays open. The hub publishes what each group commit changed
// (incidents, their timelines, silences, changes, agents' states) once it is durable;
// every open stream receives it.
//
//   event: ready     sent first: the subscription is in place
//   event: incident  data: {"id": 7, "status": "acknowledged", ...}  something about it changed
//   event: silences  data: {"count": n}     silences were created, expired or reminded
//   event: changes   data: {"services": [...]} changes (deploys) were recorded
//   event: agents    data: {"count": n}     agents registered, were lost or came back
//   event: resync    data: {}   events were dropped (a slow client): read everything again
//   ": keep-alive"   a comment line every heartbeat interval, so proxies keep it open
//
// Auth: the route is an ordinary GET under /api/ (api_auth.h: viewer). Browsers read it
// with fetch() and the Authorization header, so no token ever goes into a URL.
//
// Threads: publish() is called on the loop thread; each stream is written by the httplib
// worker serving it, which waits on its subscriber's queue. Each open stream holds a
// worker, so at most `max_streams` are open at once (more are answered 503), leaving the
// rest of the pool to the API. stop() ends every stream, so the server's shutdown, which
// joins its workers, does not wait on them.
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <deque>
#include <memory>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include "common/metrics.h"
#include "hub/store.h"

namespace httplib {
class Server;
}  // namespace httplib

namespace reflex::hub {

inline constexpr std::string_view kEventStreamPath = "/api/v1/events/stream";

struct StreamEvent {
  std::string name;  // the SSE `event:` field
  std::string data;  // one line of JSON
  bool operator==(const StreamEvent&) const = default;
};

// The wire form of one event: "event: <name>\ndata: <data>\n\n".
std::string format_sse(const StreamEvent& event);

// What a committed batch tells the dashboards, in a stable order: one `incident` event
// per incident it touched (by id), then `silences`, `changes`, `agents` when present.
// Heartbeats alone (agent rows without a state change) tell nothing.
std::vector<StreamEvent> stream_events_of(const WriteBatch& batch);

// One subscriber's queue. Thread-safe. Bounded: a push onto a full queue drops what it
// holds and marks it overflowed, and the reader is told to resync instead of being sent a
// partial picture.
class EventQueue {
 public:
  explicit EventQueue(size_t capacity) : capacity_(capacity) {}

  void push(StreamEvent event);
  // Wakes the reader for good: wait() returns kClosed from now on.
  void close();
  // The reader says it has ended its stream (or the client went away).
  void finish();
  // Waits up to `timeout` for finish(); whether it came.
  bool wait_finished(std::chrono::milliseconds timeout);

  enum class Wait { kEvents, kResync, kTimeout, kClosed };
  // Waits up to `timeout` for events, moving them into `out` (kEvents). kResync: events
  // were dropped since the last wait (the queue is empty again).
  Wait wait(std::chrono::milliseconds timeout, std::vector<StreamEvent>& out);

 private:
  const size_t capacity_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<StreamEvent> queue_;  // guarded by mu_
  bool overflowed_ = false;        // guarded by mu_
  bool closed_ = false;            // guarded by mu_
  bool finished_ = false;          // guarded by mu_
};

class EventStream {
 public:
  struct Limits {
    size_t max_streams = 8;       // open at once; more are answered 503
    size_t queue_capacity = 256;  // events per subscriber before a resync
    std::chrono::milliseconds heartbeat{15'000};
  };
  // `metrics` must outlive this.
  EventStream(metrics::Registry& metrics, Limits limits);
  ~EventStream();

  // Before the server listens. `this` must outlive the server's serving.
  void add_routes(httplib::Server& server);
  // Any thread. Sends to every open stream.
  void publish(StreamEvent event);
  void publish_batch(const WriteBatch& batch);
  // Ends every open stream and refuses new ones (503). Call before the server stops: it
  // waits (up to 2 s) until each stream has sent its end, because a server that is
  // stopping cuts a response off between two writes.
  void stop();
  size_t subscribers() const;

 private:
  std::shared_ptr<EventQueue> subscribe();
  void unsubscribe(const std::shared_ptr<EventQueue>& queue);

  const Limits limits_;
  metrics::Gauge& open_;
  metrics::Counter& refused_;
  metrics::Counter& resyncs_;
  mutable std::mutex mu_;
  std::set<std::shared_ptr<EventQueue>> queues_;  // guarded by mu_
  bool stopped_ = false;                          // guarded by mu_
};

}  // namespace reflex::hub
