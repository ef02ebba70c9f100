// What every vendor integration (Slack, Jira, PagerDuty, ...) is to the outbox: it turns
// a stored row into an HTTP request and classifies the answer. It says only "done /
// retry / permanent"; the delivery stage (outbox.h) owns retries, backoff, rate limits
// and the record, so no integration has a retry loop of its own.
//
// An integration holds its secrets (tokens) and adds them in prepare() and lookup(); rows
// never carry them. Implementations are used on the loop thread only.
//
// Reconciling: a row found `sending` after a crash or a failover was perhaps applied by
// the vendor with its answer lost. An integration whose vendor has no idempotency key can
// offer a lookup (lookup() and classify_lookup()): a read that finds what the attempt
// created, by a mark the integration put on it when sending (Slack: message metadata
// holding the row's key; Jira: a label derived from it). The outbox looks before it
// resends; see outbox.h.
#pragma once

#include <nlohmann/json.hpp>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/duration.h"
#include "common/http_client.h"
#include "common/status.h"
#include "hub/outbox/outbox_row.h"

namespace reflex::hub {

// The verdict on one attempt.
struct Outcome {
  enum class Kind { kDone, kRetry, kPermanent };
  Kind kind = Kind::kDone;
  nlohmann::json result;              // kDone: what to keep (ids, timestamps)
  std::optional<Millis> retry_after;  // kRetry: the vendor said when (429 Retry-After)
  std::string error;                  // kRetry, kPermanent: for the record; never a secret

  static Outcome done(nlohmann::json result) {
    return {.kind = Kind::kDone, .result = std::move(result), .retry_after = {}, .error = {}};
  }
  static Outcome retry(std::string error, std::optional<Millis> after = std::nullopt) {
    return {.kind = Kind::kRetry, .result = {}, .retry_after = after, .error = std::move(error)};
  }
  static Outcome permanent(std::string error) {
    return {.kind = Kind::kPermanent, .result = {}, .retry_after = {}, .error = std::move(error)};
  }
};

// The verdict on a lookup made before resending a row that was perhaps applied.
struct LookupOutcome {
  enum class Kind { kFound, kNotFound, kRetry };
  Kind kind = Kind::kNotFound;
  // kFound: exactly what classify() keeps when the send succeeds (the row's result), so
  // whoever reads it (a workflow keeping Slack's ts, Jira's key) cannot tell the two apart.
  nlohmann::json result;
  std::optional<Millis> retry_after;  // kRetry: the vendor said when (429 Retry-After)
  std::string error;                  // kRetry: for the record; never a secret

  // The vendor holds what the row's send creates: the row is done with `result`.
  static LookupOutcome found(nlohmann::json result) {
    return {.kind = Kind::kFound, .result = std::move(result), .retry_after = {}, .error = {}};
  }
  // The send never took effect: send it now.
  static LookupOutcome not_found() {
    return {.kind = Kind::kNotFound, .result = {}, .retry_after = {}, .error = {}};
  }
  // No verdict (transient failure, or nothing certain): look again after backoff.
  static LookupOutcome retry(std::string error, std::optional<Millis> after = std::nullopt) {
    return {.kind = Kind::kRetry, .result = {}, .retry_after = after, .error = std::move(error)};
  }
};

// How the delivery stage paces one integration.
struct IntegrationLimits {
  size_t max_in_flight = 4;  // attempts started and not yet answered
  double rate_per_key = 0;   // tokens per second per rate_key(); 0: no per-key limit
  double burst_per_key = 1;  // bucket size
};

class Integration {
 public:
  virtual ~Integration() = default;
  // The name rows carry in `integration` ("slack").
  virtual std::string_view name() const = 0;
  // The request for one attempt, credentials included. An error (an unknown operation, a
  // payload missing a required field) is a permanent failure of the row.
  virtual Result<HttpRequest> prepare(const OutboxRow& row) const = 0;
  // The verdict on the answer to prepare(row)'s request. Pure.
  virtual Outcome classify(const OutboxRow& row, const HttpResponse& response) const = 0;
  // Rows with the same key share one token bucket (Slack: the channel); "" for none.
  virtual std::string rate_key(const OutboxRow& row) const {
    (void)row;
    return "";
  }
  // True when the vendor deduplicates a resent request (PagerDuty's dedup_key), so a row
  // found `sending` after a crash is resent without any risk of a duplicate.
  virtual bool idempotent(const OutboxRow& row) const {
    (void)row;
    return false;
  }
  // The read that tells whether `row`'s send already took effect at the vendor,
  // credentials included; nullopt when this integration (or this row: an operation
  // without a mark, a target it cannot read) cannot look. Called only for rows that are
  // not idempotent() and were found `sending`.
  virtual std::optional<HttpRequest> lookup(const OutboxRow& row) const {
    (void)row;
    return std::nullopt;
  }
  // The verdict on the answer to lookup(row)'s request. Pure.
  virtual LookupOutcome classify_lookup(const OutboxRow& row, const HttpResponse& response) const {
    (void)row;
    (void)response;
    return LookupOutcome::retry(std::string(name()) + ": no lookup");
  }
  // Every secret it holds, so the delivery stage can scrub them from any text it records
  // or logs (an echoed header in an error body, a URL in a curl message).
  virtual std::vector<std::string> secrets() const = 0;
};

// `text` with every occurrence of each (non-empty) secret replaced by "[redacted]".
std::string redact(std::string text, const std::vector<std::string>& secrets);

}  // namespace reflex::hub
