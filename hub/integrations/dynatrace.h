// Dynatrace Problems API v2 as an outbox Integration: comment on a problem (see
// the vendor documentation,
// https://docs.dynatrace.com/docs/dynatrace-api/environment-api/problems-v2), e.g. to link it to
// the Reflex incident. Requests go to <base_url>api/v2/problems/<problem id, URL-encoded>/comments
// with `Authorization: Api-Token <token>` (scope problems.write). Rows carry:
//   dynatrace.comment  {"problem_id": "-123_456V2", "message": "...",
//                       "context": "Reflex incident 42"}   (context optional)
//                      -> POST {"message", "context"}; done: {"id"} when the answer
//                      carries the comment's id, else {}
//
// Outcomes (classify_dynatrace): any 2xx done (the success status is not settled in the
// docs); 408, 429 and 5xx retried (Dynatrace sends no pacing headers); every other
// status permanent with the ErrorEnvelope's message and constraint violations.
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct DynatraceSettings {
  std::string base_url;  // "https://abc12345.live.dynatrace.com/"
  std::string token;     // dt0c01....
  Millis timeout = Millis(10'000);
};

// The verdict on Dynatrace's answer to a comment. Pure.
Outcome classify_dynatrace(const HttpResponse& response);

class DynatraceIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "dynatrace";
  explicit DynatraceIntegration(DynatraceSettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  std::vector<std::string> secrets() const override { return {settings_.token}; }

 private:
  DynatraceSettings settings_;
};

// The settings for `cfg` with its token read (integrations.dynatrace.token_file or
// token_env). Errors name the key and never quote the token.
Result<DynatraceSettings> dynatrace_settings(const DynatraceConfig& cfg);

}  // namespace reflex::hub
