// Alerts from monitoring tools and changes (deploys) end to end: a real reflex-hub
// process receives what Prometheus, Alertmanager, Jenkins, GitHub and reflexctl send,
// turns alerts into incidents, lets them expire, names suspect changes, and keeps all
// of it across a restart.
#include <httplib.h>
#include <signal.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <ctime>
#include <nlohmann/json.hpp>
#include <string>

#include "tests/e2e/hub_fixture.h"

using namespace reflex;
using namespace reflex::testing;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// A GitHub deployment_status delivery exactly as signed: HMAC-SHA256 with the secret
// "e2e-github-secret".
const char* const kGitHubDelivery =
    R"({"action":"created","deployment_status":{"id":1001,"state":"success","environment":"production","log_url":"https://github.com/acme/shop/actions/runs/9/job/1","created_at":"2026-01-01T09:57:00Z"},"deployment":{"id":777,"sha":"abc123def456","ref":"v4.2.1","environment":"production","payload":{"service":"shop","version":"4.2.1"},"creator":{"login":"alice"}},"repository":{"name":"shop","full_name":"acme/shop"},"sender":{"login":"alice"}})";
const char* const kGitHubSignature =
    "sha256=6aa85c9c429a8035008446317d81863285a9c8b3139b30d3c01dd4ddaae34a96";

int64_t now_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

