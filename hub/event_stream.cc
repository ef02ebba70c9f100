#include "hub/event_stream.h"

#include <httplib.h>

#include <map>

#include "common/json_text.h"
#include "hub/http_api.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kKeepAlive = ": keep-alive\n\n";
constexpr auto kStopWait = std::chrono::seconds(2);

}  // namespace

std::string format_sse(const StreamEvent& event) {
  // `data` is one line of JSON (nlohmann escapes newlines), so one data field suffices.
  return "event: " + event.name + "\ndata: " + event.data + "\n\n";
}

std::vector<StreamEvent> stream_events_of(const WriteBatch& batch) {
  // By id, each with the incident's row when the batch carries it.
  std::map<uint64_t, const incidents::IncidentRow*> touched;
  const incidents::Changes& c = batch.incidents;
  for (const auto& row : c.incidents) touched[row.id] = &row;
  auto touch = [&touched](uint64_t id) {
    if (id != 0) touched.try_emplace(id, nullptr);
  };
  for (const auto& e : c.timeline) touch(e.incident_id);
  for (const auto& m : c.members) touch(m.incident_id);
  for (const auto& a : c.alerts) touch(a.record.incident_id);
  for (const auto& s : batch.suspects) touch(s.incident_id);
  for (const auto& w : batch.workflows) touch(w.incident_id);

  std::vector<StreamEvent> out;
  for (const auto& [id, row] : touched) {
    json data = {{"id", id}};
    if (row) {
      data["status"] = incidents::incident_status_name(row->status);
      data["severity"] = protocol::severity_name(row->severity);
      data["service"] = row->service;
      data["title"] = row->title;
    }
    out.push_back({.name = "incident", .data = json_text(data)});
  }
  if (!batch.silences.empty()) {
    out.push_back({.name = "silences", .data = json_text(json{{"count", batch.silences.size()}})});
  }
  if (!batch.changes.empty()) {
    std::set<std::string> services;
    for (const auto& ch : batch.changes) services.insert(ch.service);
    out.push_back({.name = "changes", .data = json_text(json{{"services", services}})});
  }
  if (!batch.state_changes.empty()) {
    out.push_back(
        {.name = "agents", .data = json_text(json{{"count", batch.state_changes.size()}})});
  }
  return out;
}

void EventQueue::push(StreamEvent event) {
  {
    std::lock_guard lock(mu_);
    if (closed_) return;
    if (queue_.size() >= capacity_) {
      queue_.clear();
      overflowed_ = true;
    } else if (!overflowed_) {
      queue_.push_back(std::move(event));
    }
  }
  cv_.notify_one();
}

void EventQueue::close() {
  {
    std::lock_guard lock(mu_);
    closed_ = true;
  }
  cv_.notify_all();
}

void EventQueue::finish() {
  {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  cv_.notify_all();
}

bool EventQueue::wait_finished(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [this] { return finished_; });
}

EventQueue::Wait EventQueue::wait(std::chrono::milliseconds timeout,
                                  std::vector<StreamEvent>& out) {
  std::unique_lock lock(mu_);
  cv_.wait_for(lock, timeout, [this] { return closed_ || overflowed_ || !queue_.empty(); });
  if (closed_) return Wait::kClosed;
  if (overflowed_) {
    // Whatever came after the overflow is part of what the reader reads again.
    overflowed_ = false;
    queue_.clear();
    return Wait::kResync;
  }
  if (queue_.empty()) return Wait::kTimeout;
  out.insert(out.end(), std::make_move_iterator(queue_.begin()),
             std::make_move_iterator(queue_.end()));
  queue_.clear();
  return Wait::kEvents;
}

