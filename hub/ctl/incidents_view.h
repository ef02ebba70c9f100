// Renders the hub's incident documents as `reflexctl incidents` and `reflexctl incident
// show` print them.
#pragma once

#include <cstdint>
#include <nlohmann/json.hpp>
#include <string>

namespace reflex::ctl {

// Columns: ID, STATUS, SEVERITY, SERVICE, HOSTS, OPENED (relative), OWNER, TITLE.
std::string incidents_table(const nlohmann::json& doc);

// One incident (GET /api/v1/incidents/{id}): its fields, its member alerts and its
// timeline with UTC times.
std::string incident_text(const nlohmann::json& doc);

// "2026-01-01 12:00:00Z" for epoch milliseconds.
std::string utc_time(int64_t epoch_ms);

}  // namespace reflex::ctl
