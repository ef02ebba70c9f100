// check-config's checks of workflow steps against the integrations hub.yaml configures,
// for steps that cannot work without theirs: an `email` step needs integrations.email; a
// chat step naming `integration: mattermost` or `teams` needs that section, and can only
// be a chat.post without buttons (incoming webhooks return no id to update, invite to or
// archive, and take no buttons). Chat steps may name slack, mattermost or teams. Steps of
// other kinds whose integration is missing are skipped at run time, saying so.
#pragma once

#include "common/config.h"
#include "hub/outbox/outbox_config.h"
#include "hub/policy/policy.h"

namespace reflex::hub::policy {

// Adds an error naming "workflows.<name>.steps[<i>].<key>" for each step that cannot run.
void check_step_integrations(const PolicyConfig& policy, const IntegrationsConfig& integrations,
                             config::Errors& errors);

}  // namespace reflex::hub::policy
