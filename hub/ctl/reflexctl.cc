// reflexctl: the operator's command line for the hub's HTTP API, plus the offline tools
// (config checks, CURVE key generation) an operator needs around it.
#include <CLI/CLI.hpp>
#include <cctype>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <nlohmann/json.hpp>
#include <regex>

#include "agent/config.h"
#include "common/curve_keys.h"
#include "hub/config.h"
#include "hub/ctl/agents_table.h"
#include "hub/ctl/changes_view.h"
#include "hub/ctl/cluster_view.h"
#include "hub/ctl/hub_client.h"
#include "hub/ctl/incidents_view.h"
#include "hub/ctl/oncall_view.h"
#include "hub/ctl/routes_view.h"
#include "hub/ctl/silences_view.h"

using namespace reflex;

namespace {

std::string default_hub_url() {
  const char* env = std::getenv("REFLEX_HUB");
  return env && *env ? env : "http://127.0.0.1:7180";
}

int fail(const std::string& message) {
  std::cerr << "reflexctl: " << message << "\n";
  return 1;
}

// The hub's error message from an error body, or the body itself; a refused token says
// what to do about it.
std::string hub_error(const ctl::HttpResponse& res, bool token_sent) {
  std::string message;
  auto doc = nlohmann::json::parse(res.body, nullptr, false);
  if (doc.is_object() && doc.contains("error") && doc["error"].is_object()) {
    message =
        doc["error"].value("message", res.body) + " (HTTP " + std::to_string(res.status) + ")";
  } else {
    message = "the hub answered HTTP " + std::to_string(res.status) + ": " + res.body;
  }
  if (res.status == 401) {
    message = "the hub wants a bearer token: " + message +
              (token_sent ? "; the token sent is not one the hub knows"
                          : "; pass --token-file FILE or set REFLEX_TOKEN");
  } else if (res.status == 403) {
    message = "not allowed with this token: " + message;
  }
  return message;
}

std::string hub_error(const ctl::HttpResponse& res, const ctl::HubClient& client) {
  return hub_error(res, client.has_token());
}

// GETs `path` and prints the answer: the JSON itself with --json, else `render(doc)`.
// An answer that is not a JSON object for which `valid` holds is an error naming `what`.
int show_document(const ctl::HubClient& client, const std::string& path, const char* what,
                  const std::function<bool(const nlohmann::json&)>& valid,
                  const std::function<std::string(const nlohmann::json&)>& render, bool json) {
  auto res = client.get(path);
  if (!res) return fail(res.status().message());
  if (res->status != 200) return fail(hub_error(*res, client));
  auto doc = nlohmann::json::parse(res->body, nullptr, false);
  if (!doc.is_object() || !valid(doc)) {
    return fail(std::string("the hub's answer is not ") + what + ": " + res->body.substr(0, 200));
  }
  std::cout << (json ? doc.dump(2) + "\n" : render(doc));
  return 0;
}

int cmd_agents(const ctl::HubClient& client, bool json) {
  return show_document(
      client, "/api/v1/agents", "the agents document",
      [](const nlohmann::json& doc) { return doc.contains("agents") && doc["agents"].is_array(); },
      ctl::agents_table, json);
}

std::string url_encode(const std::string& s) {
  static const char* hex = "0123456789ABCDEF";
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += '%';
      out += hex[c >> 4];
      out += hex[c & 15];
    }
  }
  return out;
}

// One agent with its checks (`reflexctl agents <id>`).
int cmd_agent(const ctl::HubClient& client, const std::string& id, bool json) {
  return show_document(
      client, "/api/v1/agents/" + url_encode(id), "an agent document",
      [](const nlohmann::json& doc) { return doc.contains("agent") && doc["agent"].is_object(); },
      ctl::agent_detail_text, json);
}

int cmd_maintenance(const ctl::HubClient& client, bool json) {
  return show_document(
      client, "/api/v1/maintenance", "the maintenance document",
      [](const nlohmann::json& doc) {
        return doc.contains("windows") && doc["windows"].is_array();
      },
      ctl::maintenance_table, json);
}

