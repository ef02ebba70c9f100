// hub.yaml keys for people, on-call schedules and escalation policies (oncall.h), read
// with the strict MapReader: every key claimed, every error naming its key path.
//
//   people:                               # ids: letters, digits, '.', '_', '-'
//     alice: {name: Alice Doe, slack: U012ABC, email: alice@example.com,
//             phone_webhook: https://sms.example/alice}   # at least one way to reach them
//     bob:   {slack: U034DEF, email: bob@example.com}
//   schedules:
//     checkout-primary:
//       time_zone: Europe/Berlin          # required: an IANA zone
//       layers:                           # required, at least one; later layers win
//         - name: weekly                  # optional, unique; default layers[i]
//           rotation: weekly              # daily | weekly | hours
//           handoff: "mon 09:00"          # weekly: "DAY HH:MM"; daily and hours: "HH:MM"
//           start: 2026-01-05             # the local date members[0]'s first shift begins
//                                         # (weekly: a day of the handoff's weekday)
//           members: [alice, bob]         # people, in rotation order
//         - name: weekend-cover
//           rotation: daily
//           handoff: "09:00"
//           start: 2026-01-03
//           members: [carol]
//           restrict: {days: [sat, sun]}  # optional: on call only on these local days
//         - {name: follow-the-sun, rotation: hours, shift: 12h, handoff: "08:00",
//            start: 2026-01-05, members: [dave, erin]}   # shift: whole minutes, <= 28d
//       overrides:                        # optional; end > start, none overlapping
//         - {user: bob, start: 2026-12-24T09:00:00+01:00, end: 2026-12-27T09:00:00+01:00}
//   escalation_policies:
//     checkout-oncall:
//       repeat: 2                         # more rounds if nobody acknowledges (0..100)
//       repeat_after: 10m                 # optional; default: the last level's delay
//       levels:                           # required, at least one
//         - {delay: 0s, targets: [{schedule: checkout-primary}]}
//         - {delay: 10m, targets: [{user: alice}, {channel: "#checkout-leads"}]}
// A level's delay (default 0s) counts from the level before it (escalation.h has the
// exact timing); each target names exactly one of schedule, user or channel.
#pragma once

#include <string>

#include "common/config.h"
#include "hub/incidents/time_zone.h"
#include "hub/oncall/oncall.h"

namespace reflex::hub::oncall {

// Claims `people`, `schedules` and `escalation_policies` on `top` (the hub.yaml top
// level) and reports into top.errors(); `out` keeps its value unless all three read
// without errors (so a reload with a mistake keeps the running ones).
void read_oncall_config(config::MapReader& top, OncallConfig& out,
                        const std::string& zoneinfo_dir = incidents::kSystemZoneinfoDir);

}  // namespace reflex::hub::oncall