EventStream::EventStream(metrics::Registry& metrics, Limits limits)
    : limits_(limits),
      open_(metrics.gauge("reflex_hub_event_streams",
                          "Open event streams (GET /api/v1/events/stream): dashboards "
                          "watching live.")),
      refused_(metrics.counter("reflex_hub_event_streams_refused_total",
                               "Event streams refused (503) because max_streams were open or "
                               "the hub was stopping.")),
      resyncs_(metrics.counter("reflex_hub_event_stream_resyncs_total",
                               "Times a slow event stream overflowed its queue and was told "
                               "to resync.")) {}

EventStream::~EventStream() {
  stop();
}

std::shared_ptr<EventQueue> EventStream::subscribe() {
  std::lock_guard lock(mu_);
  if (stopped_ || queues_.size() >= limits_.max_streams) return nullptr;
  auto queue = std::make_shared<EventQueue>(limits_.queue_capacity);
  queues_.insert(queue);
  open_.set(static_cast<double>(queues_.size()));
  return queue;
}

void EventStream::unsubscribe(const std::shared_ptr<EventQueue>& queue) {
  queue->finish();
  std::lock_guard lock(mu_);
  queues_.erase(queue);
  open_.set(static_cast<double>(queues_.size()));
}

size_t EventStream::subscribers() const {
  std::lock_guard lock(mu_);
  return queues_.size();
}

void EventStream::publish(StreamEvent event) {
  std::lock_guard lock(mu_);
  for (const auto& q : queues_) q->push(event);
}

void EventStream::publish_batch(const WriteBatch& batch) {
  if (subscribers() == 0) return;  // on the loop, after every commit: no work when nobody watches
  for (auto& e : stream_events_of(batch)) publish(std::move(e));
}

void EventStream::stop() {
  std::set<std::shared_ptr<EventQueue>> open;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    open = queues_;
  }
  for (const auto& q : open) q->close();
  // Bounded: a client that stopped reading can hold a write up to the socket's timeout.
  const auto deadline = std::chrono::steady_clock::now() + kStopWait;
  for (const auto& q : open) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 || !q->wait_finished(left)) break;
  }
}

void EventStream::add_routes(httplib::Server& server) {
  server.Get(
      std::string(kEventStreamPath), [this](const httplib::Request&, httplib::Response& res) {
        auto queue = subscribe();
        if (!queue) {
          refused_.inc();
          bool stopping = false;
          {
            std::lock_guard lock(mu_);
            stopping = stopped_;
          }
          res.set_header("Retry-After", "10");
          return json_error(res, 503, "unavailable",
                            stopping ? "the hub is stopping"
                                     : "too many open event streams (" +
                                           std::to_string(limits_.max_streams) +
                                           " at most, half of http_threads): close a dashboard "
                                           "tab or raise http_threads");
        }
        res.set_header("Cache-Control", "no-store");
        res.set_header("X-Accel-Buffering", "no");  // proxies: pass each event on at once
        const auto heartbeat = limits_.heartbeat;
        bool greeted = false;
        res.set_chunked_content_provider(
            "text/event-stream",
            [this, queue, heartbeat, greeted](size_t, httplib::DataSink& sink) mutable {
              std::string out;
              if (!greeted) {
                greeted = true;
                out = format_sse({.name = "ready", .data = "{}"});
              } else {
                std::vector<StreamEvent> events;
                switch (queue->wait(heartbeat, events)) {
                  case EventQueue::Wait::kClosed:
                    sink.done();
                    queue->finish();
                    return true;
                  case EventQueue::Wait::kTimeout:
                    out = kKeepAlive;
                    break;
                  case EventQueue::Wait::kResync:
                    resyncs_.inc();
                    out = format_sse({.name = "resync", .data = "{}"});
                    break;
                  case EventQueue::Wait::kEvents:
                    for (const auto& e : events) out += format_sse(e);
                    break;
                }
              }
              // A failed write (the client went away) ends the stream and its worker.
              return sink.write(out.data(), out.size());
            },
            [this, queue](bool) { unsubscribe(queue); });
      });
}

}  // namespace reflex::hub
