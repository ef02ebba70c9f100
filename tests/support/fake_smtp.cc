#include "tests/support/fake_smtp.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>

namespace reflex::testing {
namespace {

bool iequals(const std::string& a, const std::string& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           return std::tolower(static_cast<unsigned char>(x)) ==
                  std::tolower(static_cast<unsigned char>(y));
         });
}

std::string upper(std::string s) {
  for (char& c : s) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  return s;
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  return -1;
}

std::string base64_decode(const std::string& in) {
  static const std::string kAlphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  uint32_t bits = 0;
  int count = 0;
  for (char c : in) {
    if (c == '=') break;
    const size_t v = kAlphabet.find(c);
    if (v == std::string::npos) continue;
    bits = (bits << 6) | static_cast<uint32_t>(v);
    count += 6;
    if (count >= 8) {
      count -= 8;
      out += static_cast<char>((bits >> count) & 0xFF);
    }
  }
  return out;
}

// "=?charset?B|Q?text?=" decoded onto `out`; false when `word` is not one.
bool decode_word(const std::string& word, std::string& out) {
  if (word.size() < 8 || word.rfind("=?", 0) != 0 || word.substr(word.size() - 2) != "?=") {
    return false;
  }
  const size_t q1 = word.find('?', 2);
  if (q1 == std::string::npos || q1 + 2 >= word.size() || word[q1 + 2] != '?') return false;
  const char enc = static_cast<char>(std::toupper(static_cast<unsigned char>(word[q1 + 1])));
  const std::string text = word.substr(q1 + 3, word.size() - q1 - 5);
  if (enc == 'B') {
    out += base64_decode(text);
    return true;
  }
  if (enc != 'Q') return false;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '_') {
      out += ' ';
    } else if (text[i] == '=' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
               hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return true;
}

// "<addr>" with optional parameters after it; false when malformed.
bool parse_path(const std::string& rest, std::string& address) {
  size_t start = 0;
  while (start < rest.size() && rest[start] == ' ') ++start;
  if (start >= rest.size() || rest[start] != '<') return false;
  const size_t end = rest.find('>', start);
  if (end == std::string::npos) return false;
  address = rest.substr(start + 1, end - start - 1);
  return address.find_first_of(" <\r\n") == std::string::npos;
}

void split_message(FakeSmtp::Message& m) {
  size_t split = m.data.find("\r\n\r\n");
  std::string head;
  if (m.data.rfind("\r\n", 0) == 0) {
    m.body = m.data.substr(2);
  } else if (split == std::string::npos) {
    head = m.data;
  } else {
    head = m.data.substr(0, split + 2);
    m.body = m.data.substr(split + 4);
  }
  size_t pos = 0;
  while (pos < head.size()) {
    size_t eol = head.find("\r\n", pos);
    if (eol == std::string::npos) eol = head.size();
    const std::string line = head.substr(pos, eol - pos);
    pos = eol + 2;
    if (!line.empty() && (line[0] == ' ' || line[0] == '\t') && !m.headers.empty()) {
      m.headers.back().second += line;  // unfolding: the CRLF goes, the space stays
      continue;
    }
    const size_t colon = line.find(':');
    if (colon == std::string::npos) continue;
    std::string value = line.substr(colon + 1);
    value.erase(0, value.find_first_not_of(" \t") == std::string::npos
                       ? value.size()
                       : value.find_first_not_of(" \t"));
    m.headers.emplace_back(line.substr(0, colon), value);
  }
}

}  // namespace

std::string FakeSmtp::Message::header(const std::string& name) const {
  for (const auto& [n, v] : headers) {
    if (iequals(n, name)) return v;
  }
  return "";
}

size_t FakeSmtp::Message::count(const std::string& name) const {
  return static_cast<size_t>(std::count_if(headers.begin(), headers.end(),
                                           [&](const auto& h) { return iequals(h.first, name); }));
}

std::string FakeSmtp::Message::subject() const {
  const std::string raw = header("Subject");
  std::string out;
  size_t i = 0;
  bool last_was_word = false;
  while (i < raw.size()) {
    if (raw.compare(i, 2, "=?") == 0) {
      // The closing "?=" comes after the charset's and the encoding's '?'.
      size_t end = std::string::npos;
      size_t q = raw.find('?', i + 2);
      if (q != std::string::npos) q = raw.find('?', q + 1);
      if (q != std::string::npos) end = raw.find("?=", q + 1);
      if (end != std::string::npos) {
        std::string decoded;
        if (decode_word(raw.substr(i, end + 2 - i), decoded)) {
          out += decoded;
          i = end + 2;
          last_was_word = true;
          continue;
        }
      }
    }
    if (last_was_word && (raw[i] == ' ' || raw[i] == '\t')) {
      size_t next = raw.find_first_not_of(" \t", i);
      if (next != std::string::npos && raw.compare(next, 2, "=?") == 0) {
        i = next;  // white space between encoded-words is not text
        continue;
      }
    }
    last_was_word = false;
    out += raw[i++];
  }
  return out;
}

