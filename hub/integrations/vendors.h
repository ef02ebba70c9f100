// The outbox integrations hub.yaml configures besides Slack (Jira, Statuspage,
// PagerDuty, Dynatrace, the generic webhook, Jenkins, GitHub Actions, email over SMTP,
// the Mattermost and Teams incoming webhooks), built in one
// place with their secrets read: start-up adds them to the outbox, and load_hub_config
// builds them too, so check-config and reload find an unreadable secret just as
// start-up does.
#pragma once

#include <memory>
#include <vector>

#include "common/clock.h"
#include "common/status.h"
#include "hub/outbox/integration.h"
#include "hub/outbox/outbox_config.h"

namespace reflex::hub {

struct ConfiguredIntegration {
  std::unique_ptr<Integration> integration;
  IntegrationLimits limits;
};

// One integration per section present in `cfg`, in a fixed order. `clock` (the webhook
// signs with its time; GitHub says when its rate limits reset; email dates its messages)
// must outlive them. Errors name the key (never quote a secret).
Result<std::vector<ConfiguredIntegration>> vendor_integrations(const IntegrationsConfig& cfg,
                                                               const Clock& clock);

}  // namespace reflex::hub
