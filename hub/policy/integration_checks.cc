#include "hub/policy/integration_checks.h"

#include "hub/policy/step_calls.h"

namespace reflex::hub::policy {
namespace {

bool is_chat(StepKind kind) {
  return std::string_view(step_kind_name(kind)).starts_with("chat.");
}

}  // namespace

void check_step_integrations(const PolicyConfig& policy, const IntegrationsConfig& integrations,
                             config::Errors& errors) {
  for (const auto& [name, wf] : policy.workflows) {
    for (size_t i = 0; i < wf.steps.size(); ++i) {
      const Step& step = wf.steps[i];
      const std::string path = "workflows." + name + ".steps[" + std::to_string(i) + "]";
      if (step.kind == StepKind::kEmail && !integrations.email.enabled) {
        errors.add(path + ".kind",
                   "email steps send through integrations.email (an SMTP server), which is "
                   "not configured");
        continue;
      }
      auto it = step.with.find("integration");
      if (!is_chat(step.kind) || it == step.with.end()) continue;
      const std::string& chat = it->second;
      if (chat != "slack" && chat != "mattermost" && chat != "teams") {
        errors.add(path + ".with.integration",
                   "must be slack, mattermost or teams, got \"" + chat + "\"");
        continue;
      }
      const bool configured = chat == "slack"        ? true
                              : chat == "mattermost" ? integrations.mattermost.enabled
                                                     : integrations.teams.enabled;
      if (!configured) {
        errors.add(path + ".with.integration", "integrations." + chat + " is not configured");
        continue;
      }
      if (auto why = chat_refusal(chat, step_kind_name(step.kind)); !why.empty()) {
        errors.add(path + ".kind", why);
        continue;
      }
      if (chat != "slack" && step.with.contains("buttons")) {
        errors.add(path + ".with.buttons",
                   "response buttons need Slack: " + chat + "'s incoming webhook posts text only");
      }
    }
  }
}

}  // namespace reflex::hub::policy
