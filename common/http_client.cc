#include "common/http_client.h"

#include <algorithm>
#include <cctype>
#include <mutex>

namespace reflex {
namespace {

constexpr long kMaxRedirects = 10;

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

// curl has no API for the names of its codes; these are the ones an outbound call meets.
std::string code_name(CURLcode rc) {
  switch (rc) {
#define REFLEX_CURL_CODE(c) \
  case c:                   \
    return #c;
    REFLEX_CURL_CODE(CURLE_UNSUPPORTED_PROTOCOL)
    REFLEX_CURL_CODE(CURLE_URL_MALFORMAT)
    REFLEX_CURL_CODE(CURLE_COULDNT_RESOLVE_PROXY)
    REFLEX_CURL_CODE(CURLE_COULDNT_RESOLVE_HOST)
    REFLEX_CURL_CODE(CURLE_COULDNT_CONNECT)
    REFLEX_CURL_CODE(CURLE_WEIRD_SERVER_REPLY)
    REFLEX_CURL_CODE(CURLE_HTTP2)
    REFLEX_CURL_CODE(CURLE_PARTIAL_FILE)
    REFLEX_CURL_CODE(CURLE_WRITE_ERROR)
    REFLEX_CURL_CODE(CURLE_READ_ERROR)
    REFLEX_CURL_CODE(CURLE_OUT_OF_MEMORY)
    REFLEX_CURL_CODE(CURLE_OPERATION_TIMEDOUT)
    REFLEX_CURL_CODE(CURLE_SSL_CONNECT_ERROR)
    REFLEX_CURL_CODE(CURLE_TOO_MANY_REDIRECTS)
    REFLEX_CURL_CODE(CURLE_GOT_NOTHING)
    REFLEX_CURL_CODE(CURLE_SEND_ERROR)
    REFLEX_CURL_CODE(CURLE_RECV_ERROR)
    REFLEX_CURL_CODE(CURLE_SSL_CERTPROBLEM)
    REFLEX_CURL_CODE(CURLE_SSL_CIPHER)
    REFLEX_CURL_CODE(CURLE_PEER_FAILED_VERIFICATION)
    REFLEX_CURL_CODE(CURLE_BAD_CONTENT_ENCODING)
    REFLEX_CURL_CODE(CURLE_SSL_CACERT_BADFILE)
    REFLEX_CURL_CODE(CURLE_HTTP3)
    REFLEX_CURL_CODE(CURLE_USE_SSL_FAILED)
    REFLEX_CURL_CODE(CURLE_LOGIN_DENIED)
    REFLEX_CURL_CODE(CURLE_UPLOAD_FAILED)
    REFLEX_CURL_CODE(CURLE_REMOTE_ACCESS_DENIED)
#undef REFLEX_CURL_CODE
    default:
      return "CURLcode " + std::to_string(static_cast<int>(rc));
  }
}

void init_curl_once() {
  static std::once_flag once;
  std::call_once(once, [] { curl_global_init(CURL_GLOBAL_DEFAULT); });
}

}  // namespace

std::optional<std::string> HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return std::nullopt;
}

struct HttpClient::Transfer {
  ~Transfer() {
    if (easy != nullptr) curl_easy_cleanup(easy);  // removed from the multi handle first
    curl_slist_free_all(header_list);
    curl_slist_free_all(rcpt_list);
  }

  HttpRequestId id = 0;
  CURL* easy = nullptr;
  curl_slist* header_list = nullptr;
  size_t max_bytes = 0;
  HttpResponse response;
  std::function<void(HttpResponse)> done;
  char errbuf[CURL_ERROR_SIZE] = {};
  curl_slist* rcpt_list = nullptr;  // a mail's recipients
  std::string upload;               // a mail's message, read by on_read
  size_t upload_pos = 0;

  static size_t on_read(char* buffer, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t n = std::min(size * count, t->upload.size() - t->upload_pos);
    std::copy_n(t->upload.data() + t->upload_pos, n, buffer);
    t->upload_pos += n;
    return n;
  }

