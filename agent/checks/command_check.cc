#include "agent/checks/command_check.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cctype>
#include <charconv>

namespace reflex::agent {
namespace {

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

// A number as the guidelines write it: [-+]digits[.digits][e[-+]digits]. Returns the
// characters used (0: not a number).
size_t parse_number(std::string_view s, double& out) {
  size_t i = 0;
  if (i < s.size() && (s[i] == '-' || s[i] == '+')) ++i;
  const size_t digits_from = i;
  while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  if (i < s.size() && s[i] == '.') {
    ++i;
    while (i < s.size() && std::isdigit(static_cast<unsigned char>(s[i]))) ++i;
  }
  if (i == digits_from || (i == digits_from + 1 && s[digits_from] == '.')) return 0;
  if (i < s.size() && (s[i] == 'e' || s[i] == 'E')) {
    size_t j = i + 1;
    if (j < s.size() && (s[j] == '-' || s[j] == '+')) ++j;
    const size_t exp_from = j;
    while (j < s.size() && std::isdigit(static_cast<unsigned char>(s[j]))) ++j;
    if (j > exp_from) i = j;
  }
  const size_t skip_plus = s[0] == '+' ? 1 : 0;
  auto [end, ec] = std::from_chars(s.data() + skip_plus, s.data() + i, out);
  if (ec != std::errc() || end != s.data() + i) return 0;
  return i;
}

// Unit of measurement -> (factor to the base unit, base unit name).
bool convert_unit(std::string_view uom, double& value, std::string& unit) {
  struct Unit {
    std::string_view name;
    double factor;
    const char* base;
  };
  static constexpr Unit kUnits[] = {
      {"", 1, ""},
      {"s", 1000, "ms"},
      {"ms", 1, "ms"},
      {"us", 0.001, "ms"},
      {"%", 1, "%"},
      {"B", 1, "B"},
      {"KB", 1024.0, "B"},
      {"MB", 1024.0 * 1024, "B"},
      {"GB", 1024.0 * 1024 * 1024, "B"},  // not in the guidelines, but check_disk -u GB emits it
      {"TB", 1024.0 * 1024 * 1024 * 1024, "B"},
      {"c", 1, "c"},
  };
  for (const auto& u : kUnits) {
    if (u.name == uom) {
      value *= u.factor;
      unit = u.base;
      return true;
    }
  }
  return false;
}

// Empty, or binary: a NUL anywhere, or control characters in the status line.
bool is_unreadable(std::string_view s) {
  if (trim(s).empty() || s.find('\0') != std::string_view::npos) return true;
  for (unsigned char c : s.substr(0, s.find('\n'))) {
    if ((c < 0x20 && c != '\t' && c != '\r') || c == 0x7f) return true;
  }
  return false;
}

}  // namespace

Perfdata parse_perfdata(std::string_view text) {
  Perfdata result;
  size_t i = 0;
  while (i < text.size()) {
    if (is_space(text[i])) {
      ++i;
      continue;
    }
    // The label: quoted (may hold spaces, '' is a quote) or up to the '='.
    std::string label;
    bool ok = true;
    if (text[i] == '\'') {
      size_t j = i + 1;
      for (;;) {
        if (j >= text.size()) {
          ok = false;
          break;
        }
        if (text[j] == '\'') {
          if (j + 1 < text.size() && text[j + 1] == '\'') {
            label.push_back('\'');
            j += 2;
            continue;
          }
          ++j;
          break;
        }
        label.push_back(text[j++]);
      }
      i = j;
    } else {
      while (i < text.size() && text[i] != '=' && !is_space(text[i])) label.push_back(text[i++]);
    }
    // The rest of the item runs to the next blank.
    size_t end = i;
    while (end < text.size() && !is_space(text[end])) ++end;
    const std::string_view rest = text.substr(i, end - i);
    i = end;
    if (!ok || label.empty() || rest.empty() || rest[0] != '=') {
      ++result.bad_items;
      continue;
    }
    std::string_view fields = rest.substr(1);
    const std::string_view value_uom = fields.substr(0, fields.find(';'));
    if (value_uom == "U") continue;  // undetermined: legitimate, nothing to record
    double value = 0;
    const size_t used = parse_number(value_uom, value);
    std::string unit;
    if (used == 0 || !convert_unit(value_uom.substr(used), value, unit)) {
      ++result.bad_items;
      continue;
    }
    result.values.push_back(PerfValue{std::move(label), value, std::move(unit), {}});
  }
  return result;
}

PluginOutput split_plugin_output(std::string_view text) {
  PluginOutput out;
  if (is_unreadable(text)) {
    out.message = "(no output)";
    out.unreadable = true;
    return out;
  }
  const size_t eol = text.find('\n');
  const std::string_view first = text.substr(0, eol);
  const size_t bar = first.find('|');
  out.message = std::string(trim(first.substr(0, bar)));
  if (out.message.empty()) out.message = "(no output)";
  if (bar != std::string_view::npos) out.perfdata = std::string(trim(first.substr(bar + 1)));
  if (eol == std::string_view::npos) return out;
  // Long output: from its first '|' on, the rest (across lines) is perfdata too.
  const std::string_view long_text = text.substr(eol + 1);
  const size_t long_bar = long_text.find('|');
  if (long_bar == std::string_view::npos) return out;
  const std::string_view more = trim(long_text.substr(long_bar + 1));
  if (!more.empty()) out.perfdata += (out.perfdata.empty() ? "" : " ") + std::string(more);
  return out;
}

CheckResult command_result(const ProcessOutcome& outcome, Millis timeout) {
  CheckResult r;
  r.state = CheckState::kUnknown;
  if (!outcome.spawn_error.empty()) {
    r.message = outcome.spawn_error;
    return r;
  }
  r.latency_ms = static_cast<double>(outcome.duration_ms);
  if (outcome.timed_out) {
    r.message = "timed out after " + std::to_string(timeout.count()) + " ms";
    r.timed_out = true;
    return r;
  }
  const PluginOutput out = split_plugin_output(outcome.out);
  if (out.unreadable) ++r.bad_input["bad_output"];
  const Perfdata perf = parse_perfdata(out.perfdata);
  if (perf.bad_items > 0) r.bad_input["bad_perfdata"] += perf.bad_items;
  r.perf = perf.values;
  r.message = out.message;
  if (outcome.term_signal != 0) {
    r.message += " (killed by signal " + std::to_string(outcome.term_signal) + ")";
  } else if (outcome.exit_code && *outcome.exit_code >= 0 && *outcome.exit_code <= 3) {
    r.state = static_cast<CheckState>(*outcome.exit_code);
  } else {
    r.message +=
        " (exit code " + std::to_string(outcome.exit_code.value_or(-1)) + " is out of bounds)";
  }
  return r;
}

void read_command_check(config::MapReader& r, CommandCheckConfig& out) {
  r.get("env", out.env);
  r.get("cwd", out.cwd);
  r.require("command");
  const std::string path = r.path_of("command");
  const YAML::Node node = r.take("command");
  if (node.IsSequence()) {
    std::vector<std::string> argv;
    for (size_t i = 0; i < node.size(); ++i) {
      if (!node[i].IsScalar()) {
        r.errors().add(node[i], path + "[" + std::to_string(i) + "]", "expected a single value");
        return;
      }
      argv.push_back(node[i].Scalar());
    }
    out.argv = std::move(argv);
  } else if (node.IsScalar()) {
    auto words = split_command_line(node.Scalar());
    if (!words) {
      r.errors().add(node, path, words.status().message());
      return;
    }
    out.argv = std::move(*words);
  } else if (node.IsDefined() && !node.IsNull()) {
    r.errors().add(node, path, "expected a command string or a list of arguments");
    return;
  } else {
    return;  // missing: require() reported it
  }
  if (out.argv.empty() || out.argv[0].empty()) {
    r.errors().add(node, path, "must name a program to run");
    return;
  }
  const std::string& program = out.argv[0];
  if (program[0] == '/') {
    struct stat st {};
    if (::stat(program.c_str(), &st) != 0) {
      r.errors().add(node, path, "no such program: " + program);
    } else if (!S_ISREG(st.st_mode) || ::access(program.c_str(), X_OK) != 0) {
      r.errors().add(node, path, "not an executable file: " + program);
    }
  }
}

CommandCheck::CommandCheck(CheckSpec spec, CommandCheckConfig config, ProcessRunner& runner)
    : spec_(std::move(spec)), config_(std::move(config)), runner_(runner) {}

CommandCheck::~CommandCheck() {
  if (in_flight_) runner_.cancel(*in_flight_);
}

void CommandCheck::run(std::function<void(CheckResult)> done) {
  ProcessSpec p;
  p.argv = config_.argv;
  p.env = config_.env;
  p.cwd = config_.cwd;
  p.timeout = spec_.timeout;
  in_flight_ = runner_.run(std::move(p), [this, done = std::move(done)](ProcessOutcome o) {
    in_flight_.reset();
    done(command_result(o, spec_.timeout));
  });
}

std::unique_ptr<CommandCheck> make_command_check(CheckSpec spec, CommandCheckConfig config,
                                                 ProcessRunner& runner) {
  return std::make_unique<CommandCheck>(std::move(spec), std::move(config), runner);
}

}  // namespace reflex::agent