std::string FakeSmtp::Message::text() const {
  if (!iequals(header("Content-Transfer-Encoding"), "quoted-printable")) return body;
  std::string out;
  for (size_t i = 0; i < body.size(); ++i) {
    if (body[i] == '=' && body.compare(i + 1, 2, "\r\n") == 0) {
      i += 2;  // a soft line break
    } else if (body[i] == '=' && i + 2 < body.size() && hex_value(body[i + 1]) >= 0 &&
               hex_value(body[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(body[i + 1]) * 16 + hex_value(body[i + 2]));
      i += 2;
    } else {
      out += body[i];
    }
  }
  return out;
}

struct FakeSmtp::Session {
  enum class State { kCommand, kAuthPlain, kAuthLoginUser, kAuthLoginPass, kData };
  int fd = -1;
  bool closed = false;
  std::string in;
  State state = State::kCommand;
  std::string login_user;  // during AUTH LOGIN
  std::string auth_user;
  std::string auth_mechanism;
  bool in_transaction = false;
  Message message;  // the transaction's
  bool has_fault = false;
  Fault fault;
  bool bare_line_end = false, eight_bit = false, long_line = false;
};

FakeSmtp::FakeSmtp() {
  listen_on(0);
}

FakeSmtp::~FakeSmtp() {
  down();
}

std::string FakeSmtp::url() const {
  return "smtp://127.0.0.1:" + std::to_string(port_);
}

void FakeSmtp::listen_on(int port) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) throw std::runtime_error("fake SMTP: socket failed");
  const int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  addr.sin_port = htons(static_cast<uint16_t>(port));
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
      ::listen(listen_fd_, 16) != 0) {
    ::close(listen_fd_);
    listen_fd_ = -1;
    throw std::runtime_error("fake SMTP: cannot listen on 127.0.0.1:" + std::to_string(port));
  }
  socklen_t len = sizeof addr;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
  port_ = ntohs(addr.sin_port);
  if (::pipe2(wake_, O_CLOEXEC) != 0) throw std::runtime_error("fake SMTP: pipe failed");
  {
    std::lock_guard lock(mu_);
    stopping_ = false;
  }
  thread_ = std::thread([this] { run(); });
}

void FakeSmtp::down() {
  if (!thread_.joinable()) return;
  {
    std::lock_guard lock(mu_);
    stopping_ = true;
  }
  const char byte = 1;
  (void)!::write(wake_[1], &byte, 1);
  thread_.join();
  ::close(wake_[0]);
  ::close(wake_[1]);
  ::close(listen_fd_);
  listen_fd_ = -1;
}

void FakeSmtp::up() {
  if (!thread_.joinable()) listen_on(port_);
}

void FakeSmtp::require_auth(std::string user, std::string password) {
  std::lock_guard lock(mu_);
  user_ = std::move(user);
  password_ = std::move(password);
}

void FakeSmtp::fail_next(int n, Fault fault) {
  std::lock_guard lock(mu_);
  for (int i = 0; i < n; ++i) faults_.push_back(fault);
}

std::vector<FakeSmtp::Message> FakeSmtp::messages() const {
  std::lock_guard lock(mu_);
  return messages_;
}

bool FakeSmtp::wait_messages(size_t n, std::chrono::milliseconds timeout) const {
  std::unique_lock lock(mu_);
  return cv_.wait_for(lock, timeout, [&] { return messages_.size() >= n; });
}

std::vector<std::string> FakeSmtp::commands() const {
  std::lock_guard lock(mu_);
  return commands_;
}

std::vector<std::string> FakeSmtp::refusals() const {
  std::lock_guard lock(mu_);
  return refusals_;
}

bool FakeSmtp::take_fault(Stage stage, Fault& out) {
  std::lock_guard lock(mu_);
  if (faults_.empty()) return false;
  const bool greeting = faults_.front().stage == Stage::kGreeting;
  if (greeting != (stage == Stage::kGreeting)) return false;
  out = faults_.front();
  faults_.pop_front();
  return true;
}

