// Jenkins' remote build trigger as an outbox Integration: queue a build of a job (see
// the vendor documentation, https://www.jenkins.io/doc/book/using/remote-access-api/). Requests go
// to <base_url>job/<folder>/job/<name>/ buildWithParameters (the parameters form-encoded in the
// body) or .../build when there are none, with `Authorization: Basic base64(user:api_token)`; an
// API token needs no CSRF crumb. Rows carry:
//   jenkins.build  {"job": "folder/name", "parameters": {"K": "V", ...}}  (parameters
//                  optional, string values) -> POST job/folder/job/name/buildWithParameters
//                  done: {"job", "queue_url"} and "merged": true when Jenkins merged the
//                  request into an identical one already waiting in its queue (303)
//
// Jenkins has no idempotency key, so rows are not idempotent: a row found `sending`
// after a crash is resent with a warning, and queues a second build unless the first is
// still waiting in Jenkins' queue (then Jenkins merges the two and answers 303).
//
// Outcomes (classify_jenkins): 201 or 303 with a queue item's Location done (the
// Location resolved against the base URL); no answer, 408, 429 and 5xx retried (after
// Retry-After when given), except a 500 saying the job is not parameterized; 401, 403,
// 404 and every other status permanent, with a hint at what to check. A 2xx without a
// queue Location is permanent, not retried: the build may have been queued.
#pragma once

#include <string>
#include <string_view>

#include "common/duration.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct JenkinsSettings {
  std::string base_url;  // "https://ci.example.com/" (may include a context path)
  std::string user;      // the account the API token belongs to
  std::string token;     // its API token
  Millis timeout = Millis(10'000);
};

// "folder/name" as Jenkins' URL path "job/folder/job/name/", each segment
// percent-encoded.
std::string jenkins_job_path(std::string_view job);

// A Location as an absolute URL: kept when it has a scheme, else resolved against
// `base_url` ("/jenkins/queue/item/7/" against its origin, "queue/item/7/" below it).
std::string resolve_location(const std::string& base_url, const std::string& location);

// The verdict on Jenkins' answer to a trigger of `job` sent to `base_url`. Pure.
Outcome classify_jenkins(std::string_view job, const std::string& base_url,
                         const HttpResponse& response);

class JenkinsIntegration final : public Integration {
 public:
  static constexpr std::string_view kName = "jenkins";
  explicit JenkinsIntegration(JenkinsSettings settings);

  std::string_view name() const override { return kName; }
  // Errors ("invalid_operation", "invalid_payload") name the operation or the field.
  Result<HttpRequest> prepare(const OutboxRow& row) const override;
  Outcome classify(const OutboxRow& row, const HttpResponse& response) const override;
  // The token, and the Basic credentials it is sent in.
  std::vector<std::string> secrets() const override;

 private:
  JenkinsSettings settings_;
};

// The settings for `cfg` with its token read (integrations.jenkins.token_file or
// token_env). Errors name the key and never quote the token.
Result<JenkinsSettings> jenkins_settings(const JenkinsConfig& cfg);

}  // namespace reflex::hub
