#include "common/config.h"

#include <fstream>
#include <regex>
#include <sstream>
#include <utility>

namespace reflex::config {
namespace {

// A default-constructed YAML::Node is a defined null, so "absent" means null or undefined.
bool present(const YAML::Node& n) {
  return n.IsDefined() && !n.IsNull();
}

}  // namespace

void Errors::add(const YAML::Node& at, const std::string& path, const std::string& message) {
  if (present(at) && at.Mark().line >= 0) {
    list_.push_back(file_ + ":" + std::to_string(at.Mark().line + 1) + ": " + path + ": " +
                    message);
  } else {
    add(path, message);
  }
}

void Errors::add(const std::string& path, const std::string& message) {
  list_.push_back(file_ + ": " + path + ": " + message);
}

Status Errors::status() const {
  if (list_.empty()) return Status::ok();
  std::string all;
  for (const auto& e : list_) all += (all.empty() ? "" : "\n") + e;
  return Status::error("config", all);
}

MapReader::MapReader(YAML::Node node, std::string path, Errors& errors)
    : node_(node), path_(std::move(path)), errors_(errors) {
  if (present(node_) && !node_.IsMap()) {
    errors_.add(node_, path_.empty() ? "(top level)" : path_, "expected a mapping");
    node_ = YAML::Node();
  }
}

std::string MapReader::path_of(const std::string& key) const {
  return path_.empty() ? key : path_ + "." + key;
}

bool MapReader::has(const std::string& key) const {
  if (!node_.IsMap()) return false;
  return present(std::as_const(node_)[key]);  // a const lookup never inserts
}

YAML::Node MapReader::take(const std::string& key) {
  claimed_.insert(key);
  if (!node_.IsMap()) return YAML::Node();
  YAML::Node n = std::as_const(node_)[key];
  return present(n) ? n : YAML::Node();
}

MapReader MapReader::child(const std::string& key) {
  return MapReader(take(key), path_of(key), errors_);
}

YAML::Node MapReader::scalar(const std::string& key) {
  YAML::Node n = take(key);
  if (present(n) && !n.IsScalar()) {
    errors_.add(n, path_of(key), "expected a single value");
    return YAML::Node();
  }
  return n;
}

void MapReader::get(const std::string& key, std::string& out) {
  if (auto n = scalar(key); present(n)) out = n.Scalar();
}

void MapReader::get(const std::string& key, bool& out) {
  auto n = scalar(key);
  if (!present(n)) return;
  const std::string& s = n.Scalar();
  if (s == "true" || s == "yes" || s == "on") {
    out = true;
  } else if (s == "false" || s == "no" || s == "off") {
    out = false;
  } else {
    errors_.add(n, path_of(key), "expected true or false, got \"" + s + "\"");
  }
}

void MapReader::get(const std::string& key, int64_t& out, int64_t min, int64_t max) {
  auto n = scalar(key);
  if (!present(n)) return;
  const std::string& s = n.Scalar();
  size_t used = 0;
  int64_t v = 0;
  try {
    v = std::stoll(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) {
    errors_.add(n, path_of(key), "expected a whole number, got \"" + s + "\"");
  } else if (v < min || v > max) {
    errors_.add(
        n, path_of(key),
        "must be between " + std::to_string(min) + " and " + std::to_string(max) + ", got " + s);
  } else {
    out = v;
  }
}

void MapReader::get(const std::string& key, double& out) {
  auto n = scalar(key);
  if (!present(n)) return;
  const std::string& s = n.Scalar();
  size_t used = 0;
  double v = 0;
  try {
    v = std::stod(s, &used);
  } catch (const std::exception&) {
    used = 0;
  }
  if (used == 0 || used != s.size()) {
    errors_.add(n, path_of(key), "expected a number, got \"" + s + "\"");
  } else {
    out = v;
  }
}

void MapReader::get(const std::string& key, Millis& out) {
  auto n = scalar(key);
  if (!present(n)) return;
  auto d = parse_duration(n.Scalar());
  if (!d) {
    errors_.add(n, path_of(key), d.status().message());
  } else {
    out = *d;
  }
}

void MapReader::get(const std::string& key, std::map<std::string, std::string>& out) {
  YAML::Node n = take(key);
  if (!present(n)) return;
  if (!n.IsMap()) {
    errors_.add(n, path_of(key), "expected a mapping of names to values");
    return;
  }
  std::map<std::string, std::string> result;
  bool ok = true;
  for (const auto& kv : n) {
    const std::string name = kv.first.Scalar();
    if (!kv.second.IsScalar()) {
      errors_.add(kv.second, path_of(key) + "." + name, "expected a single value");
      ok = false;
      continue;
    }
    result[name] = kv.second.Scalar();
  }
  if (ok) out = std::move(result);
}

void MapReader::get(const std::string& key, std::vector<std::string>& out) {
  YAML::Node n = take(key);
  if (!present(n)) return;
  if (!n.IsSequence()) {
    errors_.add(n, path_of(key), "expected a list");
    return;
  }
  std::vector<std::string> result;
  bool ok = true;
  for (size_t i = 0; i < n.size(); ++i) {
    if (!n[i].IsScalar()) {
      errors_.add(n[i], path_of(key) + "[" + std::to_string(i) + "]", "expected a single value");
      ok = false;
      continue;
    }
    result.push_back(n[i].Scalar());
  }
  if (ok) out = std::move(result);
}

void MapReader::get_enum(const std::string& key, std::string& out,
                         const std::set<std::string>& allowed) {
  auto n = scalar(key);
  if (!present(n)) return;
  if (allowed.count(n.Scalar()) == 0) {
    std::string names;
    for (const auto& a : allowed) names += (names.empty() ? "" : ", ") + a;
    errors_.add(n, path_of(key), "must be one of " + names + ", got \"" + n.Scalar() + "\"");
    return;
  }
  out = n.Scalar();
}

void MapReader::require(const std::string& key) {
  if (!has(key)) {
    errors_.add(node_, path_of(key), "missing required key");
  }
}

void MapReader::finish() {
  if (finished_) return;
  finished_ = true;
  if (!node_.IsMap()) return;
  std::set<std::string> seen;
  for (const auto& kv : node_) {
    const std::string key = kv.first.Scalar();
    // yaml-cpp keeps a repeated key and answers lookups with the first one: an operator
    // editing the second would see no effect, so it is an error.
    if (!seen.insert(key).second) {
      errors_.add(kv.first, path_of(key), "duplicate key");
      continue;
    }
    if (claimed_.count(key)) continue;
    std::string known;
    for (const auto& k : claimed_) known += (known.empty() ? "" : ", ") + k;
    errors_.add(kv.first, path_of(key),
                "unknown key" + (known.empty() ? std::string() : " (known here: " + known + ")"));
  }
}

Result<YAML::Node> parse_yaml(const std::string& text, const std::string& file) {
  try {
    YAML::Node root = YAML::Load(text);
    if (!root.IsDefined() || root.IsNull()) return YAML::Node(YAML::NodeType::Map);
    return root;
  } catch (const YAML::Exception& e) {
    return Status::error(
        "config", file + ":" + std::to_string(e.mark.line + 1) + ": YAML syntax error: " + e.msg);
  }
}

Result<YAML::Node> load_yaml_file(const std::string& path) {
  std::ifstream in(path);
  if (!in) return Status::error("io", path + ": cannot read the file");
  std::stringstream buf;
  buf << in.rdbuf();
  return parse_yaml(buf.str(), path);
}

bool is_valid_zmq_endpoint(const std::string& endpoint) {
  static const std::regex re(
      R"(^(tcp://(\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+):(\*|[0-9]{1,5})|ipc://\S+|inproc://\S+)$)");
  return std::regex_match(endpoint, re);
}

Status parse_host_port(const std::string& text, std::string& host, int& port) {
  auto colon = text.rfind(':');
  if (colon == std::string::npos || colon == 0) {
    return Status::error("invalid_value", "expected host:port, got \"" + text + "\"");
  }
  std::string p = text.substr(colon + 1);
  if (p.empty() || p.size() > 5 || p.find_first_not_of("0123456789") != std::string::npos ||
      std::stoi(p) > 65535) {
    return Status::error("invalid_value", "invalid port in \"" + text + "\"");
  }
  host = text.substr(0, colon);
  if (host.size() > 2 && host.front() == '[' && host.back() == ']') {
    host = host.substr(1, host.size() - 2);
  }
  port = std::stoi(p);
  return Status::ok();
}

}  // namespace reflex::config
