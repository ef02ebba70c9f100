#include "hub/integrations/mail_message.h"

#include <algorithm>
#include <cctype>
#include <cstdio>
#include <ctime>

#include "hub/integrations/vendor_http.h"

namespace reflex::hub {
namespace {

constexpr char kHex[] = "0123456789ABCDEF";
constexpr size_t kMaxLine = 998;   // RFC 5322 2.1.1, without the CRLF
constexpr size_t kQpLine = 76;     // RFC 2045 6.7 (5)
constexpr size_t kWordBytes = 36;  // UTF-8 bytes per encoded-word: 48 base64 chars
constexpr size_t kPlainSubject = 78;

bool utf8_start(unsigned char c) {
  return (c & 0xC0) != 0x80;
}

void hex_escape(std::string& out, char prefix, unsigned char c) {
  out += prefix;
  out += kHex[c >> 4];
  out += kHex[c & 15];
}

// The lines of `text` split at CRLF, CR or LF (line endings dropped); a final line
// ending gives no empty last line.
std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> out;
  size_t start = 0;
  for (size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '\r' && text[i] != '\n') continue;
    out.push_back(text.substr(start, i - start));
    if (text[i] == '\r' && i + 1 < text.size() && text[i + 1] == '\n') ++i;
    start = i + 1;
  }
  if (start < text.size()) out.push_back(text.substr(start));
  return out;
}

// `addresses` for a To header, folded onto continuation lines when long.
std::string address_list(const std::vector<std::string>& addresses) {
  size_t total = 0;
  for (const auto& a : addresses) total += a.size() + 2;
  const std::string sep = total > 70 ? ",\r\n " : ", ";
  std::string out;
  for (const auto& a : addresses) out += (out.empty() ? "" : sep) + a;
  return out;
}

}  // namespace

std::string rfc5322_date(int64_t epoch_ms) {
  static constexpr const char* kDays[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};
  static constexpr const char* kMonths[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
                                            "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
  const std::time_t seconds = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&seconds, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%s, %02d %s %04d %02d:%02d:%02d +0000", kDays[tm.tm_wday],
                tm.tm_mday, kMonths[tm.tm_mon], tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
                tm.tm_sec);
  return buf;
}

std::string encode_header_text(std::string_view text) {
  std::string clean(text);
  for (char& c : clean) {
    if (c == '\r' || c == '\n') c = ' ';
  }
  bool plain = clean.size() <= kPlainSubject;
  for (char c : clean) {
    const auto u = static_cast<unsigned char>(c);
    plain = plain && u >= 0x20 && u < 0x7f;
  }
  // A plain text that looks like an encoded-word would be decoded by readers: encode it.
  if (plain && clean.find("=?") == std::string::npos) return clean;
  std::string out;
  size_t start = 0;
  while (start < clean.size()) {
    size_t end = std::min(clean.size(), start + kWordBytes);
    while (end < clean.size() && end > start + 1 &&
           !utf8_start(static_cast<unsigned char>(clean[end]))) {
      --end;  // whole characters only
    }
    if (!out.empty()) out += "\r\n ";
    out += "=?UTF-8?B?" + base64_encode(std::string_view(clean).substr(start, end - start)) + "?=";
    start = end;
  }
  return out;
}

std::string mail_message_id(std::string_view idempotency_key, std::string_view from) {
  std::string left = "reflex.";
  for (char c : idempotency_key) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_') {
      left += c;
    } else {
      hex_escape(left, '=', u);
    }
  }
  const size_t at = from.rfind('@');
  const std::string_view domain = at == std::string_view::npos || at + 1 == from.size()
                                      ? "reflex.invalid"
                                      : from.substr(at + 1);
  return "<" + left + "@" + std::string(domain) + ">";
}

std::string crlf_lines(std::string_view text) {
  std::string out;
  for (auto line : lines_of(text)) {
    out += line;
    out += "\r\n";
  }
  return out;
}

std::string quoted_printable(std::string_view text) {
  std::string out;
  for (auto line : lines_of(text)) {
    size_t width = 0;  // of the encoded line so far
    for (size_t i = 0; i < line.size(); ++i) {
      const auto u = static_cast<unsigned char>(line[i]);
      const bool last = i + 1 == line.size();
      std::string token;
      if ((u >= 33 && u <= 126 && u != '=') || ((u == ' ' || u == '\t') && !last)) {
        token = static_cast<char>(u);
      } else {
        hex_escape(token, '=', u);
      }
      // Room is kept for the '=' of a soft break.
      if (width + token.size() > kQpLine - 1) {
        out += "=\r\n";
        width = 0;
      }
      out += token;
      width += token.size();
    }
    out += "\r\n";
  }
  return out;
}

bool is_7bit(std::string_view text) {
  for (auto line : lines_of(text)) {
    if (line.size() > kMaxLine) return false;
    for (char c : line) {
      const auto u = static_cast<unsigned char>(c);
      if (u == 0 || u >= 0x80) return false;
    }
  }
  return true;
}

std::string build_mail_message(const MailMessage& m) {
  const bool seven = is_7bit(m.body);
  std::string out;
  out += "Date: " + rfc5322_date(m.date_ms) + "\r\n";
  out += "From: " + m.from + "\r\n";
  out += "To: " + address_list(m.to) + "\r\n";
  out += "Subject: " + encode_header_text(m.subject) + "\r\n";
  out += "Message-ID: " + mail_message_id(m.idempotency_key, m.from) + "\r\n";
  out += "MIME-Version: 1.0\r\n";
  out += "Content-Type: text/plain; charset=utf-8\r\n";
  out +=
      std::string("Content-Transfer-Encoding: ") + (seven ? "7bit" : "quoted-printable") + "\r\n";
  out += "\r\n";
  out += seven ? crlf_lines(m.body) : quoted_printable(m.body);
  return out;
}

bool plain_mail_address(std::string_view a) {
  if (a.empty() || a.size() > 254) return false;
  const size_t at = a.find('@');
  if (at == 0 || at == std::string_view::npos || at + 1 == a.size() ||
      a.find('@', at + 1) != std::string_view::npos) {
    return false;
  }
  for (char c : a) {
    const auto u = static_cast<unsigned char>(c);
    if (u <= 0x20 || u == 0x7f ||
        std::string_view(",<>\"()[];:\\").find(c) != std::string_view::npos) {
      return false;
    }
  }
  return true;
}

}  // namespace reflex::hub
