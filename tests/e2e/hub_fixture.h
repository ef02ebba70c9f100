// End-to-end fixture: a real reflex-hub process on free ports in a temp directory, and
// helpers to start real agents against it and ask reflexctl what the hub knows.
#pragma once

#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/support/process.h"

namespace reflex::testing {

class HubProcess {
 public:
  // `extra_yaml` is appended to the generated hub.yaml.
  explicit HubProcess(const std::string& extra_yaml = "");

  const TempDir& dir() const { return dir_; }
  const std::string& ingest() const { return ingest_; }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(http_port_); }
  Child& child() { return *child_; }
  std::string config_path() const { return dir_.file("hub.yaml"); }
  std::string log() const { return read_file(dir_.file("hub.log")); }

  // Stops the hub (SIGTERM) and starts it again on the same ports and store.
  void restart();

  // Starts an agent with its own config; heartbeat every `heartbeat`.
  std::unique_ptr<Child> start_agent(const std::string& id, const std::string& heartbeat = "200ms");

  // reflexctl agents --json, parsed; empty object when it fails.
  nlohmann::json agents() const;
  // id -> state ("alive", "lost"), from reflexctl.
  std::map<std::string, std::string> states() const;

 private:
  void launch();

  TempDir dir_;
  std::unique_ptr<Child> child_;
  std::string ingest_;
  int http_port_ = 0;
};

}  // namespace reflex::testing