  // The options of an HTTP exchange.
  template <class Set>
  static void set_http(Transfer* t, const HttpRequest& req, Set& set) {
    set(CURLOPT_PROTOCOLS_STR, "http,https");
    set(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    set(CURLOPT_FOLLOWLOCATION, req.follow_redirects ? 1L : 0L);
    set(CURLOPT_MAXREDIRS, kMaxRedirects);
    set(CURLOPT_WRITEFUNCTION, &Transfer::on_body);
    set(CURLOPT_WRITEDATA, static_cast<void*>(t));
    set(CURLOPT_HEADERFUNCTION, &Transfer::on_header);
    set(CURLOPT_HEADERDATA, static_cast<void*>(t));
    if (req.method == "HEAD") {
      set(CURLOPT_NOBODY, 1L);
    } else if (req.method == "POST" || !req.body.empty()) {
      set(CURLOPT_POSTFIELDSIZE_LARGE, static_cast<curl_off_t>(req.body.size()));
      set(CURLOPT_COPYPOSTFIELDS, req.body.c_str());
      if (req.method != "POST") set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    } else if (req.method != "GET") {
      set(CURLOPT_CUSTOMREQUEST, req.method.c_str());
    }

    bool has_agent = false, has_expect = false;
    for (const auto& [name, value] : req.headers) {
      has_agent = has_agent || iequals(name, "User-Agent");
      has_expect = has_expect || iequals(name, "Expect");
      // "Name;" is curl's spelling of a header sent with an empty value.
      const std::string line = value.empty() ? name + ";" : name + ": " + value;
      t->header_list = curl_slist_append(t->header_list, line.c_str());
    }
    // No 100-continue round trip (a second's stall on servers that ignore it).
    if (!has_expect) t->header_list = curl_slist_append(t->header_list, "Expect:");
    if (!has_agent) set(CURLOPT_USERAGENT, "reflex/" REFLEX_VERSION);
    set(CURLOPT_HTTPHEADER, t->header_list);
  }

  // The options of an SMTP submission: the envelope, STARTTLS, AUTH and the message
  // uploaded from memory.
  template <class Set>
  static void set_mail(Transfer* t, HttpRequest req, Set& set) {
    const MailEnvelope& mail = *req.mail;
    set(CURLOPT_PROTOCOLS_STR, "smtp,smtps");
    set(CURLOPT_MAIL_FROM, mail.from.c_str());
    for (const auto& to : mail.recipients)
      t->rcpt_list = curl_slist_append(t->rcpt_list, to.c_str());
    set(CURLOPT_MAIL_RCPT, t->rcpt_list);
    switch (mail.starttls) {
      case MailEnvelope::StartTls::kRequired:
        set(CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_ALL));
        break;
      case MailEnvelope::StartTls::kOpportunistic:
        set(CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_TRY));
        break;
      case MailEnvelope::StartTls::kOff:
        set(CURLOPT_USE_SSL, static_cast<long>(CURLUSESSL_NONE));
        break;
    }
    if (!mail.user.empty()) {
      set(CURLOPT_USERNAME, mail.user.c_str());
      set(CURLOPT_PASSWORD, mail.password.c_str());
    }
    // libcurl waits for the reply to QUIT synchronously when it closes a kept connection
    // (cache eviction, the client's destruction): this caps that wait as well.
    if (req.timeout.count() > 0) {
      set(CURLOPT_SERVER_RESPONSE_TIMEOUT, static_cast<long>((req.timeout.count() + 999) / 1000));
    }
    t->upload = std::move(req.body);
    set(CURLOPT_UPLOAD, 1L);
    set(CURLOPT_READFUNCTION, &Transfer::on_read);
    set(CURLOPT_READDATA, static_cast<void*>(t));
    set(CURLOPT_INFILESIZE_LARGE, static_cast<curl_off_t>(t->upload.size()));
  }

  static size_t on_body(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t len = size * count;
    const size_t room = t->max_bytes - t->response.body.size();
    if (len > room) {
      // Returning short stops the transfer: nobody wants the rest of a body past its cap.
      t->response.body.append(data, room);
      t->response.truncated = true;
      return 0;
    }
    t->response.body.append(data, len);
    return len;
  }

  static size_t on_header(char* data, size_t size, size_t count, void* self) {
    auto* t = static_cast<Transfer*>(self);
    const size_t len = size * count;
    std::string_view line(data, len);
    auto& headers = t->response.headers;
    if (line.rfind("HTTP/", 0) == 0) {
      headers.clear();  // a new response (after a redirect or a 100 Continue)
    } else if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !headers.empty()) {
      headers.back().second += " " + std::string(trim(line));  // obsolete line folding
    } else if (auto colon = line.find(':'); colon != std::string_view::npos) {
      headers.emplace_back(std::string(trim(line.substr(0, colon))),
                           std::string(trim(line.substr(colon + 1))));
    }
    return len;
  }
};

