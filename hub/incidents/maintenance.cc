#include "hub/incidents/maintenance.h"

#include <cctype>
#include <chrono>
#include <cstdio>

#include "common/duration.h"

namespace reflex::hub::incidents {
namespace {

namespace chr = std::chrono;

constexpr int64_t kDaySec = 86'400;
constexpr int32_t kMaxMinutes = 7 * 24 * 60;
constexpr const char* kDayNames[] = {"sunday",   "monday", "tuesday", "wednesday",
                                     "thursday", "friday", "saturday"};
constexpr const char* kDayShort[] = {"Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"};

Status invalid(const std::string& field, const std::string& what) {
  return Status::error("invalid_window", field + ": " + what);
}

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

std::optional<int> parse_weekday(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < 7; ++i) {
    const std::string full = kDayNames[i];
    if (text == full || text == full.substr(0, 3)) return i;
  }
  return std::nullopt;
}

// Minutes after midnight for "HH:MM" (00:00..23:59).
std::optional<int32_t> parse_hhmm(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

std::string hhmm(int32_t minute) {
  char buf[8];
  std::snprintf(buf, sizeof(buf), "%02d:%02d", minute / 60 % 24, minute % 60);
  return buf;
}

}  // namespace

Result<Recurrence> Recurrence::make(const RecurrenceSpec& spec, const std::string& zoneinfo_dir) {
  Recurrence r;
  if (spec.weekdays.empty()) return invalid("weekdays", "name at least one day (mon..sun)");
  for (size_t i = 0; i < spec.weekdays.size(); ++i) {
    auto d = parse_weekday(spec.weekdays[i]);
    if (!d) {
      return invalid(
          "weekdays[" + std::to_string(i) + "]",
          "unknown day '" + spec.weekdays[i] + "'; use mon, tue, wed, thu, fri, sat, sun");
    }
    r.weekdays_ |= static_cast<uint8_t>(1u << *d);
  }
  auto start = parse_hhmm(spec.start);
  if (!start) return invalid("start", "expected a local time HH:MM, got '" + spec.start + "'");
  r.start_minute_ = *start;

  const bool has_end = !spec.end.empty();
  const bool has_duration = spec.duration_ms != 0;
  if (has_end && has_duration) return invalid("end", "give either end or duration, not both");
  if (!has_end && !has_duration)
    return invalid("end", "missing; give an end (HH:MM) or a duration");
  if (has_end) {
    auto end = parse_hhmm(spec.end);
    if (!end) return invalid("end", "expected a local time HH:MM, got '" + spec.end + "'");
    r.length_minutes_ = *end > *start ? *end - *start : *end + 24 * 60 - *start;
    r.length_as_end_ = true;
  } else {
    if (spec.duration_ms < 0 || spec.duration_ms % 60'000 != 0) {
      return invalid("duration", "must be a positive number of whole minutes");
    }
    if (spec.duration_ms / 60'000 > kMaxMinutes) return invalid("duration", "must be at most 7d");
    r.length_minutes_ = static_cast<int32_t>(spec.duration_ms / 60'000);
  }

  if (spec.time_zone.empty())
    return invalid("time_zone", "missing; name an IANA zone like Europe/Berlin");
  auto zone = TimeZone::load(spec.time_zone, zoneinfo_dir);
  if (!zone) return invalid("time_zone", zone.status().message());
  r.zone_ = std::move(zone).value();
  return r;
}

std::optional<Occurrence> Recurrence::starting_on(int64_t day) const {
  const unsigned wd = chr::weekday(chr::sys_days(chr::days(day))).c_encoding();
  if ((weekdays_ & (1u << wd)) == 0) return std::nullopt;
  const int64_t local_start = day * kDaySec + int64_t{start_minute_} * 60;
  const int64_t local_end = local_start + int64_t{length_minutes_} * 60;
  return Occurrence{zone_.to_utc(local_start) * 1000, zone_.to_utc(local_end) * 1000};
}

std::optional<Occurrence> Recurrence::open_at(int64_t now_ms) const {
  const int64_t today = floor_div(zone_.to_local(floor_div(now_ms, 1000)), kDaySec);
  // A window lasts at most 7 days, so one open now started within the last 8 local days.
  for (int64_t day = today; day >= today - 8; --day) {
    auto occ = starting_on(day);
    if (occ && occ->start_ms <= now_ms && now_ms < occ->end_ms) return occ;
  }
  return std::nullopt;
}

Occurrence Recurrence::next(int64_t now_ms) const {
  if (auto open = open_at(now_ms)) return *open;
  const int64_t today = floor_div(zone_.to_local(floor_div(now_ms, 1000)), kDaySec);
  for (int64_t day = today - 1; day <= today + 8; ++day) {
    auto occ = starting_on(day);
    if (occ && occ->start_ms > now_ms) return *occ;
  }
  return {};  // no weekday: never open
}

std::string Recurrence::describe() const {
  std::string days;
  for (int i = 1; i <= 7; ++i) {  // Monday first, as people list them
    const int d = i % 7;
    if (weekdays_ & (1u << d)) days += (days.empty() ? "" : ",") + std::string(kDayShort[d]);
  }
  std::string when = days + " " + hhmm(start_minute_);
  if (length_as_end_) {
    when += "-" + hhmm(start_minute_ + length_minutes_);
  } else {
    when += " for " + format_duration(Millis(int64_t{length_minutes_} * 60'000));
  }
  return when + " " + zone_.name();
}

}  // namespace reflex::hub::incidents