int cmd_route_test(const ctl::HubClient& client, const std::vector<std::string>& labels,
                   const std::string& severity, bool suspect, const std::string& event, bool json) {
  auto params = ctl::route_test_params(labels, severity, suspect, event);
  if (!params) return fail(params.status().message());
  std::string query;
  for (const auto& [name, value] : *params) {
    query += (query.empty() ? "?" : "&") + name + "=" + url_encode(value);
  }
  return show_document(
      client, "/api/v1/routes/test" + query, "a route test document",
      [](const nlohmann::json& doc) { return doc.contains("routes") && doc["routes"].is_array(); },
      ctl::route_test_text, json);
}

int cmd_oncall(const ctl::HubClient& client, const std::string& schedule, const std::string& at,
               int next, bool json) {
  return show_document(
      client, ctl::oncall_path(schedule, at, next), "an on-call document",
      [](const nlohmann::json& doc) { return doc.contains("schedules") || doc.contains("now"); },
      ctl::oncall_table, json);
}

int cmd_cluster(const ctl::HubClient& client, bool json) {
  return show_document(
      client, "/api/v1/cluster", "a cluster document",
      [](const nlohmann::json& doc) { return doc.contains("self"); }, ctl::cluster_text, json);
}

struct IncidentFilter {
  std::string status, service, severity, since;
};

int cmd_incidents(const ctl::HubClient& client, const IncidentFilter& f, bool json) {
  std::string query;
  for (const auto& [name, value] : {std::pair<const char*, const std::string&>{"status", f.status},
                                    {"service", f.service},
                                    {"severity", f.severity},
                                    {"since", f.since}}) {
    if (value.empty()) continue;
    query += (query.empty() ? "?" : "&") + std::string(name) + "=" + url_encode(value);
  }
  return show_document(
      client, "/api/v1/incidents" + query, "the incidents document",
      [](const nlohmann::json& doc) {
        return doc.contains("incidents") && doc["incidents"].is_array();
      },
      ctl::incidents_table, json);
}

int cmd_incident_show(const ctl::HubClient& client, uint64_t id, bool json) {
  return show_document(
      client, "/api/v1/incidents/" + std::to_string(id), "an incident document",
      [](const nlohmann::json& doc) {
        return doc.contains("incident") && doc["incident"].is_object();
      },
      ctl::incident_text, json);
}

int cmd_incident_report(const ctl::HubClient& client, uint64_t id) {
  auto res = client.get("/api/v1/incidents/" + std::to_string(id) + "/report");
  if (!res) return fail(res.status().message());
  if (res->status != 200) return fail(hub_error(*res, client));
  std::cout << res->body;
  return 0;
}

// POSTs one action; prints `done` on success. With a token the hub takes the actor from
// it, so `actor` is sent only when given explicitly (the hub refuses a mismatch).
int cmd_incident_action(const ctl::HubClient& client, uint64_t id, const std::string& action,
                        nlohmann::json body, const std::string& done) {
  if (body.value("actor", "").empty()) {
    if (!client.has_token()) {
      return fail("who is acting? pass --actor NAME or set REFLEX_ACTOR");
    }
    body.erase("actor");
  }
  auto res = client.post("/api/v1/incidents/" + std::to_string(id) + "/" + action, body.dump());
  if (!res) return fail(res.status().message());
  if (res->status != 200) return fail(hub_error(*res, client));
  std::cout << "incident " << id << " " << done << "\n";
  return 0;
}

int cmd_silence_add(const ctl::HubClient& client, nlohmann::json body) {
  if (body.value("created_by", "").empty()) {
    if (!client.has_token())
      return fail("who is silencing? pass --author NAME or set REFLEX_ACTOR");
    body.erase("created_by");
  }
  auto res = client.post("/api/v1/silences", body.dump());
  if (!res) return fail(res.status().message());
  if (res->status != 201) return fail(hub_error(*res, client));
  auto doc = nlohmann::json::parse(res->body, nullptr, false);
  if (!doc.is_object() || !doc["silence"].is_object()) {
    return fail("the hub's answer is not a silence document: " + res->body.substr(0, 200));
  }
  const auto& s = doc["silence"];
  std::cout << "silence " << s.value("id", uint64_t{0}) << " created (" << s.value("state", "")
            << " until " << s.value("ends_at", "") << ")\n";
  return 0;
}

int cmd_silence_list(const ctl::HubClient& client, const std::string& state, bool json) {
  return show_document(
      client, "/api/v1/silences" + (state.empty() ? "" : "?state=" + url_encode(state)),
      "the silences document",
      [](const nlohmann::json& doc) {
        return doc.contains("silences") && doc["silences"].is_array();
      },
      ctl::silences_table, json);
}