std::string rfc3339(int64_t epoch_ms) {
  const std::time_t secs = static_cast<std::time_t>(epoch_ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  char buf[40];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%S", &tm);
  char out[48];
  std::snprintf(out, sizeof out, "%s.%03dZ", buf, static_cast<int>(epoch_ms % 1000));
  return out;
}

struct Reply {
  int status = 0;
  std::string body;
  json doc;
};

Reply post(const HubProcess& hub, const std::string& path, const std::string& body,
           const httplib::Headers& headers = {}) {
  httplib::Client client(hub.url());
  client.set_read_timeout(20);
  auto res = client.Post(path, headers, body, "application/json");
  if (!res) return {};
  return {res->status, res->body, json::parse(res->body, nullptr, false)};
}

// An alert as Prometheus sends it to its alertmanagers.
json prometheus_alert(const std::string& name, const std::string& service,
                      const std::string& instance, int64_t ends_at_ms) {
  return {{"labels",
           {{"alertname", name},
            {"service", service},
            {"env", "prod"},
            {"instance", instance},
            {"job", "node"},
            {"severity", "critical"}}},
          {"annotations", {{"summary", name + " on " + instance}}},
          {"startsAt", rfc3339(now_ms() - 30'000)},
          {"endsAt", rfc3339(ends_at_ms)},
          {"generatorURL", "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0"}};
}

json incidents(const HubProcess& hub) {
  const json doc = hub.api_get("/api/v1/incidents");
  return doc.is_object() ? doc["incidents"] : json::array();
}

// The only incident the hub lists, once there is exactly one and `ready` holds for it.
json the_incident(const HubProcess& hub, const std::function<bool(const json&)>& ready) {
  json found;
  wait_until(
      [&] {
        const json list = incidents(hub);
        if (list.size() != 1) return false;
        found = list[0];
        return ready(found);
      },
      30s);
  return found;
}

json detail(const HubProcess& hub, const json& incident) {
  return hub.api_get("/api/v1/incidents/" + std::to_string(incident["id"].get<uint64_t>()));
}

std::string alert_state(const HubProcess& hub, const std::string& rule) {
  const json doc = hub.api_get("/api/v1/alerts");
  if (!doc.is_object()) return "?";
  for (const auto& a : doc["alerts"]) {
    if (a.value("rule", "") == rule) return a["state"];
  }
  return "none";  // not pending or firing
}

}  // namespace

TEST_CASE("an alert posted the way Prometheus posts it becomes an incident", "[e2e][external]") {
  HubProcess hub;
  const json body = json::array(
      {prometheus_alert("InstanceDown", "checkout", "web-1:9100", now_ms() + 10 * 60'000)});
  Reply r = post(hub, "/api/v2/alerts", body.dump());
  CHECK(r.status == 200);
  CHECK(r.body.empty());  // Alertmanager answers success without a body
  // Answered only once durable: the incident is there at once.
  const json list = incidents(hub);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["title"] == "InstanceDown on checkout");
  CHECK(list[0]["severity"] == "critical");
  const json d = detail(hub, list[0]);
  REQUIRE(d["alerts"].size() == 1);
  CHECK(d["alerts"][0]["host"] == "web-1");
  CHECK(d["alerts"][0]["source"] == "external:alertmanager");
  CHECK(d["alerts"][0]["annotations"]["generatorURL"] ==
        "http://prometheus:9090/graph?g0.expr=up+%3D%3D+0");
  CHECK(d["timeline"][0]["actor"] == "external:alertmanager");

  // What Prometheus and amtool look at before they post.
  httplib::Client client(hub.url());
  CHECK(client.Get("/-/healthy")->status == 200);
  CHECK(client.Get("/-/ready")->status == 200);
  auto status = client.Get("/api/v2/status");
  REQUIRE(status);
  CHECK(json::parse(status->body)["cluster"]["status"] == "disabled");
}

TEST_CASE("a batch with a bad alert is accepted in part and answered as Alertmanager does",
          "[e2e][external]") {
  HubProcess hub;
  json bad = prometheus_alert("DiskFull", "billing", "db-1:9100", now_ms() + 10 * 60'000);
  bad["labels"] = json::object({{"1x", "y"}});
  const json body = json::array(
      {prometheus_alert("InstanceDown", "checkout", "web-1:9100", now_ms() + 10 * 60'000), bad});
  Reply r = post(hub, "/api/v2/alerts", body.dump());
  CHECK(r.status == 400);
  CHECK(r.doc == json("alerts[1]: invalid label set: invalid name \"1x\""));
  const json list = incidents(hub);
  REQUIRE(list.size() == 1);
  CHECK(list[0]["title"] == "InstanceDown on checkout");

  // The OpenAPI stage refuses a whole body: nothing is kept.
  Reply missing = post(hub, "/api/v2/alerts", R"([{"annotations": {}}])");
  CHECK(missing.status == 422);
  CHECK(missing.doc["code"] == 602);
  Reply malformed = post(hub, "/api/v2/alerts", "[{");
  CHECK(malformed.status == 400);
  CHECK(incidents(hub).size() == 1);
}

TEST_CASE("an alert whose end comes without a resend resolves, and so does its incident",
          "[e2e][external]") {
  HubProcess hub("incidents: {resolve_after: 200ms}\nexternal: {resolve_timeout: 1s}\n");
  const json body =
      json::array({prometheus_alert("InstanceDown", "checkout", "web-1:9100", now_ms() + 1'500)});
  REQUIRE(post(hub, "/api/v2/alerts", body.dump()).status == 200);
  // An alert sent without endsAt ends after external.resolve_timeout.
  json no_end = prometheus_alert("HighLatency", "billing", "db-1:9100", 0);
  no_end.erase("endsAt");
  REQUIRE(post(hub, "/api/v2/alerts", json::array({no_end}).dump()).status == 200);
  CHECK(incidents(hub).size() == 2);
  REQUIRE(wait_until(
      [&] {
        const json list = incidents(hub);
        return list.size() == 2 && list[0]["status"] == "resolved" &&
               list[1]["status"] == "resolved";
      },
      30s));
  CHECK(alert_state(hub, "InstanceDown") == "none");
  CHECK(alert_state(hub, "HighLatency") == "none");
  for (const auto& inc : incidents(hub)) CHECK(inc["resolved_by"] == "reflex");
}

TEST_CASE("external alerts, their end times and changes survive a crash of the hub",
          "[e2e][external]") {
  HubProcess hub("incidents: {resolve_after: 200ms}\n");
  const int64_t ends_at = now_ms() + 8'000;
  REQUIRE(
      post(
          hub, "/api/v2/alerts",
          json::array({prometheus_alert("InstanceDown", "checkout", "web-1:9100", ends_at)}).dump())
          .status == 200);
  auto add =
      hub.ctl({"change", "add", "--service", "checkout", "--env", "prod", "--version", "4.2.1",
               "--hosts", "web-1,web-2", "--strategy", "canary", "--author", "alice"});
  INFO(add.err);
  REQUIRE(add.exit_code == 0);
  CHECK(add.out == "change chg-1 recorded\n");

  hub.stop(SIGKILL);  // answered means committed: nothing may be lost
  hub.start();
  if (now_ms() < ends_at - 1'000) CHECK(alert_state(hub, "InstanceDown") == "firing");
  const json changes = hub.api_get("/api/v1/changes?service=checkout");
  REQUIRE(changes.is_object());
  REQUIRE(changes["changes"].size() == 1);
  CHECK(changes["changes"][0]["id"] == "chg-1");
  CHECK(changes["changes"][0]["hosts"] == json({"web-1", "web-2"}));
  // The restarted hub still knows when the alert ends.
  const json inc = the_incident(hub, [](const json& i) { return i["status"] == "resolved"; });
  CHECK(inc["status"] == "resolved");
  CHECK(alert_state(hub, "InstanceDown") == "none");
  CHECK(now_ms() >= ends_at);
  // New changes continue the ids.
  auto next = hub.ctl({"change", "add", "--service", "checkout", "--version", "4.2.2"});
  CHECK(next.out == "change chg-2 recorded\n");
  auto listed = hub.ctl({"changes", "--service", "checkout"});
  REQUIRE(listed.exit_code == 0);
  CHECK(listed.out.find("4.2.2") != std::string::npos);
  CHECK(listed.out.find("chg-1") != std::string::npos);
}

TEST_CASE("a change followed by errors is named the suspect and one followed by silence is not",
          "[e2e][external]") {
  HubProcess hub;
  REQUIRE(hub.ctl({"change", "add", "--service", "checkout", "--env", "prod", "--version", "4.2.1",
                   "--hosts", "web-1", "--author", "alice"})
              .exit_code == 0);
  REQUIRE(hub.ctl({"change", "add", "--service", "billing", "--env", "prod", "--version", "7.0"})
              .exit_code == 0);
  // Errors on checkout (generic events from a script), silence on billing.
  Reply r = post(hub, "/api/v1/events", R"({"source": "error-watch", "alerts": [
      {"name": "HighErrorRate", "state": "firing", "severity": "high",
       "labels": {"service": "checkout", "env": "prod"}, "host": "web-1"}]})");
  CHECK(r.status == 200);
  CHECK(r.doc == json({{"accepted", 1}}));

  const json list = incidents(hub);
  REQUIRE(list.size() == 1);
  const json d = detail(hub, list[0]);
  REQUIRE(d["suspect"].is_object());
  CHECK(d["suspect"]["change"]["id"] == "chg-1");
  CHECK(d["suspect"]["change"]["version"] == "4.2.1");
  CHECK(d["suspect"]["evidence"] == "1 of 1 affected host changed");
  const std::string summary = d["suspect"]["summary"];
  CHECK(summary.find("after deploy 4.2.1 of checkout by alice") != std::string::npos);
  bool noted = false;
  for (const auto& e : d["timeline"]) {
    noted |= e["kind"] == "note" && e["actor"] == "reflex" &&
             e["text"].get<std::string>().rfind("suspect: ", 0) == 0;
  }
  CHECK(noted);
  REQUIRE(d["changes"].size() == 1);
  CHECK(d["changes"][0]["id"] == "chg-1");
  auto shown = hub.ctl({"incident", "show", std::to_string(list[0]["id"].get<uint64_t>())});
  CHECK(shown.out.find("suspect") != std::string::npos);
  auto report = hub.ctl({"incident", "report", std::to_string(list[0]["id"].get<uint64_t>())});
  CHECK(report.exit_code == 0);
  const auto suspect_section = report.out.find("## Suspect change");
  REQUIRE(suspect_section != std::string::npos);
  const std::string section = report.out.substr(
      suspect_section, report.out.find("\n## ", suspect_section + 1) - suspect_section);
  CHECK(section.find("4.2.1") != std::string::npos);
  CHECK(section.find("none recorded") == std::string::npos);

  // Billing stayed silent: its change marks nothing. An incident of another service
  // names no suspect either.
  REQUIRE(post(hub, "/api/v1/events", R"({"source": "error-watch", "alerts": [
      {"name": "QueueBacklog", "state": "firing", "labels": {"service": "search"}}]})")
              .status == 200);
  for (const auto& inc : incidents(hub)) {
    CHECK(inc["service"] != "billing");
    if (inc["service"] == "search") CHECK(detail(hub, inc)["suspect"].is_null());
  }

  // Bad events change nothing and name the field.
  Reply bad =
      post(hub, "/api/v1/events", R"({"source": "x", "alerts": [{"name": "A", "state": "ok"}]})");
  CHECK(bad.status == 400);
  CHECK(bad.doc["error"]["message"].get<std::string>().rfind("alerts[0].state", 0) == 0);
  CHECK(incidents(hub).size() == 2);
}

TEST_CASE("an Alertmanager webhook opens and resolves an incident", "[e2e][external]") {
  HubProcess hub("incidents: {resolve_after: 100ms}\n");
  auto webhook = [](const std::string& status) {
    return json{{"version", "4"},
                {"groupKey", "{}:{alertname=\"InstanceDown\"}"},
                {"status", status},
                {"receiver", "reflex"},
                {"alerts",
                 {{{"status", status},
                   {"labels", {{"alertname", "InstanceDown"}, {"service", "checkout"}}},
                   {"annotations", json::object()},
                   {"startsAt", rfc3339(now_ms() - 60'000)},
                   {"endsAt", status == "resolved" ? rfc3339(now_ms()) : "0001-01-01T00:00:00Z"},
                   {"fingerprint", "c0ffee0000000001"}}}}}
        .dump();
  };
  Reply r = post(hub, "/api/v1/alertmanager/webhook", webhook("firing"));
  CHECK(r.status == 200);
  CHECK(r.doc == json({{"accepted", 1}}));
  REQUIRE(incidents(hub).size() == 1);
  REQUIRE(post(hub, "/api/v1/alertmanager/webhook", webhook("resolved")).status == 200);
  const json inc = the_incident(hub, [](const json& i) { return i["status"] == "resolved"; });
  CHECK(inc["status"] == "resolved");
  Reply bad = post(hub, "/api/v1/alertmanager/webhook", R"({"alerts": [{"status": "firing"}]})");
  CHECK(bad.status == 400);
  CHECK(bad.doc["error"]["message"].get<std::string>().find("labels") != std::string::npos);
}

TEST_CASE(
    "with API tokens, GitHub's signed deliveries and Jenkins' ?token= need no bearer token, "
    "and a Jenkins token the hub cannot check is refused",
    "[e2e][external]") {
  TempDir secrets;
  const std::string github = secrets.write("github.secret", "e2e-github-secret\n");
  const std::string bearer = secrets.write("alice", "alice-e2e-0123456789abcdef\n");
  const std::string tokens =
      "api: {tokens: [{name: alice, role: responder, token_file: " + bearer + "}]}\n";
  const json jenkins = {{"name", "deploy-api"},
                        {"build",
                         {{"full_url", "https://ci.example.com/job/deploy-api/58/"},
                          {"number", 58},
                          {"phase", "FINALIZED"},
                          {"status", "SUCCESS"},
                          {"timestamp", now_ms() - 60'000},
                          {"parameters", {{"SERVICE", "checkout"}, {"VERSION", "4.2.2"}}}}}};
  {
    // No Jenkins secret: a ?token= cannot be checked, so it is refused; a bearer works.
    HubProcess hub("changes: {github_secret_file: " + github + "}\n" + tokens);
    Reply unchecked = post(hub, "/api/v1/changes/jenkins?token=anything", jenkins.dump());
    CHECK(unchecked.status == 401);
    CHECK_THAT(unchecked.doc["error"]["message"].get<std::string>(),
               Catch::Contains("changes.jenkins_secret_file is not set"));
    CHECK(post(hub, "/api/v1/changes/jenkins", jenkins.dump()).status == 401);
    CHECK(post(hub, "/api/v1/changes/jenkins", jenkins.dump(),
               {{"Authorization", "Bearer alice-e2e-0123456789abcdef"}})
              .status == 201);
    // A signed delivery, without any bearer token.
    const std::string body = kGitHubDelivery;
    Reply g =
        post(hub, "/api/v1/changes/github", body,
             {{"X-GitHub-Event", "deployment_status"}, {"X-Hub-Signature-256", kGitHubSignature}});
    CHECK(g.status == 201);
    Reply forged = post(hub, "/api/v1/changes/github", body,
                        {{"X-GitHub-Event", "deployment_status"},
                         {"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}});
    CHECK(forged.status == 401);
  }
  {
    const std::string jenkins_secret = secrets.write("jenkins.secret", "e2e-jenkins-secret\n");
    HubProcess hub("changes: {jenkins_secret_file: " + jenkins_secret + "}\n" + tokens);
    CHECK(post(hub, "/api/v1/changes/jenkins?token=wrong", jenkins.dump()).status == 401);
    Reply j = post(hub, "/api/v1/changes/jenkins?token=e2e-jenkins-secret", jenkins.dump());
    CHECK(j.status == 201);
    CHECK(j.doc["change"]["source"] == "jenkins");
  }
}

TEST_CASE("Jenkins and GitHub deploys are recorded and a bad GitHub signature is refused",
          "[e2e][external]") {
  TempDir secrets;
  const std::string secret = secrets.write("github.secret", "e2e-github-secret\n");
  HubProcess hub("changes: {github_secret_file: " + secret + "}\n");

  const json jenkins = {
      {"name", "deploy-api"},
      {"build",
       {{"full_url", "https://ci.example.com/job/deploy-api/57/"},
        {"number", 57},
        {"phase", "FINALIZED"},
        {"status", "SUCCESS"},
        {"timestamp", now_ms() - 60'000},
        {"duration", 30'000},
        {"parameters", {{"SERVICE", "checkout"}, {"ENV", "prod"}, {"VERSION", "4.2.1"}}},
        {"scm", {{"commit", "c0ffee1234"}, {"culprits", {"Alice Example"}}}}}}};
  Reply j = post(hub, "/api/v1/changes/jenkins", jenkins.dump());
  CHECK(j.status == 201);
  CHECK(j.doc["change"]["id"] == "jenkins:https://ci.example.com/job/deploy-api/57/");
  CHECK(j.doc["change"]["source"] == "jenkins");
  // The plugin sends COMPLETED too: the same deploy, recorded once.
  json completed = jenkins;
  completed["build"]["phase"] = "COMPLETED";
  Reply again = post(hub, "/api/v1/changes/jenkins", completed.dump());
  CHECK(again.status == 200);
  CHECK(again.doc["duplicate"] == true);
  json started = jenkins;
  started["build"]["phase"] = "STARTED";
  started["build"].erase("status");
  Reply ignored = post(hub, "/api/v1/changes/jenkins", started.dump());
  CHECK(ignored.status == 200);
  CHECK(ignored.doc.contains("ignored"));

  const std::string body = kGitHubDelivery;
  const std::string signature = kGitHubSignature;
  Reply forged = post(hub, "/api/v1/changes/github", body,
                      {{"X-GitHub-Event", "deployment_status"},
                       {"X-Hub-Signature-256", "sha256=" + std::string(64, '0')}});
  CHECK(forged.status == 401);
  CHECK(forged.doc["error"]["code"] == "unauthorized");
  Reply unsigned_ =
      post(hub, "/api/v1/changes/github", body, {{"X-GitHub-Event", "deployment_status"}});
  CHECK(unsigned_.status == 401);
  Reply g = post(hub, "/api/v1/changes/github", body,
                 {{"X-GitHub-Event", "deployment_status"}, {"X-Hub-Signature-256", signature}});
  CHECK(g.status == 201);
  CHECK(g.doc["change"]["id"] == "github:acme/shop/deployments/777");
  CHECK(g.doc["change"]["author"] == "alice");

  const json listed = hub.api_get("/api/v1/changes");
  REQUIRE(listed.is_object());
  CHECK(listed["changes"].size() == 2);  // the forged delivery left nothing
  Reply bad = post(hub, "/api/v1/changes", R"({"service": "checkout", "hosts": "web-1"})");
  CHECK(bad.status == 400);
  CHECK(bad.doc["error"]["message"].get<std::string>().rfind("hosts", 0) == 0);
  auto bad_query = hub.api_get("/api/v1/changes?limit=0");
  CHECK(bad_query.is_null());  // 400
}
