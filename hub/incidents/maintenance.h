// Maintenance windows that recur: "every Sunday 02:00-04:00 Europe/Berlin". Alerts that
// match a window's matchers while it is open are recorded but notify nobody.
//
// Times are wall-clock times in the window's zone, and so is a window's length: a
// window holds the instants at which the local clocks show a time from its start to its
// end. It opens the first moment the clocks show its start time or later and closes the
// first moment after that they show its end time or later (TimeZone::to_utc). So
// 02:00-04:00 on the day clocks go back lasts three real hours (the repeated hour is
// inside it); on the day they jump from 02:00 to 03:00 it opens at the jump and lasts
// one; 02:30-03:30 that day opens at the jump (clocks pass 02:30) and lasts half an hour.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "hub/incidents/matchers.h"
#include "hub/incidents/time_zone.h"

namespace reflex::hub::incidents {

// As an operator writes it (hub.yaml `maintenance:` entries).
struct RecurrenceSpec {
  std::vector<std::string> weekdays;  // mon..sun or monday..sunday, any case
  std::string start;                  // "HH:MM", local
  std::string end;                    // "HH:MM", local; at or before start: the next day
  int64_t duration_ms = 0;            // instead of end; whole minutes, at most 7 days
  std::string time_zone;              // IANA name
};

// One occurrence of a window, in Unix milliseconds, end exclusive.
struct Occurrence {
  int64_t start_ms = 0;
  int64_t end_ms = 0;
  bool operator==(const Occurrence&) const = default;
};

class Recurrence {
 public:
  Recurrence() = default;  // no weekday: never open
  // Refuses ("invalid_window", the message starting with the field: "start: ...") a
  // spec with no weekday or an unknown one,
  // a start or end that is not HH:MM, both end and duration or neither, a duration that
  // is not a positive number of whole minutes up to 7 days, an unknown time zone.
  static Result<Recurrence> make(const RecurrenceSpec& spec,
                                 const std::string& zoneinfo_dir = kSystemZoneinfoDir);

  // The occurrence open at `now_ms` (start <= now < end), if any.
  std::optional<Occurrence> open_at(int64_t now_ms) const;
  // The occurrence open at `now_ms`, else the next one to start.
  Occurrence next(int64_t now_ms) const;

  // "Sun 02:00-04:00 Europe/Berlin", "Mon,Tue 22:00 for 2d Europe/Berlin".
  std::string describe() const;
  const TimeZone& zone() const { return zone_; }

 private:
  // The occurrence that starts on local day `day` (days since the epoch), if a weekday.
  std::optional<Occurrence> starting_on(int64_t day) const;

  uint8_t weekdays_ = 0;        // bit n: weekday n, Sunday = 0
  int32_t start_minute_ = 0;    // after local midnight
  int32_t length_minutes_ = 0;  // wall-clock
  bool length_as_end_ = false;  // spelled as an end time (for describe())
  TimeZone zone_ = TimeZone::utc();
};

struct MaintenanceWindow {
  std::string name;
  Matchers matchers;
  Recurrence when;
  std::string comment;
};

}  // namespace reflex::hub::incidents
