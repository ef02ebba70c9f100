#include "hub/slack_actions.h"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <nlohmann/json.hpp>

#include "common/json_text.h"
#include "hub/http_api.h"
#include "hub/incidents/change_webhooks.h"
#include "hub/policy/policy.h"

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr int64_t kMaxSkewSeconds = 5 * 60;
// Slack gives an app 3 s; the answer is sent a little before.
constexpr auto kAnswerWithin = std::chrono::milliseconds(2500);

Status unauthorized(const std::string& why) {
  return Status::error("unauthorized", why);
}
Status bad_body(const std::string& field, const std::string& why) {
  return Status::error("invalid_body", field + ": " + why);
}

}  // namespace

std::string slack_signature(std::string_view secret, std::string_view timestamp,
                            std::string_view body) {
  std::string base = "v0:";
  base.append(timestamp).append(":").append(body);
  return "v0=" + incidents::hmac_sha256_hex(secret, base);
}

Status verify_slack_request(std::string_view secret, std::string_view timestamp,
                            std::string_view body, std::string_view signature, int64_t now_s) {
  if (timestamp.empty()) return unauthorized("the X-Slack-Request-Timestamp header is missing");
  if (signature.empty()) return unauthorized("the X-Slack-Signature header is missing");
  int64_t ts = 0;
  auto [end, ec] = std::from_chars(timestamp.data(), timestamp.data() + timestamp.size(), ts);
  if (ec != std::errc() || end != timestamp.data() + timestamp.size()) {
    return unauthorized("X-Slack-Request-Timestamp is not a number of seconds");
  }
  if (ts < now_s - kMaxSkewSeconds || ts > now_s + kMaxSkewSeconds) {
    return unauthorized("X-Slack-Request-Timestamp is more than 5 minutes from the hub's clock");
  }
  if (!incidents::secret_equals(signature, slack_signature(secret, timestamp, body))) {
    return unauthorized("X-Slack-Signature does not match the body (check the signing secret)");
  }
  return Status::ok();
}

Result<IncidentAction> parse_slack_action(std::string_view form_body) {
  httplib::Params form;
  httplib::detail::parse_query_text(std::string(form_body), form);
  auto it = form.find("payload");
  if (it == form.end()) return bad_body("payload", "missing (Slack sends payload=<JSON>)");
  const json doc = json::parse(it->second, nullptr, false);
  if (!doc.is_object()) return bad_body("payload", "not a JSON object");
  if (doc.value("type", "") != "block_actions") {
    return bad_body("payload.type", "only block_actions (buttons) are handled");
  }
  const json& actions = doc.value("actions", json::array());
  if (!actions.is_array() || actions.empty() || !actions[0].is_object()) {
    return bad_body("payload.actions", "no action");
  }
  const std::string action_id = actions[0].value("action_id", "");
  if (!action_id.starts_with("reflex:")) {
    return bad_body("payload.actions[0].action_id", "not a Reflex button");
  }
  IncidentAction a;
  a.kind = IncidentAction::Kind::kRespond;
  a.option = action_id.substr(7);
  if (!policy::valid_event("response:" + a.option)) {
    return bad_body("payload.actions[0].action_id", "\"" + a.option + "\" is not an option");
  }
  const std::string value = actions[0].value("value", "");
  auto [end, ec] = std::from_chars(value.data(), value.data() + value.size(), a.incident_id);
  if (ec != std::errc() || end != value.data() + value.size() || a.incident_id == 0) {
    return bad_body("payload.actions[0].value", "not an incident id");
  }
  const json& user = doc.value("user", json::object());
  std::string who = user.is_object() ? user.value("username", "") : "";
  if (who.empty() && user.is_object()) who = user.value("id", "");
  if (who.empty()) return bad_body("payload.user", "no username or id");
  a.actor = "slack:" + who;
  return a;
}

SlackActions::SlackActions(LoopDoor& door, const Clock& clock, Submit submit)
    : door_(door), clock_(clock), submit_(std::move(submit)) {}

void SlackActions::set_secret(std::string secret) {
  std::lock_guard lock(mu_);
  secret_ = std::move(secret);
}

std::string SlackActions::secret() const {
  std::lock_guard lock(mu_);
  return secret_;
}

void SlackActions::add_routes(httplib::Server& server) {
  server.Post(std::string(kSlackActionsPath), [this](const httplib::Request& req,
                                                     httplib::Response& res) {
    const std::string key = secret();
    if (key.empty()) {
      return json_error(res, 404, "not_found",
                        "Slack buttons are off: set integrations.slack.signing_secret_file");
    }
    const Status signed_ok =
        verify_slack_request(key, req.get_header_value("X-Slack-Request-Timestamp"), req.body,
                             req.get_header_value("X-Slack-Signature"), clock_.now_ms() / 1000);
    if (!signed_ok) return json_error(res, 401, "unauthorized", signed_ok.message());
    auto action = parse_slack_action(req.body);
    if (!action) return json_error(res, 400, action.status().code(), action.status().message());
    auto answer = std::make_shared<ActionAnswer>();
    auto done = answer->get_future();
    door_.post([submit = submit_, a = std::move(action).value(), answer]() mutable {
      submit(std::move(a), std::move(answer));
    });
    if (done.wait_for(kAnswerWithin) != std::future_status::ready) {
      // The response is queued and will be applied; say so rather than time out.
      res.set_content(json_text(json{{"text", "Reflex is applying this; look at the incident."}}),
                      "application/json");
      return;
    }
    Status st;
    try {
      st = done.get();
    } catch (const std::future_error&) {
      st = Status::error("unavailable", "the hub is stopping");
    }
    res.set_content(st ? json_text(json::object()) : json_text(json{{"text", st.message()}}),
                    "application/json");
  });
}

}  // namespace reflex::hub
