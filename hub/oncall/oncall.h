// People, schedules and escalation policies as hub.yaml declares them (read by
// oncall_config.h): plain values that the schedule and escalation functions decide over.
// A validated OncallConfig is consistent: every person, schedule and policy it names
// exists in it.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "hub/oncall/schedule.h"

namespace reflex::hub::oncall {

// Someone who can be paged, with the ways to reach them (at least one is set).
struct Person {
  std::string id;  // the key under `people`
  std::string name;
  std::string slack;          // Slack member id, e.g. U012ABC
  std::string email;          // address
  std::string phone_webhook;  // URL an SMS/voice gateway is called at
};

// Who one level of a policy notifies: the person on call in a schedule, a person, or a
// chat channel.
struct Target {
  enum class Kind { kSchedule, kUser, kChannel };
  Kind kind = Kind::kUser;
  std::string name;  // schedule name, person id or channel ("#checkout-leads")
};

struct Level {
  int64_t delay_ms = 0;  // after the level before it (level 0: after paging starts)
  std::vector<Target> targets;
};

// The levels are notified in turn until someone acknowledges; then `repeat` more rounds
// of them. See escalation.h for the exact timing.
struct EscalationPolicy {
  std::string name;
  std::vector<Level> levels;    // at least one
  int64_t repeat = 0;           // further rounds, >= 0
  int64_t repeat_after_ms = 0;  // from a round's last level to the next round's first
};

struct OncallConfig {
  std::map<std::string, Person> people;
  std::map<std::string, Schedule> schedules;
  std::map<std::string, EscalationPolicy> policies;
};

}  // namespace reflex::hub::oncall
