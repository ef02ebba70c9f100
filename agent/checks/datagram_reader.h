// DatagramReader: a UDP socket on the loop that reads datagrams in batches, for
// listeners that take many small datagrams (the statsd check).
//
// Waking the loop once per datagram costs more than handling it, so after each drain
// the reader stops watching the socket and reads again after `pause`: under a steady
// stream the loop wakes about 1000/pause-ms times a second whatever the rate, and each
// wake-up takes what queued meanwhile with recvmmsg(2), up to 16 datagrams per call.
// Once a read finds the socket empty it goes back to waiting for readability, so an idle
// socket costs nothing. A datagram waits at most `pause` longer than before.
//
// The kernel holds what arrives during a pause in the socket's receive buffer, which the
// reader asks to be `receive_buffer` bytes (the kernel caps it at net.core.rmem_max and
// doubles it for its bookkeeping: on a stock Debian about 420 KiB, some 500 small
// datagrams). What the kernel drops because the buffer was full is counted (SO_RXQ_OVFL)
// and reported with the next datagram read, so a pause too long for the rate shows.
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <string_view>

#include "common/clock.h"
#include "common/duration.h"
#include "common/loop.h"
#include "common/status.h"

namespace reflex::agent {

struct DatagramReaderOptions {
  Millis pause = Millis(10);         // between drains while datagrams keep coming
  int receive_buffer = 1024 * 1024;  // SO_RCVBUF asked for; the kernel may give less
};

class DatagramReader {
 public:
  // Called for each datagram, in arrival order, on the loop thread. `truncated`: it was
  // longer than 64 KiB and `data` holds its start. `dropped` is how many datagrams the
  // kernel dropped since the previous call (receive buffer full).
  using OnDatagram = std::function<void(std::string_view data, bool truncated, uint64_t dropped)>;

  // Binds `addr` (port 0: any free one) and starts reading. `loop` and `timers` must
  // outlive the reader; `on_datagram` may not destroy it.
  static Result<std::unique_ptr<DatagramReader>> open(EventLoop& loop, Timers& timers,
                                                      const sockaddr_storage& addr,
                                                      OnDatagram on_datagram,
                                                      DatagramReaderOptions options = {});
  ~DatagramReader();
  DatagramReader(const DatagramReader&) = delete;
  DatagramReader& operator=(const DatagramReader&) = delete;

  int port() const { return port_; }
  // The receive buffer the kernel granted (as getsockopt(SO_RCVBUF) reports it).
  int receive_buffer() const { return receive_buffer_; }
  // How many times the reader drained the socket: what the batching saves is datagrams
  // read minus drains.
  uint64_t drains() const { return drains_; }

 private:
  struct Batch;
  DatagramReader(EventLoop& loop, Timers& timers, int fd, OnDatagram on_datagram,
                 DatagramReaderOptions options);
  static void on_readable(uv_poll_t* handle, int status, int events);
  void on_pause_over();
  // Reads until the socket is empty (or a bounded number, so timers get their turn);
  // returns how many datagrams it read.
  size_t drain();
  void watch();
  void pause();

  Timers& timers_;
  int fd_;
  OnDatagram on_datagram_;
  DatagramReaderOptions options_;
  uv_poll_t* poll_;  // freed by its close callback
  std::unique_ptr<Batch> batch_;
  TimerId pause_timer_ = 0;
  uint32_t overflow_seen_ = 0;  // the kernel's running drop count, as last reported
  uint64_t drains_ = 0;
  int port_ = 0;
  int receive_buffer_ = 0;
};

}  // namespace reflex::agent
