// The `actions:` list of agent.yaml, the `heal:` ladders on rules that name them, and the
// argv an action runs for one alert.
//
// Every action has a unique name, a type and its guardrails (timeout, budget {max_runs,
// window}, cooldown, verify_within, dry_run; defaults in guardrails.h). Each type's reader
// claims its own keys, so a key of another type is an unknown key.
//
// Alert labels reach an action only through `{{label}}` placeholders in its arguments
// (exec command entries, systemd unit, http url, target, ansible extra_vars by label
// name). No value is ever spliced into a shell string: a `shell: true` command may hold no
// placeholders. An exec argv entry is its own argument, so a value there is passed as
// inert text, whatever it holds (spaces, quotes, `;`, `$(...)`), with two exceptions that
// are refused: a NUL byte, and a leading '-' where the value begins the argument (it
// would read as an option). Everywhere else (unit names, URLs, targets, and ansible extra
// vars, which Ansible would evaluate as Jinja templates) a value must match
// kSafeLabelValue, or the action is refused and does not run.
#pragma once

#include <map>
#include <set>
#include <string>
#include <variant>
#include <vector>

#include "agent/heal/guardrails.h"
#include "common/config.h"
#include "common/status.h"
#include "protocol/messages.h"

namespace reflex::agent::heal {

// exec: `command` is an argv list; a single string only with `shell: true` (then it runs
// as /bin/sh -c <command>). `user` (run-as) is resolved by the caller, which must be root.
struct ExecAction {
  std::vector<std::string> command;  // argv; with shell: the one shell string
  bool shell = false;
  std::map<std::string, std::string> env;
  std::string cwd;   // absolute; empty: the agent's
  std::string user;  // empty: the agent's own user
};

// systemd: systemctl <operation> <unit>.
struct SystemdAction {
  std::string unit;
  std::string operation = "restart";  // restart, start, stop, reload
};

// ansible: ansible-playbook against localhost with a local connection.
struct AnsibleAction {
  std::string playbook;                 // absolute path
  std::vector<std::string> extra_vars;  // alert label names passed as extra vars
};

// http: one request; the action succeeded when the status is one of expect_status.
struct HttpAction {
  std::string url;  // http:// or https://
  std::string method = "POST";
  std::map<std::string, std::string> headers;
  std::string body;
  std::vector<int> expect_status;  // empty: any 2xx
};

// signal: kill(2) the process named by a pidfile or found by its name (exactly one).
struct SignalAction {
  std::string pidfile;  // absolute path
  std::string process_name;
  std::string signal = "HUP";  // HUP, INT, QUIT, KILL, USR1, USR2, TERM, CONT, STOP, WINCH
  int signal_number = 0;       // filled by the reader
};

struct ActionConfig {
  std::string name;
  std::string type;  // exec, systemd, ansible, http, signal
  // What the action heals, for its guardrails (budget, cooldown, in-flight, pause): a
  // template like "{{service}}". Empty: see action_target().
  std::string target;
  GuardrailConfig guardrails;
  std::variant<ExecAction, SystemdAction, AnsibleAction, HttpAction, SignalAction> kind;
};

// Reads the list under `actions` (absent: none). Names unique, like check names.
void read_actions(config::MapReader& top, std::vector<ActionConfig>& out);

// Reads keys budget {max_runs, window} and dry_run of the host-wide guardrails.
void read_host_guardrails(config::MapReader& r, HostGuardrailConfig& out);

// A rule's ladder, with the key path of its `heal` list for cross-reference errors.
struct HealLadder {
  std::vector<std::string> actions;
  std::string path;  // e.g. "rules[2].heal"
};

// Reads the optional `heal` key of a rule: a non-empty list of action names. `out` is
// left empty when the key is absent.
void read_heal_ladder(config::MapReader& rule, HealLadder& out);

// Reports every ladder entry that names no declared action, as "<path>[i]: ...".
void check_ladders(const std::vector<HealLadder>& ladders, const std::vector<ActionConfig>& actions,
                   config::Errors& errors);

// Guardrails by action name, for the Guardrails constructor.
std::map<std::string, GuardrailConfig> guardrails_by_action(
    const std::vector<ActionConfig>& actions);

// What a substituted label value must match: letters, digits and . _ : / @ -, 1 to 128
// of them, not starting with '-' (it would read as an option to the program). No
// spaces, quotes, '$', '`', ';', '|', '&', '<', '>', '*', '?', newline or NUL.
inline constexpr const char* kSafeLabelValue = "^[A-Za-z0-9._:/@][A-Za-z0-9._:/@-]{0,127}$";
bool is_safe_label_value(const std::string& value);

// How substituted values are checked: kSafe against kSafeLabelValue; kArgv as one
// argv entry (see the top of this file).
enum class LabelUse : uint8_t { kSafe, kArgv };

// Replaces each `{{name}}` in `text` with the label's value. Fails (code "refused",
// message naming the label and why) on a missing label, a value `use` does not allow or
// a malformed placeholder.
Result<std::string> expand_labels(const std::string& text, const protocol::Labels& labels,
                                  LabelUse use = LabelUse::kSafe);

// The target of one run: `target` expanded, or by type: the systemd unit, the signal's
// pidfile or process name, the http URL; for exec and ansible the alert's `series` label,
// else the action's name. Fails like expand_labels.
Result<std::string> action_target(const ActionConfig& action, const protocol::Labels& labels);

// The parameters an action declares: every label named by a `{{label}}` placeholder in
// its templates (command, unit, url, target) and its ansible extra_vars. A hub command may
// pass these and no others.
std::set<std::string> declared_params(const ActionConfig& action);

// The argv that runs `action` for an alert with `labels`, or why it must not run:
//   exec      the command with placeholders expanded; ["/bin/sh", "-c", cmd] with shell
//   systemd   ["systemctl", operation, unit]
//   ansible   ["ansible-playbook", "-i", "localhost,", "-c", "local", playbook,
//              "--extra-vars", <JSON object of the named labels>] (the last two only with
//              extra_vars)
// http and signal actions run no program: an "invalid_argument" error.
Result<std::vector<std::string>> build_argv(const ActionConfig& action,
                                            const protocol::Labels& labels);

}  // namespace reflex::agent::heal
