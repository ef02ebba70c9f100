// Rules: conditions over the windows that become alerts (collect -> windows -> rules).
//
// A rule names a series (exactly, or a glob with `*`) and a condition over its window.
// Each (rule, series, label set) has a state machine, inactive -> pending -> firing ->
// resolved -> inactive, decided by the pure function evaluate(); RuleEngine runs it over
// a WindowStore and turns transitions into protocol::Alert events.
//
// No data: a stat without data (no latencies for p99, no gauge for value, no events for
// error_rate, a series that no longer exists) neither holds nor recovers. So a pending
// rule falls back to inactive, and a firing rule stays firing while its series is
// silent: it resolves only on data that shows recovery, never by going quiet, so a
// flaky reporter cannot make an alert flap. Watch silence itself with `count < 1`.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "agent/rule_condition.h"
#include "agent/windows.h"
#include "common/config.h"
#include "protocol/messages.h"

namespace reflex::agent {

using protocol::Severity;

struct RuleConfig {
  std::string name;
  std::string series;  // a series name, or a glob where `*` matches any run of characters
  Condition when;
  // Hysteresis: once firing, the rule resolves only when this holds. It is a condition on
  // the same stat that can never hold together with `when` (read_rule checks).
  std::optional<Condition> recover;
  Millis for_ = Millis(0);  // how long `when` must hold before firing; 0: at once
  Severity severity = Severity::kWarning;
  Labels labels;       // added to every alert (they win over series labels)
  Labels annotations;  // summary, runbook_url, ...
  // The remediation ladder: declared action names, run in order while the rule fires
  // (read by the agent config, which knows the actions; agent/heal/healer.h).
  std::vector<std::string> heal;
};

// Reads keys name, series, when (required), recover, for, severity (info, warning, high,
// critical), labels and annotations. Every error names its key path and what was wrong;
// `out` is changed only when this rule had no error.
void read_rule(config::MapReader& r, RuleConfig& out);

enum class RulePhase : uint8_t { kInactive, kPending, kFiring };
const char* phase_name(RulePhase p);  // "inactive", "pending", "firing"

struct RuleState {
  RulePhase phase = RulePhase::kInactive;
  int64_t since_ms = 0;              // monotonic: when `when` started holding (not inactive)
  std::optional<double> last_value;  // the latest value of the rule's stat
};

struct RuleTransition {
  protocol::AlertState state = protocol::AlertState::kPending;
  double value = 0;      // the stat's value that caused it
  double threshold = 0;  // of `when`, or of `recover` when that resolved it
};

struct RuleDecision {
  RuleState next;
  std::optional<RuleTransition> transition;
};

// One step of a rule's state machine at monotonic `now_ms`; `stats` is nullopt when the
// series does not exist. Transitions: inactive -> pending (or straight to firing when
// `for` is 0); pending -> firing once `when` has held for `for`; pending -> inactive,
// reported as resolved, when `when` stops holding; firing -> inactive, reported as
// resolved, when `recover` holds (without `recover`: when `when` does not).
RuleDecision evaluate(const RuleConfig& rule, const RuleState& prev,
                      const std::optional<WindowStats>& stats, int64_t now_ms);

// `*` matches any run of characters (dots included); everything else matches itself.
bool glob_match(std::string_view pattern, std::string_view name);

// The alert fingerprint: FNV-1a 64 over the rule name, then for each label in sorted
// order a NUL, the key, a NUL and the value; 16 lowercase hex digits. Stable across
// restarts, builds and platforms: the hub deduplicates on it.
std::string fingerprint(const std::string& rule, const Labels& labels);

// One rule and label set, for /status.
struct RuleStatus {
  std::string rule;
  std::string series;
  Labels labels;  // the alert's labels
  std::string fingerprint;
  RulePhase phase = RulePhase::kInactive;
  int64_t since_ms = 0;  // wall clock when `when` started holding; 0 when inactive
  std::optional<double> last_value;
};

// Runs every rule over every matching series. Keeps one state per (rule, series, label
// set); states of series that are gone are kept while not inactive. Loop thread only.
class RuleEngine {
 public:
  explicit RuleEngine(std::vector<RuleConfig> rules);

  // One protocol::Alert per transition, in rule order then series order. Alert labels are
  // the series labels, then the rule labels, then `series` = the series name.
  std::vector<protocol::Alert> evaluate(const WindowStore& store, int64_t now_mono_ms,
                                        int64_t now_wall_ms);
  std::vector<RuleStatus> status() const;
  const std::vector<RuleConfig>& rules() const { return rules_; }

  // Replaces the rules (a reload). A rule kept under the same name and labels keeps its
  // states, so its fingerprints and firing alerts carry on; a rule removed (or whose name
  // or labels changed, and so its fingerprints) resolves its pending and firing alerts,
  // which are returned so the hub hears of them.
  std::vector<protocol::Alert> set_rules(std::vector<RuleConfig> rules);

 private:
  struct Entry {
    Labels alert_labels;
    std::string fingerprint;
    RuleState state;
    int64_t since_wall_ms = 0;
  };
  using SeriesKey = std::pair<std::string, Labels>;

  std::vector<RuleConfig> rules_;
  std::vector<std::map<SeriesKey, Entry>> entries_;  // per rule, same order
};

}  // namespace reflex::agent
