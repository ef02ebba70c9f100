#include "hub/integrations/vendors.h"

#include "hub/integrations/dynatrace.h"
#include "hub/integrations/email.h"
#include "hub/integrations/github.h"
#include "hub/integrations/jenkins.h"
#include "hub/integrations/jira.h"
#include "hub/integrations/mattermost.h"
#include "hub/integrations/pagerduty.h"
#include "hub/integrations/statuspage.h"
#include "hub/integrations/teams.h"
#include "hub/integrations/webhook.h"

namespace reflex::hub {
namespace {

// Paced by max_in_flight alone: the vendors' 429 (420) answers, retried by the outbox
// after Retry-After, do the rest.
IntegrationLimits limits(int64_t max_in_flight) {
  return {
      .max_in_flight = static_cast<size_t>(max_in_flight), .rate_per_key = 0, .burst_per_key = 1};
}

}  // namespace

Result<std::vector<ConfiguredIntegration>> vendor_integrations(const IntegrationsConfig& cfg,
                                                               const Clock& clock) {
  std::vector<ConfiguredIntegration> out;
  if (cfg.jira.enabled) {
    auto s = jira_settings(cfg.jira);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<JiraIntegration>(std::move(s).value()),
                   .limits = limits(cfg.jira.max_in_flight)});
  }
  if (cfg.statuspage.enabled) {
    auto s = statuspage_settings(cfg.statuspage);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<StatuspageIntegration>(std::move(s).value()),
                   .limits = limits(cfg.statuspage.max_in_flight)});
  }
  if (cfg.pagerduty.enabled) {
    auto s = pagerduty_settings(cfg.pagerduty);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<PagerDutyIntegration>(std::move(s).value()),
                   .limits = limits(cfg.pagerduty.max_in_flight)});
  }
  if (cfg.dynatrace.enabled) {
    auto s = dynatrace_settings(cfg.dynatrace);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<DynatraceIntegration>(std::move(s).value()),
                   .limits = limits(cfg.dynatrace.max_in_flight)});
  }
  if (cfg.webhook.enabled) {
    auto s = webhook_settings(cfg.webhook);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<WebhookIntegration>(std::move(s).value(), clock),
                   .limits = limits(cfg.webhook.max_in_flight)});
  }
  if (cfg.jenkins.enabled) {
    auto s = jenkins_settings(cfg.jenkins);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<JenkinsIntegration>(std::move(s).value()),
                   .limits = limits(cfg.jenkins.max_in_flight)});
  }
  if (cfg.github.enabled) {
    auto s = github_settings(cfg.github);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<GitHubIntegration>(std::move(s).value(), clock),
                   .limits = limits(cfg.github.max_in_flight)});
  }
  if (cfg.email.enabled) {
    auto s = email_settings(cfg.email);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<EmailIntegration>(std::move(s).value(), clock),
                   .limits = limits(cfg.email.max_in_flight)});
  }
  if (cfg.mattermost.enabled) {
    auto s = mattermost_settings(cfg.mattermost);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<MattermostIntegration>(std::move(s).value()),
                   .limits = limits(cfg.mattermost.max_in_flight)});
  }
  if (cfg.teams.enabled) {
    auto s = teams_settings(cfg.teams);
    if (!s) return s.status();
    out.push_back({.integration = std::make_unique<TeamsIntegration>(std::move(s).value()),
                   .limits = teams_limits(cfg.teams.max_in_flight)});
  }
  return out;
}

}  // namespace reflex::hub
