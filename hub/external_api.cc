#include "hub/external_api.h"

#include <httplib.h>

#include <cctype>
#include <charconv>
#include <chrono>
#include <fstream>
#include <future>
#include <nlohmann/json.hpp>
#include <set>
#include <sstream>

#include "hub/api_auth.h"
#include "hub/incident_api.h"

#include "common/json_text.h"
#include "hub/http_api.h"
#include "hub/incidents/alertmanager_in.h"
#include "hub/incidents/change_webhooks.h"
#include "hub/incidents/generic_events.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

// How long a handler waits for its commit, which may be retried while the store is busy
// (as for incident actions).
constexpr auto kCommitTimeout = std::chrono::seconds(8);
constexpr size_t kMaxChangeLimit = 1000;

Status bad_query(const std::string& param, const std::string& what) {
  return Status::error("invalid_query", param + ": " + what);
}

int status_of(const Status& st) {
  const std::string& c = st.code();
  if (c == "bad_request" || c == "invalid_query" || c == "invalid_body") return 400;
  if (c == "unauthorized") return 401;
  if (c == "unavailable") return 503;
  return 500;
}

void send_status(httplib::Response& res, const Status& st) {
  json_error(res, status_of(st), st.code(), st.message());
}

void send_reply(httplib::Response& res, const incidents::AlertmanagerReply& reply) {
  res.status = reply.status;
  if (!reply.body.empty()) res.set_content(reply.body, reply.content_type);
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

}  // namespace

Result<std::string> read_secret_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("io", "cannot read " + path);
  std::ostringstream text;
  text << in.rdbuf();
  std::string secret = text.str();
  while (!secret.empty() && std::isspace(static_cast<unsigned char>(secret.back()))) {
    secret.pop_back();
  }
  if (secret.empty()) return Status::error("config", path + " is empty");
  return secret;
}

Result<ExternalSettings> external_settings(const HubConfig& cfg) {
  ExternalSettings s;
  s.resolve_timeout_ms = cfg.external.resolve_timeout.count();
  if (!cfg.changes.github_secret_file.empty()) {
    auto secret = read_secret_file(cfg.changes.github_secret_file);
    if (!secret) return secret.status().with_context("changes.github_secret_file");
    s.github_secret = std::move(secret).value();
  }
  if (!cfg.changes.jenkins_secret_file.empty()) {
    auto secret = read_secret_file(cfg.changes.jenkins_secret_file);
    if (!secret) return secret.status().with_context("changes.jenkins_secret_file");
    s.jenkins_secret = std::move(secret).value();
  }
  return s;
}

Result<ChangeQuery> parse_change_query(const std::multimap<std::string, std::string>& params,
                                       int64_t now_ms) {
  ChangeQuery q;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (!seen.insert(name).second) return bad_query(name, "given more than once");
    if (name == "service") {
      q.service = value;
    } else if (name == "since") {
      auto since = parse_since(value, now_ms);
      if (!since) return since.status();
      q.since_ms = *since;
    } else if (name == "limit") {
      auto v = parse_u64(value);
      if (!v || *v < 1 || *v > kMaxChangeLimit) {
        return bad_query("limit", "expected a whole number from 1 to " +
                                      std::to_string(kMaxChangeLimit) + ", got \"" + value + "\"");
      }
      q.limit = static_cast<size_t>(*v);
    } else {
      return bad_query(name, "unknown parameter (known: limit, service, since)");
    }
  }
  return q;
}

ExternalApi::ExternalApi(LoopDoor& door, const Clock& clock, HubReader& reader, SubmitInput submit,
                         ExternalSettings settings)
    : door_(door),
      clock_(clock),
      reader_(reader),
      submit_(std::move(submit)),
      actor_of_([](const httplib::Request& req) {
        // The bearer token's name; with an open API, "api" (the body may name an author).
        std::string actor = request_actor(req);
        return actor.empty() ? std::string("api") : actor;
      }),
      settings_(std::move(settings)),
      started_ms_(clock.now_ms()) {}

void ExternalApi::configure(ExternalSettings settings) {
  std::lock_guard lock(mu_);
  settings_ = std::move(settings);
}

ExternalSettings ExternalApi::settings() const {
  std::lock_guard lock(mu_);
  return settings_;
}

void ExternalApi::add_routes(httplib::Server& server) {
  using Req = const httplib::Request&;
  using Res = httplib::Response&;
  server.Post("/api/v2/alerts", [this](Req req, Res res) { post_alerts(req, res); });
  server.Get("/api/v2/status", [this](Req, Res res) {
    // Enough for amtool and for people checking what answers on the port.
    const json doc = {{"cluster", {{"name", ""}, {"status", "disabled"}, {"peers", json::array()}}},
                      {"config", {{"original", ""}}},
                      {"uptime", incidents::format_rfc3339_ms(started_ms_)},
                      {"versionInfo",
                       {{"version", std::string("reflex-hub ") + REFLEX_VERSION},
                        {"branch", ""},
                        {"buildDate", ""},
                        {"buildUser", ""},
                        {"goVersion", ""},
                        {"revision", ""}}}};
    res.set_content(json_text(doc), "application/json");
  });
  for (const char* path : {"/-/healthy", "/-/ready"}) {
    server.Get(path, [](Req, Res res) { res.set_content("OK", "text/plain"); });
  }
  server.Post("/api/v1/events", [this](Req req, Res res) { post_events(req, res, false); });
  server.Post("/api/v1/alertmanager/webhook",
              [this](Req req, Res res) { post_events(req, res, true); });
  server.Post("/api/v1/changes", [this](Req req, Res res) { post_change(req, res); });
  server.Get("/api/v1/changes", [this](Req req, Res res) { list_changes(req, res); });
  server.Post("/api/v1/changes/jenkins", [this](Req req, Res res) { post_jenkins(req, res); });
  server.Post("/api/v1/changes/github", [this](Req req, Res res) { post_github(req, res); });
}

