// The wire names of types and enum values, and which types are sequenced.
#include <string>

#include <catch2/catch.hpp>

#include "protocol/messages.h"

namespace reflex::protocol {
namespace {

TEST_CASE("every message type has its wire name", "[messages]") {
  CHECK(std::string(type_name(MessageType::kHello)) == "hello");
  CHECK(std::string(type_name(MessageType::kHeartbeat)) == "heartbeat");
  CHECK(std::string(type_name(MessageType::kMetrics)) == "metrics");
  CHECK(std::string(type_name(MessageType::kAlert)) == "alert");
  CHECK(std::string(type_name(MessageType::kRemediation)) == "remediation");
  CHECK(std::string(type_name(MessageType::kCommand)) == "command");
  CHECK(std::string(type_name(MessageType::kCommandResult)) == "command_result");
  CHECK(std::string(type_name(MessageType::kAck)) == "ack");
  CHECK(std::string(type_name(MessageType::kError)) == "error");
  CHECK(std::string(type_name(MessageType::kGap)) == "gap");
}

TEST_CASE("an Envelope's type follows the body it holds", "[messages]") {
  Envelope e;
  e.body = CommandResult{};
  CHECK(e.type() == MessageType::kCommandResult);
  e.body = Gap{};
  CHECK(e.type() == MessageType::kGap);
}

TEST_CASE("every enum value has its lower-case wire name", "[messages]") {
  CHECK(std::string(severity_name(Severity::kInfo)) == "info");
  CHECK(std::string(severity_name(Severity::kWarning)) == "warning");
  CHECK(std::string(severity_name(Severity::kHigh)) == "high");
  CHECK(std::string(severity_name(Severity::kCritical)) == "critical");

  CHECK(std::string(alert_state_name(AlertState::kPending)) == "pending");
  CHECK(std::string(alert_state_name(AlertState::kFiring)) == "firing");
  CHECK(std::string(alert_state_name(AlertState::kResolved)) == "resolved");

  using O = RemediationOutcome;
  CHECK(std::string(remediation_outcome_name(O::kStarted)) == "started");
  CHECK(std::string(remediation_outcome_name(O::kSucceeded)) == "succeeded");
  CHECK(std::string(remediation_outcome_name(O::kFailed)) == "failed");
  CHECK(std::string(remediation_outcome_name(O::kTimedOut)) == "timed_out");
  CHECK(std::string(remediation_outcome_name(O::kSkipped)) == "skipped");
  CHECK(std::string(remediation_outcome_name(O::kRecovered)) == "recovered");
  CHECK(std::string(remediation_outcome_name(O::kNotRecovered)) == "not_recovered");
  CHECK(std::string(remediation_outcome_name(O::kExhausted)) == "exhausted");

  CHECK(std::string(command_status_name(CommandStatus::kOk)) == "ok");
  CHECK(std::string(command_status_name(CommandStatus::kFailed)) == "failed");
  CHECK(std::string(command_status_name(CommandStatus::kRejected)) == "rejected");
  CHECK(std::string(command_status_name(CommandStatus::kTimedOut)) == "timed_out");
}

TEST_CASE("a value outside its enum is named unknown rather than read out of bounds",
          "[messages]") {
  CHECK(std::string(type_name(static_cast<MessageType>(200))) == "unknown");
  CHECK(std::string(severity_name(static_cast<Severity>(4))) == "unknown");
  CHECK(std::string(alert_state_name(static_cast<AlertState>(3))) == "unknown");
  CHECK(std::string(remediation_outcome_name(static_cast<RemediationOutcome>(8))) == "unknown");
  CHECK(std::string(command_status_name(static_cast<CommandStatus>(4))) == "unknown");
}

TEST_CASE("durable events are sequenced and control messages are not", "[messages]") {
  CHECK(is_sequenced(MessageType::kMetrics));
  CHECK(is_sequenced(MessageType::kAlert));
  CHECK(is_sequenced(MessageType::kRemediation));
  CHECK(is_sequenced(MessageType::kCommandResult));
  CHECK(is_sequenced(MessageType::kGap));
  CHECK_FALSE(is_sequenced(MessageType::kHello));
  CHECK_FALSE(is_sequenced(MessageType::kHeartbeat));
  CHECK_FALSE(is_sequenced(MessageType::kCommand));
  CHECK_FALSE(is_sequenced(MessageType::kAck));
  CHECK_FALSE(is_sequenced(MessageType::kError));
}

}  // namespace
}  // namespace reflex::protocol
