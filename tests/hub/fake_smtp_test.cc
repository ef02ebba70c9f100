// The fake SMTP server (tests/support/fake_smtp.h) holds the rules the email tests rely
// on: spoken to by hand over a real socket, it accepts a well-formed session (AUTH
// PLAIN, dot-unstuffing, RSET, NOOP) and refuses what a wrong client would send.
#include "tests/support/fake_smtp.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "hub/integrations/vendor_http.h"

using reflex::testing::FakeSmtp;

namespace {

// A blocking line client; each call sends a line (unless empty) and reads one reply,
// multi-line replies joined by "\n".
class Client {
 public:
  explicit Client(int port) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in addr{};
    addr.sin_family = AF_INET;
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    addr.sin_port = htons(static_cast<uint16_t>(port));
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0);
    timeval tv{.tv_sec = 10, .tv_usec = 0};
    ::setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  }
  ~Client() { ::close(fd_); }

  void send_raw(const std::string& bytes) {
    REQUIRE(::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL) ==
            static_cast<ssize_t>(bytes.size()));
  }
  std::string say(const std::string& line) {
    if (!line.empty()) send_raw(line + "\r\n");
    return reply();
  }
  std::string reply() {
    std::string out;
    for (;;) {
      const std::string line = read_line();
      out += (out.empty() ? "" : "\n") + line;
      if (line.size() < 4 || line[3] != '-') return out;
    }
  }

 private:
  std::string read_line() {
    for (;;) {
      if (auto eol = buf_.find("\r\n"); eol != std::string::npos) {
        std::string line = buf_.substr(0, eol);
        buf_.erase(0, eol + 2);
        return line;
      }
      char chunk[512];
      const ssize_t n = ::recv(fd_, chunk, sizeof chunk, 0);
      if (n <= 0) return "";
      buf_.append(chunk, static_cast<size_t>(n));
    }
  }
  int fd_ = -1;
  std::string buf_;
};

std::string code(const std::string& reply) {
  return reply.substr(0, 3);
}

}  // namespace

TEST_CASE("the fake SMTP server takes a session with AUTH PLAIN and unstuffs dots",
          "[email][fake]") {
  FakeSmtp fake;
  fake.require_auth("reflex", "pw");
  Client c(fake.port());
  CHECK(code(c.reply()) == "220");
  const std::string ehlo = c.say("EHLO client.example.com");
  CHECK(ehlo.find("250-AUTH PLAIN LOGIN") != std::string::npos);
  CHECK(ehlo.find("STARTTLS") == std::string::npos);
  CHECK(code(c.say("MAIL FROM:<reflex@example.com>")) == "530");
  CHECK(code(c.say("AUTH PLAIN " + reflex::hub::base64_encode(std::string("\0reflex\0no", 10)))) ==
        "535");
  CHECK(code(c.say("AUTH PLAIN")) == "334");
  CHECK(code(c.say(reflex::hub::base64_encode(std::string("\0reflex\0pw", 10)))) == "235");
  CHECK(code(c.say("NOOP")) == "250");
  CHECK(code(c.say("RCPT TO:<a@example.com>")) == "503");  // no MAIL yet
  CHECK(code(c.say("MAIL FROM:<reflex@example.com> SIZE=100")) == "250");
  CHECK(code(c.say("MAIL FROM:<reflex@example.com>")) == "503");  // nested
  CHECK(code(c.say("RSET")) == "250");
  CHECK(code(c.say("DATA")) == "503");
  CHECK(code(c.say("MAIL FROM:<reflex@example.com>")) == "250");
  CHECK(code(c.say("RCPT TO:<a@example.com>")) == "250");
  CHECK(code(c.say("DATA")) == "354");
  c.send_raw(
      "Date: Thu, 26 Nov 2026 15:41:50 +0000\r\nFrom: reflex@example.com\r\n"
      "Subject: =?UTF-8?B?U3TDtnJ1bmc=?=\r\n =?UTF-8?Q?_heute?=\r\n\r\n"
      "..\r\n...x\r\nend\r\n");
  CHECK(code(c.say(".")) == "250");
  CHECK(code(c.say("QUIT")) == "221");
  REQUIRE(fake.messages().size() == 1);
  const auto m = fake.messages()[0];
  CHECK(m.mail_from == "reflex@example.com");
  CHECK(m.rcpt_to == std::vector<std::string>{"a@example.com"});
  CHECK(m.auth_user == "reflex");
  CHECK(m.auth_mechanism == "PLAIN");
  CHECK(m.subject() == "Störung heute");
  CHECK(m.body == ".\r\n..x\r\nend\r\n");
}

TEST_CASE("the fake SMTP server refuses bare line feeds, 8-bit data and a message without Date",
          "[email][fake]") {
  FakeSmtp fake;
  Client c(fake.port());
  c.reply();
  c.say("HELO client");
  auto send = [&](const std::string& data) {
    REQUIRE(code(c.say("MAIL FROM:<r@example.com>")) == "250");
    REQUIRE(code(c.say("RCPT TO:<a@example.com>")) == "250");
    REQUIRE(code(c.say("DATA")) == "354");
    c.send_raw(data);
    return c.say(".");
  };
  const std::string head = "Date: Thu, 26 Nov 2026 15:41:50 +0000\r\nFrom: r@example.com\r\n\r\n";
  CHECK(code(send(head + "one\ntwo\r\n")) == "550");
  CHECK(code(send(head + "grüße\r\n")) == "554");
  CHECK(code(send("From: r@example.com\r\n\r\nbody\r\n")) == "554");
  CHECK(code(send(head + "fine\r\n")) == "250");
  CHECK(fake.messages().size() == 1);
}

TEST_CASE("the fake SMTP server answers the next transactions with the fault it is given",
          "[email][fake]") {
  FakeSmtp fake;
  fake.fail_next(1, {.stage = FakeSmtp::Stage::kGreeting, .code = 421, .text = "4.3.2 busy"});
  {
    Client c(fake.port());
    CHECK(c.reply() == "421 4.3.2 busy");
  }
  fake.fail_next(1, {.stage = FakeSmtp::Stage::kData, .code = 554, .text = "5.7.1 no"});
  Client c(fake.port());
  CHECK(code(c.reply()) == "220");
  c.say("EHLO x");
  CHECK(code(c.say("MAIL FROM:<r@example.com>")) == "250");
  CHECK(code(c.say("RCPT TO:<a@example.com>")) == "250");
  CHECK(c.say("DATA") == "554 5.7.1 no");
  CHECK(fake.refusals() == std::vector<std::string>{"421 4.3.2 busy", "554 5.7.1 no"});
}
