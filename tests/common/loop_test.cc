#include "common/loop.h"

#include <catch2/catch.hpp>
#include <csignal>
#include <thread>
#include <zmq.hpp>

using namespace reflex;

TEST_CASE("LoopDoor runs closures from other threads on the loop thread", "[loop]") {
  EventLoop loop;
  auto door = std::make_unique<LoopDoor>(loop);
  const auto loop_thread = std::this_thread::get_id();
  int ran = 0;
  bool all_on_loop = true;
  std::thread other([&] {
    std::vector<std::future<int>> answers;
    for (int i = 0; i < 100; ++i) {
      answers.push_back(door->call([&, i] {
        all_on_loop = all_on_loop && std::this_thread::get_id() == loop_thread;
        ++ran;
        return i * 2;
      }));
    }
    int sum = 0;
    for (auto& a : answers) sum += a.get();
    door->post([&, sum] {
      CHECK(sum == 9900);
      door.reset();  // closing the last handle lets run() return
    });
  });
  loop.run();
  other.join();
  CHECK(ran == 100);
  CHECK(all_on_loop);
}

TEST_CASE("UvTimers fire once or repeatedly and can be cancelled", "[loop]") {
  EventLoop loop;
  UvTimers timers(loop);
  int once = 0, repeated = 0;
  timers.start(Millis(1), Millis(0), [&] { ++once; });
  TimerId rep = 0;
  rep = timers.start(Millis(1), Millis(1), [&] {
    if (++repeated == 3) timers.cancel(rep);
  });
  loop.run();  // returns when no timer is left
  CHECK(once == 1);
  CHECK(repeated == 3);
}

TEST_CASE("ZmqWatcher drains every message even when sends consume the edge", "[loop]") {
  // A ping-pong over real TCP sockets: the loop answers each message by sending, which
  // resets the edge-triggered ZMQ_FD. Without the re-check after sending, the loop
  // would stall with messages queued.
  zmq::context_t ctx(1);
  zmq::socket_t server(ctx, zmq::socket_type::router);
  server.set(zmq::sockopt::linger, 0);
  server.bind("tcp://127.0.0.1:*");
  const std::string ep = server.get(zmq::sockopt::last_endpoint);
  constexpr int kMessages = 2000;

  std::thread client([&] {
    zmq::socket_t dealer(ctx, zmq::socket_type::dealer);
    dealer.set(zmq::sockopt::linger, 0);
    dealer.connect(ep);
    for (int i = 0; i < kMessages; ++i) {
      dealer.send(zmq::buffer(std::to_string(i)), zmq::send_flags::none);
    }
    for (int i = 0; i < kMessages; ++i) {
      zmq::message_t reply;
      (void)dealer.recv(reply);
    }
  });

  EventLoop loop;
  int received = 0;
  std::unique_ptr<ZmqWatcher> watcher;
  watcher = std::make_unique<ZmqWatcher>(loop, server, [&] {
    zmq::message_t id, body;
    if (!server.recv(id, zmq::recv_flags::dontwait)) return;
    (void)server.recv(body, zmq::recv_flags::dontwait);
    server.send(id, zmq::send_flags::sndmore);
    server.send(body, zmq::send_flags::none);
    watcher->kick();
    if (++received == kMessages) loop.stop();
  });
  loop.run();
  client.join();
  watcher.reset();
  CHECK(received == kMessages);
}

TEST_CASE("SignalHandler delivers a signal on the loop thread", "[loop]") {
  EventLoop loop;
  int got = 0;
  std::unique_ptr<SignalHandler> handler;
  handler = std::make_unique<SignalHandler>(loop, SIGUSR2, [&] {
    ++got;
    handler.reset();
  });
  ::raise(SIGUSR2);
  loop.run();
  CHECK(got == 1);
}
