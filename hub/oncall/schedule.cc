#include "hub/oncall/schedule.h"

#include <algorithm>

namespace reflex::hub::oncall {
namespace {

using incidents::TimeZone;

constexpr int64_t kDaySec = 86'400;

int64_t floor_div(int64_t a, int64_t b) {
  return a / b - ((a % b != 0) && ((a < 0) != (b < 0)) ? 1 : 0);
}

int64_t local_s(const TimeZone& zone, int64_t at_ms) {
  return zone.to_local(floor_div(at_ms, 1000));
}

int64_t utc_ms(const TimeZone& zone, int64_t local_seconds) {
  return zone.to_utc(local_seconds) * 1000;
}

// Sunday = 0, like the Layer::days bits.
int weekday_of_day(int64_t day) {
  return static_cast<int>(((day + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
}

int64_t shift_start_ms(const Layer& layer, const TimeZone& zone, int64_t k) {
  return utc_ms(zone, layer.first_local_s + k * layer.period_s);
}

// k with start(k) <= at < start(k+1); empty shifts are passed over. Negative: before
// the layer's first shift.
int64_t shift_index(const Layer& layer, const TimeZone& zone, int64_t at_ms) {
  int64_t k = floor_div(local_s(zone, at_ms) - layer.first_local_s, layer.period_s);
  while (shift_start_ms(layer, zone, k) > at_ms) --k;
  while (shift_start_ms(layer, zone, k + 1) <= at_ms) ++k;
  return k;
}

bool restricted(const Layer& layer) {
  return (layer.days & 0x7f) != 0x7f;
}

bool day_allowed(const Layer& layer, const TimeZone& zone, int64_t at_ms) {
  const int64_t day = floor_div(local_s(zone, at_ms), kDaySec);
  return (layer.days >> weekday_of_day(day)) & 1u;
}

// The member on call in `layer` at `at_ms`; "" for nobody.
std::string layer_member(const Layer& layer, const TimeZone& zone, int64_t at_ms) {
  if (layer.members.empty() || !day_allowed(layer, zone, at_ms)) return "";
  const int64_t k = shift_index(layer, zone, at_ms);
  if (k < 0) return "";
  return layer.members[static_cast<size_t>(k % static_cast<int64_t>(layer.members.size()))];
}

// The first local midnight after `at_ms`, and the last at or before it.
int64_t next_midnight_ms(const TimeZone& zone, int64_t at_ms) {
  int64_t day = floor_div(local_s(zone, at_ms), kDaySec) + 1;
  while (utc_ms(zone, day * kDaySec) <= at_ms) ++day;
  return utc_ms(zone, day * kDaySec);
}

int64_t last_midnight_ms(const TimeZone& zone, int64_t at_ms) {
  int64_t day = floor_div(local_s(zone, at_ms), kDaySec);
  while (utc_ms(zone, day * kDaySec) > at_ms) --day;
  return utc_ms(zone, day * kDaySec);
}

// The first instant after `at_ms` at which `layer` may change its answer.
int64_t layer_next_change(const Layer& layer, const TimeZone& zone, int64_t at_ms) {
  const int64_t k = shift_index(layer, zone, at_ms);
  int64_t next = shift_start_ms(layer, zone, std::max<int64_t>(k + 1, 0));
  if (restricted(layer)) next = std::min(next, next_midnight_ms(zone, at_ms));
  return next;
}

// The last instant at or before `at_ms` at which `layer` may have changed its answer.
int64_t layer_last_change(const Layer& layer, const TimeZone& zone, int64_t at_ms) {
  const int64_t k = shift_index(layer, zone, at_ms);
  int64_t last = k >= 0 ? shift_start_ms(layer, zone, k) : kOpenStart;
  if (restricted(layer)) last = std::max(last, last_midnight_ms(zone, at_ms));
  return last;
}

struct Answer {
  std::string user;
  std::string source;
};

Answer resolve(const Schedule& s, int64_t at_ms) {
  for (const auto& o : s.overrides) {
    if (o.start_ms <= at_ms && at_ms < o.end_ms) return {.user = o.user, .source = "override"};
  }
  for (auto layer = s.layers.rbegin(); layer != s.layers.rend(); ++layer) {
    std::string member = layer_member(*layer, s.zone, at_ms);
    if (!member.empty()) return {.user = std::move(member), .source = layer->name};
  }
  return {};
}

int64_t next_change(const Schedule& s, int64_t at_ms) {
  int64_t next = kOpenEnd;
  for (const auto& o : s.overrides) {
    if (o.start_ms > at_ms) next = std::min(next, o.start_ms);
    if (o.end_ms > at_ms) next = std::min(next, o.end_ms);
  }
  for (const auto& layer : s.layers) next = std::min(next, layer_next_change(layer, s.zone, at_ms));
  return next;
}

int64_t last_change(const Schedule& s, int64_t at_ms) {
  int64_t last = kOpenStart;
  for (const auto& o : s.overrides) {
    if (o.start_ms <= at_ms) last = std::max(last, o.start_ms);
    if (o.end_ms <= at_ms) last = std::max(last, o.end_ms);
  }
  for (const auto& layer : s.layers) last = std::max(last, layer_last_change(layer, s.zone, at_ms));
  return last;
}

// When the person on call at `at_ms` (`user`) stops being on call.
int64_t end_of(const Schedule& s, const std::string& user, int64_t at_ms) {
  const int64_t limit = at_ms > kOpenEnd - kSearchLimitMs ? kOpenEnd : at_ms + kSearchLimitMs;
  int64_t b = next_change(s, at_ms);
  while (b != kOpenEnd && b <= limit && resolve(s, b).user == user) b = next_change(s, b);
  return b > limit ? kOpenEnd : b;
}

// When the person on call at `at_ms` (`user`) became on call.
int64_t start_of(const Schedule& s, const std::string& user, int64_t at_ms) {
  const int64_t limit = at_ms < kOpenStart + kSearchLimitMs ? kOpenStart : at_ms - kSearchLimitMs;
  int64_t b = last_change(s, at_ms);
  while (b != kOpenStart && b >= limit && resolve(s, b - 1).user == user) {
    b = last_change(s, b - 1);
  }
  return b < limit ? kOpenStart : b;
}

}  // namespace

Shift on_call(const Schedule& schedule, int64_t at_ms) {
  Answer now = resolve(schedule, at_ms);
  Shift shift;
  shift.start_ms = start_of(schedule, now.user, at_ms);
  shift.end_ms = end_of(schedule, now.user, at_ms);
  shift.user = std::move(now.user);
  shift.source = std::move(now.source);
  return shift;
}

std::vector<Shift> next_shifts(const Schedule& schedule, int64_t at_ms, size_t n) {
  std::vector<Shift> out;
  int64_t start = on_call(schedule, at_ms).end_ms;
  while (out.size() < n && start != kOpenEnd) {
    Answer a = resolve(schedule, start);
    const int64_t end = end_of(schedule, a.user, start);
    out.push_back({.user = std::move(a.user),
                   .source = std::move(a.source),
                   .start_ms = start,
                   .end_ms = end});
    start = end;
  }
  return out;
}

}  // namespace reflex::hub::oncall
