#include "hub/incidents/config_lists.h"

#include <algorithm>
#include <cctype>

namespace reflex::hub::incidents {
namespace {

bool valid_label_name(const std::string& name) {
  if (name.empty() || !(std::isalpha(static_cast<unsigned char>(name[0])) || name[0] == '_')) {
    return false;
  }
  return std::all_of(name.begin(), name.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
  });
}

}  // namespace

bool present(const YAML::Node& n) {
  return n.IsDefined() && !n.IsNull();
}

std::string at_index(const std::string& path, size_t i) {
  return path + "[" + std::to_string(i) + "]";
}

std::string label_name_problem(const std::string& name, const std::vector<std::string>& before) {
  if (!valid_label_name(name)) {
    return "'" + name + "' is not a label name (letters, digits and _, not first a digit)";
  }
  if (std::find(before.begin(), before.end(), name) != before.end()) {
    return "'" + name + "' is listed twice";
  }
  return "";
}

Matchers read_matchers(config::MapReader& r, const std::string& key, bool required) {
  Matchers out;
  YAML::Node n = r.take(key);
  const std::string path = r.path_of(key);
  if (!present(n)) {
    if (required) r.errors().add(path, "missing required key; list matchers like 'service=\"x\"'");
    return out;
  }
  if (!n.IsSequence()) {
    r.errors().add(n, path, "expected a list of matchers like 'service=\"checkout\"'");
    return out;
  }
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      r.errors().add(n[i], at_index(path, i), "expected a matcher like 'service=\"checkout\"'");
      continue;
    }
    auto m = Matcher::parse(n[i].Scalar());
    if (!m) {
      r.errors().add(n[i], at_index(path, i), m.status().message());
      continue;
    }
    out.push_back(std::move(m).value());
  }
  if (required && n.size() == 0) r.errors().add(n, path, "name at least one matcher");
  return out;
}

}  // namespace reflex::hub::incidents
