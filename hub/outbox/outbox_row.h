// One outbound call as the outbox keeps it: a row in the hub's store, written in the
// same group commit as the incident change that caused it, then sent (and retried) by
// the delivery stage (outbox.h). The row holds what to send, never how to authenticate:
// secrets are added by the integration at send time, so the store and the API never
// see them.
//
// States: pending (waiting for its next attempt), sending (an attempt was recorded as
// started; after a crash it is sent again), done (result holds what the vendor returned,
// e.g. Slack's channel and ts), dead (a permanent failure, or max attempts; the API can
// requeue it).
#pragma once

#include <cstddef>
#include <cstdint>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>

namespace reflex::hub {

enum class OutboxState { kPending, kSending, kDone, kDead };
const char* outbox_state_name(OutboxState s);
std::optional<OutboxState> parse_outbox_state(std::string_view name);

// What a caller (a workflow step) asks the outbox to send.
struct OutboxRequest {
  std::string integration;      // "slack"
  std::string operation;        // "slack.chat.postMessage"
  std::string idempotency_key;  // unique over all rows ever enqueued
  std::optional<uint64_t> incident_id;
  nlohmann::json payload;  // the vendor's request body, without credentials
};

struct OutboxRow {
  uint64_t id = 0;
  std::string integration;
  std::string operation;
  std::string idempotency_key;
  std::optional<uint64_t> incident_id;
  nlohmann::json payload;
  OutboxState state = OutboxState::kPending;
  uint32_t attempts = 0;        // attempts started (recorded as sending)
  int64_t next_attempt_ms = 0;  // epoch ms; meaningful while pending
  std::string last_error;       // "" until an attempt fails
  nlohmann::json result;        // null until done
  int64_t created_ms = 0;
  int64_t updated_ms = 0;

  bool operator==(const OutboxRow&) const = default;
};

// The mutable part of a row, written by the delivery stage and the retry route.
struct OutboxUpdate {
  uint64_t id = 0;
  OutboxState state = OutboxState::kPending;
  uint32_t attempts = 0;
  int64_t next_attempt_ms = 0;
  std::string last_error;
  nlohmann::json result;
  int64_t updated_ms = 0;
};

OutboxUpdate update_of(const OutboxRow& row);

// Which rows GET /api/v1/outbox lists: newest first.
struct OutboxQuery {
  std::optional<OutboxState> state;  // unset: any
  std::optional<uint64_t> incident_id;
  size_t limit = 100;
};

}  // namespace reflex::hub
