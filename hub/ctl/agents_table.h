// Renders the hub's agents document as the table `reflexctl agents` prints.
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace reflex::ctl {

// Columns: ID, HOSTNAME, STATE, LAST SEEN (relative), VERSION, LABELS.
std::string agents_table(const nlohmann::json& doc);

// One agent (GET /api/v1/agents/{id}) as `reflexctl agents <id>` prints it: its facts,
// then its checks' series from its last metrics summary (SERIES, STATE, STATISTICS).
std::string agent_detail_text(const nlohmann::json& doc);

// The maintenance windows (GET /api/v1/maintenance) as `reflexctl maintenance` prints
// them: NAME, STATE (open or closed), WHEN, MATCHERS, NOW OR NEXT (relative), COMMENT.
std::string maintenance_table(const nlohmann::json& doc);

// "3s ago", "5m ago", "2h ago", "4d ago".
std::string relative_age(int64_t ago_ms);
// "in 3s", "in 5m", ... (negative reads as 0).
std::string in_future(int64_t ahead_ms);
// "service=checkout,env=prod" ("" for no labels or not an object).
std::string labels_text(const nlohmann::json& labels);

// Rows (the first is the header) as columns aligned with two spaces between them.
std::string render_table(const std::vector<std::vector<std::string>>& rows);

}  // namespace reflex::ctl
