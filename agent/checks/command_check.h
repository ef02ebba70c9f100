// The `command` check: runs a program under the Nagios plugin contract, so the thousands
// of existing plugins (Debian's monitoring-plugins) work unchanged.
//
// Exit 0/1/2/3 is OK/WARNING/CRITICAL/UNKNOWN; any other exit, a signal, a failed spawn or
// a timeout is UNKNOWN (on timeout the plugin's whole process group is killed). The
// message is the first line of stdout before any `|`; performance data is everything
// after the first `|`, on the first line and in the long output (see parse_perfdata).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "agent/checks/check.h"
#include "agent/process_runner.h"
#include "common/config.h"

namespace reflex::agent {

struct CommandCheckConfig {
  std::vector<std::string> argv;
  std::map<std::string, std::string> env;  // on top of the runner's minimal environment
  std::string cwd;
};

// Reads `command` (required: a list of arguments, or a string split by
// split_command_line, never given to a shell), `env` and `cwd` from `r`. Problems go to
// r.errors(), each naming its key path: an empty command, an unterminated quote, an
// absolute program path that does not exist or is not executable. A bare program name
// is looked up in PATH when it runs.
void read_command_check(config::MapReader& r, CommandCheckConfig& out);

// The performance data of one plugin run, in base units: times in ms (s and us
// converted), sizes in B (KB, MB, GB, TB as powers of 1024, as check_disk means them),
// "%" as is, "c" for counters, "" for plain numbers. Thresholds, min and max are ignored.
struct Perfdata {
  std::vector<PerfValue> values;
  uint64_t bad_items = 0;  // items skipped as malformed (no '=', not a number, unknown unit)
};

// Parses Nagios perfdata: space-separated `'label'=value[UOM];[warn];[crit];[min];[max]`
// items; a label may be single-quoted to hold spaces and '' stands for a quote inside it.
// A value of `U` (undetermined, allowed by the guidelines) is skipped without counting.
Perfdata parse_perfdata(std::string_view text);

// A plugin's stdout split per the contract.
struct PluginOutput {
  std::string message;      // first line before '|', trimmed; "(no output)" if empty or binary
  std::string perfdata;     // every perfdata part, joined by spaces
  bool unreadable = false;  // empty, or binary (NUL or control characters)
};
PluginOutput split_plugin_output(std::string_view stdout_text);

// The check's result for one finished run; `timeout` names the limit in messages. Counts
// malformed perfdata items ("bad_perfdata") and empty or binary output ("bad_output") in
// the result's bad_input.
CheckResult command_result(const ProcessOutcome& outcome, Millis timeout);

class CommandCheck final : public PeriodicCheck {
 public:
  // `runner` must outlive the check. Destroying the check cancels (kills) a run in flight.
  CommandCheck(CheckSpec spec, CommandCheckConfig config, ProcessRunner& runner);
  ~CommandCheck() override;

  const CheckSpec& spec() const override { return spec_; }
  void run(std::function<void(CheckResult)> done) override;

 private:
  CheckSpec spec_;
  CommandCheckConfig config_;
  ProcessRunner& runner_;
  std::optional<RunId> in_flight_;
};

std::unique_ptr<CommandCheck> make_command_check(CheckSpec spec, CommandCheckConfig config,
                                                 ProcessRunner& runner);

}  // namespace reflex::agent
