// hub.yaml keys for topology, inhibition, maintenance windows and silence reminders,
// read with the strict MapReader: every key claimed, every error naming its key path.
// hub/config.cc calls read_suppression_config(top, ...) on its top-level reader (or the
// readers one by one). Silences themselves are created through the API, not here.
//
//   services:                      # service -> what it depends on; cycles are refused
//     checkout:
//       depends_on: [payments, postgres]
//     payments:
//       depends_on: [postgres]
//   dependency_inhibition:
//     enabled: true                # default true; false still finds the related incident
//     equal: [env]                 # default [env]
//   inhibit_rules:
//     - name: critical-mutes-warning     # optional; default inhibit_rules[i]
//       source_matchers: ['severity="critical"']
//       target_matchers: ['severity="warning"']
//       equal: [cluster]                 # optional
//   maintenance:
//     - name: nightly-db                 # required, unique
//       matchers: ['service="postgres"', 'env="prod"']
//       weekdays: [sun]                  # mon..sun
//       start: "02:00"                   # local time
//       end: "04:00"                     # or duration: 2h (at most 7d)
//       time_zone: Europe/Berlin         # required, IANA name
//       comment: backups                 # optional
//   silence_reminders:
//     before: 15m                  # default 15m; 0s turns reminders off
//     min_length: 1h               # default 1h
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "hub/incidents/inhibition.h"
#include "hub/incidents/maintenance.h"
#include "hub/incidents/silences.h"

namespace reflex::hub::incidents {

// Everything hub.yaml says about suppression (the keys above). Kept apart from the
// Suppressor (suppression.h) so the hub's config can hold it without the engine.
struct SuppressionConfig {
  ServiceTopology services;
  DependencyPolicy dependencies;
  std::vector<InhibitRule> inhibit_rules;
  std::vector<MaintenanceWindow> maintenance;
  ReminderPolicy silence_reminders;
};

// Each claims its key on `top` (the hub.yaml top level) and reports into top.errors();
// `out` keeps its value when the key is absent or has errors.
void read_services(config::MapReader& top, ServiceTopology& out);
void read_dependency_inhibition(config::MapReader& top, DependencyPolicy& out);
void read_inhibit_rules(config::MapReader& top, std::vector<InhibitRule>& out);
void read_maintenance_windows(config::MapReader& top, std::vector<MaintenanceWindow>& out,
                              const std::string& zoneinfo_dir = kSystemZoneinfoDir);
void read_silence_reminders(config::MapReader& top, ReminderPolicy& out);

// All of the above.
void read_suppression_config(config::MapReader& top, SuppressionConfig& out,
                             const std::string& zoneinfo_dir = kSystemZoneinfoDir);

}  // namespace reflex::hub::incidents
