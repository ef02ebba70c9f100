#include "tests/e2e/scenario_fixture.h"

#include <httplib.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <catch2/catch.hpp>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <stdexcept>

namespace reflex::testing {
namespace {

using nlohmann::json;

std::string example_path() {
  return std::string(REFLEX_SOURCE_DIR) + "/examples/hub.yaml";
}

int port_of(const HubProcess& hub) {
  const std::string url = hub.url();
  return std::stoi(url.substr(url.rfind(':') + 1));
}

std::string hex(const unsigned char* data, size_t n) {
  static const char* const kDigits = "0123456789abcdef";
  std::string out;
  for (size_t i = 0; i < n; ++i) {
    out += kDigits[data[i] >> 4];
    out += kDigits[data[i] & 0xF];
  }
  return out;
}

std::string slack_signature(const std::string& secret, const std::string& timestamp,
                            const std::string& body) {
  const std::string base = "v0:" + timestamp + ":" + body;
  unsigned char mac[EVP_MAX_MD_SIZE];
  unsigned int len = 0;
  HMAC(EVP_sha256(), secret.data(), static_cast<int>(secret.size()),
       reinterpret_cast<const unsigned char*>(base.data()), base.size(), mac, &len);
  return "v0=" + hex(mac, len);
}

// application/x-www-form-urlencoded, as Slack encodes its payload.
std::string form_encode(const std::string& value) {
  std::string out;
  for (unsigned char c : value) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

bool finished(const json& call) {
  const std::string state = call.value("state", "");
  return state == "done" || state == "skipped" || state == "failed";
}

}  // namespace

ScenarioVendors::ScenarioVendors() {
  slack.add_channel("C0CHECKOUT", "checkout-prod");
  slack.add_channel("C0NOC", "noc");
  slack.add_channel("C0LEADS", "checkout-leads");
  jira.add_project("SD");
  jenkins.add_job("deploy/checkout-rollback",
                  {{"SERVICE", ""}, {"ENV", "prod"}, {"REFLEX_INCIDENT", ""}});
}

std::string ScenarioVendors::secret_file(const std::string& name, const std::string& value) const {
  const std::string path = secrets.write(name, value + "\n");
  std::filesystem::permissions(
      path, std::filesystem::perms::owner_read | std::filesystem::perms::owner_write);
  return path;
}

YAML::Node example_hub_config(const ScenarioVendors& v) {
  YAML::Node c = YAML::LoadFile(example_path());
  for (const char* key : {"listen", "http", "store", "agents", "security", "api"}) c.remove(key);
  c["http_threads"] = 8;
  c["incidents"]["resolve_after"] = "1s";
  c["outbox"]["backoff_base"] = "100ms";
  c["outbox"]["backoff_cap"] = "1s";
  // With retries this quick, ten attempts would not outlast a vendor outage of a few
  // seconds that a scenario plays.
  c["outbox"]["max_attempts"] = 50;
  c["changes"]["github_secret_file"] = v.secret_file("github-webhook", "github-webhook-secret-0");
  c["changes"]["jenkins_secret_file"] =
      v.secret_file("jenkins-webhook", "jenkins-webhook-secret-0");
  for (auto person : c["people"]) {
    if (person.second["phone_webhook"]) {
      person.second["phone_webhook"] = v.phones.url("/page/" + person.first.as<std::string>());
    }
  }

  YAML::Node in = c["integrations"];
  in["slack"]["token_file"] = v.secret_file("slack-bot", v.slack.token());
  in["slack"]["signing_secret_file"] = v.secret_file("slack-signing", v.slack_signing_secret);
  in["slack"]["base_url"] = v.slack.base_url();
  in["jira"]["base_url"] = v.jira.base_url();
  in["jira"]["user"] = v.jira.user();
  in["jira"]["token_file"] = v.secret_file("jira", v.jira.token());
  in["statuspage"]["base_url"] = v.statuspage.base_url();
  in["statuspage"]["page_id"] = v.statuspage.page_id();
  in["statuspage"]["token_file"] = v.secret_file("statuspage", v.statuspage.api_key());
  in["pagerduty"]["base_url"] = v.pagerduty.base_url();
  in["pagerduty"]["routing_key_file"] = v.secret_file("pagerduty", v.pagerduty.routing_key());
  in["dynatrace"]["base_url"] = v.dynatrace.base_url();
  in["dynatrace"]["token_file"] = v.secret_file("dynatrace", v.dynatrace.token());
  in["webhook"]["secret_file"] = v.secret_file("webhook", v.phones.secret());
  in["jenkins"]["base_url"] = v.jenkins.base_url();
  in["jenkins"]["user"] = v.jenkins.user();
  in["jenkins"]["token_file"] = v.secret_file("jenkins", v.jenkins.token());
  // No scenario dispatches a GitHub workflow: a closed loopback port, never called.
  in["github"]["base_url"] = "http://127.0.0.1:9/";
  in["github"]["token_file"] = v.secret_file("github", "ghp_fake_never_used_000000");
  // No scenario mails or posts to a chat webhook: closed loopback ports, never called.
  in["email"]["url"] = "smtp://127.0.0.1:9";
  in["email"]["starttls"] = "off";
  in["email"]["password_file"] = v.secret_file("smtp", "smtp-never-used-0000");
  in["mattermost"]["url_file"] = v.secret_file("mattermost-hook", "http://127.0.0.1:9/hooks/x");
  in["teams"]["url_file"] = v.secret_file("teams-hook", "http://127.0.0.1:9/webhookb2/x");
  return c;
}

YAML::Node example_step(YAML::Node config, const std::string& workflow, const std::string& step) {
  for (auto s : config["workflows"][workflow]["steps"]) {
    if (s["name"] && s["name"].as<std::string>() == step) return s;
  }
  throw std::runtime_error("examples/hub.yaml has no step " + step + " in workflow " + workflow);
}

std::string to_yaml(const YAML::Node& node) {
  YAML::Emitter out;
  out << node;
  return std::string(out.c_str()) + "\n";
}

Reply post_json(const HubProcess& hub, const std::string& path, const json& body) {
  httplib::Client client("127.0.0.1", port_of(hub));
  client.set_read_timeout(20);
  auto res = client.Post(path, body.dump(), "application/json");
  if (!res) return {};
  return {res->status, res->body, json::parse(res->body, nullptr, false)};
}

Reply click_slack_button(const HubProcess& hub, const std::string& secret,
                         const std::string& option, uint64_t incident,
                         const std::string& username) {
  const json payload = {
      {"type", "block_actions"},
      {"user", {{"id", "U0" + username}, {"username", username}, {"team_id", "T0TEAM"}}},
      {"channel", {{"id", "C0CHECKOUT"}, {"name", "checkout-prod"}}},
      {"actions",
       {{{"type", "button"},
         {"action_id", "reflex:" + option},
         {"block_id", "reflex-actions"},
         {"value", std::to_string(incident)},
         {"action_ts", "1700000000.000200"}}}}};
  const std::string body = "payload=" + form_encode(payload.dump());
  const std::string timestamp =
      std::to_string(std::chrono::duration_cast<std::chrono::seconds>(
                         std::chrono::system_clock::now().time_since_epoch())
                         .count());
  httplib::Client client("127.0.0.1", port_of(hub));
  client.set_read_timeout(20);
  const httplib::Headers headers = {
      {"X-Slack-Request-Timestamp", timestamp},
      {"X-Slack-Signature", slack_signature(secret, timestamp, body)}};
  auto res = client.Post("/api/v1/integrations/slack/actions", headers, body,
                         "application/x-www-form-urlencoded");
  if (!res) return {};
  return {res->status, res->body, json::parse(res->body, nullptr, false)};
}

json incident_detail(const HubProcess& hub, uint64_t id) {
  return hub.api_get("/api/v1/incidents/" + std::to_string(id));
}

uint64_t wait_incident(const HubProcess& hub, const std::function<bool(const json&)>& pick,
                       std::chrono::milliseconds timeout) {
  uint64_t found = 0;
  wait_until(
      [&] {
        const json doc = hub.api_get("/api/v1/incidents");
        if (!doc.is_object()) return false;
        for (auto it = doc["incidents"].rbegin(); it != doc["incidents"].rend(); ++it) {
          if (pick(*it)) {
            found = (*it)["id"].get<uint64_t>();
            return true;
          }
        }
        return false;
      },
      timeout);
  return found;
}

std::vector<std::string> timeline_texts(const json& detail, const std::string& kind) {
  std::vector<std::string> out;
  if (!detail.is_object()) return out;
  for (const auto& e : detail["timeline"]) {
    if (e["kind"] == kind) out.push_back(e["text"].get<std::string>());
  }
  return out;
}

bool wait_timeline(const HubProcess& hub, uint64_t id, const std::string& kind,
                   const std::string& text, std::chrono::milliseconds timeout) {
  std::vector<std::string> seen;
  const bool found = wait_until(
      [&] {
        seen = timeline_texts(incident_detail(hub, id), kind);
        for (const auto& t : seen) {
          if (t.find(text) != std::string::npos) return true;
        }
        return false;
      },
      timeout);
  if (!found) {
    std::string all;
    for (const auto& t : seen) all += "\n  " + t;
    UNSCOPED_INFO("no " << kind << " entry of incident " << id << " contains \"" << text
                        << "\"; there are:" << all);
  }
  return found;
}

bool wait_calls_settled(const HubProcess& hub, uint64_t id, std::chrono::milliseconds timeout) {
  return wait_until(
      [&] {
        const json d = incident_detail(hub, id);
        if (!d.is_object() || !d["workflow"].is_object()) return false;
        for (const auto& c : d["workflow"]["calls"]) {
          if (!finished(c)) return false;
        }
        return true;
      },
      timeout);
}

std::vector<FakeSlack::Received> slack_calls(const FakeSlack& slack, const std::string& method,
                                             const std::string& channel) {
  std::vector<FakeSlack::Received> out;
  for (auto& r : slack.delivered()) {
    if (r.method != method) continue;
    if (!channel.empty() && r.body.value("channel", "") != channel) continue;
    out.push_back(r);
  }
  return out;
}

std::vector<FakeSlack::Received> slack_dms(const FakeSlack& slack) {
  std::vector<FakeSlack::Received> out;
  for (auto& r : slack.received()) {
    const std::string to = r.body.is_object() ? r.body.value("channel", "") : "";
    if (r.method == "chat.postMessage" && !to.empty() && (to[0] == 'U' || to[0] == 'W')) {
      out.push_back(r);
    }
  }
  return out;
}

std::vector<std::string> button_actions(const json& message_body) {
  std::vector<std::string> out;
  if (!message_body.contains("blocks")) return out;
  for (const auto& block : message_body["blocks"]) {
    if (block.value("type", "") != "actions") continue;
    for (const auto& e : block["elements"]) out.push_back(e.value("action_id", ""));
  }
  return out;
}

std::string oncall_slack_id(const HubProcess& hub) {
  const json doc = hub.api_get("/api/v1/oncall/checkout-primary");
  if (!doc.is_object() || !doc["now"]["user"].is_string()) return "";
  const YAML::Node people = YAML::LoadFile(example_path())["people"];
  const YAML::Node person = people[doc["now"]["user"].get<std::string>()];
  return person && person["slack"] ? person["slack"].as<std::string>() : "";
}

}  // namespace reflex::testing
