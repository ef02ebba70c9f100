#include "hub/incidents/time_zone.h"

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <optional>
#include <sstream>
#include <vector>

namespace reflex::hub::incidents {
namespace {

namespace chr = std::chrono;

constexpr int64_t kDay = 86'400;

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

int64_t days_of(const chr::year_month_day& ymd) {
  return chr::sys_days(ymd).time_since_epoch().count();
}

// ---- POSIX TZ rules (the TZif footer) ----

// A rule date: Jn (1..365, February 29 never counted), n (0..365), or Mm.w.d.
struct RuleDate {
  enum class Kind { kJulianNoLeap, kJulianZero, kMonthWeekDay } kind = Kind::kMonthWeekDay;
  int day = 0;    // Jn / n
  int month = 0;  // Mm.w.d
  int week = 0;   // 1..5, 5 = last
  int weekday = 0;
  int32_t time = 2 * 3600;  // local seconds after midnight; may be negative or past 24h

  // Days since the epoch of the date in `year`.
  int64_t day_in(int year) const {
    const chr::year y(year);
    switch (kind) {
      case Kind::kJulianNoLeap: {
        const int64_t jan1 = days_of(y / chr::January / 1);
        return jan1 + day - 1 + (y.is_leap() && day >= 60 ? 1 : 0);
      }
      case Kind::kJulianZero:
        return days_of(y / chr::January / 1) + day;
      case Kind::kMonthWeekDay: {
        const chr::month m(static_cast<unsigned>(month));
        const chr::weekday wd(static_cast<unsigned>(weekday));
        if (week == 5) {
          return chr::sys_days(y / m / wd[chr::last]).time_since_epoch().count();
        }
        return chr::sys_days(y / m / wd[static_cast<unsigned>(week)]).time_since_epoch().count();
      }
    }
    return 0;
  }
};

struct PosixRule {
  int32_t std_offset = 0;  // seconds east of UTC
  bool has_dst = false;
  int32_t dst_offset = 0;
  RuleDate start, end;

  int32_t offset_at(int64_t t) const {
    if (!has_dst) return std_offset;
    const int year =
        static_cast<int>(chr::year_month_day(chr::sys_days(chr::days(floor_div(t, kDay)))).year());
    // Transitions of the years around t, in UTC; the last one at or before t decides.
    std::array<std::pair<int64_t, bool>, 6> tr;
    for (int i = 0; i < 3; ++i) {
      const int y = year - 1 + i;
      tr[2 * i] = {start.day_in(y) * kDay + start.time - std_offset, true};
      tr[2 * i + 1] = {end.day_in(y) * kDay + end.time - dst_offset, false};
    }
    std::sort(tr.begin(), tr.end());
    bool dst = !tr.front().second;
    for (const auto& [at, to_dst] : tr) {
      if (at > t) break;
      dst = to_dst;
    }
    return dst ? dst_offset : std_offset;
  }
};

class RuleParser {
 public:
  explicit RuleParser(std::string_view s) : s_(s) {}

  std::optional<PosixRule> parse() {
    PosixRule r;
    if (!name()) return std::nullopt;
    auto std_off = offset();
    if (!std_off) return std::nullopt;
    r.std_offset = -*std_off;  // POSIX offsets are west of UTC
    if (done()) return r;
    if (!name()) return std::nullopt;
    r.has_dst = true;
    r.dst_offset = r.std_offset + 3600;
    if (!done() && peek() != ',') {
      auto dst_off = offset();
      if (!dst_off) return std::nullopt;
      r.dst_offset = -*dst_off;
    }
    if (done()) {
      // No rule: the US rule, as glibc assumes. zic never writes such a footer.
      r.start = {RuleDate::Kind::kMonthWeekDay, 0, 3, 2, 0, 2 * 3600};
      r.end = {RuleDate::Kind::kMonthWeekDay, 0, 11, 1, 0, 2 * 3600};
      return r;
    }
    if (!take(',')) return std::nullopt;
    auto start = date();
    if (!start || !take(',')) return std::nullopt;
    auto end = date();
    if (!end || !done()) return std::nullopt;
    r.start = *start;
    r.end = *end;
    return r;
  }

