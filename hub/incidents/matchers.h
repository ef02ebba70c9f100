// Label matchers as Alertmanager writes them: `service="checkout"`, `env!="dev"`,
// `env=~"prod|staging"`, `team!~"db.*"`. Silences, maintenance windows and inhibit rules
// select alerts with lists of them (every matcher of a list must match).
//
// Semantics follow Alertmanager: a label the alert lacks reads as the empty string (so
// `team=""` matches alerts without a team and `team!="db"` matches them too), and regexes
// are fully anchored (`=~"prod"` does not match "production").
//
// Regexes are PCRE2, compiled once (JIT when available), with a match limit so a hostile
// pattern cannot stall the hub: a match that hits the limit counts as no match. PCRE2 and
// not std::regex because it reads the syntax Prometheus users write (Go's RE2 syntax:
// inline flags such as `(?i)`, `\d`, `\pL`, `(?P<name>...)` -- ECMAScript std::regex
// refuses `(?i)`), and because libstdc++'s std::regex recurses per character of the
// subject, so a long label value can overflow the stack.
//
// A Matcher is an immutable value; copies share the compiled regex. Matching allocates
// a small match buffer per regex match and is safe from several threads at once.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "common/status.h"
#include "hub/incidents/alert_signal.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents {

enum class MatchOp : uint8_t { kEqual, kNotEqual, kRegex, kNotRegex };
const char* match_op_text(MatchOp op);  // "=", "!=", "=~", "!~"

class Matcher {
 public:
  // Refuses (code "invalid_matcher") a label name that is not [a-zA-Z_][a-zA-Z0-9_]* and
  // a regex PCRE2 cannot compile, naming the label and PCRE2's reason with its offset.
  static Result<Matcher> make(std::string name, MatchOp op, std::string value);

  // One matcher in text: name, operator, then a double-quoted value (escapes \" \\ \n)
  // or an unquoted one without spaces, quotes, commas or braces. Spaces around the
  // operator are allowed. Errors quote the text and say what is wrong.
  static Result<Matcher> parse(std::string_view text);

  const std::string& name() const { return name_; }
  MatchOp op() const { return op_; }
  const std::string& value() const { return value_; }

  bool matches(const protocol::Labels& labels) const;
  // Whether the matcher accepts a label that is absent (the empty string).
  bool matches_empty() const { return matches_value(""); }
  bool matches_value(std::string_view value) const;

  // Canonical text that parse() reads back: name, operator, quoted escaped value.
  std::string to_string() const;

  bool operator==(const Matcher& other) const {
    return name_ == other.name_ && op_ == other.op_ && value_ == other.value_;
  }

 private:
  class Regex;
  Matcher() = default;

  std::string name_;
  MatchOp op_ = MatchOp::kEqual;
  std::string value_;
  std::shared_ptr<const Regex> regex_;  // for =~ and !~
};

using Matchers = std::vector<Matcher>;

// Every matcher matches (true for an empty list).
bool matches_all(const Matchers& matchers, const protocol::Labels& labels);

// A list: `{service="checkout", env=~"prod|staging"}` (braces optional), comma
// separated; commas inside quoted values are part of the value. An empty list is
// allowed here; callers that need a matcher say so. Errors name the matcher's position.
Result<Matchers> parse_matchers(std::string_view text);

// Each matcher's own text, as in a YAML list (`['service="x"', 'env="prod"']`); errors
// are prefixed with `field[i]`.
Result<Matchers> parse_matcher_list(const std::vector<std::string>& texts,
                                    const std::string& field = "matchers");

// `{service="checkout", env=~"prod|staging"}`.
std::string matchers_to_string(const Matchers& matchers);

// The labels matchers are evaluated against for a signal: its labels, plus `alertname`
// (the rule) and `severity` (its name) when the labels do not carry them, so matchers
// written for Alertmanager (`alertname="HighErrorRate"`, `severity="critical"`) work on
// alerts from agents too.
protocol::Labels match_labels(const AlertSignal& signal);

}  // namespace reflex::hub::incidents