void FakeSmtp::run() {
  std::vector<std::unique_ptr<Session>> sessions;
  for (;;) {
    std::vector<pollfd> fds = {{wake_[0], POLLIN, 0}, {listen_fd_, POLLIN, 0}};
    for (const auto& s : sessions) fds.push_back({s->fd, POLLIN, 0});
    if (::poll(fds.data(), fds.size(), -1) < 0) continue;
    if (fds[0].revents != 0) break;
    for (size_t i = 0; i < sessions.size(); ++i) {
      if (fds[i + 2].revents == 0) continue;
      Session& s = *sessions[i];
      char buf[4096];
      const ssize_t n = ::recv(s.fd, buf, sizeof buf, 0);
      if (n <= 0) {
        s.closed = true;
        continue;
      }
      s.in.append(buf, static_cast<size_t>(n));
      serve(s);
    }
    if (fds[1].revents & POLLIN) {
      const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
      if (fd >= 0) {
        auto s = std::make_unique<Session>();
        s->fd = fd;
        Fault f;
        if (take_fault(Stage::kGreeting, f)) {
          reply(*s, std::to_string(f.code) + " " + f.text);
          s->closed = true;
        } else {
          reply(*s, "220 fake-smtp ESMTP ready");
        }
        sessions.push_back(std::move(s));
      }
    }
    for (auto& s : sessions) {
      if (s->closed) ::close(s->fd);
    }
    std::erase_if(sessions, [](const auto& s) { return s->closed; });
  }
  for (auto& s : sessions) ::close(s->fd);
}

void FakeSmtp::reply(Session& s, const std::string& line) {
  if (!line.empty() && line[0] >= '4') {
    std::lock_guard lock(mu_);
    refusals_.push_back(line);
  }
  const std::string out = line + "\r\n";
  size_t sent = 0;
  while (sent < out.size()) {
    const ssize_t n = ::send(s.fd, out.data() + sent, out.size() - sent, MSG_NOSIGNAL);
    if (n <= 0) {
      s.closed = true;
      return;
    }
    sent += static_cast<size_t>(n);
  }
}

void FakeSmtp::serve(Session& s) {
  size_t eol;
  while (!s.closed && (eol = s.in.find('\n')) != std::string::npos) {
    std::string line = s.in.substr(0, eol);
    s.in.erase(0, eol + 1);
    const bool crlf = !line.empty() && line.back() == '\r';
    if (crlf) line.pop_back();
    if (s.state != Session::State::kData) {
      {
        std::lock_guard lock(mu_);
        commands_.push_back(line);
      }
      if (s.state == Session::State::kCommand) {
        command(s, line);
      } else {
        auth_step(s, line);
      }
      continue;
    }
    if (crlf && line == ".") {
      end_of_data(s);
      continue;
    }
    if (!crlf || line.find('\r') != std::string::npos) s.bare_line_end = true;
    if (line.size() > 998) s.long_line = true;
    for (char c : line) s.eight_bit = s.eight_bit || static_cast<unsigned char>(c) >= 0x80;
    if (!line.empty() && line[0] == '.') line.erase(0, 1);  // dot-unstuffing
    s.message.data += line + "\r\n";
  }
}

void FakeSmtp::command(Session& s, const std::string& line) {
  const std::string verb = upper(line.substr(0, line.find(' ')));
  const std::string arg =
      line.find(' ') == std::string::npos ? "" : line.substr(line.find(' ') + 1);
  auto reset = [&] {
    s.in_transaction = false;
    s.has_fault = false;
    s.message = Message{};
  };
  if (verb == "EHLO") {
    reset();
    reply(s, "250-fake-smtp greets " + arg);
    reply(s, "250-AUTH PLAIN LOGIN");
    reply(s, "250-SIZE 10485760");
    reply(s, "250 HELP");
  } else if (verb == "HELO") {
    reset();
    reply(s, "250 fake-smtp");
  } else if (verb == "AUTH") {
    if (!s.auth_user.empty()) return reply(s, "503 5.5.1 already authenticated");
    const std::string mech = upper(arg.substr(0, arg.find(' ')));
    const std::string initial =
        arg.find(' ') == std::string::npos ? "" : arg.substr(arg.find(' ') + 1);
    if (mech == "PLAIN") {
      s.auth_mechanism = "PLAIN";
      s.state = Session::State::kAuthPlain;
      if (initial.empty()) return reply(s, "334 ");
      return auth_step(s, initial);
    }
    if (mech == "LOGIN") {
      s.auth_mechanism = "LOGIN";
      if (initial.empty()) {
        s.state = Session::State::kAuthLoginUser;
        return reply(s, "334 VXNlcm5hbWU6");
      }
      s.state = Session::State::kAuthLoginUser;
      return auth_step(s, initial);
    }
    reply(s, "504 5.5.4 unrecognized authentication type");
  } else if (verb == "MAIL") {
    bool need_auth = false;
    {
      std::lock_guard lock(mu_);
      need_auth = !user_.empty();
    }
    if (need_auth && s.auth_user.empty()) return reply(s, "530 5.7.0 Authentication required");
    if (s.in_transaction) return reply(s, "503 5.5.1 nested MAIL command");
    std::string address;
    if (upper(arg.substr(0, 5)) != "FROM:" || !parse_path(arg.substr(5), address)) {
      return reply(s, "501 5.1.7 bad sender address syntax");
    }
    Fault f;
    if (take_fault(Stage::kMail, f)) {
      if (f.stage == Stage::kMail) return reply(s, std::to_string(f.code) + " " + f.text);
      s.has_fault = true;
      s.fault = f;
    }
    s.in_transaction = true;
    s.message.mail_from = address;
    s.message.auth_user = s.auth_user;
    s.message.auth_mechanism = s.auth_user.empty() ? "" : s.auth_mechanism;
    reply(s, "250 2.1.0 Sender OK");
  } else if (verb == "RCPT") {
    if (!s.in_transaction) return reply(s, "503 5.5.1 need MAIL command");
    std::string address;
    if (upper(arg.substr(0, 3)) != "TO:" || !parse_path(arg.substr(3), address) ||
        address.empty()) {
      return reply(s, "501 5.1.3 bad recipient address syntax");
    }
    if (s.has_fault && s.fault.stage == Stage::kRcpt) {
      return reply(s, std::to_string(s.fault.code) + " " + s.fault.text);
    }
    s.message.rcpt_to.push_back(address);
    reply(s, "250 2.1.5 Recipient OK");
  } else if (verb == "DATA") {
    if (!s.in_transaction) return reply(s, "503 5.5.1 need MAIL command");
    if (s.message.rcpt_to.empty()) return reply(s, "503 5.5.1 need RCPT command");
    if (s.has_fault && s.fault.stage == Stage::kData) {
      return reply(s, std::to_string(s.fault.code) + " " + s.fault.text);
    }
    s.state = Session::State::kData;
    s.bare_line_end = s.eight_bit = s.long_line = false;
    reply(s, "354 End data with <CR><LF>.<CR><LF>");
  } else if (verb == "RSET") {
    reset();
    reply(s, "250 2.0.0 OK");
  } else if (verb == "NOOP") {
    reply(s, "250 2.0.0 OK");
  } else if (verb == "QUIT") {
    reply(s, "221 2.0.0 Bye");
    s.closed = true;
  } else if (verb == "STARTTLS") {
    reply(s, "454 4.7.0 TLS not available");
  } else if (verb == "VRFY") {
    reply(s, "252 2.0.0 cannot verify");
  } else {
    reply(s, "502 5.5.2 command not recognized");
  }
}

