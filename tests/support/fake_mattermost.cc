#include "tests/support/fake_mattermost.h"

#include <httplib.h>

namespace reflex::testing {
namespace {

using nlohmann::json;
using Answer = FakeVendorServer::Answer;

Answer app_error(int status, const std::string& id, const std::string& message) {
  return {.status = status,
          .body = json{{"id", id},
                       {"message", message},
                       {"detailed_error", ""},
                       {"request_id", "fakerequestid0000000000000"},
                       {"status_code", status}},
          .headers = {}};
}

}  // namespace

FakeMattermost::FakeMattermost()
    : server_("fake Mattermost", [this](const FakeVendorServer::Request& r) { return handle(r); }) {
}

void FakeMattermost::add_channel(const std::string& name) {
  std::lock_guard lock(mu_);
  channels_.insert(name);
}

void FakeMattermost::lock_to_channel() {
  std::lock_guard lock(mu_);
  locked_ = true;
}

std::vector<FakeMattermost::Post> FakeMattermost::posts() const {
  std::lock_guard lock(mu_);
  return posts_;
}

Answer FakeMattermost::handle(const FakeVendorServer::Request& req) {
  if (req.method != "POST" || req.path != "/hooks/" + hook_id_) {
    return app_error(400, "web.incoming_webhook.invalid.app_error", "Invalid webhook");
  }
  const std::string type = req.header("Content-Type");
  json body;
  if (type.empty() || type.rfind("application/json", 0) == 0) {
    body = json::parse(req.raw_body, nullptr, false);
  } else if (type.rfind("application/x-www-form-urlencoded", 0) == 0) {
    httplib::Params params;
    httplib::detail::parse_query_text(req.raw_body, params);
    auto it = params.find("payload");
    body = it == params.end() ? json() : json::parse(it->second, nullptr, false);
  }
  if (body.is_discarded() || !body.is_object()) {
    return app_error(400, "web.incoming_webhook.parse.app_error", "Unable to parse incoming data");
  }
  const std::string text =
      body.value("text", json("")).is_string() ? body.value("text", std::string()) : std::string();
  if (text.empty() && !body.contains("attachments")) {
    return app_error(400, "web.incoming_webhook.text.app_error", "No text specified");
  }
  std::lock_guard lock(mu_);
  std::string channel = "town-square";
  if (auto it = body.find("channel"); it != body.end() && it->is_string() && !it->empty()) {
    const std::string wanted = it->get<std::string>();
    if (locked_ && wanted != channel) {
      return app_error(403, "web.incoming_webhook.channel_locked.app_error",
                       "This webhook is not permitted to post to the requested channel.");
    }
    if (wanted[0] != '@' && !channels_.contains(wanted)) {
      return app_error(400, "web.incoming_webhook.channel.app_error", "Couldn't find the channel.");
    }
    channel = wanted;
  }
  posts_.push_back({.channel = channel,
                    .text = text,
                    .username = body.value("username", json("")).is_string()
                                    ? body.value("username", std::string())
                                    : std::string()});
  return {.status = 200, .body = "ok", .headers = {{"Content-Type", "text/plain"}}};
}

}  // namespace reflex::testing
