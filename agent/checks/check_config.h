// The `checks:` list of agent.yaml: the settings every check has (CheckSpec) and those of
// its type, read strictly (each type's reader claims its own keys, so a key of another
// type is an unknown key), plus the factory that turns a config into running checks.
#pragma once

#include <memory>
#include <variant>
#include <vector>

#include "agent/checks/check.h"
#include "agent/checks/command_check.h"
#include "agent/checks/host_check.h"
#include "agent/checks/http_check.h"
#include "agent/checks/log_check.h"
#include "agent/checks/process_check.h"
#include "agent/checks/runner.h"
#include "agent/checks/statsd_check.h"
#include "agent/checks/tcp_check.h"
#include "common/config.h"

namespace reflex::agent {

struct CheckConfig {
  CheckSpec spec;
  std::variant<HttpCheckConfig, TcpCheckConfig, CommandCheckConfig, ProcessCheckConfig,
               HostCheckConfig, LogCheckConfig, StatsdCheckConfig>
      kind;
};

// Reads the list under `checks` (absent: no checks). Names must be unique and usable as
// series names; `interval` at least 100ms; `timeout` at least 10ms.
void read_checks(config::MapReader& top, std::vector<CheckConfig>& out);

// The running checks of one configuration. Periodic checks go to `runner`; streaming
// checks are started here. The services passed in must outlive the set.
class CheckSet {
 public:
  struct Services {
    CheckContext& context;
    HttpClient& http;
    ProcessRunner& processes;
  };
  // Builds and starts every check; fails (stopping what it started) when a streaming
  // check cannot start, e.g. its port is taken.
  static Result<std::unique_ptr<CheckSet>> start(const std::vector<CheckConfig>& checks,
                                                 Services services);
  ~CheckSet();

  // Every check's status, in config order.
  std::vector<CheckStatus> status() const;

  // Periodic checks: called when a check's state changes (CheckRunner::set_on_state_change).
  void set_on_state_change(CheckRunner::StateChange hook) {
    runner_->set_on_state_change(std::move(hook));
  }
  // Runs the periodic check `name` at once (CheckRunner::wake); false when there is none.
  bool wake(const std::string& name) { return runner_->wake(name); }

 private:
  explicit CheckSet(CheckContext& context);
  CheckContext& context_;
  std::unique_ptr<CheckRunner> runner_;
  std::vector<std::unique_ptr<StreamingCheck>> streaming_;
  std::vector<std::string> order_;  // check names in config order
};

}  // namespace reflex::agent
