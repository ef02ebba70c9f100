// Named IANA time zones (`Europe/Berlin`) read from the system's tz database, for
// maintenance windows given in local time.
//
// Why a reader of our own: GCC 12's libstdc++ has no <chrono> time zones; localtime_r and
// mktime depend on the process-wide TZ variable (not thread-safe, hidden global state);
// Howard Hinnant's date/tz.h (Debian's libhowardhinnant-date-dev) needs its compiled
// libdate-tz, a new link dependency and install step, and keeps a process-wide database
// that throws on unknown names. The TZif format (RFC 8536) is small and stable: a list of
// transitions and, for instants after the last one, a POSIX TZ rule such as
// "CET-1CEST,M3.5.0,M10.5.0/3". Both are read here; Debian's tzdata supplies the files.
//
// A TimeZone is an immutable value (copies share the data), safe from any thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "common/status.h"

namespace reflex::hub::incidents {

inline constexpr const char* kSystemZoneinfoDir = "/usr/share/zoneinfo";

class TimeZone {
 public:
  // Reads `<zoneinfo_dir>/<name>`. Refuses ("unknown_time_zone") a name that is not a
  // zone there, or that could leave the directory ('..', a leading '/'), and ("bad_tzif")
  // a file that is not a well-formed TZif file or counts leap seconds ("right/" zones).
  static Result<TimeZone> load(const std::string& name,
                               const std::string& zoneinfo_dir = kSystemZoneinfoDir);
  // Parses TZif bytes; `name` is only for messages and name().
  static Result<TimeZone> from_tzif(std::string name, std::string_view bytes);
  static TimeZone utc();

  const std::string& name() const;

  // Seconds east of UTC in force at the instant `utc_seconds` (Unix time).
  int32_t offset_at(int64_t utc_seconds) const;
  // Local wall-clock seconds (seconds since 1970-01-01 00:00 on the local clock).
  int64_t to_local(int64_t utc_seconds) const { return utc_seconds + offset_at(utc_seconds); }
  // The first instant at which the local clocks show `local_seconds` or a later time.
  // For most times that is simply the instant they show it. A time shown twice (the
  // repeated hour when clocks go back) is its first occurrence; a time never shown
  // (skipped when clocks go forward) is the instant of the jump, so 02:30 on a day
  // Berlin jumps from 02:00 to 03:00 is 01:00 UTC, when clocks pass 02:30 showing 03:00.
  int64_t to_utc(int64_t local_seconds) const;

 private:
  struct Data;
  explicit TimeZone(std::shared_ptr<const Data> data) : data_(std::move(data)) {}
  std::shared_ptr<const Data> data_;
};

// "2026-10-25 04:00" on the zone's clock.
std::string format_local_minute(const TimeZone& zone, int64_t utc_seconds);

}  // namespace reflex::hub::incidents