HttpClient::HttpClient(EventLoop& loop, Timers& timers)
    : loop_(loop), timers_(timers), timer_(new uv_timer_t), alive_(std::make_shared<bool>(true)) {
  init_curl_once();
  multi_ = curl_multi_init();
  if (multi_ == nullptr) std::abort();  // only fails when out of memory
  uv_timer_init(loop_.raw(), timer_);
  timer_->data = this;
  curl_multi_setopt(multi_, CURLMOPT_SOCKETFUNCTION, &HttpClient::on_curl_socket);
  curl_multi_setopt(multi_, CURLMOPT_SOCKETDATA, this);
  curl_multi_setopt(multi_, CURLMOPT_TIMERFUNCTION, &HttpClient::on_curl_timer);
  curl_multi_setopt(multi_, CURLMOPT_TIMERDATA, this);
}

HttpClient::~HttpClient() {
  *alive_ = false;
  for (auto& [id, t] : transfers_) curl_multi_remove_handle(multi_, t->easy);
  transfers_.clear();
  for (auto& [id, timer] : failing_) timers_.cancel(timer);
  curl_multi_cleanup(multi_);  // may still report sockets it closes: handled as usual
  for (auto& [fd, poll] : sockets_) {
    uv_poll_stop(poll);
    close_and_delete(poll);
  }
  uv_timer_stop(timer_);
  close_and_delete(timer_);
}

HttpRequestId HttpClient::request(HttpRequest req, std::function<void(HttpResponse)> done) {
  const HttpRequestId id = next_id_++;
  auto t = std::make_unique<Transfer>();
  t->id = id;
  t->max_bytes = req.max_response_bytes;
  t->done = std::move(done);
  t->easy = curl_easy_init();
  if (t->easy == nullptr) {
    fail_soon(id, std::move(t->done), "cannot create a curl handle (CURLE_OUT_OF_MEMORY)");
    return id;
  }

  CURLcode first_error = CURLE_OK;
  auto set = [&](CURLoption option, auto value) {
    const CURLcode rc = curl_easy_setopt(t->easy, option, value);
    if (rc != CURLE_OK && first_error == CURLE_OK) first_error = rc;
  };
  set(CURLOPT_URL, req.url.c_str());
  set(CURLOPT_NOSIGNAL, 1L);  // timeouts come from the multi handle, not SIGALRM
  set(CURLOPT_TIMEOUT_MS, static_cast<long>(req.timeout.count()));
  set(CURLOPT_SSL_VERIFYPEER, req.tls_verify ? 1L : 0L);
  set(CURLOPT_SSL_VERIFYHOST, req.tls_verify ? 2L : 0L);
  set(CURLOPT_PRIVATE, static_cast<void*>(t.get()));
  set(CURLOPT_ERRORBUFFER, t->errbuf);
  if (req.mail) {
    Transfer::set_mail(t.get(), std::move(req), set);
  } else {
    Transfer::set_http(t.get(), req, set);
  }

  if (first_error != CURLE_OK) {
    fail_soon(id, std::move(t->done),
              std::string(curl_easy_strerror(first_error)) + " (" + code_name(first_error) + ")");
    return id;
  }
  if (const CURLMcode rc = curl_multi_add_handle(multi_, t->easy); rc != CURLM_OK) {
    fail_soon(id, std::move(t->done), std::string("cannot start: ") + curl_multi_strerror(rc));
    return id;
  }
  // curl now asks for a zero timeout; the transfer starts on the next loop turn.
  transfers_.emplace(id, std::move(t));
  return id;
}

void HttpClient::cancel(HttpRequestId id) {
  if (auto it = transfers_.find(id); it != transfers_.end()) {
    curl_multi_remove_handle(multi_, it->second->easy);
    transfers_.erase(it);
  }
  if (auto it = failing_.find(id); it != failing_.end()) {
    timers_.cancel(it->second);
    failing_.erase(it);
  }
}

void HttpClient::fail_soon(HttpRequestId id, std::function<void(HttpResponse)> done,
                           std::string error) {
  failing_[id] = timers_.start(Millis(0), Millis(0), [this, id, done, error] {
    failing_.erase(id);
    HttpResponse response;
    response.error = error;
    done(std::move(response));
  });
}

