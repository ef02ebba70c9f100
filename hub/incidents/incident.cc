#include "hub/incidents/incident.h"

#include <iterator>

namespace reflex::hub::incidents {
namespace {

constexpr const char* kStatusNames[] = {"triggered", "acknowledged", "resolved"};
constexpr const char* kTimelineNames[] = {
    "opened",
    "alert_joined",
    "alert_firing",
    "alert_resolved",
    "severity_changed",
    "auto_resolve_scheduled",
    "auto_resolve_cancelled",
    "acknowledged",
    "assigned",
    "note",
    "resolved",
    "reopened",
    "flapping",
    "settled",
    "remediation",
    "response",
    "step",
};
constexpr const char* kNotifyNames[] = {
    "opened", "reopened", "severity_raised", "remediation_exhausted", "settled", "resolved"};
constexpr const char* kEventNames[] = {"opened",   "acknowledged", "resolved",
                                       "reopened", "released",     "response"};

static_assert(std::size(kStatusNames) == static_cast<size_t>(IncidentStatus::kResolved) + 1);
static_assert(std::size(kTimelineNames) == static_cast<size_t>(TimelineKind::kStep) + 1);
static_assert(std::size(kNotifyNames) == static_cast<size_t>(NotifyKind::kResolved) + 1);
static_assert(std::size(kEventNames) == static_cast<size_t>(IncidentEventKind::kResponse) + 1);

template <class Enum, size_t N>
const char* name_of(Enum value, const char* const (&names)[N]) {
  const auto index = static_cast<size_t>(value);
  return index < N ? names[index] : "unknown";
}

template <class Enum, size_t N>
std::optional<Enum> parse_name(std::string_view text, const char* const (&names)[N]) {
  for (size_t i = 0; i < N; ++i) {
    if (text == names[i]) return static_cast<Enum>(i);
  }
  return std::nullopt;
}

template <class T>
void append(std::vector<T>& to, std::vector<T>&& from) {
  if (to.empty()) {
    to = std::move(from);
    return;
  }
  to.insert(to.end(), std::make_move_iterator(from.begin()), std::make_move_iterator(from.end()));
}

}  // namespace

const char* incident_status_name(IncidentStatus s) {
  return name_of(s, kStatusNames);
}
std::optional<IncidentStatus> parse_incident_status(std::string_view text) {
  return parse_name<IncidentStatus>(text, kStatusNames);
}
const char* timeline_kind_name(TimelineKind k) {
  return name_of(k, kTimelineNames);
}
std::optional<TimelineKind> parse_timeline_kind(std::string_view text) {
  return parse_name<TimelineKind>(text, kTimelineNames);
}
const char* notify_kind_name(NotifyKind k) {
  return name_of(k, kNotifyNames);
}
const char* incident_event_kind_name(IncidentEventKind k) {
  return name_of(k, kEventNames);
}

void Changes::merge(Changes&& later) {
  append(alerts, std::move(later.alerts));
  append(history, std::move(later.history));
  append(incidents, std::move(later.incidents));
  append(members, std::move(later.members));
  append(timeline, std::move(later.timeline));
  append(notify, std::move(later.notify));
  append(events, std::move(later.events));
}

}  // namespace reflex::hub::incidents
