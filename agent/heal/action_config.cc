#include "agent/heal/action_config.h"

#include <csignal>
#include <regex>
#include <set>
#include <utility>

namespace reflex::agent::heal {
namespace {

const std::set<std::string> kTypes = {"exec", "systemd", "ansible", "http", "signal"};

const std::map<std::string, int>& signal_numbers() {
  static const std::map<std::string, int> m = {
      {"HUP", SIGHUP},   {"INT", SIGINT},    {"QUIT", SIGQUIT}, {"KILL", SIGKILL},
      {"USR1", SIGUSR1}, {"USR2", SIGUSR2},  {"TERM", SIGTERM}, {"CONT", SIGCONT},
      {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}};
  return m;
}

std::set<std::string> signal_names() {
  std::set<std::string> s;
  for (const auto& [name, number] : signal_numbers()) s.insert(name);
  return s;
}

bool is_label_name(const std::string& s) {
  static const std::regex re("^[A-Za-z_][A-Za-z0-9_]{0,63}$");
  return std::regex_match(s, re);
}

// Walks `text`, calling `literal` for plain text and `label` for each {{name}}.
template <class Literal, class Label>
Status scan_placeholders(const std::string& text, Literal literal, Label label) {
  size_t pos = 0;
  while (pos < text.size()) {
    const size_t open = text.find("{{", pos);
    if (open == std::string::npos) {
      literal(text.substr(pos));
      break;
    }
    literal(text.substr(pos, open - pos));
    const size_t close = text.find("}}", open + 2);
    if (close == std::string::npos) {
      return Status::error("invalid_value", "unterminated \"{{\" in \"" + text + "\"");
    }
    const std::string name = text.substr(open + 2, close - open - 2);
    if (!is_label_name(name)) {
      return Status::error("invalid_value", "\"{{" + name + "}}\" does not name a label " +
                                                "(letters, digits and '_')");
    }
    REFLEX_RETURN_IF_ERROR(label(name));
    pos = close + 2;
  }
  return Status::ok();
}

Status check_placeholders(const std::string& text) {
  return scan_placeholders(
      text, [](const std::string&) {}, [](const std::string&) { return Status::ok(); });
}

bool has_placeholder(const std::string& text) {
  return text.find("{{") != std::string::npos;
}

bool is_absolute(const std::string& p) {
  return !p.empty() && p.front() == '/';
}

void check_template(config::MapReader& r, const std::string& key, const std::string& text,
                    const std::string& path) {
  if (auto st = check_placeholders(text); !st) r.errors().add(r.take(key), path, st.message());
}

void read_guardrails(config::MapReader& r, GuardrailConfig& g) {
  config::Errors& errors = r.errors();
  r.get("timeout", g.timeout);
  if (g.timeout <= Millis(0))
    errors.add(r.take("timeout"), r.path_of("timeout"), "must be more than 0");
  {
    auto b = r.child("budget");
    b.get("max_runs", g.budget.max_runs, 1, 1000);
    b.get("window", g.budget.window);
    if (g.budget.window < Millis(1000)) {
      errors.add(b.take("window"), b.path_of("window"), "must be at least 1s");
    }
  }
  r.get("cooldown", g.cooldown);
  r.get("verify_within", g.verify_within);
  if (g.verify_within <= Millis(0)) {
    errors.add(r.take("verify_within"), r.path_of("verify_within"), "must be more than 0");
  }
  r.get("dry_run", g.dry_run);
}

void read_exec(config::MapReader& r, ExecAction& a) {
  config::Errors& errors = r.errors();
  r.get("shell", a.shell);
  r.require("command");
  YAML::Node cmd = r.take("command");
  if (cmd && cmd.IsScalar()) {
    if (!a.shell) {
      errors.add(cmd, r.path_of("command"),
                 "a command string runs through a shell: give the argv as a list, or set "
                 "`shell: true`");
    } else if (has_placeholder(cmd.Scalar())) {
      errors.add(cmd, r.path_of("command"),
                 "a shell command may not hold {{label}} placeholders (alert data is never "
                 "spliced into a shell string): give the argv as a list");
    } else if (cmd.Scalar().empty()) {
      errors.add(cmd, r.path_of("command"), "must not be empty");
    } else {
      a.command = {cmd.Scalar()};
    }
  } else if (cmd && cmd.IsSequence()) {
    if (a.shell) {
      errors.add(cmd, r.path_of("command"), "with `shell: true` the command is one string");
    }
    r.get("command", a.command);
    if (cmd.size() == 0) errors.add(cmd, r.path_of("command"), "must name a program");
    for (size_t i = 0; i < a.command.size(); ++i) {
      const std::string path = r.path_of("command") + "[" + std::to_string(i) + "]";
      if (auto st = check_placeholders(a.command[i]); !st) errors.add(cmd[i], path, st.message());
    }
    if (!a.command.empty() && has_placeholder(a.command[0])) {
      errors.add(cmd[0], r.path_of("command") + "[0]",
                 "the program may not come from alert labels");
    }
  } else if (cmd) {
    errors.add(cmd, r.path_of("command"), "expected a list (argv) or, with shell: true, a string");
  }
  r.get("env", a.env);
  r.get("cwd", a.cwd);
  if (!a.cwd.empty() && !is_absolute(a.cwd)) {
    errors.add(r.take("cwd"), r.path_of("cwd"), "must be an absolute path, got \"" + a.cwd + "\"");
  }
  r.get("user", a.user);
  static const std::regex user_re("^[a-z_][a-z0-9_-]{0,31}\\$?$");
  if (!a.user.empty() && !std::regex_match(a.user, user_re)) {
    errors.add(r.take("user"), r.path_of("user"), "\"" + a.user + "\" is not a user name");
  }
}

void read_systemd(config::MapReader& r, SystemdAction& a) {
  r.require("unit");
  r.get("unit", a.unit);
  check_template(r, "unit", a.unit, r.path_of("unit"));
  r.get_enum("operation", a.operation, {"restart", "start", "stop", "reload"});
}

void read_ansible(config::MapReader& r, AnsibleAction& a) {
  config::Errors& errors = r.errors();
  r.require("playbook");
  r.get("playbook", a.playbook);
  if (!a.playbook.empty() && !is_absolute(a.playbook)) {
    errors.add(r.take("playbook"), r.path_of("playbook"),
               "must be an absolute path, got \"" + a.playbook + "\"");
  }
  r.get("extra_vars", a.extra_vars);
  for (size_t i = 0; i < a.extra_vars.size(); ++i) {
    if (!is_label_name(a.extra_vars[i])) {
      errors.add(r.take("extra_vars")[i], r.path_of("extra_vars") + "[" + std::to_string(i) + "]",
                 "\"" + a.extra_vars[i] + "\" is not a label name (letters, digits and '_')");
    }
  }
}

void read_http(config::MapReader& r, HttpAction& a) {
  config::Errors& errors = r.errors();
  r.require("url");
  r.get("url", a.url);
  if (!a.url.empty() && a.url.rfind("http://", 0) != 0 && a.url.rfind("https://", 0) != 0) {
    errors.add(r.take("url"), r.path_of("url"), "expected an http:// or https:// URL");
  }
  check_template(r, "url", a.url, r.path_of("url"));
  r.get_enum("method", a.method, {"GET", "POST", "PUT", "PATCH", "DELETE"});
  r.get("headers", a.headers);
  r.get("body", a.body);
  YAML::Node st = r.take("expect_status");
  if (!st) return;
  std::vector<YAML::Node> items;
  if (st.IsScalar()) {
    items.push_back(st);
  } else if (st.IsSequence()) {
    for (size_t i = 0; i < st.size(); ++i) items.push_back(st[i]);
  } else {
    errors.add(st, r.path_of("expect_status"), "expected a status code or a list of them");
    return;
  }
  for (const auto& n : items) {
    const std::string s = n.IsScalar() ? n.Scalar() : "";
    if (s.size() != 3 || s.find_first_not_of("0123456789") != std::string::npos ||
        std::stoi(s) < 100 || std::stoi(s) > 599) {
      errors.add(n, r.path_of("expect_status"), "expected HTTP status codes 100..599");
      continue;
    }
    a.expect_status.push_back(std::stoi(s));
  }
}

void read_signal(config::MapReader& r, SignalAction& a) {
  config::Errors& errors = r.errors();
  r.get("pidfile", a.pidfile);
  r.get("process_name", a.process_name);
  if (a.pidfile.empty() == a.process_name.empty()) {
    errors.add(r.path(), "needs exactly one of pidfile or process_name");
  }
  if (!a.pidfile.empty() && !is_absolute(a.pidfile)) {
    errors.add(r.take("pidfile"), r.path_of("pidfile"),
               "must be an absolute path, got \"" + a.pidfile + "\"");
  }
  r.require("signal");
  r.get_enum("signal", a.signal, signal_names());
  a.signal_number = signal_numbers().at(a.signal);
}

void read_kind(config::MapReader& r, const std::string& type, ActionConfig& out) {
  if (type == "exec") {
    read_exec(r, out.kind.emplace<ExecAction>());
  } else if (type == "systemd") {
    read_systemd(r, out.kind.emplace<SystemdAction>());
  } else if (type == "ansible") {
    read_ansible(r, out.kind.emplace<AnsibleAction>());
  } else if (type == "http") {
    read_http(r, out.kind.emplace<HttpAction>());
  } else if (type == "signal") {
    read_signal(r, out.kind.emplace<SignalAction>());
  }
}

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (char c : s) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace

void read_actions(config::MapReader& top, std::vector<ActionConfig>& out) {
  config::Errors& errors = top.errors();
  YAML::Node list = top.take("actions");
  if (!list || list.IsNull()) return;
  if (!list.IsSequence()) {
    errors.add(list, top.path_of("actions"), "expected a list of actions");
    return;
  }
  static const std::regex name_re("^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$");
  std::set<std::string> names;
  for (size_t i = 0; i < list.size(); ++i) {
    const std::string path = top.path_of("actions") + "[" + std::to_string(i) + "]";
    config::MapReader r(list[i], path, errors);
    ActionConfig action;
    r.require("name");
    r.get("name", action.name);
    r.require("type");
    r.get_enum("type", action.type, kTypes);
    if (!action.name.empty()) {
      if (!std::regex_match(action.name, name_re)) {
        errors.add(r.take("name"), r.path_of("name"),
                   "\"" + action.name +
                       "\" is not a valid action name (letters, digits, '_', '-'; at most 64)");
      } else if (!names.insert(action.name).second) {
        errors.add(r.take("name"), r.path_of("name"),
                   "another action is already named \"" + action.name + "\"");
      }
    }
    read_guardrails(r, action.guardrails);
    r.get("target", action.target);
    check_template(r, "target", action.target, r.path_of("target"));
    if (kTypes.count(action.type)) read_kind(r, action.type, action);
    r.finish();
    out.push_back(std::move(action));
  }
}

void read_host_guardrails(config::MapReader& r, HostGuardrailConfig& out) {
  {
    auto b = r.child("budget");
    b.get("max_runs", out.budget.max_runs, 1, 100'000);
    b.get("window", out.budget.window);
    if (out.budget.window < Millis(1000)) {
      r.errors().add(b.take("window"), b.path_of("window"), "must be at least 1s");
    }
  }
  r.get("dry_run", out.dry_run);
}

void read_heal_ladder(config::MapReader& rule, HealLadder& out) {
  out.path = rule.path_of("heal");
  if (!rule.has("heal")) {
    rule.take("heal");
    return;
  }
  std::vector<std::string> names;
  rule.get("heal", names);
  YAML::Node n = rule.take("heal");
  if (n.IsSequence() && n.size() == 0) {
    rule.errors().add(n, out.path, "must name at least one action (or leave `heal` out)");
  }
  out.actions = std::move(names);
}

void check_ladders(const std::vector<HealLadder>& ladders, const std::vector<ActionConfig>& actions,
                   config::Errors& errors) {
  std::set<std::string> declared;
  std::string list;
  for (const auto& a : actions) {
    declared.insert(a.name);
    list += (list.empty() ? "" : ", ") + a.name;
  }
  for (const auto& ladder : ladders) {
    for (size_t i = 0; i < ladder.actions.size(); ++i) {
      if (declared.count(ladder.actions[i])) continue;
      errors.add(ladder.path + "[" + std::to_string(i) + "]",
                 "no action is named \"" + ladder.actions[i] +
                     "\" (declared: " + (list.empty() ? "none" : list) + ")");
    }
  }
}

std::map<std::string, GuardrailConfig> guardrails_by_action(
    const std::vector<ActionConfig>& actions) {
  std::map<std::string, GuardrailConfig> m;
  for (const auto& a : actions) m[a.name] = a.guardrails;
  return m;
}

bool is_safe_label_value(const std::string& value) {
  static const std::regex re(kSafeLabelValue);
  return std::regex_match(value, re);
}

Result<std::string> expand_labels(const std::string& text, const protocol::Labels& labels,
                                  LabelUse use) {
  std::string out;
  Status st = scan_placeholders(
      text, [&](const std::string& lit) { out += lit; },
      [&](const std::string& name) {
        auto it = labels.find(name);
        if (it == labels.end()) {
          return Status::error("refused", "the alert has no label \"" + name + "\"");
        }
        const std::string& v = it->second;
        if (use == LabelUse::kSafe && !is_safe_label_value(v)) {
          return Status::error("refused", "label \"" + name + "\" has a value that is not safe " +
                                              "to pass on (allowed: " + kSafeLabelValue + ")");
        }
        if (use == LabelUse::kArgv && v.find('\0') != std::string::npos) {
          return Status::error("refused", "label \"" + name + "\" holds a NUL byte");
        }
        if (use == LabelUse::kArgv && out.empty() && !v.empty() && v.front() == '-') {
          return Status::error("refused", "label \"" + name + "\" begins an argument with '-' " +
                                              "(it would read as an option)");
        }
        out += v;
        return Status::ok();
      });
  if (!st) return st;
  return out;
}

Result<std::string> action_target(const ActionConfig& action, const protocol::Labels& labels) {
  std::string text = action.target;
  if (text.empty()) {
    if (const auto* s = std::get_if<SystemdAction>(&action.kind)) text = s->unit;
    if (const auto* g = std::get_if<SignalAction>(&action.kind)) {
      text = g->pidfile.empty() ? g->process_name : g->pidfile;
    }
    if (const auto* h = std::get_if<HttpAction>(&action.kind)) text = h->url;
  }
  if (text.empty()) {
    auto series = labels.find("series");
    return series != labels.end() ? series->second : action.name;
  }
  auto v = expand_labels(text, labels);
  if (!v) return v.status().with_context("action " + action.name + " target");
  return v;
}

std::set<std::string> declared_params(const ActionConfig& action) {
  std::set<std::string> names;
  auto collect = [&](const std::string& text) {
    (void)scan_placeholders(
        text, [](const std::string&) {},
        [&](const std::string& name) {
          names.insert(name);
          return Status::ok();
        });
  };
  collect(action.target);
  if (const auto* e = std::get_if<ExecAction>(&action.kind)) {
    if (!e->shell) {
      for (const auto& arg : e->command) collect(arg);
    }
  } else if (const auto* s = std::get_if<SystemdAction>(&action.kind)) {
    collect(s->unit);
  } else if (const auto* a = std::get_if<AnsibleAction>(&action.kind)) {
    names.insert(a->extra_vars.begin(), a->extra_vars.end());
  } else if (const auto* h = std::get_if<HttpAction>(&action.kind)) {
    collect(h->url);
  }
  return names;
}

Result<std::vector<std::string>> build_argv(const ActionConfig& action,
                                            const protocol::Labels& labels) {
  std::vector<std::string> argv;
  if (const auto* e = std::get_if<ExecAction>(&action.kind)) {
    if (e->shell) {
      // The reader refuses placeholders in shell strings; refuse here too, never splice.
      if (e->command.size() != 1 || has_placeholder(e->command[0])) {
        return Status::error("refused", "a shell command may not hold label placeholders");
      }
      return std::vector<std::string>{"/bin/sh", "-c", e->command[0]};
    }
    for (const auto& arg : e->command) {
      auto v = expand_labels(arg, labels, LabelUse::kArgv);
      if (!v) return v.status().with_context("action " + action.name);
      argv.push_back(std::move(v).value());
    }
    if (argv.empty())
      return Status::error("invalid_argument", "action " + action.name + ": no command");
    return argv;
  }
  if (const auto* s = std::get_if<SystemdAction>(&action.kind)) {
    auto unit = expand_labels(s->unit, labels);
    if (!unit) return unit.status().with_context("action " + action.name);
    return std::vector<std::string>{"systemctl", s->operation, *unit};
  }
  if (const auto* a = std::get_if<AnsibleAction>(&action.kind)) {
    argv = {"ansible-playbook", "-i", "localhost,", "-c", "local", a->playbook};
    if (a->extra_vars.empty()) return argv;
    std::string json = "{";
    for (const auto& name : a->extra_vars) {
      auto v = expand_labels("{{" + name + "}}", labels);
      if (!v) return v.status().with_context("action " + action.name);
      json += (json.size() > 1 ? "," : "") + json_string(name) + ":" + json_string(*v);
    }
    argv.push_back("--extra-vars");
    argv.push_back(json + "}");
    return argv;
  }
  return Status::error("invalid_argument",
                       "action " + action.name + ": " + action.type + " actions run no program");
}

}  // namespace reflex::agent::heal