int HttpClient::on_curl_socket(CURL*, curl_socket_t fd, int what, void* self_ptr, void*) {
  auto* self = static_cast<HttpClient*>(self_ptr);
  auto it = self->sockets_.find(fd);
  if (what == CURL_POLL_REMOVE) {
    // curl may close the fd right after; libuv forgets it in uv_close, synchronously.
    if (it != self->sockets_.end()) {
      uv_poll_stop(it->second);
      close_and_delete(it->second);
      self->sockets_.erase(it);
    }
    return 0;
  }
  uv_poll_t* poll = nullptr;
  if (it != self->sockets_.end()) {
    poll = it->second;  // the same socket, now waiting for other events
  } else {
    poll = new uv_poll_t;
    if (uv_poll_init_socket(self->loop_.raw(), poll, fd) != 0) {
      delete poll;
      return -1;
    }
    poll->data = self;
    self->sockets_.emplace(fd, poll);
  }
  int events = 0;
  if (what & CURL_POLL_IN) events |= UV_READABLE;
  if (what & CURL_POLL_OUT) events |= UV_WRITABLE;
  uv_poll_start(poll, events, &HttpClient::on_poll);
  return 0;
}

int HttpClient::on_curl_timer(CURLM*, long timeout_ms, void* self_ptr) {
  auto* self = static_cast<HttpClient*>(self_ptr);
  if (timeout_ms < 0) {
    uv_timer_stop(self->timer_);
  } else {
    // Never act from inside curl's callback: a zero timeout runs on the next loop turn.
    uv_timer_start(self->timer_, &HttpClient::on_timer, static_cast<uint64_t>(timeout_ms), 0);
  }
  return 0;
}

void HttpClient::on_poll(uv_poll_t* handle, int status, int events) {
  auto* self = static_cast<HttpClient*>(handle->data);
  int flags = 0;
  if (status < 0) {
    flags = CURL_CSELECT_ERR;
  } else {
    if (events & UV_READABLE) flags |= CURL_CSELECT_IN;
    if (events & UV_WRITABLE) flags |= CURL_CSELECT_OUT;
  }
  uv_os_fd_t fd = -1;
  uv_fileno(reinterpret_cast<uv_handle_t*>(handle), &fd);
  self->socket_action(fd, flags);
}

void HttpClient::on_timer(uv_timer_t* handle) {
  static_cast<HttpClient*>(handle->data)->socket_action(CURL_SOCKET_TIMEOUT, 0);
}

void HttpClient::socket_action(curl_socket_t fd, int flags) {
  int running = 0;
  curl_multi_socket_action(multi_, fd, flags, &running);
  finish_done_transfers();
}

void HttpClient::finish_done_transfers() {
  // One message at a time: a callback may cancel another finished request (whose message
  // then disappears) or destroy this client.
  const std::shared_ptr<bool> alive = alive_;
  int left = 0;
  while (*alive) {
    CURLMsg* msg = curl_multi_info_read(multi_, &left);
    if (msg == nullptr) return;
    if (msg->msg != CURLMSG_DONE) continue;
    CURL* easy = msg->easy_handle;
    const CURLcode rc = msg->data.result;
    Transfer* raw = nullptr;
    curl_easy_getinfo(easy, CURLINFO_PRIVATE, reinterpret_cast<char**>(&raw));
    curl_multi_remove_handle(multi_, easy);  // invalidates msg
    auto it = transfers_.find(raw->id);
    std::unique_ptr<Transfer> t = std::move(it->second);
    transfers_.erase(it);

    HttpResponse& r = t->response;
    long status = 0;
    curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &status);
    r.status = static_cast<int>(status);
    curl_off_t total_us = 0, ttfb_us = 0;
    curl_easy_getinfo(easy, CURLINFO_TOTAL_TIME_T, &total_us);
    curl_easy_getinfo(easy, CURLINFO_STARTTRANSFER_TIME_T, &ttfb_us);
    r.total_ms = static_cast<double>(total_us) / 1000.0;
    r.ttfb_ms = static_cast<double>(ttfb_us) / 1000.0;
    const bool cut_at_cap = rc == CURLE_WRITE_ERROR && r.truncated;
    if (rc != CURLE_OK && !cut_at_cap) {
      std::string text = t->errbuf[0] != '\0' ? t->errbuf : curl_easy_strerror(rc);
      r.timed_out = rc == CURLE_OPERATION_TIMEDOUT;
      if (r.timed_out && text.find("timed out") == std::string::npos) {
        text = "timed out: " + text;
      }
      r.error = text + " (" + code_name(rc) + ")";
    }
    auto done = std::move(t->done);
    HttpResponse response = std::move(r);
    t.reset();
    done(std::move(response));
  }
}

}  // namespace reflex