int cmd_silence_expire(const ctl::HubClient& client, uint64_t id, const std::string& actor) {
  if (actor.empty() && !client.has_token()) {
    return fail("who is acting? pass --actor NAME or set REFLEX_ACTOR");
  }
  const nlohmann::json body =
      actor.empty() ? nlohmann::json::object() : nlohmann::json{{"actor", actor}};
  auto res = client.post("/api/v1/silences/" + std::to_string(id) + "/expire", body.dump());
  if (!res) return fail(res.status().message());
  if (res->status != 200) return fail(hub_error(*res, client));
  std::cout << "silence " << id << " expired\n";
  return 0;
}

int cmd_change_add(const ctl::HubClient& client, const ctl::ChangeArgs& args) {
  auto res = client.post("/api/v1/changes", ctl::change_body(args).dump());
  if (!res) return fail(res.status().message());
  if (res->status != 200 && res->status != 201) return fail(hub_error(*res, client));
  auto doc = nlohmann::json::parse(res->body, nullptr, false);
  const std::string id =
      doc.is_object() && doc["change"].is_object() ? doc["change"].value("id", "") : "";
  std::cout << "change " << id
            << (doc.value("duplicate", false) ? " was already recorded" : " recorded") << "\n";
  return 0;
}

int cmd_changes(const ctl::HubClient& client, const std::string& service, const std::string& since,
                bool json) {
  std::string query;
  if (!service.empty()) query += "?service=" + url_encode(service);
  if (!since.empty())
    query += (query.empty() ? "?" : "&") + std::string("since=") + url_encode(since);
  return show_document(
      client, "/api/v1/changes" + query, "the changes document",
      [](const nlohmann::json& doc) {
        return doc.contains("changes") && doc["changes"].is_array();
      },
      ctl::changes_table, json);
}

int cmd_check_config(const std::string& kind_flag, const std::string& path) {
  std::string kind = kind_flag;
  if (kind == "auto") {
    auto root = config::load_yaml_file(path);
    if (!root) return fail(root.status().message());
    if (root->IsMap() && (root->operator[]("hub") || root->operator[]("id"))) {
      kind = "agent";
    } else if (root->IsMap() && (root->operator[]("listen") || root->operator[]("store") ||
                                 root->operator[]("http"))) {
      kind = "hub";
    } else {
      return fail(path + ": cannot tell a hub config from an agent config; pass --kind");
    }
  }
  Status st =
      kind == "hub" ? hub::load_hub_config(path).status() : agent::load_agent_config(path).status();
  if (!st) {
    std::cerr << st.message() << "\n";
    return 1;
  }
  std::cout << path << ": ok (" << kind << " config)\n";
  return 0;
}

