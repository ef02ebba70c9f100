// Agent: the reflex-agent process as a library, so tests can run it in-process and main
// stays thin. Built on an EventLoop and the injected clock and timers; loop thread only.
//
// Pipeline (grown stage by stage): checks -> windows -> rules -> heal -> spool -> uplink.
// Every stage hands its events to emit(), which makes them durable in the spool before
// the uplink sends them.
#pragma once

#include <memory>
#include <vector>
#include <zmq.hpp>

#include "agent/checks/check_config.h"
#include "agent/config.h"
#include "agent/heal/healer.h"
#include "agent/process_runner.h"
#include "agent/rules.h"
#include "agent/spool.h"
#include "agent/status_http.h"
#include "agent/status_report.h"
#include "agent/uplink.h"
#include "agent/windows.h"
#include "common/clock.h"
#include "common/http_client.h"
#include "common/loop.h"

namespace reflex::agent {

class Agent {
 public:
  Agent(EventLoop& loop, const Clock& clock, Timers& timers);
  ~Agent();

  Status start(const AgentConfig& cfg);
  // Applies a new, already validated config without a restart (the spool path stays).
  Status reload(const AgentConfig& cfg);
  // SIGHUP: loads and validates `path` (empty: embedded defaults) and applies it; an
  // invalid file is refused whole and the running config stays.
  void reload_from_file(const std::string& path);
  // Closes sockets and timers; the loop then runs out of work and returns.
  void stop();

  // Makes events durable and sends them as the window allows.
  Status emit(std::vector<protocol::Body> events);

  // Operator controls of remediation (the local API): an empty target means the host.
  enum class HealControl { kPause, kResume, kReset };
  void control_healing(HealControl what, const std::string& target);

  const Uplink& uplink() const { return *uplink_; }
  const Spool& spool() const { return *spool_; }
  // Everything /status and /metrics show. Loop thread.
  AgentSnapshot snapshot() const;
  // The port of the local HTTP surface (0 when it is off).
  int status_port() const { return status_http_ ? status_http_->port() : 0; }

 private:
  protocol::Heartbeat heartbeat() const;
  void load_test_tick();
  // Builds (or, on reload, rebuilds) windows, checks and rules for `cfg`. On failure the
  // previous checks run on.
  Status start_measuring(const AgentConfig& cfg);
  void evaluate_rules();
  // A check changed state: the rules are evaluated on the next loop turn rather than at
  // the next tick, so a dead process is healed in milliseconds.
  void evaluate_soon();
  // Runs the check behind `series` ("web" or "web.ttfb") at once.
  void recheck(const protocol::Labels& labels);
  // The healer acts on alerts first, so a restart never waits for the spool; then the
  // alerts and the healer's events go to the spool in one transaction, the alerts first,
  // so the hub still hears of an alert before of what was done about it.
  void handle_alerts(std::vector<protocol::Alert> alerts);
  heal::HealConfig heal_config(const AgentConfig& cfg) const;
  void send_metrics();
  void stop_measuring();

  EventLoop& loop_;
  const Clock& clock_;
  Timers& timers_;
  AgentConfig cfg_;
  int64_t started_mono_ms_;
  zmq::context_t zmq_;
  std::unique_ptr<Spool> spool_;
  std::unique_ptr<Uplink> uplink_;
  // collect -> windows -> rules, in the order they are built.
  std::unique_ptr<HttpClient> http_;
  std::unique_ptr<ProcessRunner> processes_;
  std::unique_ptr<WindowStore> windows_;
  std::unique_ptr<CheckContext> check_context_;
  std::unique_ptr<CheckSet> checks_;
  std::unique_ptr<RuleEngine> rules_;
  std::unique_ptr<heal::Healer> healer_;
  // While handle_alerts runs the healer: where its events wait to follow the alerts.
  std::vector<protocol::Body>* heal_batch_ = nullptr;
  TimerId rules_timer_ = 0;
  TimerId soon_timer_ = 0;
  TimerId metrics_timer_ = 0;
  TimerId expire_timer_ = 0;
  LoopDoor door_;
  std::unique_ptr<StatusHttp> status_http_;
  TimerId load_timer_ = 0;
  int64_t load_started_ms_ = 0;
  uint64_t load_first_seq_ = 0;
};

}  // namespace reflex::agent