 private:
  bool done() const { return i_ >= s_.size(); }
  char peek() const { return done() ? '\0' : s_[i_]; }
  bool take(char c) {
    if (peek() != c) return false;
    ++i_;
    return true;
  }
  static bool alpha(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
  static bool digit(char c) { return c >= '0' && c <= '9'; }

  bool name() {
    if (take('<')) {
      while (!done() && peek() != '>') ++i_;
      return take('>');
    }
    const size_t from = i_;
    while (!done() && alpha(peek())) ++i_;
    return i_ - from >= 3;
  }
  std::optional<int> number(int max) {
    if (!digit(peek())) return std::nullopt;
    int v = 0;
    while (digit(peek())) {
      v = v * 10 + (s_[i_++] - '0');
      if (v > max) return std::nullopt;
    }
    return v;
  }
  // [+-]hh[:mm[:ss]] in seconds; RFC 8536 allows hours up to 167 in rule times.
  std::optional<int32_t> offset() {
    int sign = 1;
    if (take('-')) {
      sign = -1;
    } else {
      take('+');
    }
    auto h = number(167);
    if (!h) return std::nullopt;
    int32_t v = *h * 3600;
    if (take(':')) {
      auto m = number(59);
      if (!m) return std::nullopt;
      v += *m * 60;
      if (take(':')) {
        auto sec = number(59);
        if (!sec) return std::nullopt;
        v += *sec;
      }
    }
    return sign * v;
  }
  std::optional<RuleDate> date() {
    RuleDate d;
    if (take('J')) {
      auto n = number(365);
      if (!n || *n < 1) return std::nullopt;
      d.kind = RuleDate::Kind::kJulianNoLeap;
      d.day = *n;
    } else if (take('M')) {
      auto m = number(12);
      if (!m || *m < 1 || !take('.')) return std::nullopt;
      auto w = number(5);
      if (!w || *w < 1 || !take('.')) return std::nullopt;
      auto wd = number(6);
      if (!wd) return std::nullopt;
      d.kind = RuleDate::Kind::kMonthWeekDay;
      d.month = *m;
      d.week = *w;
      d.weekday = *wd;
    } else {
      auto n = number(365);
      if (!n) return std::nullopt;
      d.kind = RuleDate::Kind::kJulianZero;
      d.day = *n;
    }
    if (take('/')) {
      auto t = offset();
      if (!t) return std::nullopt;
      d.time = *t;
    }
    return d;
  }

  std::string_view s_;
  size_t i_ = 0;
};

// ---- TZif ----

class Bytes {
 public:
  explicit Bytes(std::string_view b) : b_(b) {}
  bool has(size_t n) const { return b_.size() - pos_ >= n; }
  size_t pos() const { return pos_; }
  void skip(size_t n) { pos_ += n; }
  uint32_t u32() {
    uint32_t v = 0;
    for (int i = 0; i < 4; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_++]);
    return v;
  }
  int64_t i64() {
    uint64_t v = 0;
    for (int i = 0; i < 8; ++i) v = (v << 8) | static_cast<uint8_t>(b_[pos_++]);
    return static_cast<int64_t>(v);
  }
  uint8_t u8() { return static_cast<uint8_t>(b_[pos_++]); }
  std::string_view rest() const { return b_.substr(pos_); }

 private:
  std::string_view b_;
  size_t pos_ = 0;
};

struct Header {
  char version = 0;
  uint32_t isutcnt = 0, isstdcnt = 0, leapcnt = 0, timecnt = 0, typecnt = 0, charcnt = 0;

  size_t data_size(size_t time_size) const {
    return timecnt * time_size + timecnt + typecnt * 6 + charcnt + leapcnt * (time_size + 4) +
           isstdcnt + isutcnt;
  }
};

std::optional<Header> read_header(Bytes& in) {
  if (!in.has(44) || in.rest().substr(0, 4) != "TZif") return std::nullopt;
  Header h;
  in.skip(4);
  h.version = static_cast<char>(in.u8());
  in.skip(15);
  h.isutcnt = in.u32();
  h.isstdcnt = in.u32();
  h.leapcnt = in.u32();
  h.timecnt = in.u32();
  h.typecnt = in.u32();
  h.charcnt = in.u32();
  return h;
}

bool valid_name(const std::string& name) {
  if (name.empty() || name.front() == '/' || name.back() == '/') return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '_' || c == '-' || c == '+' || c == '/';
    if (!ok) return false;
  }
  std::stringstream parts(name);
  std::string part;
  while (std::getline(parts, part, '/')) {
    if (part.empty() || part == "." || part == "..") return false;
  }
  return true;
}

}  // namespace

struct TimeZone::Data {
  std::string name;
  int32_t initial_offset = 0;        // before the first transition
  std::vector<int64_t> transitions;  // ascending UTC seconds
  std::vector<int32_t> offsets;      // in force from each transition on
  std::optional<PosixRule> footer;   // after the last transition
};

