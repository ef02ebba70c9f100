// The event stream's parts without a hub: the bounded queue and its resync, what a batch
// tells the dashboards, and the route on a real HTTP server (events, cap, stop()).
#include "hub/event_stream.h"

#include <httplib.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <future>
#include <thread>

using namespace reflex;
using namespace reflex::hub;
using namespace std::chrono_literals;

namespace {

StreamEvent ev(const std::string& name, const std::string& data = "{}") {
  return {.name = name, .data = data};
}

}  // namespace

TEST_CASE("a queue hands over its events in order, then times out when empty", "[dashboard]") {
  EventQueue q(4);
  q.push(ev("a"));
  q.push(ev("b"));
  std::vector<StreamEvent> out;
  CHECK(q.wait(0ms, out) == EventQueue::Wait::kEvents);
  REQUIRE(out.size() == 2);
  CHECK(out[0].name == "a");
  CHECK(out[1].name == "b");
  out.clear();
  CHECK(q.wait(10ms, out) == EventQueue::Wait::kTimeout);
  CHECK(out.empty());
}

TEST_CASE("a queue that overflows drops what it holds and asks for one resync", "[dashboard]") {
  EventQueue q(3);
  for (int i = 0; i < 3; ++i) q.push(ev("e" + std::to_string(i)));
  q.push(ev("overflow"));
  q.push(ev("after"));  // part of what the reader reads again
  std::vector<StreamEvent> out;
  CHECK(q.wait(0ms, out) == EventQueue::Wait::kResync);
  CHECK(out.empty());
  q.push(ev("next"));
  CHECK(q.wait(0ms, out) == EventQueue::Wait::kEvents);
  REQUIRE(out.size() == 1);
  CHECK(out[0].name == "next");
}

TEST_CASE("closing a queue wakes its waiting reader for good", "[dashboard]") {
  EventQueue q(3);
  auto waited = std::async(std::launch::async, [&q] {
    std::vector<StreamEvent> out;
    return q.wait(10s, out);
  });
  std::this_thread::sleep_for(20ms);
  q.close();
  REQUIRE(waited.wait_for(2s) == std::future_status::ready);
  CHECK(waited.get() == EventQueue::Wait::kClosed);
  q.push(ev("late"));
  std::vector<StreamEvent> out;
  CHECK(q.wait(0ms, out) == EventQueue::Wait::kClosed);
  CHECK(out.empty());
}

TEST_CASE("a batch becomes one incident event per incident it touched, then the others",
          "[dashboard]") {
  WriteBatch batch;
  incidents::IncidentRow row;
  row.id = 7;
  row.service = "checkout";
  row.title = "db-down on checkout";
  row.status = incidents::IncidentStatus::kAcknowledged;
  row.severity = protocol::Severity::kHigh;
  batch.incidents.incidents.push_back(row);
  batch.incidents.timeline.push_back({.incident_id = 3,
                                      .at_ms = 1,
                                      .kind = incidents::TimelineKind::kRemediation,
                                      .actor = "agent:web-1",
                                      .fingerprint = "",
                                      .host = "web-1",
                                      .text = "restart",
                                      .suppressed = ""});
  batch.incidents.timeline.push_back({.incident_id = 7,
                                      .at_ms = 1,
                                      .kind = incidents::TimelineKind::kAcknowledged,
                                      .actor = "alice",
                                      .fingerprint = "",
                                      .host = "",
                                      .text = "",
                                      .suppressed = ""});
  batch.silences.resize(2);
  incidents::Change change;
  change.service = "billing";
  batch.changes.push_back(change);
  batch.state_changes.push_back(
      {.agent_id = "web-1", .state = AgentState::kLost, .at_ms = 1, .reason = "missed"});

  const auto events = stream_events_of(batch);
  REQUIRE(events.size() == 5);
  CHECK(events[0] == ev("incident", R"({"id":3})"));
  CHECK(
      events[1] ==
      ev("incident",
         R"({"id":7,"service":"checkout","severity":"high","status":"acknowledged","title":"db-down on checkout"})"));
  CHECK(events[2] == ev("silences", R"({"count":2})"));
  CHECK(events[3] == ev("changes", R"({"services":["billing"]})"));
  CHECK(events[4] == ev("agents", R"({"count":1})"));
  CHECK(format_sse(events[2]) == "event: silences\ndata: {\"count\":2}\n\n");
}

