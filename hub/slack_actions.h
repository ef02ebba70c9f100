// Slack's interactive buttons: a responder clicks a response option on an incident's
// chat message (chat.post with `buttons`), Slack POSTs the interaction to the hub, and
// the hub runs it as that person's response, exactly as POST
// /api/v1/incidents/{id}/respond would.
//
//   POST /api/v1/integrations/slack/actions
//   Content-Type: application/x-www-form-urlencoded, body payload=<JSON>
//   X-Slack-Request-Timestamp: <unix seconds>
//   X-Slack-Signature: v0=<hex HMAC-SHA256(signing secret, "v0:<timestamp>:<raw body>")>
//
// The route needs no bearer token (Slack cannot send one): the signature is the
// authentication, checked in constant time with integrations.slack.signing_secret_file
// (or _env) before anything is parsed; a timestamp more than 5 minutes from the hub's
// clock is refused (a replay). Without a signing secret the route answers 404.
//
// The payload (type block_actions) names the button (action_id "reflex:<option>",
// value the incident id) and the Slack user; the actor recorded is "slack:<username>".
// Slack wants an answer within 3 s: the hub answers 200 once the response is committed
// (acknowledge, resolve, or the steps of response:<option> staged in the outbox), and
// 200 with {"text": why} when it was refused (a resolved incident), so Slack shows it.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>

#include "common/loop.h"
#include "common/status.h"
#include "hub/api_auth.h"
#include "hub/correlate.h"

namespace httplib {
class Server;
}

namespace reflex::hub {

// Ok, or "unauthorized" saying what is wrong (never quoting the secret).
Status verify_slack_request(std::string_view secret, std::string_view timestamp,
                            std::string_view body, std::string_view signature, int64_t now_s);
// "v0=" + hex HMAC, for tests and tools that sign like Slack.
std::string slack_signature(std::string_view secret, std::string_view timestamp,
                            std::string_view body);
// The response a block_actions payload asks for ("invalid_body" naming the field).
Result<IncidentAction> parse_slack_action(std::string_view form_body);

class SlackActions {
 public:
  using Submit = std::function<void(IncidentAction, std::shared_ptr<ActionAnswer>)>;
  SlackActions(LoopDoor& door, const Clock& clock, Submit submit);

  // Any thread; "" turns the route off.
  void set_secret(std::string secret);
  void add_routes(httplib::Server& server);

 private:
  std::string secret() const;

  LoopDoor& door_;
  const Clock& clock_;
  Submit submit_;
  mutable std::mutex mu_;
  std::string secret_;
};

}  // namespace reflex::hub
