#include "protocol/messages.h"

#include <cstddef>
#include <iterator>
#include <type_traits>
#include <variant>

#include "protocol/constants.h"

namespace reflex::protocol {
namespace {

template <class Enum, size_t N>
const char* name_of(Enum value, const char* const (&names)[N]) {
  const auto index = static_cast<size_t>(value);
  return index < N ? names[index] : kUnknownName;
}

// The type names, MessageType and Body must list the types in the same order.
static_assert(std::size(kTypeNames) == std::variant_size_v<Body>);
static_assert(static_cast<size_t>(MessageType::kGap) + 1 == std::variant_size_v<Body>);
static_assert(
    std::is_same_v<std::variant_alternative_t<static_cast<size_t>(MessageType::kGap), Body>, Gap>);
static_assert(std::size(kSeverityNames) == static_cast<size_t>(Severity::kCritical) + 1);
static_assert(std::size(kAlertStateNames) == static_cast<size_t>(AlertState::kResolved) + 1);
static_assert(std::size(kRemediationOutcomeNames) ==
              static_cast<size_t>(RemediationOutcome::kExhausted) + 1);
static_assert(std::size(kCommandStatusNames) == static_cast<size_t>(CommandStatus::kTimedOut) + 1);

}  // namespace

const char* type_name(MessageType type) {
  return name_of(type, kTypeNames);
}
const char* severity_name(Severity s) {
  return name_of(s, kSeverityNames);
}
const char* alert_state_name(AlertState s) {
  return name_of(s, kAlertStateNames);
}
const char* remediation_outcome_name(RemediationOutcome o) {
  return name_of(o, kRemediationOutcomeNames);
}
const char* command_status_name(CommandStatus s) {
  return name_of(s, kCommandStatusNames);
}

bool is_sequenced(MessageType type) {
  switch (type) {
    case MessageType::kMetrics:
    case MessageType::kAlert:
    case MessageType::kRemediation:
    case MessageType::kCommandResult:
    case MessageType::kGap:
      return true;
    case MessageType::kHello:
    case MessageType::kHeartbeat:
    case MessageType::kCommand:
    case MessageType::kAck:
    case MessageType::kError:
      return false;
  }
  return false;
}

}  // namespace reflex::protocol
