#include "hub/http_api.h"

#include <httplib.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>

#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "hub/config.h"

namespace reflex::hub {
namespace {

constexpr auto kLoopAnswerTimeout = std::chrono::seconds(2);

}  // namespace

void json_error(httplib::Response& res, int http_status, const std::string& code,
                const std::string& message) {
  res.status = http_status;
  res.set_content(json_text(nlohmann::json{{"error", {{"code", code}, {"message", message}}}}),
                  "application/json");
}

nlohmann::json agent_json(const AgentRecord& a, int64_t now_ms) {
  return {{"id", a.id},
          {"hostname", a.hostname},
          {"version", a.version},
          {"labels", a.labels},
          {"state", agent_state_name(a.state)},
          {"state_since_ms", a.state_since_ms},
          {"first_seen_ms", a.first_seen_ms},
          {"last_seen_ms", a.last_seen_ms},
          {"last_seen_ago_ms", now_ms - a.last_seen_ms},
          {"heartbeat_ms", a.heartbeat_ms},
          {"spool_depth", a.spool_depth},
          {"open_circuits", a.open_circuits}};
}

std::string agents_json(const std::vector<AgentRecord>& agents, int64_t now_ms) {
  nlohmann::json list = nlohmann::json::array();
  for (const auto& a : agents) list.push_back(agent_json(a, now_ms));
  return json_text(nlohmann::json{{"agents", list}, {"now_ms", now_ms}});
}

std::optional<std::string> agent_detail_json(const AgentRegistry& registry, const std::string& id,
                                             int64_t now_ms) {
  const AgentRecord* a = registry.find(id);
  if (!a) return std::nullopt;
  nlohmann::json doc = {{"agent", agent_json(*a, now_ms)}, {"now_ms", now_ms}};
  if (const AgentMetrics* m = registry.last_metrics(id)) {
    nlohmann::json samples = nlohmann::json::array();
    for (const auto& sample : m->samples) {
      samples.push_back({{"name", sample.name},
                         {"labels", sample.labels},
                         {"value", sample.value},
                         {"unit", sample.unit}});
    }
    doc["metrics"] = {{"at_ms", m->at_ms}, {"samples", samples}};
  }
  return json_text(doc);
}

HttpApi::HttpApi(LoopDoor& door, const Clock& clock, const AgentRegistry& registry,
                 const metrics::Registry& metrics, HubReader& reader, SubmitAction submit)
    : door_(door),
      clock_(clock),
      registry_(registry),
      metrics_(metrics),
      incidents_(door, clock, registry, reader, std::move(submit)),
      server_(std::make_unique<httplib::Server>()) {
  routes();
}

HttpApi::~HttpApi() {
  stop();
}

void HttpApi::routes() {
  auth_.install(*server_);
  server_->Get("/healthz", [this](const httplib::Request&, httplib::Response& res) {
    auto alive = door_.call([] { return true; });
    if (alive.wait_for(kLoopAnswerTimeout) != std::future_status::ready) {
      res.status = 503;
      res.set_content("event loop not answering\n", "text/plain");
      return;
    }
    res.set_content("ok\n", "text/plain");
  });
  server_->Get("/api/v1/agents", [this](const httplib::Request&, httplib::Response& res) {
    auto answer = door_.call([this] { return agents_json(registry_.snapshot(), clock_.now_ms()); });
    if (answer.wait_for(kLoopAnswerTimeout) != std::future_status::ready) {
      return json_error(res, 503, "unavailable", "the hub's event loop did not answer in time");
    }
    res.set_content(answer.get(), "application/json");
  });
  server_->Get(
      R"(/api/v1/agents/([^/]+))", [this](const httplib::Request& req, httplib::Response& res) {
        const std::string id = req.matches[1];
        auto answer =
            door_.call([this, id] { return agent_detail_json(registry_, id, clock_.now_ms()); });
        if (answer.wait_for(kLoopAnswerTimeout) != std::future_status::ready) {
          return json_error(res, 503, "unavailable", "the hub's event loop did not answer in time");
        }
        auto doc = answer.get();
        if (!doc) return json_error(res, 404, "not_found", "no agent \"" + id + "\"");
        res.set_content(*doc, "application/json");
      });
  // Who the caller is, so the dashboard shows only the actions its role may take.
  server_->Get("/api/v1/whoami", [this](const httplib::Request& req, httplib::Response& res) {
    const auto who = auth_.identify(req.get_header_value("Authorization"));
    nlohmann::json doc = {{"name", who ? who->name : ""},
                          {"role", api_role_name(who ? who->role : ApiRole::kAdmin)},
                          {"open", !who.has_value()}};
    res.set_content(json_text(doc), "application/json");
  });
  incidents_.add_routes(*server_);
  server_->Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    res.set_content(metrics_.render(), std::string(metrics::kContentType));
  });
  server_->set_error_handler([](const httplib::Request& req, httplib::Response& res) {
    if (res.body.empty()) {
      json_error(res, res.status,
                 res.status == 404 ? "not_found" : "http_" + std::to_string(res.status),
                 "no route for " + req.method + " " + req.path);
    }
  });
  server_->set_exception_handler(
      [](const httplib::Request& req, httplib::Response& res, std::exception_ptr ep) {
        std::string what = "unknown error";
        try {
          std::rethrow_exception(ep);
        } catch (const std::exception& e) {
          what = e.what();
        } catch (...) {
        }
        spdlog::error("HTTP {} {} failed: {}", req.method, req.path, what);
        json_error(res, 500, "internal", "internal error");
      });
}

void HttpApi::add_routes(const std::function<void(httplib::Server&)>& add) {
  add(*server_);
}

Status HttpApi::listen(const std::string& host_port) {
  std::string host;
  int port = 0;
  REFLEX_RETURN_IF_ERROR(config::parse_host_port(host_port, host, port));
  // The library listens with a backlog of 5, which drops the connections of a burst of
  // clients (Prometheus servers after a restart, a load test) for a second each. The
  // socket it binds is recorded here and listens again, with the system's backlog.
  int listen_fd = -1;
  server_->set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = sock;
  });
  if (port == 0) {
    port_ = server_->bind_to_any_port(host);
  } else {
    port_ = server_->bind_to_port(host, port) ? port : -1;
  }
  server_->set_socket_options(httplib::default_socket_options);  // drops the reference
  if (port_ <= 0) return Status::error("io", "cannot listen for HTTP on " + host_port);
  if (::listen(listen_fd, SOMAXCONN) != 0) {
    return Status::error("io",
                         "cannot listen for HTTP on " + host_port + ": " + std::strerror(errno));
  }
  thread_ = std::thread([this] { server_->listen_after_bind(); });
  // stop() before the server thread has started its accept loop would be lost and the
  // join would hang (a SIGTERM right after start-up), so return only once it runs.
  for (int i = 0; i < 5000 && !server_->is_running(); ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  }
  if (!server_->is_running()) return Status::error("io", "the HTTP server did not start");
  return Status::ok();
}

void HttpApi::set_threads(size_t n) {
  server_->new_task_queue = [n] { return new httplib::ThreadPool(n); };
  // Clients that post one alert per request (Prometheus, load) keep their connection:
  // reconnecting every 5 requests (the library's default) costs more than the request.
  server_->set_keep_alive_max_count(10'000);
  server_->set_tcp_nodelay(true);
}

void HttpApi::stop() {
  if (thread_.joinable()) {
    server_->stop();
    thread_.join();
  }
}

}  // namespace reflex::hub