void FakeSmtp::auth_step(Session& s, const std::string& line) {
  if (line == "*") {
    s.state = Session::State::kCommand;
    return reply(s, "501 5.7.0 authentication cancelled");
  }
  if (s.state == Session::State::kAuthLoginUser) {
    s.login_user = base64_decode(line);
    s.state = Session::State::kAuthLoginPass;
    return reply(s, "334 UGFzc3dvcmQ6");
  }
  std::string user, password;
  if (s.state == Session::State::kAuthPlain) {
    // authzid NUL authcid NUL passwd
    const std::string plain = base64_decode(line);
    const size_t a = plain.find('\0');
    const size_t b = a == std::string::npos ? a : plain.find('\0', a + 1);
    if (b == std::string::npos) {
      s.state = Session::State::kCommand;
      return reply(s, "501 5.5.2 malformed AUTH PLAIN response");
    }
    user = plain.substr(a + 1, b - a - 1);
    password = plain.substr(b + 1);
  } else {
    user = s.login_user;
    password = base64_decode(line);
  }
  s.state = Session::State::kCommand;
  bool ok = true;
  {
    std::lock_guard lock(mu_);
    ok = user_.empty() || (user == user_ && password == password_);
  }
  if (!ok) return reply(s, "535 5.7.8 Authentication credentials invalid");
  s.auth_user = user;
  reply(s, "235 2.7.0 Authentication successful");
}

void FakeSmtp::end_of_data(Session& s) {
  s.state = Session::State::kCommand;
  Message m = std::move(s.message);
  const bool faulted = s.has_fault && s.fault.stage == Stage::kEndOfData;
  const Fault fault = s.fault;
  s.message = Message{};
  s.in_transaction = false;
  s.has_fault = false;
  if (faulted) return reply(s, std::to_string(fault.code) + " " + fault.text);
  if (s.bare_line_end) return reply(s, "550 5.6.11 bare CR or LF: lines must end with CRLF");
  if (s.eight_bit) return reply(s, "554 5.6.1 8-bit data without 8BITMIME");
  if (s.long_line) return reply(s, "554 5.6.0 a line is longer than 998 bytes");
  split_message(m);
  if (m.count("Date") != 1 || m.count("From") != 1) {
    return reply(s, "554 5.6.0 exactly one Date and one From header are required");
  }
  size_t n = 0;
  {
    std::lock_guard lock(mu_);
    messages_.push_back(std::move(m));
    n = messages_.size();
    cv_.notify_all();
  }
  reply(s, "250 2.0.0 OK: queued as " + std::to_string(n));
}

}  // namespace reflex::testing