TEST_CASE("heartbeats alone tell the dashboards nothing", "[dashboard]") {
  WriteBatch batch;
  batch.agents.push_back(AgentRecord{});
  CHECK(stream_events_of(batch).empty());
}

namespace {

// An httplib server on 127.0.0.1 serving only the stream route.
struct StreamServer {
  metrics::Registry metrics;
  EventStream stream;
  httplib::Server server;
  int port = 0;
  std::thread thread;

  explicit StreamServer(EventStream::Limits limits) : stream(metrics, limits) {
    stream.add_routes(server);
    port = server.bind_to_any_port("127.0.0.1");
    thread = std::thread([this] { server.listen_after_bind(); });
    for (int i = 0; i < 2000 && !server.is_running(); ++i) std::this_thread::sleep_for(1ms);
  }
  ~StreamServer() {
    stream.stop();
    server.stop();
    thread.join();
  }
};

// Reads the stream until `done` says so or it ends; returns what arrived.
std::future<std::string> read_stream(int port, std::function<bool(const std::string&)> done) {
  return std::async(std::launch::async, [port, done] {
    httplib::Client cli("127.0.0.1", port);
    cli.set_read_timeout(10, 0);
    std::string text;
    cli.Get("/api/v1/events/stream", [&](const char* data, size_t n) {
      text.append(data, n);
      return !done(text);
    });
    return text;
  });
}

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

}  // namespace

TEST_CASE("a stream greets, carries published events, sends keep-alives and ends on stop()",
          "[dashboard]") {
  StreamServer s({.max_streams = 2, .queue_capacity = 16, .heartbeat = 100ms});
  auto text = read_stream(s.port, [](const std::string&) { return false; });
  // Published only once subscribed.
  for (int i = 0; i < 2000 && s.stream.subscribers() == 0; ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(s.stream.subscribers() == 1);
  CHECK(s.metrics.render().find("reflex_hub_event_streams 1") != std::string::npos);
  s.stream.publish(ev("incident", R"({"id":1})"));
  std::this_thread::sleep_for(250ms);  // at least one keep-alive interval passes
  s.stream.stop();
  REQUIRE(text.wait_for(3s) == std::future_status::ready);
  const std::string got = text.get();
  CHECK(got.rfind("event: ready\ndata: {}\n\n", 0) == 0);
  CHECK(has(got, "event: incident\ndata: {\"id\":1}\n\n"));
  CHECK(has(got, ": keep-alive\n\n"));
  for (int i = 0; i < 2000 && s.stream.subscribers() != 0; ++i) std::this_thread::sleep_for(1ms);
  CHECK(s.stream.subscribers() == 0);
}

TEST_CASE("streams beyond max_streams, and any after stop(), are refused with 503", "[dashboard]") {
  StreamServer s({.max_streams = 1, .queue_capacity = 16, .heartbeat = 1s});
  auto first = read_stream(s.port, [](const std::string& t) { return has(t, "event: bye"); });
  for (int i = 0; i < 2000 && s.stream.subscribers() == 0; ++i) std::this_thread::sleep_for(1ms);
  REQUIRE(s.stream.subscribers() == 1);
  httplib::Client cli("127.0.0.1", s.port);
  cli.set_read_timeout(5, 0);
  auto refused = cli.Get("/api/v1/events/stream");
  REQUIRE(refused);
  CHECK(refused->status == 503);
  CHECK(has(refused->body, "too many open event streams"));
  s.stream.publish(ev("bye"));
  REQUIRE(first.wait_for(3s) == std::future_status::ready);
  s.stream.stop();
  auto later = cli.Get("/api/v1/events/stream");
  REQUIRE(later);
  CHECK(later->status == 503);
  CHECK(has(later->body, "stopping"));
}