Result<TimeZone> TimeZone::from_tzif(std::string name, std::string_view bytes) {
  auto bad = [&](const std::string& what) {
    return Status::error("bad_tzif", "time zone '" + name + "': " + what);
  };
  Bytes in(bytes);
  auto h = read_header(in);
  if (!h) return bad("not a TZif file");
  size_t time_size = 4;
  if (h->version >= '2') {
    // Skip the 32-bit block: version 2+ repeats everything with 64-bit times.
    if (!in.has(h->data_size(4))) return bad("truncated");
    in.skip(h->data_size(4));
    h = read_header(in);
    if (!h) return bad("second header missing");
    time_size = 8;
  }
  if (h->leapcnt != 0) return bad("counts leap seconds; use the zone without 'right/'");
  if (h->typecnt == 0) return bad("no local time types");
  if ((h->isstdcnt != 0 && h->isstdcnt != h->typecnt) ||
      (h->isutcnt != 0 && h->isutcnt != h->typecnt)) {
    return bad("inconsistent counts");
  }
  if (!in.has(h->data_size(time_size))) return bad("truncated");

  auto data = std::make_shared<Data>();
  data->name = name;
  std::vector<int64_t> times(h->timecnt);
  for (auto& t : times) t = time_size == 8 ? in.i64() : static_cast<int32_t>(in.u32());
  std::vector<uint8_t> type_of(h->timecnt);
  for (auto& idx : type_of) {
    idx = in.u8();
    if (idx >= h->typecnt) return bad("transition names a missing local time type");
  }
  std::vector<int32_t> type_offset(h->typecnt);
  for (auto& off : type_offset) {
    off = static_cast<int32_t>(in.u32());
    in.skip(2);  // isdst, abbreviation index: not needed
    if (off <= -25 * 3600 || off >= 26 * 3600) return bad("offset out of range");
  }
  in.skip(h->charcnt + h->isstdcnt + h->isutcnt);
  for (size_t i = 1; i < times.size(); ++i) {
    if (times[i] <= times[i - 1]) return bad("transitions out of order");
  }
  data->initial_offset = type_offset[0];
  data->transitions = std::move(times);
  for (uint8_t idx : type_of) data->offsets.push_back(type_offset[idx]);

  if (time_size == 8) {
    const std::string_view rest = in.rest();
    if (rest.size() < 2 || rest.front() != '\n') return bad("footer missing");
    const size_t end = rest.find('\n', 1);
    if (end == std::string_view::npos) return bad("footer not terminated");
    const std::string_view tz = rest.substr(1, end - 1);
    if (!tz.empty()) {
      data->footer = RuleParser(tz).parse();
      if (!data->footer) return bad("cannot read its rule '" + std::string(tz) + "'");
    }
  }
  return TimeZone(std::move(data));
}

Result<TimeZone> TimeZone::load(const std::string& name, const std::string& zoneinfo_dir) {
  if (!valid_name(name)) {
    return Status::error("unknown_time_zone",
                         "'" + name + "' is not a time zone name like Europe/Berlin");
  }
  const std::string path = zoneinfo_dir + "/" + name;
  std::ifstream file(path, std::ios::binary);
  if (!file) {
    return Status::error("unknown_time_zone",
                         "unknown time zone '" + name + "' (no file " + path + ")");
  }
  std::ostringstream bytes;
  bytes << file.rdbuf();
  if (file.bad()) return Status::error("io", "cannot read " + path);
  return from_tzif(name, bytes.str());
}

TimeZone TimeZone::utc() {
  auto data = std::make_shared<Data>();
  data->name = "UTC";
  return TimeZone(std::move(data));
}

const std::string& TimeZone::name() const {
  return data_->name;
}

int32_t TimeZone::offset_at(int64_t t) const {
  const Data& d = *data_;
  if (d.transitions.empty() || t < d.transitions.front()) {
    if (d.transitions.empty() && d.footer) return d.footer->offset_at(t);
    return d.initial_offset;
  }
  if (t >= d.transitions.back() && d.footer) return d.footer->offset_at(t);
  const auto it = std::upper_bound(d.transitions.begin(), d.transitions.end(), t);
  return d.offsets[static_cast<size_t>(it - d.transitions.begin()) - 1];
}

int64_t TimeZone::to_utc(int64_t local) const {
  // Offsets a day either side of the instant: zones move by at most a few hours, and no
  // zone changes its offset twice within two days.
  const int32_t before = offset_at(local - kDay);
  const int32_t after = offset_at(local + kDay);
  const int64_t a = local - before;
  const int64_t b = local - after;
  const bool a_valid = offset_at(a) == before;
  const bool b_valid = offset_at(b) == after;
  if (a_valid && b_valid) return std::min(a, b);  // the repeated hour: its first occurrence
  if (a_valid) return a;
  if (b_valid) return b;
  // Skipped by a jump forward: the jump happens in (b, a]; find its instant.
  int64_t lo = std::min(a, b);
  int64_t hi = std::max(a, b);
  const int32_t before_jump = offset_at(lo);
  while (hi - lo > 1) {
    const int64_t mid = lo + (hi - lo) / 2;
    (offset_at(mid) == before_jump ? lo : hi) = mid;
  }
  return hi;
}

std::string format_local_minute(const TimeZone& zone, int64_t utc_seconds) {
  const int64_t local = zone.to_local(utc_seconds);
  const int64_t days = floor_div(local, kDay);
  const int64_t secs = local - days * kDay;
  const chr::year_month_day ymd{chr::sys_days(chr::days(days))};
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%04d-%02u-%02u %02d:%02d", static_cast<int>(ymd.year()),
                static_cast<unsigned>(ymd.month()), static_cast<unsigned>(ymd.day()),
                static_cast<int>(secs / 3600), static_cast<int>(secs / 60 % 60));
  return buf;
}

}  // namespace reflex::hub::incidents
