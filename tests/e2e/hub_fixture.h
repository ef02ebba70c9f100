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
  // Stops the hub with `sig` (SIGKILL: a crash) and waits for it to exit.
  void stop(int sig);
  // Starts a stopped hub again on the same ports and store.
  void start();

  // Starts an agent with its own config (spool in the test directory); heartbeat every
  // `heartbeat`; `extra_yaml` is appended to its config.
  std::unique_ptr<Child> start_agent(const std::string& id, const std::string& heartbeat = "200ms",
                                     const std::string& extra_yaml = "",
                                     const std::string& spool_yaml = "");
  // An agent with a hostname and labels of its own.
  struct AgentSpec {
    std::string hostname;                        // "": the machine's
    std::string labels = "{service: checkout}";  // a YAML flow mapping
    std::string heartbeat = "200ms";
    std::string extra_yaml;  // appended to its config
  };
  std::unique_ptr<Child> start_agent(const std::string& id, const AgentSpec& spec);

  // The sequence numbers of `agent_id`'s events in the hub's store, in commit order.
  std::vector<uint64_t> stored_seqs(const std::string& agent_id) const;
  // The frames of `agent_id`'s stored events, in sequence order.
  std::vector<std::string> stored_frames(const std::string& agent_id) const;

  // reflexctl agents --json, parsed; empty object when it fails.
  nlohmann::json agents() const;
  // The value of one sample of the hub's /metrics, e.g.
  // `reflex_hub_frames_rejected_total{reason="truncated"}`; 0 when absent.
  double metric(const std::string& sample) const;
  // id -> state ("alive", "lost"), from reflexctl.
  std::map<std::string, std::string> states() const;

  // reflexctl --hub <this hub> `args...`.
  Output ctl(const std::vector<std::string>& args) const;
  // GET `path` on the hub's HTTP API, parsed; null unless it answered 200.
  nlohmann::json api_get(const std::string& path) const;

 private:
  void launch();

  TempDir dir_;
  std::unique_ptr<Child> child_;
  std::string ingest_;
  int http_port_ = 0;
};

}  // namespace reflex::testing
