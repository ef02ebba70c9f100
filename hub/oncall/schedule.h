// On-call schedules as pure functions of their configuration and an instant: who is on
// call at `at_ms`, from when until when, and the shifts that follow.
//
// A schedule is a stack of layers plus overrides. At any instant the answer is the
// override in force, else the member on call in the LAST layer that has someone then,
// else the earlier layers, else nobody. A layer is a rotation through its members:
// shift k of a layer begins at `first_local_s + k * period_s` on the schedule zone's
// wall clock (daily: 1 day, weekly: 7 days, hours: the `shift` length) and belongs to
// members[k % members.size()]. Shifts are counted in wall-clock time, so a daily 09:00
// handoff stays at 09:00 across daylight-saving changes (that shift lasts 23 or 25
// real hours); a local time that clocks skip or repeat is read as in
// incidents::TimeZone::to_utc (the jump, or the first occurrence). A shift that a
// jump makes empty is nobody's turn and is passed over. Before its first shift a layer
// has nobody. A layer restricted to weekdays has someone only on those local days.
//
// A Shift here is what people see: consecutive stretches with the same person (from
// whichever layer or override) are one shift. Search for the edges of a shift stops a
// year away (kSearchLimitMs); an edge beyond that is open (kOpenStart / kOpenEnd).
//
// Everything is a value; the functions are pure and safe from any thread.
#pragma once

#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "hub/incidents/time_zone.h"

namespace reflex::hub::oncall {

enum class Rotation { kDaily, kWeekly, kHours };

struct Layer {
  std::string name;
  Rotation rotation = Rotation::kDaily;  // for display; period_s is what counts
  int64_t first_local_s = 0;             // local wall-clock seconds (since 1970-01-01 00:00 local)
  int64_t period_s = 86'400;             // wall-clock length of each shift, > 0
  std::vector<std::string> members;      // person ids, at least one
  uint8_t days = 0x7f;                   // bit n: weekday n on (Sunday = 0); 0x7f = every day
};

// `user` is on call for [start_ms, end_ms) whatever the layers say.
struct Override {
  std::string user;
  int64_t start_ms = 0;
  int64_t end_ms = 0;
};

struct Schedule {
  std::string name;
  incidents::TimeZone zone = incidents::TimeZone::utc();
  std::vector<Layer> layers;        // later layers win
  std::vector<Override> overrides;  // never overlapping (the config reader refuses it)
};

inline constexpr int64_t kOpenStart = std::numeric_limits<int64_t>::min();
inline constexpr int64_t kOpenEnd = std::numeric_limits<int64_t>::max();
inline constexpr int64_t kSearchLimitMs = 366LL * 86'400'000;

struct Shift {
  std::string user;               // person id; "" when nobody is on call
  std::string source;             // what puts them on call at the instant asked: a layer's name or
                                  // "override"; "" when nobody
  int64_t start_ms = kOpenStart;  // inclusive; kOpenStart: not within kSearchLimitMs
  int64_t end_ms = kOpenEnd;      // exclusive; kOpenEnd: not within kSearchLimitMs
  bool operator==(const Shift&) const = default;
};

// The shift in force at `at_ms` (possibly nobody's).
Shift on_call(const Schedule& schedule, int64_t at_ms);
// The `n` shifts after the one in force at `at_ms`, in order (fewer when one is open
// ended); gaps with nobody on call are shifts with an empty user. `source` is as at each
// shift's start.
std::vector<Shift> next_shifts(const Schedule& schedule, int64_t at_ms, size_t n);

}  // namespace reflex::hub::oncall
