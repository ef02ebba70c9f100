// `reflexctl oncall [SCHEDULE]`: the query it sends and how it prints the hub's on-call
// documents (hub/oncall/oncall_api.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace reflex::ctl {

// The path and query of the request: /api/v1/oncall (every schedule, the next shift of
// each) or /api/v1/oncall/SCHEDULE (its next `next` shifts), at `at` when set (RFC 3339,
// checked by the hub).
std::string oncall_path(const std::string& schedule, const std::string& at, int next);

// Columns: SCHEDULE, ON CALL, SINCE, UNTIL, NEXT, TIME ZONE, one row per schedule, times
// on the schedule's clock. Takes either document; a single schedule's is followed by a
// table of its next shifts (WHO, FROM, UNTIL, LAYER).
std::string oncall_table(const nlohmann::json& doc);

}  // namespace reflex::ctl
