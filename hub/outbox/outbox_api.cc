#include "hub/outbox/outbox_api.h"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <future>
#include <set>

#include <spdlog/spdlog.h>

#include "common/json_text.h"
#include "hub/api_auth.h"
#include "hub/http_api.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr auto kRetryTimeout = std::chrono::seconds(8);

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

void send_status(httplib::Response& res, const Status& st) {
  json_error(res, outbox_http_status(st), st.code(), st.message());
}

Status no_row(const std::string& id) {
  return Status::error("not_found", "no outbox row " + id);
}

}  // namespace

Result<OutboxQuery> parse_outbox_query(const std::multimap<std::string, std::string>& params) {
  OutboxQuery q;
  std::set<std::string> seen;
  for (const auto& [name, value] : params) {
    if (!seen.insert(name).second) {
      return Status::error("invalid_query", name + ": given more than once");
    }
    if (name == "state") {
      q.state = parse_outbox_state(value);
      if (!q.state) {
        return Status::error(
            "invalid_query",
            "state: expected pending, sending, done or dead, got \"" + value + "\"");
      }
    } else if (name == "incident") {
      auto id = parse_u64(value);
      if (!id) {
        return Status::error("invalid_query",
                             "incident: expected an incident id, got \"" + value + "\"");
      }
      q.incident_id = *id;
    } else if (name == "limit") {
      auto n = parse_u64(value);
      if (!n || *n < 1 || *n > 1000) {
        return Status::error("invalid_query",
                             "limit: expected a number from 1 to 1000, got \"" + value + "\"");
      }
      q.limit = *n;
    } else {
      return Status::error("invalid_query",
                           name + ": unknown parameter (known: state, incident, limit)");
    }
  }
  return q;
}

int outbox_http_status(const Status& st) {
  const std::string& c = st.code();
  if (c == "invalid_query" || c == "invalid_argument") return 400;
  if (c == "not_found") return 404;
  if (c == "conflict") return 409;
  if (c == "unavailable") return 503;
  return 500;
}

json outbox_row_json(const OutboxRow& r) {
  return {{"id", r.id},
          {"integration", r.integration},
          {"operation", r.operation},
          {"idempotency_key", r.idempotency_key},
          {"incident_id", r.incident_id ? json(*r.incident_id) : json(nullptr)},
          {"state", outbox_state_name(r.state)},
          {"attempts", r.attempts},
          {"next_attempt_at", incidents::format_rfc3339_ms(r.next_attempt_ms)},
          {"next_attempt_ms", r.next_attempt_ms},
          {"last_error", r.last_error},
          {"payload", r.payload},
          {"result", r.result},
          {"created_ms", r.created_ms},
          {"updated_ms", r.updated_ms}};
}

Result<std::unique_ptr<OutboxApi>> OutboxApi::open(const StoreConfig& cfg, LoopDoor& door,
                                                   SubmitOutboxRetry submit) {
  auto reader = open_outbox_reader(cfg);
  if (!reader) return reader.status();
  return std::unique_ptr<OutboxApi>(
      new OutboxApi(door, std::move(submit), std::move(reader).value()));
}

OutboxApi::OutboxApi(LoopDoor& door, SubmitOutboxRetry submit, std::unique_ptr<OutboxReader> reader)
    : door_(door), submit_(std::move(submit)), reader_(std::move(reader)) {}

void OutboxApi::add_routes(httplib::Server& server) {
  server.Get("/api/v1/outbox",
             [this](const httplib::Request& req, httplib::Response& res) { list(req, res); });
  server.Get(R"(/api/v1/outbox/(\d+))",
             [this](const httplib::Request& req, httplib::Response& res) { show(req, res); });
  server.Post(R"(/api/v1/outbox/(\d+)/retry)",
              [this](const httplib::Request& req, httplib::Response& res) { retry(req, res); });
}

void OutboxApi::list(const httplib::Request& req, httplib::Response& res) {
  auto q = parse_outbox_query(req.params);
  if (!q) return send_status(res, q.status());
  auto rows = reader_->list(*q);
  if (!rows) return send_status(res, rows.status());
  json list = json::array();
  for (const auto& r : *rows) list.push_back(outbox_row_json(r));
  res.set_content(json_text(json{{"rows", list}}), "application/json");
}

void OutboxApi::show(const httplib::Request& req, httplib::Response& res) {
  auto id = parse_u64(req.matches[1].str());
  if (!id) return send_status(res, no_row(req.matches[1].str()));
  auto row = reader_->find(*id);
  if (!row) return send_status(res, row.status());
  if (!*row) return send_status(res, no_row(std::to_string(*id)));
  res.set_content(json_text(json{{"row", outbox_row_json(**row)}}), "application/json");
}

void OutboxApi::retry(const httplib::Request& req, httplib::Response& res) {
  auto id = parse_u64(req.matches[1].str());
  if (!id) return send_status(res, no_row(req.matches[1].str()));
  auto answer = std::make_shared<OutboxRetryAnswer>();
  auto done = answer->get_future();
  door_.post([submit = submit_, id = *id, answer]() mutable { submit(id, std::move(answer)); });
  if (done.wait_for(kRetryTimeout) != std::future_status::ready) {
    return send_status(
        res, Status::error("unavailable", "the hub did not confirm the retry within " +
                                              std::to_string(kRetryTimeout.count()) +
                                              " s; it may still be applied: show the row"));
  }
  Result<OutboxRow> row = Status::error("unavailable", "the hub is stopping");
  try {
    row = done.get();
  } catch (const std::future_error&) {
  }
  if (!row) return send_status(res, row.status());
  const std::string actor = request_actor(req);
  spdlog::info("outbox: {} #{} requeued by {}", row->operation, row->id,
               actor.empty() ? "an API client" : actor);
  res.set_content(json_text(json{{"row", outbox_row_json(*row)}}), "application/json");
}

}  // namespace reflex::hub
