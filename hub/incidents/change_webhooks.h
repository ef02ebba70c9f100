// Deploys reported by CI/CD webhooks, read into Change records: the Jenkins Notification
// plugin's payload and GitHub's `deployment_status` event (CONTRACTS.md sections 7, 8).
// A webhook is either a deploy (a Change), or something the hub records nothing for
// (`ignored`, with the reason: a build that is not finished or did not succeed, another
// GitHub event), or a bad request (an error naming the field). Pure: no clock, no I/O.
//
// Jenkins Notification plugin (JSON format). Only a build with phase COMPLETED or
// FINALIZED and status SUCCESS is a deploy; the plugin sends both phases when told to
// send all events, and both map to the same id, so the second is a duplicate.
//   id          "jenkins:" + build.full_url (else "jenkins:<name>#<build.number>")
//   service     build.parameters.SERVICE, else the job's `name`
//   environment build.parameters.ENV, else build.parameters.ENVIRONMENT
//   version     build.parameters.VERSION, else build.display_name ("#57"), else "#<number>"
//   hosts       build.parameters.HOSTS, split on commas and whitespace
//   strategy    build.parameters.STRATEGY (canary | blue-green | rolling)
//   active_color build.parameters.ACTIVE_COLOR (with blue-green)
//   commit      build.scm.commit
//   author      build.parameters.AUTHOR, else the first of build.scm.culprits
//   link        build.full_url
//   at_ms       build.timestamp + build.duration (the build's end), else now
//   source      "jenkins"
// The plugin signs nothing: the route must authenticate the sender itself (a secret in
// the URL or Basic auth, CONTRACTS 7).
//
// GitHub `deployment_status` (X-GitHub-Event). The X-Hub-Signature-256 header must be
// "sha256=" + hex(HMAC-SHA256(secret, raw body)), compared in constant time, before
// anything else is read; then any other event (ping, push, ...) is ignored. Only
// deployment_status.state "success" is a deploy.
//   id          "github:" + repository.full_name + "/deployments/" + deployment.id
//   service     deployment.payload.service, else repository.name
//   environment deployment_status.environment, else deployment.environment
//   version     deployment.payload.version, else deployment.ref, else deployment.sha
//   hosts       deployment.payload.hosts (array, or a comma separated string)
//   strategy    deployment.payload.strategy; active_color deployment.payload.active_color
//   commit      deployment.sha
//   author      deployment.creator.login, else sender.login
//   link        deployment_status.log_url, else target_url, else environment_url
//   at_ms       deployment_status.created_at, else now
//   source      "github"
// deployment.payload may be an object or a string holding a JSON object; anything else
// is treated as no payload.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "hub/incidents/changes.h"

namespace reflex::hub::incidents {

// Exactly one of the two is set.
struct WebhookOutcome {
  std::optional<Change> change;
  std::string ignored;  // why nothing is recorded

  bool operator==(const WebhookOutcome&) const = default;
};

// A "bad_request" error names the field (malformed JSON, a missing `name` or `build`,
// a wrong type, an unknown STRATEGY).
Result<WebhookOutcome> parse_jenkins_notification(std::string_view body, int64_t now_ms);

// The parts of a GitHub delivery the hub reads; header values as received ("" when
// absent).
struct GithubDelivery {
  std::string_view event;      // X-GitHub-Event
  std::string_view signature;  // X-Hub-Signature-256
  std::string_view body;       // the raw body, exactly as received
};

// "unauthorized" when the secret is empty, the signature header is missing or does not
// match; "bad_request" for a missing X-GitHub-Event or a malformed deployment_status
// body (naming the field).
Result<WebhookOutcome> parse_github_deployment_status(const GithubDelivery& delivery,
                                                      std::string_view secret, int64_t now_ms);

// Lowercase hex HMAC-SHA256 of `data` keyed with `secret`.
std::string hmac_sha256_hex(std::string_view secret, std::string_view data);
// "sha256=" + lowercase hex HMAC-SHA256 of `body` keyed with `secret`.
std::string github_signature(std::string_view secret, std::string_view body);
// Whether `header` is the signature of `body`; constant time in the compared bytes.
bool verify_github_signature(std::string_view secret, std::string_view body,
                             std::string_view header);

// Whether `given` equals `expected`, in time independent of where they differ (for the
// shared secret a Jenkins route checks, since the plugin signs nothing). An empty
// `expected` matches nothing.
bool secret_equals(std::string_view given, std::string_view expected);

}  // namespace reflex::hub::incidents
