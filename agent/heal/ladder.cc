#include "agent/heal/ladder.h"

namespace reflex::agent::heal {

const char* rung_outcome_name(RungOutcome o) {
  switch (o) {
    case RungOutcome::kRunning:
      return "running";
    case RungOutcome::kFailed:
      return "failed";
    case RungOutcome::kRecovered:
      return "recovered";
    case RungOutcome::kNotRecovered:
      return "not_recovered";
  }
  return "unknown";
}

LadderStep next_step(const std::vector<std::string>& ladder,
                     const std::vector<RungOutcome>& history) {
  auto step = [&](LadderStepKind kind, size_t rung) {
    return LadderStep{kind, rung, rung < ladder.size() ? ladder[rung] : std::string()};
  };
  for (size_t i = 0; i < history.size(); ++i) {
    if (history[i] == RungOutcome::kRecovered) return step(LadderStepKind::kRecovered, i);
    if (history[i] == RungOutcome::kRunning) return step(LadderStepKind::kAwait, i);
  }
  if (history.size() < ladder.size()) return step(LadderStepKind::kRun, history.size());
  const size_t last = ladder.empty() ? 0 : ladder.size() - 1;
  return step(LadderStepKind::kExhausted, last);
}

}  // namespace reflex::agent::heal