Result<InputReceipt> ExternalApi::commit(ExternalInput input) {
  auto answer = std::make_shared<InputAnswer>();
  auto done = answer->get_future();
  door_.post([submit = submit_, input = std::move(input), answer]() mutable {
    submit(std::move(input), std::move(answer));
  });
  if (done.wait_for(kCommitTimeout) != std::future_status::ready) {
    return Status::error("unavailable", "the hub did not confirm the commit within " +
                                            std::to_string(kCommitTimeout.count()) +
                                            " s; it may still be applied");
  }
  try {
    return done.get();
  } catch (const std::future_error&) {
    return Status::error("unavailable", "the hub is stopping");
  }
}

void ExternalApi::post_alerts(const httplib::Request& req, httplib::Response& res) {
  incidents::AlertmanagerInOptions options;
  options.resolve_timeout_ms = settings().resolve_timeout_ms;
  auto posted = incidents::parse_postable_alerts(req.body, clock_.now_ms(), options);
  if (!posted) return send_reply(res, incidents::openapi_error_reply(posted.status()));
  if (!posted->accepted.empty()) {
    ExternalInput input;
    input.alerts = std::move(posted->accepted);
    auto receipt = commit(std::move(input));
    if (!receipt) {
      // Alertmanager's own storage errors are 500; a commit that failed is "try again".
      return send_reply(res, {.status = 503,
                              .content_type = "application/json",
                              .body = json_text(json(receipt.status().message()))});
    }
  }
  send_reply(res, incidents::post_alerts_reply(*posted));
}

void ExternalApi::post_events(const httplib::Request& req, httplib::Response& res,
                              bool webhook_only) {
  const int64_t now = clock_.now_ms();
  auto signals = webhook_only ? incidents::parse_alertmanager_webhook(req.body, now)
                              : incidents::parse_events_body(req.body, now);
  if (!signals) return send_status(res, signals.status());
  ExternalInput input;
  input.signals = std::move(signals).value();
  auto receipt = commit(std::move(input));
  if (!receipt) return send_status(res, receipt.status());
  res.set_content(json_text(json{{"accepted", receipt->signals}}), "application/json");
}

void ExternalApi::answer_change(incidents::Change change, httplib::Response& res) {
  ExternalInput input;
  input.change = std::move(change);
  auto receipt = commit(std::move(input));
  if (!receipt) return send_status(res, receipt.status());
  json doc = {{"change", incidents::change_to_json(*receipt->change)}};
  if (receipt->duplicate) doc["duplicate"] = true;
  res.status = receipt->duplicate ? 200 : 201;
  res.set_content(json_text(doc), "application/json");
}

void ExternalApi::post_change(const httplib::Request& req, httplib::Response& res) {
  auto change = incidents::parse_change_request(req.body, actor_of_(req), clock_.now_ms());
  if (!change) return send_status(res, change.status());
  answer_change(std::move(change).value(), res);
}

void ExternalApi::list_changes(const httplib::Request& req, httplib::Response& res) {
  auto q = parse_change_query(req.params, clock_.now_ms());
  if (!q) return send_status(res, q.status());
  auto changes = reader_.changes(*q);
  if (!changes) return send_status(res, changes.status());
  json list = json::array();
  for (const auto& c : *changes) list.push_back(incidents::change_to_json(c));
  res.set_content(json_text(json{{"changes", list}}), "application/json");
}

void ExternalApi::post_jenkins(const httplib::Request& req, httplib::Response& res) {
  const std::string secret = settings().jenkins_secret;
  // A ?token= lets the request past the API's bearer tokens (api_auth.h): one that
  // cannot be checked is refused.
  if (secret.empty() && req.has_param("token")) {
    return send_status(res, Status::error("unauthorized",
                                          "token: changes.jenkins_secret_file is not set, so "
                                          "the notification's ?token= cannot be checked"));
  }
  if (!secret.empty() && !incidents::secret_equals(req.get_param_value("token"), secret)) {
    return send_status(res, Status::error("unauthorized",
                                          "token: missing or wrong (the Jenkins notification URL "
                                          "must end in ?token=<changes.jenkins_secret_file>)"));
  }
  auto outcome = incidents::parse_jenkins_notification(req.body, clock_.now_ms());
  if (!outcome) return send_status(res, outcome.status());
  if (!outcome->change) {
    return res.set_content(json_text(json{{"ignored", outcome->ignored}}), "application/json");
  }
  answer_change(std::move(*outcome->change), res);
}

void ExternalApi::post_github(const httplib::Request& req, httplib::Response& res) {
  const std::string secret = settings().github_secret;
  if (secret.empty()) {
    return send_status(res, Status::error("unauthorized",
                                          "GitHub deliveries are refused: the hub has no "
                                          "changes.github_secret_file to check their signature"));
  }
  const std::string event = req.get_header_value("X-GitHub-Event");
  const std::string signature = req.get_header_value("X-Hub-Signature-256");
  auto outcome = incidents::parse_github_deployment_status(
      {.event = event, .signature = signature, .body = req.body}, secret, clock_.now_ms());
  if (!outcome) return send_status(res, outcome.status());
  if (!outcome->change) {
    return res.set_content(json_text(json{{"ignored", outcome->ignored}}), "application/json");
  }
  answer_change(std::move(*outcome->change), res);
}

}  // namespace reflex::hub
