// Readers of lists in hub.yaml shared by its sections (suppression, policies), on the
// strict MapReader: each reports into the reader's errors with the item's key path.
#pragma once

#include <string>
#include <vector>

#include "common/config.h"
#include "hub/incidents/matchers.h"

namespace reflex::hub::incidents {

// Defined and not null.
bool present(const YAML::Node& n);
// "path[i]"
std::string at_index(const std::string& path, size_t i);
// "" or why `name` is no label name, or is already in `before`.
std::string label_name_problem(const std::string& name, const std::vector<std::string>& before);

// A list of scalars at `key`, each checked by `check` (which returns "" or a problem).
// Returns false when anything was wrong; `out` is set only when all was right.
template <class Check>
bool read_list(config::MapReader& r, const std::string& key, std::vector<std::string>& out,
               Check check) {
  YAML::Node n = r.take(key);
  if (!present(n)) return true;
  const std::string path = r.path_of(key);
  if (!n.IsSequence()) {
    r.errors().add(n, path, "expected a list");
    return false;
  }
  std::vector<std::string> items;
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      r.errors().add(n[i], at_index(path, i), "expected a single value");
      ok = false;
      continue;
    }
    const std::string problem = check(n[i].Scalar(), items);
    if (!problem.empty()) {
      r.errors().add(n[i], at_index(path, i), problem);
      ok = false;
      continue;
    }
    items.push_back(n[i].Scalar());
  }
  if (ok) out = std::move(items);
  return ok;
}

// Matchers at `key`, one text per list item ('service="checkout"'); `required`: the key
// must be there with at least one.
Matchers read_matchers(config::MapReader& r, const std::string& key, bool required);

}  // namespace reflex::hub::incidents
