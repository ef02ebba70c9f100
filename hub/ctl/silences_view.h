// `reflexctl silence ...`: the request bodies it sends and how it prints the hub's
// silence documents (hub/silence_api.h).
#pragma once

#include <nlohmann/json.hpp>
#include <string>
#include <vector>

namespace reflex::ctl {

// The body of POST /api/v1/silences from the command line: matchers as typed
// (service=checkout, env=~prod, team!="db"), `duration` ("2h") or `ends_at` (RFC 3339),
// each only when set (the hub checks the rest and names what is wrong).
nlohmann::json silence_request(const std::vector<std::string>& matchers,
                               const std::string& duration, const std::string& ends_at,
                               const std::string& author, const std::string& comment);

// Columns: ID, STATE, MATCHERS, ENDS (relative), CREATED BY, COMMENT.
std::string silences_table(const nlohmann::json& doc);

}  // namespace reflex::ctl
