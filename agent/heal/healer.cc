#include "agent/heal/healer.h"

#include <pwd.h>
#include <signal.h>
#include <spdlog/spdlog.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

#include "agent/checks/process_check.h"
#include "agent/heal/ansible_recap.h"

namespace reflex::agent::heal {
namespace {

using protocol::RemediationOutcome;

std::string tail(std::string text, size_t n) {
  if (text.size() > n) text.erase(0, text.size() - n);
  return text;
}

std::string join(const std::vector<std::string>& words, const std::string& sep) {
  std::string out;
  for (const auto& w : words) out += (out.empty() ? "" : sep) + w;
  return out;
}

std::string join(const std::set<std::string>& words) {
  return words.empty() ? "none" : join(std::vector<std::string>(words.begin(), words.end()), ", ");
}

// The last line of a process's output that is not blank: usually why it failed.
std::string last_line(const std::string& text) {
  size_t end = text.find_last_not_of(" \t\r\n");
  if (end == std::string::npos) return "";
  size_t start = text.rfind('\n', end);
  return text.substr(start == std::string::npos ? 0 : start + 1, end + 1 - (start + 1));
}

// The one pid a signal action targets, or why there is none.
Result<pid_t> signal_target(const SignalAction& s, const std::string& proc_root) {
  if (!s.pidfile.empty()) {
    auto read = read_pidfile(s.pidfile);
    if (!read) return read.status();
    const pid_t pid = *read;
    auto info = read_proc_info(proc_root, pid);
    if (!info || info->state == 'Z') {
      return Status::error("not_found",
                           "pid " + std::to_string(pid) + " from " + s.pidfile + " is not running");
    }
    return pid;
  }
  std::vector<pid_t> found;
  for (const auto& p : list_processes(proc_root)) {
    if (p.state != 'Z' && matches_name(p, s.process_name)) found.push_back(p.pid);
  }
  if (found.size() != 1) {
    return Status::error("not_found", std::to_string(found.size()) + " processes are named \"" +
                                          s.process_name + "\" (a signal needs exactly one)");
  }
  return found.front();
}

Result<std::pair<uid_t, gid_t>> lookup_user(const std::string& name) {
  struct passwd pw {};
  struct passwd* result = nullptr;
  std::vector<char> buf(16384);
  int rc = getpwnam_r(name.c_str(), &pw, buf.data(), buf.size(), &result);
  if (rc != 0 || result == nullptr) {
    return Status::error("not_found", "no user \"" + name + "\" on this host");
  }
  return std::make_pair(pw.pw_uid, pw.pw_gid);
}

// The event about one run of `req` for an alert (rule and fingerprint empty for a command).
protocol::Remediation remediation_event(const std::string& rule, const std::string& fingerprint,
                                        const RemediationRequest& req, RemediationOutcome outcome,
                                        std::string reason) {
  protocol::Remediation r;
  r.rule = rule;
  r.alert_fingerprint = fingerprint;
  r.action = req.action;
  r.target = req.target;
  r.outcome = outcome;
  r.attempt = static_cast<uint32_t>(req.rung + 1);
  r.reason = std::move(reason);
  return r;
}

protocol::CommandStatus command_status(RemediationOutcome o) {
  switch (o) {
    case RemediationOutcome::kSucceeded:
      return protocol::CommandStatus::kOk;
    case RemediationOutcome::kTimedOut:
      return protocol::CommandStatus::kTimedOut;
    default:
      return protocol::CommandStatus::kFailed;
  }
}

}  // namespace

struct Healer::Firing {
  protocol::Alert alert;
  EpisodeKey episode;
  TimerId retry_timer = 0;
  bool waiting = false;    // refused as in-flight: retried when a run finishes
  bool exhausted = false;  // `exhausted` was reported for this episode
  std::optional<RemediationRequest> verifying;
  TimerId verify_timer = 0;

