// hub.yaml keys for routes and workflows (policy.h), read with the strict MapReader:
// every key claimed, every error naming its key path. check-config reports them all.
//
//   routes:                             # tried in order; the first match applies
//     - name: canary-rollback           # required, unique
//       match:                          # every key optional; absent: any
//         severity: [high, critical]    # any of info, warning, high, critical
//         service: [checkout]           # any of
//         env: [prod]                   # any of
//         labels: ['team="payments"']   # all must match (severity and has_suspect too)
//         has_suspect: true             # a suspect change was named
//       workflow: rollback-and-watch    # required: a key of workflows
//       continue: false                 # true: later matching routes apply as well
//   business_hours:                     # when people work (tickets for the morning)
//     weekdays: [mon, tue, wed, thu, fri]
//     start: "09:00"
//     end: "17:00"
//     time_zone: Europe/Berlin
//   workflows:
//     rollback-and-watch:
//       steps:
//         - name: tell-the-channel      # optional, unique in the workflow; default steps[i]
//           on: [opened, reopened]      # required: events (policy.h)
//           if: ['env="prod"']          # optional matchers over the incident
//           kind: chat.post             # required: a step kind (policy.h)
//           with:                       # its parameters, Mustache templates (templates.h)
//             channel: "#{{service}}"
//             text: "{{severity}}: {{title}}"
#pragma once

#include "common/config.h"
#include "hub/policy/policy.h"

namespace reflex::hub::policy {

// Claims `routes` and `workflows` on `top` (the hub.yaml top level) and reports into
// top.errors(); `out` keeps its value unless both read without errors.
void read_policy_config(config::MapReader& top, PolicyConfig& out,
                        const std::string& zoneinfo_dir = incidents::kSystemZoneinfoDir);

}  // namespace reflex::hub::policy
