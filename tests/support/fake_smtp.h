// Test support: a fake SMTP server on 127.0.0.1 (see the vendor documentation,
// https://curl.se/libcurl/c/smtp-mail.html, RFC 5321 and RFC 5322), real TCP, one thread serving
// every connection with poll(). It speaks what a submission client needs: the 220 greeting, EHLO
// (advertising AUTH PLAIN LOGIN and SIZE; no STARTTLS, no 8BITMIME), HELO, AUTH PLAIN and AUTH
// LOGIN (with or without an initial response), MAIL FROM, RCPT TO, DATA (dot-unstuffed, ended by a
// lone "."), RSET, NOOP, QUIT. It enforces:
//  - the command order (MAIL inside a transaction, RCPT before MAIL, DATA before RCPT:
//    503), and AUTH before MAIL when require_auth() was called (530; bad credentials 535);
//  - the message: lines end with CRLF (a bare CR or LF is 550), 7-bit only since
//    8BITMIME is not offered (554), lines of at most 998 bytes (554), and exactly one Date
//    and one From header (RFC 5322 3.6, 554);
// and keeps each delivered message with its envelope, parsed headers and body. It can be
// told to answer the next transactions with a reply of choice at a given stage, and to
// refuse connections by closing the listener.
#pragma once

#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace reflex::testing {

class FakeSmtp {
 public:
  struct Message {
    std::string mail_from;             // the reverse-path, without brackets
    std::vector<std::string> rcpt_to;  // forward-paths, without brackets
    std::string auth_user;             // "" when the session did not authenticate
    std::string auth_mechanism;        // "PLAIN", "LOGIN" or ""
    std::string data;                  // as received after unstuffing, CRLF lines
    std::vector<std::pair<std::string, std::string>> headers;  // unfolded, in order
    std::string body;                                          // after the empty line, as sent

    // The first header called `name` (case-insensitive); "" when absent.
    std::string header(const std::string& name) const;
    size_t count(const std::string& name) const;
    // The Subject with RFC 2047 encoded-words decoded.
    std::string subject() const;
    // The body decoded (quoted-printable when the message says so), CRLF kept.
    std::string text() const;
  };
  enum class Stage { kGreeting, kMail, kRcpt, kData, kEndOfData };
  struct Fault {
    Stage stage = Stage::kMail;
    int code = 451;
    std::string text = "4.3.0 try again later";
  };

  // Serves on a free port; throws if it cannot.
  FakeSmtp();
  ~FakeSmtp();
  FakeSmtp(const FakeSmtp&) = delete;
  FakeSmtp& operator=(const FakeSmtp&) = delete;

  int port() const { return port_; }
  // "smtp://127.0.0.1:<port>"
  std::string url() const;

  // From now on MAIL needs AUTH with these credentials.
  void require_auth(std::string user, std::string password);
  // The next `n` transactions (kGreeting: connections) get `fault` at its stage: the
  // reply "<code> <text>" instead of the usual one (a greeting fault then closes).
  void fail_next(int n, Fault fault);
  // Stops listening (connections are refused) / listens again on the same port.
  void down();
  void up();

  std::vector<Message> messages() const;
  bool wait_messages(size_t n, std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;
  // Every command line received, oldest first (AUTH payloads included).
  std::vector<std::string> commands() const;
  // Replies of 400 and above sent, oldest first ("451 4.3.0 try again later").
  std::vector<std::string> refusals() const;

 private:
  struct Session;
  void listen_on(int port);
  void run();
  void serve(Session& s);  // processes complete lines of s's input
  void reply(Session& s, const std::string& line);
  void command(Session& s, const std::string& line);
  void auth_step(Session& s, const std::string& line);
  void end_of_data(Session& s);
  bool take_fault(Stage stage, Fault& out);

  int port_ = 0;
  int listen_fd_ = -1;
  int wake_[2] = {-1, -1};
  std::thread thread_;
  bool stopping_ = false;  // guarded by mu_

  mutable std::mutex mu_;
  mutable std::condition_variable cv_;
  std::string user_, password_;  // required credentials; "" when not required
  std::deque<Fault> faults_;
  std::vector<Message> messages_;
  std::vector<std::string> commands_;
  std::vector<std::string> refusals_;
};

}  // namespace reflex::testing
