// `reflexctl change add` and `reflexctl changes`: the request body a change is posted
// with, and the table the hub's changes document is printed as.
#pragma once

#include <nlohmann/json.hpp>
#include <string>

namespace reflex::ctl {

// What `reflexctl change add` was told; empty fields are left out of the body.
struct ChangeArgs {
  std::string service;
  std::string environment;
  std::string version;
  std::string hosts;  // comma separated
  std::string strategy;
  std::string active_color;
  std::string commit;
  std::string author;
  std::string link;
};

// The body of POST /api/v1/changes.
nlohmann::json change_body(const ChangeArgs& args);

// Columns: AT (UTC), SERVICE, ENV, VERSION, STRATEGY, HOSTS, AUTHOR, SOURCE, ID.
std::string changes_table(const nlohmann::json& doc);

}  // namespace reflex::ctl
