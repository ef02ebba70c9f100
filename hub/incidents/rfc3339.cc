#include "hub/incidents/rfc3339.h"

#include <cstdio>

namespace reflex::hub::incidents {
namespace {

// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's days_from_civil).
int64_t days_from_civil(int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const int64_t era = (y >= 0 ? y : y - 399) / 400;
  const unsigned yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<int64_t>(doe) - 719468;
}

struct Civil {
  int64_t y;
  unsigned m, d;
};

Civil civil_from_days(int64_t z) {
  z += 719468;
  const int64_t era = (z >= 0 ? z : z - 146096) / 146097;
  const unsigned doe = static_cast<unsigned>(z - era * 146097);
  const unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
  const unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
  const unsigned mp = (5 * doy + 2) / 153;
  const unsigned d = doy - (153 * mp + 2) / 5 + 1;
  const unsigned m = mp < 10 ? mp + 3 : mp - 9;
  return {static_cast<int64_t>(yoe) + era * 400 + (m <= 2), m, d};
}

bool leap(int64_t y) {
  return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

unsigned days_in_month(int64_t y, unsigned m) {
  static constexpr unsigned kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  return m == 2 && leap(y) ? 29 : kDays[m - 1];
}

// A cursor over the text; each read fails softly so the caller names what was wrong.
class Reader {
 public:
  explicit Reader(std::string_view s) : s_(s) {}
  bool digits(size_t n, int64_t& out) {
    if (pos_ + n > s_.size()) return false;
    int64_t v = 0;
    for (size_t i = 0; i < n; ++i) {
      const char c = s_[pos_ + i];
      if (c < '0' || c > '9') return false;
      v = v * 10 + (c - '0');
    }
    pos_ += n;
    out = v;
    return true;
  }
  bool take(char c) {
    if (pos_ < s_.size() && s_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  bool take_any(std::string_view chars) {
    if (pos_ < s_.size() && chars.find(s_[pos_]) != std::string_view::npos) {
      ++pos_;
      return true;
    }
    return false;
  }
  char peek() const { return pos_ < s_.size() ? s_[pos_] : '\0'; }
  bool at_end() const { return pos_ == s_.size(); }
  void skip() { ++pos_; }

 private:
  std::string_view s_;
  size_t pos_ = 0;
};

}  // namespace

Result<int64_t> parse_rfc3339_ms(std::string_view text, std::string_view field) {
  auto bad = [&](const char* what) -> Status {
    return Status::error("bad_request", std::string(field) + ": \"" + std::string(text) +
                                            "\" is not an RFC 3339 date-time (" + what + ")");
  };
  Reader r(text);
  int64_t year = 0, month = 0, day = 0, hour = 0, minute = 0, second = 0;
  if (!r.digits(4, year) || !r.take('-') || !r.digits(2, month) || !r.take('-') ||
      !r.digits(2, day)) {
    return bad("expected YYYY-MM-DD");
  }
  if (!r.take_any("Tt ")) return bad("expected T between date and time");
  if (!r.digits(2, hour) || !r.take(':') || !r.digits(2, minute) || !r.take(':') ||
      !r.digits(2, second)) {
    return bad("expected hh:mm:ss");
  }
  int64_t millis = 0;
  if (r.take('.')) {
    int64_t digit = 0;
    int n = 0;
    while (r.peek() >= '0' && r.peek() <= '9') {
      (void)r.digits(1, digit);
      if (n < 3) millis = millis * 10 + digit;
      ++n;
    }
    if (n == 0) return bad("expected digits after the decimal point");
    for (; n < 3; ++n) millis *= 10;
  }
  int64_t offset_min = 0;
  if (r.take_any("Zz")) {
    // UTC
  } else if (r.peek() == '+' || r.peek() == '-') {
    const int sign = r.peek() == '-' ? -1 : 1;
    r.skip();
    int64_t oh = 0, om = 0;
    if (!r.digits(2, oh)) return bad("expected a zone offset +hh:mm");
    (void)r.take(':');
    if (!r.digits(2, om)) return bad("expected a zone offset +hh:mm");
    if (oh > 23 || om > 59) return bad("zone offset out of range");
    offset_min = sign * (oh * 60 + om);
  } else if (!r.at_end()) {
    return bad("expected Z or a zone offset");
  }
  if (!r.at_end()) return bad("unexpected text after the date-time");
  if (year < 1) return bad("year out of range");
  if (month < 1 || month > 12) return bad("month out of range");
  if (day < 1 || day > days_in_month(year, static_cast<unsigned>(month))) {
    return bad("day out of range");
  }
  if (hour > 23) return bad("hour out of range");
  if (minute > 59) return bad("minute out of range");
  if (second > 59) return bad("second out of range");
  const int64_t days =
      days_from_civil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_min * 60;
  return seconds * 1000 + millis;
}

std::string format_rfc3339_ms(int64_t ms) {
  int64_t secs = ms / 1000;
  int64_t rem = ms % 1000;
  if (rem < 0) {
    rem += 1000;
    --secs;
  }
  int64_t days = secs / 86400;
  int64_t sod = secs % 86400;
  if (sod < 0) {
    sod += 86400;
    --days;
  }
  const Civil c = civil_from_days(days);
  char buf[48];
  int n = std::snprintf(buf, sizeof buf, "%04lld-%02u-%02uT%02lld:%02lld:%02lld",
                        static_cast<long long>(c.y), c.m, c.d, static_cast<long long>(sod / 3600),
                        static_cast<long long>(sod / 60 % 60), static_cast<long long>(sod % 60));
  if (rem != 0) {
    n += std::snprintf(buf + n, sizeof buf - static_cast<size_t>(n), ".%03lld",
                       static_cast<long long>(rem));
  }
  return std::string(buf, static_cast<size_t>(n)) + "Z";
}

}  // namespace reflex::hub::incidents
