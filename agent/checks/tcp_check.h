// The `tcp` check: connect (libuv, never blocking the loop), optionally send a string and
// wait for an expected one among the bytes that come back.
//
//   type: tcp
//   host: 127.0.0.1        # default; a name is resolved off the loop (uv_getaddrinfo)
//   port: 6379             # required, 1..65535
//   send: "PING\r\n"
//   expect: "+PONG"        # searched in everything received so far
#pragma once

#include <memory>
#include <string>

#include "agent/checks/check.h"
#include "common/config.h"

namespace reflex::agent {

struct TcpCheckConfig {
  std::string host = "127.0.0.1";
  int port = 0;
  std::string send;    // written once connected, when non-empty
  std::string expect;  // when non-empty, the run waits until it has been received
};

// Reads the tcp-specific keys of one check; problems go to r.errors(), named by path.
void read_tcp_check(config::MapReader& r, TcpCheckConfig& out);

// A run is OK once connected (and, with `expect`, once it was received); latency is the
// connect time, perf `response` the time until `expect` matched. Refused, unresolvable,
// timed out, closed early or answered otherwise is CRITICAL. `loop` and `timers` must
// outlive the check; destroying it mid-run closes everything without calling back.
std::unique_ptr<PeriodicCheck> make_tcp_check(CheckSpec spec, TcpCheckConfig config,
                                              EventLoop& loop, Timers& timers);

}  // namespace reflex::agent
