// JSON text for the wire and the store.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace reflex {

// `doc` as compact JSON text. Never throws: a string that is not UTF-8 (an agent's labels,
// a plugin's output) has its bad bytes replaced by U+FFFD, where dump() would
// throw, and on the hub's loop or store writer thread abort the hub.
inline std::string json_text(const nlohmann::json& doc) {
  return doc.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace reflex
