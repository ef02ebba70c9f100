#include "hub/outbox/outbox_row.h"

namespace reflex::hub {

const char* outbox_state_name(OutboxState s) {
  switch (s) {
    case OutboxState::kPending:
      return "pending";
    case OutboxState::kSending:
      return "sending";
    case OutboxState::kDone:
      return "done";
    case OutboxState::kDead:
      return "dead";
  }
  return "pending";
}

std::optional<OutboxState> parse_outbox_state(std::string_view name) {
  for (auto s :
       {OutboxState::kPending, OutboxState::kSending, OutboxState::kDone, OutboxState::kDead}) {
    if (name == outbox_state_name(s)) return s;
  }
  return std::nullopt;
}

OutboxUpdate update_of(const OutboxRow& row) {
  return {.id = row.id,
          .state = row.state,
          .attempts = row.attempts,
          .next_attempt_ms = row.next_attempt_ms,
          .last_error = row.last_error,
          .result = row.result,
          .updated_ms = row.updated_ms};
}

}  // namespace reflex::hub
