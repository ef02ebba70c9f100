// `reflexctl route test`: the query it sends and how it prints the hub's answer
// (hub/route_api.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <utility>
#include <vector>

#include "common/status.h"

namespace reflex::ctl {

// The query parameters of GET /api/v1/routes/test from the command line: `labels` as
// "service=checkout,env=prod" (several --labels add up), the rest only when set. A label
// without "=" or with an empty name is refused, naming it.
Result<std::vector<std::pair<std::string, std::string>>> route_test_params(
    const std::vector<std::string>& labels, const std::string& severity, bool suspect,
    const std::string& event);

// One block per route that applies: "route NAME -> workflow WF", then one line per step:
// its events, kind, name and rendered parameters; a step whose `if` does not hold is
// marked "(skipped: if ...)". When no route matches, says that nobody is engaged.
std::string route_test_text(const nlohmann::json& doc);

}  // namespace reflex::ctl