// Writes OUT/NAME.key and OUT/NAME.key_secret and says how to enrol the agent.
int cmd_keygen(const std::string& out_dir, const std::string& name, bool force) {
  auto keys = curve::generate();
  if (!keys) return fail(keys.status().message());
  const std::string prefix = (out_dir.empty() ? "." : out_dir) + "/" + name;
  Status st = curve::write_keypair(
      prefix, *keys, "reflex CURVE key \"" + name + "\", made by reflexctl keygen", force);
  if (!st) {
    if (st.code() == "exists") return fail(st.message() + " (pass --force to replace the pair)");
    return fail(st.message());
  }
  const std::string pub = curve::public_key_path(prefix);
  const std::string sec = curve::secret_key_path(prefix);
  std::cout << "wrote " << pub << " (public) and " << sec << " (secret, mode 0600)\n"
            << "public key: " << keys->public_key << "\n\n"
            << "To enrol agent \"" << name << "\" (its config id must be \"" << name << "\"):\n"
            << "  1. on the hub:   cp " << pub << " <the hub's allowlist directory>/\n"
            << "  2. on the hub:   kill -HUP $(pidof reflex-hub)   # reloads the allowlist\n"
            << "  3. on the agent: install -m 600 " << sec << " <agent key dir>/\n"
            << "     then set the agent's secret key file and the hub's public key (the hub's\n"
            << "     own .key file) in its config, and delete the secret from here.\n";
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"reflexctl: operate a Reflex hub"};
  std::string hub_url = default_hub_url();
  std::string token, token_file;
  if (const char* t = std::getenv("REFLEX_TOKEN")) token = t;
  app.add_option("--hub", hub_url, "hub HTTP API base URL (env REFLEX_HUB)")->capture_default_str();
  app.add_option("--token-file", token_file,
                 "file holding the hub API's bearer token (else the token itself in env "
                 "REFLEX_TOKEN)")
      ->envname("REFLEX_TOKEN_FILE");
  app.fallthrough();  // --hub and --token-file may follow the subcommand too
  app.set_version_flag("--version", std::string("reflexctl ") + REFLEX_VERSION);

  bool json = false;
  std::string agent_id;
  auto* agents = app.add_subcommand("agents", "list agents with their state");
  agents->add_option("id", agent_id, "one agent: its details and checks as last reported");
  agents->add_flag("--json", json, "print the API's JSON instead of a table");

  bool maintenance_json = false;
  auto* maintenance = app.add_subcommand(
      "maintenance", "the maintenance windows hub.yaml declares, open now or when next");
  maintenance->add_flag("--json", maintenance_json, "print the API's JSON instead of a table");

  IncidentFilter filter;
  bool incidents_json = false;
  auto* incidents = app.add_subcommand("incidents", "list incidents, newest first");
  incidents->add_option("--status", filter.status, "triggered, acknowledged, resolved or open")
      ->check(CLI::IsMember({"triggered", "acknowledged", "resolved", "open"}));
  incidents->add_option("--service", filter.service, "only this service");
  incidents->add_option("--severity", filter.severity, "this severity or higher")
      ->check(CLI::IsMember({"info", "warning", "high", "critical"}));
  incidents->add_option("--since", filter.since,
                        "opened since: a duration back from now (2h) or epoch milliseconds");
  incidents->add_flag("--json", incidents_json, "print the API's JSON instead of a table");

  const char* actor_env = std::getenv("REFLEX_ACTOR");
  if (!actor_env || !*actor_env) actor_env = std::getenv("USER");
  std::string actor = actor_env ? actor_env : "";
  // With a token the hub knows who acts; $USER is only a fallback without one.
  const char* explicit_actor = std::getenv("REFLEX_ACTOR");
  std::string token_actor = explicit_actor ? explicit_actor : "";
  uint64_t incident_id = 0;
  bool show_json = false;
  std::string note_text, owner;
  auto* incident = app.add_subcommand("incident", "show or act on one incident");
  incident->require_subcommand(1);
  incident->add_option("--actor", actor, "who is acting (env REFLEX_ACTOR, else USER)");
  auto* show = incident->add_subcommand("show", "an incident with its alerts and timeline");
  show->add_option("id", incident_id, "the incident's id")->required();
  show->add_flag("--json", show_json, "print the API's JSON");
  auto* ack = incident->add_subcommand("ack", "acknowledge: someone is on it");
  ack->add_option("id", incident_id, "the incident's id")->required();
  ack->add_option("--actor", actor, "who is acting (env REFLEX_ACTOR, else USER)");
  auto* resolve = incident->add_subcommand("resolve", "resolve it now");
  resolve->add_option("id", incident_id, "the incident's id")->required();
  resolve->add_option("--actor", actor, "who is acting (env REFLEX_ACTOR, else USER)");
  auto* note = incident->add_subcommand("note", "add a note to its timeline");
  note->add_option("id", incident_id, "the incident's id")->required();
  note->add_option("text", note_text, "the note")->required();
  note->add_option("--actor", actor, "who is acting (env REFLEX_ACTOR, else USER)");
  std::string option;
  auto* respond = incident->add_subcommand(
      "respond", "choose a response option (start_mim, ...): runs its workflow steps");
  respond->add_option("id", incident_id, "the incident's id")->required();
  respond->add_option("option", option, "acknowledge, resolve, or an option the workflows name")
      ->required();
  respond->add_option("--actor", actor, "who is acting (env REFLEX_ACTOR, else USER)");
  auto* report = incident->add_subcommand(
      "report", "the post-incident report (Markdown): summary, impact, timeline, responders");
  report->add_option("id", incident_id, "the incident's id")->required();
  auto* assign = incident->add_subcommand("assign", "give it an owner (\"\" unassigns)");
  assign->add_option("id", incident_id, "the incident's id")->required();
  assign->add_option("owner", owner, "who owns it now")->required();
  assign->add_option("--actor", actor, "who is acting (env REFLEX_ACTOR, else USER)");

  std::vector<std::string> silence_matchers;
  std::string silence_duration, silence_ends_at, silence_comment, silence_state;
  uint64_t silence_id = 0;
  bool silence_json = false;
  auto* silence = app.add_subcommand("silence", "mute notifications for matching alerts");
  silence->require_subcommand(1);
  auto* silence_add = silence->add_subcommand(
      "add", "silence alerts matching every matcher, e.g. service=checkout env=~prod");
  silence_add->add_option("matchers", silence_matchers, "label matchers: name=value, !=, =~, !~")
      ->required();
  silence_add->add_option("--duration", silence_duration, "how long from now, e.g. 2h");
  silence_add->add_option("--ends-at", silence_ends_at, "or an end time (RFC 3339)");
  silence_add->add_option("--comment", silence_comment, "why")->required();
  silence_add->add_option("--author,--actor", actor,
                          "who is silencing (env REFLEX_ACTOR, else USER)");
  auto* silence_list = silence->add_subcommand("list", "list silences");
  silence_list->add_option("--state", silence_state, "active, pending or expired")
      ->check(CLI::IsMember({"active", "pending", "expired"}));
  silence_list->add_flag("--json", silence_json, "print the API's JSON instead of a table");
  auto* silence_expire = silence->add_subcommand("expire", "end a silence now");
  silence_expire->add_option("id", silence_id, "the silence's id")->required();
  silence_expire->add_option("--actor", actor, "who is acting (env REFLEX_ACTOR, else USER)");

  ctl::ChangeArgs change_args;
  auto* change = app.add_subcommand("change", "record a change (a deploy)");
  change->require_subcommand(1);
  auto* change_add =
      change->add_subcommand("add", "record a deploy, so incidents after it name it");
  change_add->add_option("--service", change_args.service, "the service changed")->required();
  change_add->add_option("--env", change_args.environment, "its environment (prod, staging, ...)");
  change_add->add_option("--version", change_args.version, "the version deployed");
  change_add->add_option("--hosts", change_args.hosts, "the hosts changed, comma separated");
  change_add->add_option("--strategy", change_args.strategy, "canary, blue-green or rolling")
      ->check(CLI::IsMember({"canary", "blue-green", "rolling"}));
  change_add->add_option("--active-color", change_args.active_color,
                         "blue-green: the colour live after the change");
  change_add->add_option("--commit", change_args.commit, "the commit deployed");
  change_add->add_option("--author", change_args.author, "who deployed it");
  change_add->add_option("--link", change_args.link, "a link to the pipeline or release");

  std::string changes_service, changes_since;
  bool changes_json = false;
  auto* changes = app.add_subcommand("changes", "list recorded changes, newest first");
  changes->add_option("--service", changes_service, "only this service");
  changes->add_option("--since", changes_since,
                      "since: a duration back from now (2h) or epoch milliseconds");
  changes->add_flag("--json", changes_json, "print the API's JSON instead of a table");

  std::vector<std::string> route_labels;
  std::string route_severity, route_event;
  bool route_suspect = false, route_json = false;
  auto* route = app.add_subcommand("route", "routing: which routes and steps incidents get");
  route->require_subcommand(1);
  auto* route_test = route->add_subcommand(
      "test", "show the routes and steps an incident would get, without sending anything");
  route_test->add_option("--labels", route_labels, "its labels: service=checkout,env=prod");
  route_test->add_option("--severity", route_severity, "info, warning, high or critical")
      ->check(CLI::IsMember({"info", "warning", "high", "critical"}));
  route_test->add_flag("--suspect", route_suspect, "a suspect change was named");
  route_test->add_option("--event", route_event,
                         "only steps run on this event (opened, resolved, response:start_mim)");
  route_test->add_flag("--json", route_json, "print the API's JSON instead of text");

  std::string oncall_schedule, oncall_at;
  int oncall_next = 5;
  bool oncall_json = false;
  auto* oncall = app.add_subcommand("oncall", "who is on call in each schedule, and who is next");
  oncall->add_option("schedule", oncall_schedule, "one schedule: its next shifts too");
  oncall->add_option("--at", oncall_at, "at this instant instead of now (RFC 3339)");
  oncall->add_option("--next", oncall_next, "with a schedule: how many next shifts (0-100)")
      ->check(CLI::Range(0, 100))
      ->capture_default_str();
  oncall->add_flag("--json", oncall_json, "print the API's JSON instead of a table");

  bool cluster_json = false;
  auto* cluster = app.add_subcommand(
      "cluster", "the hubs sharing a PostgreSQL store: who leads, since when, the lease, lag");
  cluster->add_flag("--json", cluster_json, "print the API's JSON instead of text");

  std::string check_kind = "auto", check_path;
  auto* check = app.add_subcommand("check-config", "validate a hub or agent config file");
  check->add_option("--kind", check_kind, "hub, agent, or auto (guess from the keys)")
      ->check(CLI::IsMember({"hub", "agent", "auto"}));
  check->add_option("file", check_path, "the file to check")->required();

  std::string keygen_out = ".", keygen_name;
  bool keygen_force = false;
  auto* keygen = app.add_subcommand(
      "keygen", "create a CURVE keypair NAME.key (public) and NAME.key_secret (secret, 0600)");
  keygen->add_option("--out", keygen_out, "directory to write the two files into")
      ->capture_default_str();
  keygen->add_option("name", keygen_name, "the agent id the key is for (or e.g. \"hub\")")
      ->required()
      ->check([](const std::string& v) -> std::string {
        static const std::regex id_re("^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$");
        return std::regex_match(v, id_re)
                   ? ""
                   : "\"" + v +
                         "\" is not a valid agent id (letters, digits, '.', '_', '-'; "
                         "at most 128)";
      });
  keygen->add_flag("--force", keygen_force, "replace existing key files");

  CLI11_PARSE(app, argc, argv);

  if (*keygen) return cmd_keygen(keygen_out, keygen_name, keygen_force);

  if (!token_file.empty()) {
    auto read = ctl::read_token_file(token_file);
    if (!read) return fail(read.status().message());
    token = std::move(read).value();
  }
  ctl::HubClient client(hub_url, token);
  // Acting with a token: only an actor given with --actor or REFLEX_ACTOR is sent.
  if (client.has_token()) {
    for (auto* sub : {ack, resolve, note, assign, respond, incident, silence_add, silence_expire}) {
      if (sub->count("--actor") > 0) token_actor = actor;
    }
    actor = token_actor;
  }
  if (*agents)
    return agent_id.empty() ? cmd_agents(client, json) : cmd_agent(client, agent_id, json);
  if (*maintenance) return cmd_maintenance(client, maintenance_json);
  if (*incidents) return cmd_incidents(client, filter, incidents_json);
  if (*show) return cmd_incident_show(client, incident_id, show_json);
  if (*report) return cmd_incident_report(client, incident_id);
  if (*ack) {
    return cmd_incident_action(client, incident_id, "ack", {{"actor", actor}}, "acknowledged");
  }
  if (*resolve) {
    return cmd_incident_action(client, incident_id, "resolve", {{"actor", actor}}, "resolved");
  }
  if (*note) {
    return cmd_incident_action(client, incident_id, "notes",
                               {{"actor", actor}, {"text", note_text}}, "noted");
  }
  if (*respond) {
    return cmd_incident_action(client, incident_id, "respond",
                               {{"actor", actor}, {"option", option}}, "responded " + option);
  }
  if (*assign) {
    return cmd_incident_action(client, incident_id, "assign", {{"actor", actor}, {"owner", owner}},
                               owner.empty() ? "unassigned" : "assigned to " + owner);
  }
  if (*silence_add) {
    return cmd_silence_add(client, ctl::silence_request(silence_matchers, silence_duration,
                                                        silence_ends_at, actor, silence_comment));
  }
  if (*silence_list) return cmd_silence_list(client, silence_state, silence_json);
  if (*silence_expire) return cmd_silence_expire(client, silence_id, actor);
  if (*check) return cmd_check_config(check_kind, check_path);
  if (*route_test) {
    return cmd_route_test(client, route_labels, route_severity, route_suspect, route_event,
                          route_json);
  }
  if (*cluster) return cmd_cluster(client, cluster_json);
  if (*oncall) return cmd_oncall(client, oncall_schedule, oncall_at, oncall_next, oncall_json);
  if (*change_add) return cmd_change_add(client, change_args);
  if (*changes) return cmd_changes(client, changes_service, changes_since, changes_json);
  std::cerr << app.help();
  return 1;
}
