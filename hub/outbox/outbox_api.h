// The outbox routes of the hub's HTTP API (JSON). Reads go to the store through a
// reader of this API's own (the last committed state); a retry goes to the loop
// (Outbox::retry) and is answered once the requeue is committed.
//
//   GET  /api/v1/outbox?state=&incident=&limit=   rows, newest first (viewer)
//        state: pending, sending, done or dead; incident: an incident id; limit 1..1000
//        (default 100)
//   GET  /api/v1/outbox/{id}                      one row (viewer)
//   POST /api/v1/outbox/{id}/retry                requeue a dead letter (responder)
//                                                 -> 200 {"row": {...}}
//
// A row: {"id", "integration", "operation", "idempotency_key", "incident_id" (or null),
// "state", "attempts", "next_attempt_at" (RFC 3339), "next_attempt_ms", "last_error",
// "payload", "result", "created_ms", "updated_ms"}. Rows never hold credentials (the
// integration adds them when it sends). Errors are {"error": {"code", "message"}}: 400
// for a bad query naming the parameter, 404 unknown id, 409 retry of a row that is not
// dead, 503 when the requeue was not committed.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <nlohmann/json.hpp>
#include <optional>
#include <string>

#include "common/clock.h"
#include "common/loop.h"
#include "common/status.h"
#include "hub/outbox/outbox.h"
#include "hub/outbox/outbox_reader.h"

namespace httplib {
class Server;
struct Request;
struct Response;
}  // namespace httplib

namespace reflex::hub {

// Hands a retry to the Outbox; runs on the loop thread.
using SubmitOutboxRetry = std::function<void(uint64_t id, std::shared_ptr<OutboxRetryAnswer>)>;

class OutboxApi {
 public:
  // Opens a reader on the store `cfg` names (already migrated). `door` must outlive the
  // OutboxApi.
  static Result<std::unique_ptr<OutboxApi>> open(const StoreConfig& cfg, LoopDoor& door,
                                                 SubmitOutboxRetry submit);
  // Before the server listens.
  void add_routes(httplib::Server& server);

 private:
  OutboxApi(LoopDoor& door, SubmitOutboxRetry submit, std::unique_ptr<OutboxReader> reader);
  void list(const httplib::Request& req, httplib::Response& res);
  void show(const httplib::Request& req, httplib::Response& res);
  void retry(const httplib::Request& req, httplib::Response& res);

  LoopDoor& door_;
  SubmitOutboxRetry submit_;
  std::unique_ptr<OutboxReader> reader_;
};

// ---- the parts that decide, tested without a server ----

// GET's query. Unknown parameters are refused; errors are "invalid_query" naming the
// parameter.
Result<OutboxQuery> parse_outbox_query(const std::multimap<std::string, std::string>& params);
// 400, 404, 409, 503 or 500.
int outbox_http_status(const Status& st);
nlohmann::json outbox_row_json(const OutboxRow& row);

}  // namespace reflex::hub
