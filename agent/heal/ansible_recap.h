// What an ansible action's run did, read from ansible-playbook's stdout for the reason of
// a remediation event: the PLAY RECAP counts per host and the task that failed.
//
// The format is the default stdout callback's (ansible-core 2.x), with or without colour:
// ANSI escape sequences, carriage returns and runs of spaces are ignored. Another stdout
// callback (json, minimal, ...) prints no recap, so nothing is found. Pure functions.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace reflex::agent::heal {

// One host's line of the PLAY RECAP:
//   localhost : ok=2 changed=1 unreachable=0 failed=0 skipped=0 rescued=0 ignored=0
// ok, changed, unreachable and failed must be present; skipped, rescued and ignored are 0
// when absent (older versions print only the first four). Unknown counts are ignored.
struct AnsibleHostRecap {
  std::string host;
  int ok = 0;
  int changed = 0;
  int unreachable = 0;
  int failed = 0;
  int skipped = 0;
  int rescued = 0;
  int ignored = 0;
};

struct AnsibleRecap {
  std::vector<AnsibleHostRecap> hosts;  // in the order ansible printed them

  // At least one host ran and none failed or was unreachable. A recap without hosts (the
  // play matched none, and ansible still exits 0) is not ok: nothing was done.
  bool ok() const;
};

// The last PLAY RECAP in `output`, or nullopt when there is none: ansible stopped before
// running a play (a syntax error, a missing playbook; its reason is then on stderr).
std::optional<AnsibleRecap> parse_ansible_recap(std::string_view output);

// One line for an event's reason, hosts joined by "; ", or "no hosts":
//   "localhost: ok=2 changed=1 failed=0 unreachable=0"
std::string summarize(const AnsibleRecap& recap);

// The name of the last task or handler (as in "TASK [name]" / "RUNNING HANDLER [name]")
// under which a host failed ("fatal: [h]: FAILED!", "fatal: [h]: UNREACHABLE!", or a loop
// item's "failed: [h] (item=...)"), unless ansible printed "...ignoring" for it. nullopt
// when there is none. A failure that a block's `rescue` recovered from looks the same in
// the output, so ask only when the recap is not ok.
std::optional<std::string> failed_task(std::string_view output);

}  // namespace reflex::agent::heal