  void cancel_timers(Timers& timers) {
    if (retry_timer) timers.cancel(retry_timer);
    if (verify_timer) timers.cancel(verify_timer);
    retry_timer = verify_timer = 0;
  }
};

struct Healer::Run {
  uint64_t number = 0;
  ActionConfig action;
  RemediationRequest req;
  std::string rule;
  std::string fingerprint;
  std::optional<protocol::Command> command;
  std::vector<std::string> argv;                // exec, systemd, ansible
  std::optional<std::pair<uid_t, gid_t>> user;  // exec's run-as user
  std::string url;                              // http
  protocol::Labels labels;
  int64_t started_mono_ms = 0;
  int64_t started_wall_ms = 0;
  std::optional<RunId> process;
  std::optional<HttpRequestId> http;
  bool alert_resolved = false;  // the alert resolved while this ran
};

Healer::Healer(HealServices services, Emit emit)
    : services_(std::move(services)),
      emit_(std::move(emit)),
      guardrails_({}, {}),
      alive_(std::make_shared<bool>(true)) {}

Healer::~Healer() {
  *alive_ = false;
  for (auto& [n, run] : runs_) {
    if (run->process) services_.processes.cancel(*run->process);
    if (run->http) services_.http.cancel(*run->http);
  }
  for (auto& [fp, f] : firing_) f->cancel_timers(services_.timers);
}

void Healer::configure(HealConfig cfg) {
  cfg_ = std::move(cfg);
  guardrails_.reconfigure(cfg_.host, guardrails_by_action(cfg_.actions));
  // Alerts whose rule lost its ladder are no longer healed.
  std::erase_if(firing_, [&](auto& kv) {
    if (cfg_.ladders.count(kv.second->alert.rule)) return false;
    kv.second->cancel_timers(services_.timers);
    return true;
  });
}

const ActionConfig* Healer::find_action(const std::string& name) const {
  for (const auto& a : cfg_.actions) {
    if (a.name == name) return &a;
  }
  return nullptr;
}

int64_t Healer::wall(int64_t mono_ms) const {
  return services_.clock.now_ms() - services_.clock.monotonic_ms() + mono_ms;
}

void Healer::on_alert(const protocol::Alert& alert) {
  if (alert.state == protocol::AlertState::kFiring) {
    if (!cfg_.ladders.count(alert.rule)) return;
    EpisodeKey episode{alert.fingerprint, alert.active_since_ms};
    auto& slot = firing_[alert.fingerprint];
    if (slot && slot->episode == episode) return;  // the same episode again
    if (slot) slot->cancel_timers(services_.timers);
    slot = std::make_unique<Firing>();
    slot->alert = alert;
    slot->episode = episode;
    advance(alert.fingerprint);
    return;
  }
  if (alert.state != protocol::AlertState::kResolved) return;
  auto it = firing_.find(alert.fingerprint);
  if (it == firing_.end()) return;
  Firing& f = *it->second;
  f.cancel_timers(services_.timers);
  bool running = false;
  for (auto& [n, run] : runs_) {
    if (run->fingerprint == alert.fingerprint && !run->command) {
      run->alert_resolved = true;  // its end decides whether it helped
      running = true;
    }
  }
  if (f.verifying) {
    guardrails_.record_verification(*f.verifying, true);
    report(remediation_event(f.alert.rule, f.alert.fingerprint, *f.verifying,
                             RemediationOutcome::kRecovered, "the rule resolved"));
  }
  if (!running) guardrails_.end_episode(f.episode);
  firing_.erase(it);
}

std::optional<std::string> Healer::healing(const std::string& fingerprint) const {
  auto it = firing_.find(fingerprint);
  if (it == firing_.end() || it->second->exhausted || cfg_.host.dry_run) return std::nullopt;
  auto ladder = cfg_.ladders.find(it->second->alert.rule);
  if (ladder == cfg_.ladders.end()) return std::nullopt;
  return join(ladder->second, ", ");
}

void Healer::advance(const std::string& fingerprint) {
  auto it = firing_.find(fingerprint);
  if (it == firing_.end()) return;
  Firing& f = *it->second;
  if (f.retry_timer) services_.timers.cancel(f.retry_timer);
  f.retry_timer = 0;
  f.waiting = false;
  auto ladder = cfg_.ladders.find(f.alert.rule);
  if (ladder == cfg_.ladders.end()) return;
  const LadderStep step = next_step(ladder->second, guardrails_.episode_history(f.episode));
  if (step.kind == LadderStepKind::kExhausted) {
    if (f.exhausted) return;
    f.exhausted = true;
    protocol::Remediation r;
    r.rule = f.alert.rule;
    r.alert_fingerprint = f.alert.fingerprint;
    r.action = step.action;
    r.outcome = RemediationOutcome::kExhausted;
    r.attempt = static_cast<uint32_t>(step.rung + 1);
    r.reason = "ladder: " + join(ladder->second, ", ") + " ran and the rule still fires";
    report(std::move(r));
    return;
  }
  if (step.kind != LadderStepKind::kRun) return;
  const ActionConfig* action = find_action(step.action);
  if (!action) return;  // config validation makes every ladder entry an action
  RemediationRequest req;
  req.action = action->name;
  req.episode = f.episode;
  req.rung = step.rung;
  attempt(*action, req, &f, nullptr);
}

void Healer::attempt(const ActionConfig& action, const RemediationRequest& request, Firing* firing,
                     const protocol::Command* command) {
  const int64_t now = services_.clock.monotonic_ms();
  auto run = std::make_shared<Run>();
  run->action = action;
  run->req = request;
  if (firing) {
    run->rule = firing->alert.rule;
    run->fingerprint = firing->alert.fingerprint;
    run->labels = firing->alert.labels;
  } else {
    run->command = *command;
    run->labels = command->params;
    if (!command->target.empty()) run->labels.try_emplace("series", command->target);
  }
  protocol::Remediation r;
  r.rule = run->rule;
  r.alert_fingerprint = run->fingerprint;
  r.action = action.name;
  r.attempt = static_cast<uint32_t>(request.rung + 1);
  r.command_id = command ? command->id : "";

  // The invocation first: a refusal (an unsafe label value) runs nothing and spends no
  // budget, and a dry run reports exactly what would have run.
  Status built = Status::ok();
  auto target = action_target(action, run->labels);
  if (!target) {
    built = target.status();
  } else {
    run->req.target = *target;
    r.target = *target;
    if (command && !command->target.empty() && command->target != *target) {
      built = Status::error("refused", "target \"" + command->target +
                                           "\" is not this action's target \"" + *target + "\"");
    }
  }
  std::string what;
  if (built) {
    if (const auto* h = std::get_if<HttpAction>(&action.kind)) {
      auto url = expand_labels(h->url, run->labels);
      if (url) {
        run->url = *url;
        what = h->method + " " + run->url;
      } else {
        built = url.status();
      }
    } else if (const auto* s = std::get_if<SignalAction>(&action.kind)) {
      what =
          "kill -" + s->signal + " " +
          (s->pidfile.empty() ? "(process " + s->process_name + ")" : "$(cat " + s->pidfile + ")");
    } else if (auto argv = build_argv(action, run->labels); argv) {
      run->argv = std::move(argv).value();
      what = join(run->argv, " ");
      const auto* e = std::get_if<ExecAction>(&action.kind);
      if (e && !e->user.empty()) {
        if (auto ids = lookup_user(e->user); ids) {
          run->user = *ids;
        } else {
          built = ids.status();
        }
      }
    } else {
      built = argv.status();
    }
  }
  if (!built) {
    r.outcome = RemediationOutcome::kFailed;
    r.reason = "refused: " + built.message();
    report(std::move(r));
    if (command) {
      reply(*command, protocol::CommandStatus::kRejected, built.message());
      return;
    }
    guardrails_.record_refused(run->req);
    advance(run->fingerprint);  // the next rung may not need the refused value
    return;
  }

  const Decision d = guardrails_.decide(run->req, now);
  if (!d.run()) {
    r.outcome = RemediationOutcome::kSkipped;
    r.dry_run = d.dry_run;
    r.reason = std::string(skip_reason_name(d.reason)) + ": " +
               (d.reason == SkipReason::kDryRun ? "would run: " + what : d.detail);
    report(r);
    if (auto esc = guardrails_.record_skip(run->req, d, now)) {
      protocol::Remediation e = escalation_event(*esc, run->rule, run->fingerprint);
      e.reason += ": " + d.detail;
      e.command_id = r.command_id;
      report(std::move(e));
    }
    if (command) {
      reply(*command,
            d.reason == SkipReason::kDryRun ? protocol::CommandStatus::kOk
                                            : protocol::CommandStatus::kRejected,
            r.reason);
    } else if (d.reason == SkipReason::kInFlight) {
      firing->waiting = true;
    } else if (d.retry_at_ms > 0) {
      schedule_retry(*firing, d.retry_at_ms);
    }
    return;
  }

  guardrails_.record_start(run->req, now);
  run->number = next_run_++;
  run->started_mono_ms = now;
  run->started_wall_ms = services_.clock.now_ms();
  runs_[run->number] = run;
  r.outcome = RemediationOutcome::kStarted;
  r.reason = what;
  if (!run->argv.empty()) {
    // A child process is spawned first: writing the event to the spool must not delay a
    // restart. Its end is reported on a later loop turn, so `started` still comes first.
    execute(run);
    report(std::move(r));
  } else {
    report(std::move(r));  // http and signal actions may finish inside execute()
    execute(run);
  }
}

void Healer::execute(std::shared_ptr<Run> run) {
  const ActionConfig& action = run->action;
  const Millis timeout = action.guardrails.timeout;
  auto alive = alive_;
  if (const auto* h = std::get_if<HttpAction>(&action.kind)) {
    HttpRequest req;
    req.method = h->method;
    req.url = run->url;
    for (const auto& [k, v] : h->headers) req.headers.emplace_back(k, v);
    req.body = h->body;
    req.timeout = timeout;
    std::vector<int> expect = h->expect_status;
    run->http = services_.http.request(std::move(req), [this, alive, run,
                                                        expect](HttpResponse resp) {
      if (!*alive) return;
      run->http.reset();
      std::string body = tail(resp.body, kOutputTail);
      if (!resp.error.empty()) {
        finished(run, resp.timed_out ? RemediationOutcome::kTimedOut : RemediationOutcome::kFailed,
                 std::nullopt, resp.error, std::move(body));
        return;
      }
      const bool ok = expect.empty() ? resp.status / 100 == 2
                                     : std::count(expect.begin(), expect.end(), resp.status) > 0;
      finished(run, ok ? RemediationOutcome::kSucceeded : RemediationOutcome::kFailed, resp.status,
               "HTTP " + std::to_string(resp.status), std::move(body));
    });
    return;
  }
  if (const auto* s = std::get_if<SignalAction>(&action.kind)) {
    auto pid = signal_target(*s, services_.proc_root);
    if (!pid) {
      finished(run, RemediationOutcome::kFailed, std::nullopt, pid.status().message(), "");
    } else if (::kill(*pid, s->signal_number) != 0) {
      finished(run, RemediationOutcome::kFailed, std::nullopt,
               "kill " + std::to_string(*pid) + ": " + std::strerror(errno), "");
    } else {
      finished(run, RemediationOutcome::kSucceeded, std::nullopt,
               "sent SIG" + s->signal + " to pid " + std::to_string(*pid), "");
    }
    return;
  }
  ProcessSpec spec;
  spec.argv = run->argv;
  spec.timeout = timeout;
  spec.max_output = kOutputTail;
  spec.stdout_tail = true;
  spec.env["REFLEX_ACTION"] = action.name;
  spec.env["REFLEX_TARGET"] = run->req.target;
  spec.env["REFLEX_RULE"] = run->rule;
  spec.env["REFLEX_FINGERPRINT"] = run->fingerprint;
  spec.env["REFLEX_ATTEMPT"] = std::to_string(run->req.rung + 1);
  const bool ansible = std::holds_alternative<AnsibleAction>(action.kind);
  if (ansible) {
    // The recap is what the result reports: an operator's ansible.cfg must not switch
    // to a callback that prints none.
    spec.env["ANSIBLE_STDOUT_CALLBACK"] = "default";
  }
  if (const auto* e = std::get_if<ExecAction>(&action.kind)) {
    for (const auto& [k, v] : e->env) spec.env[k] = v;
    spec.cwd = e->cwd;
    if (run->user) {
      spec.uid = run->user->first;
      spec.gid = run->user->second;
    }
  }
  run->process = services_.processes.run(std::move(spec), [this, alive, run,
                                                           ansible](ProcessOutcome o) {
    if (!*alive) return;
    run->process.reset();
    std::string output = tail(o.out + o.err, kOutputTail);
    if (ansible && !o.timed_out && o.spawn_error.empty()) {
      // The play's own verdict: its recap, and the task that failed.
      auto recap = parse_ansible_recap(o.out);
      std::string why = recap ? summarize(*recap) : "no play recap in the output";
      if (auto task = failed_task(o.out); task && (!recap || !recap->ok())) {
        why = "task \"" + *task + "\" failed; " + why;
      }
      const bool ok = o.exit_code == 0 && recap && recap->ok();
      finished(run, ok ? RemediationOutcome::kSucceeded : RemediationOutcome::kFailed, o.exit_code,
               std::move(why), std::move(output));
      return;
    }
    const Millis timeout = run->action.guardrails.timeout;
    if (o.timed_out) {
      finished(run, RemediationOutcome::kTimedOut, std::nullopt,
               "timed out after " + format_duration(timeout) + "; its process group was killed",
               std::move(output));
    } else if (!o.spawn_error.empty()) {
      finished(run, RemediationOutcome::kFailed, std::nullopt, o.spawn_error, std::move(output));
    } else if (o.exit_code && *o.exit_code == 0) {
      finished(run, RemediationOutcome::kSucceeded, 0, "", std::move(output));
    } else if (o.exit_code) {
      std::string why = "exit " + std::to_string(*o.exit_code);
      if (auto line = last_line(o.err.empty() ? o.out : o.err); !line.empty()) {
        why += ": " + tail(line, 200);
      }
      finished(run, RemediationOutcome::kFailed, *o.exit_code, std::move(why), std::move(output));
    } else {
      finished(run, RemediationOutcome::kFailed, std::nullopt,
               "killed by signal " + std::to_string(o.term_signal), std::move(output));
    }
  });
}

void Healer::finished(const std::shared_ptr<Run>& run, RemediationOutcome outcome,
                      std::optional<int32_t> exit_code, std::string reason, std::string output) {
  runs_.erase(run->number);
  const int64_t now = services_.clock.monotonic_ms();
  guardrails_.record_finish(run->req, outcome, now);
  protocol::Remediation r =
      remediation_event(run->rule, run->fingerprint, run->req, outcome, reason);
  r.exit_code = exit_code;
  r.duration_ms = static_cast<uint64_t>(now - run->started_mono_ms);
  r.output = output;
  r.command_id = run->command ? run->command->id : "";
  report(std::move(r));
  if (outcome == RemediationOutcome::kSucceeded && services_.after_action) {
    services_.after_action(run->labels);
  }

  if (run->command) {
    reply(*run->command, command_status(outcome), std::move(reason), exit_code,
          static_cast<uint64_t>(now - run->started_mono_ms), std::move(output));
  } else if (auto it = firing_.find(run->fingerprint);
             it != firing_.end() && it->second->episode == run->req.episode) {
    Firing& f = *it->second;
    if (outcome == RemediationOutcome::kSucceeded) {
      f.verifying = run->req;
      const std::string fp = run->fingerprint;
      f.verify_timer = services_.timers.start(run->action.guardrails.verify_within, Millis(0),
                                              [this, fp] { verified(fp, false); });
    } else {
      advance(run->fingerprint);
    }
  } else if (run->alert_resolved && run->req.episode) {
    // The rule resolved while the action ran.
    if (outcome == RemediationOutcome::kSucceeded) {
      guardrails_.record_verification(run->req, true);
      report(remediation_event(run->rule, run->fingerprint, run->req,
                               RemediationOutcome::kRecovered, "the rule resolved"));
    }
    guardrails_.end_episode(*run->req.episode);
  }
  retry_waiting();
}

void Healer::verified(const std::string& fingerprint, bool recovered) {
  auto it = firing_.find(fingerprint);
  if (it == firing_.end() || !it->second->verifying) return;
  Firing& f = *it->second;
  f.verify_timer = 0;
  RemediationRequest req = *f.verifying;
  f.verifying.reset();
  guardrails_.record_verification(req, recovered);
  const GuardrailConfig* g = nullptr;
  if (const ActionConfig* a = find_action(req.action)) g = &a->guardrails;
  report(remediation_event(f.alert.rule, fingerprint, req, RemediationOutcome::kNotRecovered,
                           "the rule still fires " +
                               (g ? format_duration(g->verify_within) : std::string("")) +
                               " after the action"));
  advance(fingerprint);
}

void Healer::schedule_retry(Firing& f, int64_t at_ms) {
  if (f.retry_timer) services_.timers.cancel(f.retry_timer);
  const int64_t delay = std::max<int64_t>(0, at_ms - services_.clock.monotonic_ms());
  const std::string fp = f.alert.fingerprint;
  f.retry_timer = services_.timers.start(Millis(delay), Millis(0), [this, fp] {
    if (auto it = firing_.find(fp); it != firing_.end()) it->second->retry_timer = 0;
    advance(fp);
  });
}

void Healer::retry_waiting() {
  advance_all(/*waiting_only=*/true);
}

void Healer::advance_all(bool waiting_only) {
  // Collected first: advancing may report, and reporting may reach back into the healer.
  std::vector<std::string> fps;
  for (const auto& [fp, f] : firing_) {
    if (!waiting_only || f->waiting) fps.push_back(fp);
  }
  for (const auto& fp : fps) advance(fp);
}

void Healer::on_command(const protocol::Command& command) {
  // A hub that resends a command (its result not yet acknowledged) must not run it twice:
  // the first result is in the spool and will arrive.
  if (std::find(command_ids_.begin(), command_ids_.end(), command.id) != command_ids_.end()) {
    spdlog::info("command {} was already received; ignored", command.id);
    return;
  }
  if (!command.id.empty()) {
    command_ids_.push_back(command.id);
    if (command_ids_.size() > kRememberedCommands) command_ids_.pop_front();
  }
  if (command.id.empty()) {
    reply(command, protocol::CommandStatus::kRejected, "the command has no id");
    return;
  }
  const ActionConfig* action = find_action(command.action);
  if (!action) {
    std::set<std::string> names;
    for (const auto& a : cfg_.actions) names.insert(a.name);
    reply(
        command, protocol::CommandStatus::kRejected,
        "this agent declares no action \"" + command.action + "\" (declared: " + join(names) + ")");
    return;
  }
  const std::set<std::string> declared = declared_params(*action);
  for (const auto& [name, value] : command.params) {
    if (!declared.count(name)) {
      reply(command, protocol::CommandStatus::kRejected,
            "action \"" + action->name + "\" declares no parameter \"" + name +
                "\" (declared: " + join(declared) + ")");
      return;
    }
  }
  if (command.deadline_ms != 0 &&
      static_cast<int64_t>(command.deadline_ms) <= services_.clock.now_ms()) {
    reply(command, protocol::CommandStatus::kTimedOut,
          "the command's deadline passed before it could run");
    return;
  }
  RemediationRequest req;
  req.action = action->name;
  req.dry_run = command.dry_run;
  attempt(*action, req, nullptr, &command);
}

void Healer::pause(const std::string& target) {
  target.empty() ? guardrails_.pause_all() : guardrails_.pause(target);
  spdlog::warn("remediation paused {}", target.empty() ? "on this host" : "for " + target);
}

void Healer::resume(const std::string& target) {
  target.empty() ? guardrails_.resume_all() : guardrails_.resume(target);
  spdlog::info("remediation resumed {}", target.empty() ? "on this host" : "for " + target);
  advance_all();  // alerts that fired while paused are healed now
}

void Healer::reset(const std::string& target) {
  target.empty() ? guardrails_.reset_all() : guardrails_.reset(target);
  spdlog::info("remediation budgets and circuits reset {}",
               target.empty() ? "on this host" : "for " + target);
  advance_all();
}

void Healer::report(protocol::Remediation r) {
  std::string key = protocol::remediation_outcome_name(r.outcome);
  if (r.outcome == RemediationOutcome::kSkipped)
    key += ":" + r.reason.substr(0, r.reason.find(':'));
  ++outcomes_[r.action][key];
  auto level = r.outcome == RemediationOutcome::kFailed ||
                       r.outcome == RemediationOutcome::kTimedOut ||
                       r.outcome == RemediationOutcome::kExhausted
                   ? spdlog::level::warn
                   : spdlog::level::info;
  spdlog::log(level, "remediation {} {} on {}{}{}", r.action,
              protocol::remediation_outcome_name(r.outcome), r.target,
              r.rule.empty() ? "" : " for rule " + r.rule, r.reason.empty() ? "" : ": " + r.reason);
  recent_.push_back(r);
  if (recent_.size() > kRecentEvents) recent_.erase(recent_.begin());
  emit_({std::move(r)});
}

void Healer::reply(const protocol::Command& c, protocol::CommandStatus status, std::string message,
                   std::optional<int32_t> exit_code, uint64_t duration_ms, std::string output) {
  protocol::CommandResult res;
  res.id = c.id;
  res.status = status;
  res.message = std::move(message);
  res.exit_code = exit_code;
  res.duration_ms = duration_ms;
  res.output = std::move(output);
  spdlog::info("command {} ({}): {}{}", c.id, c.action, protocol::command_status_name(status),
               res.message.empty() ? "" : ": " + res.message);
  emit_({std::move(res)});
}

HealStatus Healer::status() const {
  const int64_t now = services_.clock.monotonic_ms();
  HealStatus s;
  s.dry_run = cfg_.host.dry_run;
  s.host_runs_in_window = guardrails_.host_runs_in_window(now);
  s.host_max_runs = cfg_.host.budget.max_runs;
  for (auto c : guardrails_.open_circuits(now)) {
    c.opened_at_ms = wall(c.opened_at_ms);
    c.closes_at_ms = wall(c.closes_at_ms);
    s.circuits.push_back(std::move(c));
  }
  s.paused_all = guardrails_.paused_all();
  s.paused_targets.assign(guardrails_.paused_targets().begin(), guardrails_.paused_targets().end());
  for (const auto& [fp, f] : firing_) {
    if (f->verifying) {
      s.running.push_back({f->verifying->action, f->verifying->target, f->alert.rule, "", 0, true});
    }
  }
  for (const auto& [n, run] : runs_) {
    s.running.push_back({run->action.name, run->req.target, run->rule,
                         run->command ? run->command->id : "", run->started_wall_ms, false});
  }
  for (const auto& a : cfg_.actions) {
    HealStatus::Action as;
    as.name = a.name;
    as.type = a.type;
    as.dry_run = a.guardrails.dry_run;
    as.max_runs = a.guardrails.budget.max_runs;
    as.window = a.guardrails.budget.window;
    if (auto o = outcomes_.find(a.name); o != outcomes_.end()) as.outcomes = o->second;
    s.actions.push_back(std::move(as));
  }
  s.recent = recent_;
  return s;
}

uint32_t Healer::open_circuits() const {
  return static_cast<uint32_t>(guardrails_.open_circuits(services_.clock.monotonic_ms()).size());
}

}  // namespace reflex::agent::heal
