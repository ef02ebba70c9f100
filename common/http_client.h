// Outbound HTTP on the event loop: libcurl's multi interface driven by libuv.
//
// One HttpClient serves every outbound call of a process (the agent's http checks, the
// hub's integrations): many requests run concurrently on the loop thread, none blocks it
// (curl's threaded resolver does DNS off the loop). Every request ends with exactly one
// callback, on the loop thread, never from inside request() itself.
//
// A request with `mail` set is an SMTP submission instead (the hub's email integration):
// the same loop, timeouts and callback, with the last SMTP reply code as the status. One
// exception to "never blocks": libcurl sends QUIT on a kept SMTP connection when it closes
// it (cache eviction, destruction) and waits for the reply, at most the request's timeout.
#pragma once

#include <curl/curl.h>
#include <uv.h>

#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/clock.h"
#include "common/duration.h"
#include "common/loop.h"

namespace reflex {

using HttpHeaders = std::vector<std::pair<std::string, std::string>>;  // in sending order

// The SMTP envelope of a mail submission (HttpRequest::mail). The request's url is
// smtp://host[:port][/ehlo-domain] or smtps://... (TLS from the first byte); its body is
// the message (RFC 5322 header lines, an empty line, the body; CRLF line endings),
// uploaded after DATA, dot-stuffed by libcurl. `headers` are not used.
struct MailEnvelope {
  enum class StartTls { kRequired, kOpportunistic, kOff };  // smtp:// only
  std::string from;                     // the reverse-path, "alerts@example.com"
  std::vector<std::string> recipients;  // one RCPT TO each; any refused fails the whole
  StartTls starttls = StartTls::kRequired;
  std::string user;  // AUTH (the mechanism the server prefers) when non-empty
  std::string password;
};

struct HttpRequest {
  std::string method = "GET";  // GET, HEAD, POST, PUT, PATCH, DELETE, ...
  std::string url;             // http:// or https:// only; other schemes fail the request
  HttpHeaders headers;
  std::string body;                 // sent when non-empty (or always for POST)
  Millis timeout = Millis(10'000);  // the whole exchange, connect to last byte; 0: none
  bool tls_verify = true;
  bool follow_redirects = false;        // at most 10, http(s) only
  size_t max_response_bytes = 1 << 20;  // the body is cut here and the transfer stopped
  // Set: an SMTP submission of `body` (see MailEnvelope), not an HTTP exchange.
  std::optional<MailEnvelope> mail;
};

struct HttpResponse {
  int status = 0;          // the last response's status code (SMTP: reply code); 0 if none
  HttpHeaders headers;     // the last response's headers, as received
  std::string body;        // at most max_response_bytes
  bool truncated = false;  // the body was cut at max_response_bytes (not an error)
  double total_ms = 0;
  double ttfb_ms = 0;  // until the first response byte
  // Empty when the exchange completed (whatever the status); else curl's message and
  // the CURLcode name, e.g. "... Connection refused (CURLE_COULDNT_CONNECT)".
  std::string error;
  bool timed_out = false;  // the error is the request's timeout ("timed out" in error)

  // The first header called `name`, compared case-insensitively.
  std::optional<std::string> header(std::string_view name) const;
};

using HttpRequestId = uint64_t;

class HttpClient {
 public:
  // Both must outlive the client; the timers must be real (UvTimers) since the requests
  // are real I/O. curl_global_init runs once per process, on first construction.
  HttpClient(EventLoop& loop, Timers& timers);
  // Abandons every request in flight without calling its callback and closes every
  // handle; the loop must run afterwards (EventLoop's destructor does) to free them.
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  // Starts `req`; `done` is called exactly once, later, on the loop thread (unless the
  // request is cancelled or the client destroyed first). Loop thread only.
  HttpRequestId request(HttpRequest req, std::function<void(HttpResponse)> done);
  // Abandons a request without calling its callback; unknown or finished ids are a no-op.
  void cancel(HttpRequestId id);
  size_t in_flight() const { return transfers_.size(); }

 private:
  struct Transfer;

  static int on_curl_socket(CURL* easy, curl_socket_t fd, int what, void* self, void* socketp);
  static int on_curl_timer(CURLM* multi, long timeout_ms, void* self);
  static void on_poll(uv_poll_t* handle, int status, int events);
  static void on_timer(uv_timer_t* handle);
  void socket_action(curl_socket_t fd, int flags);
  void finish_done_transfers();
  void fail_soon(HttpRequestId id, std::function<void(HttpResponse)> done, std::string error);

  EventLoop& loop_;
  Timers& timers_;
  CURLM* multi_;
  uv_timer_t* timer_;  // curl's own timeout; freed in its close callback
  HttpRequestId next_id_ = 1;
  std::map<HttpRequestId, std::unique_ptr<Transfer>> transfers_;
  std::map<curl_socket_t, uv_poll_t*> sockets_;  // fd -> its poll handle
  std::map<HttpRequestId, TimerId> failing_;     // requests that failed before reaching curl
  std::shared_ptr<bool> alive_;                  // false once destroyed (callbacks check it)
};

}  // namespace reflex
