// Strict YAML configuration reading shared by the hub and the agent.
//
// A typed config struct is filled by walking the YAML with MapReader. Every key must be
// claimed by the reader; whatever is left is an "unknown key" error. Errors accumulate
// (the operator sees all of them at once), each naming file, line and key path. The same
// code runs for `check-config`, start-up and reload, so they can never disagree.
#pragma once

#include <yaml-cpp/yaml.h>

#include <cstdint>
#include <map>
#include <set>
#include <string>
#include <vector>

#include "common/duration.h"
#include "common/status.h"

namespace reflex::config {

// Every problem found while reading one file.
class Errors {
 public:
  explicit Errors(std::string file) : file_(std::move(file)) {}

  void add(const YAML::Node& at, const std::string& path, const std::string& message);
  void add(const std::string& path, const std::string& message);  // no line known
  bool empty() const { return list_.empty(); }
  const std::vector<std::string>& list() const { return list_; }
  const std::string& file() const { return file_; }
  // ok, or one "config" error whose message holds every problem, one per line.
  Status status() const;

 private:
  std::string file_;
  std::vector<std::string> list_;
};

// Reads one YAML mapping; keys not claimed by any call are reported by finish().
class MapReader {
 public:
  // `node` may be null/absent (then every optional read keeps its default).
  MapReader(YAML::Node node, std::string path, Errors& errors);
  MapReader(const MapReader&) = delete;
  MapReader& operator=(const MapReader&) = delete;
  ~MapReader() { finish(); }

  bool has(const std::string& key) const;
  // Claims `key` and returns its node (null when absent).
  YAML::Node take(const std::string& key);
  // A reader for a nested mapping; claims `key`.
  MapReader child(const std::string& key);

  // Optional values: `out` keeps its value when the key is absent or invalid.
  void get(const std::string& key, std::string& out);
  void get(const std::string& key, bool& out);
  void get(const std::string& key, int64_t& out, int64_t min, int64_t max);
  void get(const std::string& key, double& out);
  void get(const std::string& key, Millis& out);
  void get(const std::string& key, std::map<std::string, std::string>& out);
  void get(const std::string& key, std::vector<std::string>& out);
  // Like get(string) but the value must be one of `allowed`.
  void get_enum(const std::string& key, std::string& out, const std::set<std::string>& allowed);
  // Records "missing required key" when absent.
  void require(const std::string& key);

  const std::string& path() const { return path_; }
  std::string path_of(const std::string& key) const;
  Errors& errors() { return errors_; }

  // Reports unknown keys once; called by the destructor if not called before.
  void finish();

 private:
  YAML::Node scalar(const std::string& key);

  YAML::Node node_;
  std::string path_;
  Errors& errors_;
  std::set<std::string> claimed_;
  bool finished_ = false;
};

// Parses YAML text; syntax errors name the file and line. An empty document is an
// empty map (every default applies).
Result<YAML::Node> parse_yaml(const std::string& text, const std::string& file);
Result<YAML::Node> load_yaml_file(const std::string& path);

// Splits "host:port" ("[::1]:80" for IPv6); port 0..65535.
Status parse_host_port(const std::string& text, std::string& host, int& port);

// "tcp://127.0.0.1:7171" style endpoint check used by hub and agent configs.
bool is_valid_zmq_endpoint(const std::string& endpoint);

}  // namespace reflex::config
