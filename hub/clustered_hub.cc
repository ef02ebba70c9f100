#include "hub/clustered_hub.h"

#include <httplib.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include "common/config.h"
#include "common/json_text.h"
#include "hub/api_tokens.h"
#include "hub/http_api.h"
#include "hub/pg_store.h"
#include "hub/store_migrate.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr const char* kLeaseName = "hub";

std::string host_name() {
  char name[256] = {};
  if (::gethostname(name, sizeof(name) - 1) != 0 || name[0] == '\0') return "hub";
  return name;
}

}  // namespace

std::string cluster_hub_id(const HubConfig& cfg) {
  if (!cfg.cluster.hub_id.empty()) return cfg.cluster.hub_id;
  return host_name() + "-" + cfg.http.substr(cfg.http.rfind(':') + 1);
}

ClusteredHub::ClusteredHub(EventLoop& loop, const Clock& clock, Timers& timers)
    : loop_(loop), clock_(clock), timers_(timers), door_(loop) {}

ClusteredHub::~ClusteredHub() {
  stop();
}

Status ClusteredHub::start(const HubConfig& cfg, OnServing on_serving) {
  cfg_ = cfg;
  hub_id_ = cluster_hub_id(cfg);
  on_serving_ = std::move(on_serving);
  // The lease's tables come with the store's migrations; the Hub would apply them too,
  // but only once elected.
  auto migrated = migrate_store(cfg.store, true);
  if (!migrated) return migrated.status().with_context("store " + cfg.store.where());
  auto conninfo = pg_conninfo(cfg.store);
  if (!conninfo) return conninfo.status();
  auto tokens = load_token_table(cfg.api);
  if (!tokens) return tokens.status();
  auth_.set_tokens(std::make_shared<const TokenTable>(std::move(tokens).value()));
  REFLEX_RETURN_IF_ERROR(serve_standby());

  cluster::LeadershipOptions options;
  options.conninfo = std::move(conninfo).value();
  options.lease_name = kLeaseName;
  options.hub_id = hub_id_;
  options.lease = cfg.cluster.lease;
  options.http_url = cfg.cluster.url.empty() ? "http://" + cfg.http : cfg.cluster.url;
  options.agent_endpoint = cfg.listen;
  options.version = REFLEX_VERSION;
  cluster::LeadershipCallbacks callbacks;
  callbacks.on_elected = [this](const cluster::Term& term) {
    door_.post([this, term] { elected(term); });
  };
  callbacks.on_lost = [this](const std::string& why) { door_.post([this, why] { lost(why); }); };
  auto leadership = cluster::Leadership::start(std::move(options), std::move(callbacks));
  if (!leadership) {
    stop_standby();
    return leadership.status().with_context("cluster");
  }
  leadership_ = std::move(leadership).value();
  spdlog::info("hub {} standing by (lease {} ms, store {})", leadership_->hub_id(),
               cfg.cluster.lease.count(), cfg.store.where());
  start_relay();
  announce("standby");
  return Status::ok();
}

void ClusteredHub::elected(const cluster::Term& term) {
  if (stopped_ || hub_) return;
  auto fence = leadership_->fence();
  if (!fence || fence->token != term.token) return;  // already over
  spdlog::info("hub {} leads (term {}): taking over", leadership_->hub_id(), term.token);
  stop_standby();  // the agent port's last events are committed for this term to take
  LeaderTerm lead;
  lead.fence = *fence;
  lead.leading = [l = leadership_.get()] { return l->leading_now(); };
  lead.on_fenced = [this](const Status& st) {
    door_.post([this, why = st.message()] { lost("a store write was fenced: " + why); });
  };
  lead.routes = [this](httplib::Server& server) {
    server.Get("/api/v1/cluster", [this](const httplib::Request&, httplib::Response& res) {
      res.set_content(json_text(cluster_json()), "application/json");
    });
  };
  hub_ = std::make_unique<Hub>(loop_, clock_, timers_);
  hub_->lead(std::move(lead));
  if (Status st = hub_->start(cfg_); !st) {
    // Another hub may do better (its own disk, network, config): let it lead.
    spdlog::critical("hub {} cannot lead: {}; stepping down and exiting", leadership_->hub_id(),
                     st.to_string());
    failure_ = st;
    stop();
    loop_.stop();
    return;
  }
  term_token_ = term.token;
  serving_lead_ = true;
  announce("leader");
}

