#include "hub/oncall/escalation.h"

#include <algorithm>

namespace reflex::hub::oncall {
namespace {

Result<const EscalationPolicy*> find_policy(const OncallConfig& config, const std::string& name) {
  auto it = config.policies.find(name);
  if (it == config.policies.end()) {
    return Status::error("unknown_policy", "no escalation policy '" + name + "'");
  }
  return &it->second;
}

Page page_at(const OncallConfig& config, const EscalationPolicy& policy, int64_t started_ms,
             int64_t step, int64_t resolve_at_ms) {
  const auto n = static_cast<int64_t>(policy.levels.size());
  const Level& level = policy.levels[static_cast<size_t>(step % n)];
  return {.step = step,
          .level = step % n,
          .round = step / n,
          .at_ms = step_time_ms(policy, started_ms, step),
          .targets = resolve_targets(config, level, resolve_at_ms)};
}

}  // namespace

int64_t step_count(const EscalationPolicy& policy) {
  return static_cast<int64_t>(policy.levels.size()) * (policy.repeat + 1);
}

int64_t step_time_ms(const EscalationPolicy& policy, int64_t started_ms, int64_t step) {
  const auto n = static_cast<int64_t>(policy.levels.size());
  if (n == 0) return started_ms;
  int64_t period = policy.repeat_after_ms;
  for (int64_t i = 1; i < n; ++i) period += policy.levels[static_cast<size_t>(i)].delay_ms;
  int64_t at = started_ms + policy.levels[0].delay_ms + (step / n) * period;
  for (int64_t i = 1; i <= step % n; ++i) at += policy.levels[static_cast<size_t>(i)].delay_ms;
  return at;
}

std::vector<PageTarget> resolve_targets(const OncallConfig& config, const Level& level,
                                        int64_t at_ms) {
  std::vector<PageTarget> out;
  auto add_person = [&](const std::string& id, const std::string& schedule) {
    for (const auto& t : out) {
      if (t.kind == PageTarget::Kind::kPerson && t.person.id == id) return;
    }
    auto p = config.people.find(id);
    PageTarget t{
        .kind = PageTarget::Kind::kPerson, .person = {}, .channel = "", .schedule = schedule};
    if (p != config.people.end()) {
      t.person = p->second;
    } else {
      t.person.id = id;  // a validated config names only known people
    }
    out.push_back(std::move(t));
  };
  for (const auto& target : level.targets) {
    switch (target.kind) {
      case Target::Kind::kUser:
        add_person(target.name, "");
        break;
      case Target::Kind::kChannel:
        out.push_back({.kind = PageTarget::Kind::kChannel,
                       .person = {},
                       .channel = target.name,
                       .schedule = ""});
        break;
      case Target::Kind::kSchedule: {
        auto s = config.schedules.find(target.name);
        const std::string user = s == config.schedules.end() ? "" : on_call(s->second, at_ms).user;
        if (user.empty()) {
          out.push_back({.kind = PageTarget::Kind::kNobody,
                         .person = {},
                         .channel = "",
                         .schedule = target.name});
        } else {
          add_person(user, target.name);
        }
        break;
      }
    }
  }
  return out;
}

Result<EscalationDecision> escalate(const OncallConfig& config, const EscalationState& state,
                                    int64_t now_ms) {
  auto policy = find_policy(config, state.policy);
  if (!policy) return policy.status();
  const EscalationPolicy& p = **policy;
  EscalationDecision d;
  d.next_step = state.next_step;
  if (state.acknowledged || p.levels.empty()) return d;
  const int64_t steps = step_count(p);
  while (d.next_step < steps && step_time_ms(p, state.started_ms, d.next_step) <= now_ms) {
    d.due.push_back(page_at(config, p, state.started_ms, d.next_step, now_ms));
    ++d.next_step;
  }
  if (d.next_step < steps) d.next_at_ms = step_time_ms(p, state.started_ms, d.next_step);
  return d;
}

Result<std::vector<Page>> due_pages(const OncallConfig& config, const std::string& policy,
                                    int64_t started_ms, int64_t from_ms, int64_t to_ms) {
  auto found = find_policy(config, policy);
  if (!found) return found.status();
  const EscalationPolicy& p = **found;
  std::vector<Page> out;
  if (p.levels.empty()) return out;
  for (int64_t s = 0; s < step_count(p); ++s) {
    const int64_t at = step_time_ms(p, started_ms, s);
    if (at >= to_ms) break;
    if (at >= from_ms) out.push_back(page_at(config, p, started_ms, s, at));
  }
  return out;
}

}  // namespace reflex::hub::oncall
