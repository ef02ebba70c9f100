#include "agent/heal/guardrails.h"

#include <algorithm>
#include <utility>

namespace reflex::agent::heal {
namespace {

std::string window_text(const Budget& b) {
  return std::to_string(b.max_runs) + " per " + format_duration(b.window);
}

}  // namespace

const char* skip_reason_name(SkipReason r) {
  switch (r) {
    case SkipReason::kNone:
      return "";
    case SkipReason::kUnknownAction:
      return "unknown_action";
    case SkipReason::kPaused:
      return "paused";
    case SkipReason::kAlreadyFired:
      return "already_fired";
    case SkipReason::kInFlight:
      return "in_flight";
    case SkipReason::kCircuitOpen:
      return "circuit_open";
    case SkipReason::kHostBudget:
      return "host_budget";
    case SkipReason::kBudget:
      return "budget";
    case SkipReason::kCooldown:
      return "cooldown";
    case SkipReason::kDryRun:
      return "dry_run";
  }
  return "unknown";
}

Guardrails::Guardrails(HostGuardrailConfig host, std::map<std::string, GuardrailConfig> actions)
    : host_(std::move(host)), actions_(std::move(actions)) {}

int64_t Guardrails::count_in_window(const std::deque<int64_t>& starts, Millis window,
                                    int64_t now_ms) {
  return std::count_if(starts.begin(), starts.end(),
                       [&](int64_t t) { return now_ms - t < window.count(); });
}

void Guardrails::prune(std::deque<int64_t>& starts, Millis window, int64_t now_ms) {
  while (!starts.empty() && now_ms - starts.front() >= window.count()) starts.pop_front();
}

Decision Guardrails::decide(const RemediationRequest& req, int64_t now_ms) const {
  Decision d;
  auto skip = [&](SkipReason reason, std::string detail, int64_t retry_at_ms = 0) {
    d.verdict = Verdict::kSkip;
    d.reason = reason;
    d.detail = std::move(detail);
    d.retry_at_ms = retry_at_ms;
    return d;
  };
  const std::string on = req.action + " on \"" + req.target + "\"";

  auto cfg_it = actions_.find(req.action);
  if (cfg_it == actions_.end()) {
    return skip(SkipReason::kUnknownAction, "no action is named \"" + req.action + "\"");
  }
  const GuardrailConfig& cfg = cfg_it->second;
  d.dry_run = req.dry_run || cfg.dry_run || host_.dry_run;

  if (paused_all_) return skip(SkipReason::kPaused, "remediation is paused on this host");
  if (paused_targets_.count(req.target)) {
    return skip(SkipReason::kPaused, "remediation is paused for \"" + req.target + "\"");
  }
  if (req.episode) {
    auto ep = episodes_.find(*req.episode);
    if (ep != episodes_.end() && req.rung < ep->second.rungs.size()) {
      return skip(SkipReason::kAlreadyFired, "rung " + std::to_string(req.rung + 1) + " (" +
                                                 req.action + ") already ran in this episode: " +
                                                 rung_outcome_name(ep->second.rungs[req.rung]));
    }
  }
  if (auto f = in_flight_.find(req.target); f != in_flight_.end()) {
    return skip(SkipReason::kInFlight, f->second + " is still running on \"" + req.target + "\"");
  }
  if (host_circuit_ && host_circuit_->closes_at_ms > now_ms) {
    return skip(SkipReason::kCircuitOpen, "the host circuit is open (host budget spent)",
                host_circuit_->closes_at_ms);
  }
  if (auto c = circuits_.find(req.target);
      c != circuits_.end() && c->second.closes_at_ms > now_ms) {
    return skip(
        SkipReason::kCircuitOpen,
        "the circuit for \"" + req.target + "\" is open (" + c->second.action + " budget spent)",
        c->second.closes_at_ms);
  }
  const int64_t host_runs = count_in_window(host_starts_, host_.budget.window, now_ms);
  if (host_runs >= host_.budget.max_runs) {
    d.opens_circuit = !d.dry_run;
    return skip(SkipReason::kHostBudget, std::to_string(host_runs) + " runs on this host within " +
                                             format_duration(host_.budget.window) +
                                             " (host budget " + window_text(host_.budget) + ")");
  }
  const Key key{req.action, req.target};
  if (auto s = starts_.find(key); s != starts_.end()) {
    const int64_t runs = count_in_window(s->second, cfg.budget.window, now_ms);
    if (runs >= cfg.budget.max_runs) {
      d.opens_circuit = !d.dry_run;
      return skip(SkipReason::kBudget, std::to_string(runs) + " runs of " + on + " within " +
                                           format_duration(cfg.budget.window) + " (budget " +
                                           window_text(cfg.budget) + ")");
    }
  }
  if (auto f = last_finish_ms_.find(key); f != last_finish_ms_.end()) {
    const int64_t ready = f->second + cfg.cooldown.count();
    if (now_ms < ready) {
      return skip(SkipReason::kCooldown,
                  on + " finished " + format_duration(Millis(now_ms - f->second)) +
                      " ago (cooldown " + format_duration(cfg.cooldown) + ")",
                  ready);
    }
  }
  if (d.dry_run) return skip(SkipReason::kDryRun, "dry run: would run " + on);
  return d;
}

void Guardrails::record_start(const RemediationRequest& req, int64_t now_ms) {
  auto cfg_it = actions_.find(req.action);
  const Millis window = cfg_it != actions_.end() ? cfg_it->second.budget.window : Millis(0);
  auto& starts = starts_[{req.action, req.target}];
  prune(starts, window, now_ms);
  starts.push_back(now_ms);
  prune(host_starts_, host_.budget.window, now_ms);
  host_starts_.push_back(now_ms);
  in_flight_[req.target] = req.action;
  set_rung(req, RungOutcome::kRunning);
}

void Guardrails::set_rung(const RemediationRequest& req, RungOutcome outcome) {
  if (!req.episode) return;
  auto [it, inserted] = episodes_.try_emplace(*req.episode);
  if (inserted) {
    it->second.started_order = ++episode_order_;
    if (episodes_.size() > kMaxEpisodes) {
      auto oldest =
          std::min_element(episodes_.begin(), episodes_.end(), [](const auto& a, const auto& b) {
            return a.second.started_order < b.second.started_order;
          });
      episodes_.erase(oldest);
    }
  }
  auto& rungs = it->second.rungs;
  if (rungs.size() <= req.rung) rungs.resize(req.rung + 1, RungOutcome::kNotRecovered);
  rungs[req.rung] = outcome;
}

void Guardrails::record_refused(const RemediationRequest& req) {
  set_rung(req, RungOutcome::kFailed);
}

void Guardrails::record_finish(const RemediationRequest& req, protocol::RemediationOutcome outcome,
                               int64_t now_ms) {
  if (auto f = in_flight_.find(req.target); f != in_flight_.end() && f->second == req.action) {
    in_flight_.erase(f);
  }
  last_finish_ms_[{req.action, req.target}] = now_ms;
  if (outcome == protocol::RemediationOutcome::kFailed ||
      outcome == protocol::RemediationOutcome::kTimedOut) {
    mark_rung(req, RungOutcome::kFailed);
  }
}

void Guardrails::record_verification(const RemediationRequest& req, bool recovered) {
  mark_rung(req, recovered ? RungOutcome::kRecovered : RungOutcome::kNotRecovered);
}

void Guardrails::mark_rung(const RemediationRequest& req, RungOutcome outcome) {
  if (!req.episode) return;
  auto ep = episodes_.find(*req.episode);
  if (ep == episodes_.end() || req.rung >= ep->second.rungs.size()) return;
  ep->second.rungs[req.rung] = outcome;
}

std::optional<Escalation> Guardrails::record_skip(const RemediationRequest& req, const Decision& d,
                                                  int64_t now_ms) {
  if (!d.opens_circuit || d.dry_run) return std::nullopt;
  Escalation e;
  e.action = req.action;
  e.target = req.target;
  e.reason = d.reason;
  e.opened_at_ms = now_ms;
  if (d.reason == SkipReason::kHostBudget) {
    if (host_circuit_ && host_circuit_->closes_at_ms > now_ms) return std::nullopt;
    e.host = true;
    e.closes_at_ms = now_ms + host_.budget.window.count();
    host_circuit_ = Circuit{req.action, d.reason, now_ms, e.closes_at_ms};
    return e;
  }
  if (d.reason != SkipReason::kBudget) return std::nullopt;
  if (auto c = circuits_.find(req.target);
      c != circuits_.end() && c->second.closes_at_ms > now_ms) {
    return std::nullopt;
  }
  auto cfg_it = actions_.find(req.action);
  if (cfg_it == actions_.end()) return std::nullopt;
  e.closes_at_ms = now_ms + cfg_it->second.budget.window.count();
  circuits_[req.target] = Circuit{req.action, d.reason, now_ms, e.closes_at_ms};
  return e;
}

void Guardrails::reset(const std::string& target) {
  circuits_.erase(target);
  std::erase_if(starts_, [&](const auto& kv) { return kv.first.second == target; });
  std::erase_if(last_finish_ms_, [&](const auto& kv) { return kv.first.second == target; });
}

void Guardrails::reset_all() {
  circuits_.clear();
  host_circuit_.reset();
  starts_.clear();
  host_starts_.clear();
  last_finish_ms_.clear();
}

std::vector<RungOutcome> Guardrails::episode_history(const EpisodeKey& episode) const {
  auto ep = episodes_.find(episode);
  return ep == episodes_.end() ? std::vector<RungOutcome>{} : ep->second.rungs;
}

std::vector<CircuitStatus> Guardrails::open_circuits(int64_t now_ms) const {
  std::vector<CircuitStatus> out;
  if (host_circuit_ && host_circuit_->closes_at_ms > now_ms) {
    out.push_back({true, "", host_circuit_->action, host_circuit_->reason,
                   host_circuit_->opened_at_ms, host_circuit_->closes_at_ms});
  }
  for (const auto& [target, c] : circuits_) {
    if (c.closes_at_ms > now_ms) {
      out.push_back({false, target, c.action, c.reason, c.opened_at_ms, c.closes_at_ms});
    }
  }
  return out;
}

int64_t Guardrails::runs_in_window(const std::string& action, const std::string& target,
                                   int64_t now_ms) const {
  auto s = starts_.find({action, target});
  auto cfg = actions_.find(action);
  if (s == starts_.end() || cfg == actions_.end()) return 0;
  return count_in_window(s->second, cfg->second.budget.window, now_ms);
}

int64_t Guardrails::host_runs_in_window(int64_t now_ms) const {
  return count_in_window(host_starts_, host_.budget.window, now_ms);
}

protocol::Remediation escalation_event(const Escalation& e, const std::string& rule,
                                       const std::string& fingerprint) {
  protocol::Remediation r;
  r.rule = rule;
  r.alert_fingerprint = fingerprint;
  r.action = e.action;
  r.target = e.target;
  r.outcome = protocol::RemediationOutcome::kExhausted;
  r.reason = skip_reason_name(e.reason);
  return r;
}

}  // namespace reflex::agent::heal
