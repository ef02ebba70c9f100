// Labels as the JSON object stored beside alerts, incidents and agents.
#pragma once

#include <string>

#include "protocol/messages.h"

namespace reflex::hub::incidents {

// {"name":"value",...} in name order: the very bytes nlohmann::json(labels).dump() gives,
// without building a JSON tree first (one allocation instead of one per name and value;
// this runs for every alert the hub stores). Never throws: bytes that are not UTF-8 (nobody
// checks an agent's labels and annotations: an agent.yaml saved in Latin-1, a StatsD
// name) become U+FFFD, where dump() would throw on the store writer's thread.
std::string labels_json(const protocol::Labels& labels);

}  // namespace reflex::hub::incidents