void ClusteredHub::lost(const std::string& why) {
  if (!hub_) return;
  spdlog::warn("hub {} no longer leads (term {}): {}; standing by", leadership_->hub_id(),
               term_token_, why);
  serving_lead_ = false;
  hub_->stop();
  hub_.reset();
  term_token_ = 0;
  if (stopped_) return;
  if (Status st = serve_standby(); !st) {
    spdlog::critical("hub {} cannot stand by: {}; exiting", leadership_->hub_id(), st.to_string());
    failure_ = st;
    stop();
    loop_.stop();
    return;
  }
  start_relay();
  announce("standby");
}

void ClusteredHub::stop() {
  if (stopped_) return;
  stopped_ = true;
  // What the Hub accepted is committed under the term before the lease goes.
  if (hub_) {
    serving_lead_ = false;
    hub_->stop();
    hub_.reset();
  }
  if (leadership_) leadership_->stop();
  stop_standby();
}

void ClusteredHub::reload_from_file(const std::string& path) {
  if (hub_) hub_->reload_from_file(path);  // applies and reports it
  auto next = load_hub_config(path);
  if (!next) {
    if (!hub_)
      spdlog::error("reload refused, the standby keeps its configuration:\n{}",
                    next.status().message());
    return;
  }
  cfg_ = std::move(next).value();  // what this hub leads with when it is elected
}

Status ClusteredHub::serve_standby() {
  std::string host;
  int port = 0;
  REFLEX_RETURN_IF_ERROR(config::parse_host_port(cfg_.http, host, port));
  auto server = std::make_unique<httplib::Server>();
  auth_.install(*server);
  server->Get("/healthz", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("ok (standby)\n", "text/plain");
  });
  server->Get("/api/v1/cluster", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(json_text(cluster_json()), "application/json");
  });
  auto refuse = [this](const httplib::Request&, httplib::Response& res) {
    const json view = cluster_json();
    std::string leader = "no hub leads right now";
    if (const json holder = view.value("leader", json()); holder.is_string()) {
      leader = "the leader is " + holder.get<std::string>();
      for (const auto& m : view.value("members", json::array())) {
        if (m.value("hub_id", "") == holder && !m.value("http_url", "").empty()) {
          leader += " at " + m.value("http_url", "");
        }
      }
    }
    json_error(res, 503, "standby", "this hub stands by; " + leader);
  };
  server->Get(".*", refuse);
  server->Post(".*", refuse);
  server->Put(".*", refuse);
  server->Patch(".*", refuse);
  server->Delete(".*", refuse);
  if (!server->bind_to_port(host, port)) {
    return Status::error("io", "http: cannot listen on " + cfg_.http);
  }
  http_port_ = port;
  standby_ = std::move(server);
  standby_thread_ = std::thread([s = standby_.get()] { s->listen_after_bind(); });
  return Status::ok();
}

void ClusteredHub::start_relay() {
  if (stopped_ || hub_ || relay_) return;
  auto relay = std::make_unique<RelayIngest>(loop_, clock_, timers_);
  if (Status st = relay->start(cfg_); !st) {
    if (!relay_failing_) {
      spdlog::error("hub {} cannot take agents while standing by, will retry every second: {}",
                    hub_id_, st.to_string());
    }
    relay_failing_ = true;
    relay_retry_ = timers_.start(Millis(1000), Millis(0), [this] {
      relay_retry_ = 0;
      start_relay();
    });
    return;
  }
  const bool retried = relay_failing_;
  relay_failing_ = false;
  relay_ = std::move(relay);
  if (retried) announce("standby");  // now with its agent port
}

void ClusteredHub::stop_standby() {
  if (relay_retry_) timers_.cancel(relay_retry_);
  relay_retry_ = 0;
  relay_.reset();  // commits and acknowledges what it accepted, closes the port
  if (!standby_) return;
  standby_->stop();
  if (standby_thread_.joinable()) standby_thread_.join();
  standby_.reset();
}

json ClusteredHub::cluster_json() {
  const bool leading = serving_lead_ && leadership_ && leadership_->leading_now();
  json self = {{"hub_id", hub_id_}, {"role", leading ? "leader" : "standby"}};
  if (!leadership_) return {{"self", self}};
  auto view = leadership_->view();
  if (!view) {
    return {{"self", self},
            {"error", {{"code", view.status().code()}, {"message", view.status().message()}}}};
  }
  json j = cluster::cluster_json(*view);
  j["self"] = self;
  return j;
}

void ClusteredHub::announce(const std::string& role) {
  if (!on_serving_) return;
  on_serving_({{"role", role},
               {"hub_id", hub_id_},
               {"http_port", hub_ ? hub_->http_port() : http_port_},
               {"ingest", hub_     ? json(hub_->ingest_endpoint())
                          : relay_ ? json(relay_->endpoint())
                                   : json(nullptr)},
               {"pid", ::getpid()}});
}

}  // namespace reflex::hub
