// `reflexctl cluster`: how it prints the hub's cluster document (GET /api/v1/cluster,
// hub/cluster/cluster_view.h's cluster_json plus "self", the hub that answered).
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace reflex::ctl {

// The lease (who leads, the term, since when, when it expires), a table of the hubs
// (HUB, ROLE, API, AGENTS, VERSION, STARTED, SEEN), the database's replication state, and
// which hub answered. Ages are relative to the server's clock in the document.
std::string cluster_text(const nlohmann::json& doc);

}  // namespace reflex::ctl
