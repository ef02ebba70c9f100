#include "hub/policy/step_calls.h"

#include <algorithm>
#include <cctype>

#include "hub/integrations/mail_message.h"
#include "hub/policy/ci_job.h"
#include "hub/policy/templates.h"

namespace reflex::hub::policy {
namespace {

using nlohmann::json;

const char* const kRefObjects[] = {"ticket", "channel", "status_page", "suspect"};

CallPlan send(std::string operation, json payload, std::string creates = {}) {
  return {.verdict = CallPlan::Verdict::kSend,
          .operation = std::move(operation),
          .payload = std::move(payload),
          .creates = std::move(creates),
          .reason = {}};
}
CallPlan wait_for(const std::string& object) {
  return {.verdict = CallPlan::Verdict::kWait,
          .operation = {},
          .payload = {},
          .creates = {},
          .reason = "waiting for the " + object};
}
CallPlan skip(std::string why) {
  return {.verdict = CallPlan::Verdict::kSkip,
          .operation = {},
          .payload = {},
          .creates = {},
          .reason = std::move(why)};
}

std::string param(const WorkflowCall& call, const IncidentFacts& facts, const std::string& name) {
  auto it = call.with.find(name);
  return it == call.with.end() ? std::string() : render_template(it->second, facts);
}

bool references(const WorkflowCall& call, const std::string& object) {
  for (const auto& [_, text] : call.with) {
    for (const char* open : {"{{", "{{#", "{{^"}) {
      if (text.find(std::string(open) + object + ".") != std::string::npos ||
          text.find(std::string(open) + object + "}}") != std::string::npos) {
        return true;
      }
    }
  }
  return false;
}

// Ready: the object; else the plan that says why the call cannot go.
const WorkflowObject* need(const std::map<std::string, WorkflowObject>& objects,
                           const std::string& name, const std::string& what, CallPlan& why) {
  auto it = objects.find(name);
  if (it == objects.end()) {
    why = skip("no " + what + " was created for this incident");
    return nullptr;
  }
  if (it->second.state == ObjectState::kPending) {
    why = wait_for(what);
    return nullptr;
  }
  if (it->second.state == ObjectState::kFailed) {
    why = skip("the " + what + " could not be created");
    return nullptr;
  }
  return &it->second;
}

std::string str(const json& data, const char* key) {
  auto it = data.find(key);
  return it != data.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string button_label(const std::string& option) {
  static const std::map<std::string, std::string> kLabels = {
      {"acknowledge", "Acknowledge"},       {"start_mim", "Start major incident"},
      {"remediate", "Run remediation"},     {"rollback", "Roll back"},
      {"comment", "Comment to monitoring"}, {"resolve", "Resolve"}};
  if (auto it = kLabels.find(option); it != kLabels.end()) return it->second;
  std::string label = option;
  std::replace(label.begin(), label.end(), '_', ' ');
  if (!label.empty())
    label[0] = static_cast<char>(std::toupper(static_cast<unsigned char>(label[0])));
  return label;
}

// A section with the text, and the response options as buttons while the incident is
// open. Each button's value is the incident id; its action_id "reflex:<option>".
json slack_blocks(const std::string& text, const std::string& buttons, const IncidentFacts& facts) {
  json blocks = json::array();
  blocks.push_back({{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}});
  const auto options = split_list(buttons);
  if (options.empty() || facts.status == "resolved") return blocks;
  json elements = json::array();
  for (const auto& o : options) {
    json b = {{"type", "button"},
              {"text", {{"type", "plain_text"}, {"text", button_label(o)}}},
              {"action_id", "reflex:" + o},
              {"value", std::to_string(facts.id)}};
    if (o == "start_mim") b["style"] = "danger";
    if (o == "acknowledge") b["style"] = "primary";
    elements.push_back(std::move(b));
  }
  blocks.push_back({{"type", "actions"},
                    {"block_id", "reflex-incident-" + std::to_string(facts.id)},
                    {"elements", elements}});
  return blocks;
}

const char* pagerduty_severity(protocol::Severity s) {
  switch (s) {
    case protocol::Severity::kCritical:
      return "critical";
    case protocol::Severity::kHigh:
      return "error";
    case protocol::Severity::kWarning:
      return "warning";
    default:
      return "info";
  }
}

CallPlan plan_chat(const WorkflowCall& call, const IncidentFacts& facts,
                   const std::map<std::string, WorkflowObject>& objects) {
  const std::string& k = call.kind;
  CallPlan why;
  if (k == "chat.post") {
    const std::string channel = param(call, facts, "channel");
    if (channel.empty()) return skip("the channel rendered empty");
    const std::string text = slack_escape(param(call, facts, "text"));
    json payload = {{"channel", channel}, {"text", text}};
    const std::string buttons = param(call, facts, "buttons");
    if (!buttons.empty()) payload["blocks"] = slack_blocks(text, buttons, facts);
    return send("slack.chat.postMessage", std::move(payload), "message:" + call.step);
  }
  if (k == "chat.update" || k == "chat.reply" || k == "refresh") {
    const std::string name = k == "refresh" ? call.step : first_message(objects);
    const WorkflowObject* msg = need(objects, name.empty() ? "message" : name, "chat message", why);
    if (!msg) return why;
    const json& d = msg->data;
    const std::string text = slack_escape(
        k == "refresh" ? render_template(str(d, "template"), facts) : param(call, facts, "text"));
    if (k == "chat.reply") {
      return send("slack.chat.postMessage",
                  {{"channel", str(d, "channel")}, {"thread_ts", str(d, "ts")}, {"text", text}});
    }
    json payload = {{"channel", str(d, "channel")}, {"ts", str(d, "ts")}, {"text", text}};
    const std::string buttons = str(d, "buttons");
    if (!buttons.empty()) payload["blocks"] = slack_blocks(text, buttons, facts);
    return send("slack.chat.update", std::move(payload));
  }
  if (k == "chat.create_channel") {
    const std::string name = slack_channel_name(param(call, facts, "name"));
    if (name.empty()) return skip("the channel name rendered empty");
    return send("slack.conversations.create", {{"name", name}}, "channel");
  }
  const WorkflowObject* ch = need(objects, "channel", "chat channel", why);
  if (!ch) return why;
  const std::string id = str(ch->data, "id");
  if (k == "chat.invite") {
    const auto users = split_list(param(call, facts, "users"));
    if (users.empty()) return skip("nobody to invite: users rendered empty");
    std::string list;
    for (const auto& u : users) list += (list.empty() ? "" : ",") + u;
    return send("slack.conversations.invite", {{"channel", id}, {"users", list}});
  }
  if (k == "chat.say") {
    return send("slack.chat.postMessage",
                {{"channel", id}, {"text", slack_escape(param(call, facts, "text"))}});
  }
  return send("slack.conversations.archive", {{"channel", id}});  // chat.archive
}

CallPlan plan_ticket(const WorkflowCall& call, const IncidentFacts& facts,
                     const std::map<std::string, WorkflowObject>& objects) {
  if (call.kind == "ticket.create") {
    std::string summary = param(call, facts, "summary");
    summary = summary.substr(0, summary.find('\n')).substr(0, 255);
    const std::string type = param(call, facts, "issue_type");
    json fields = {{"project", {{"key", param(call, facts, "project")}}},
                   {"summary", summary},
                   {"issuetype", {{"name", type.empty() ? "Task" : type}}}};
    if (auto d = param(call, facts, "description"); !d.empty()) fields["description"] = d;
    if (auto p = param(call, facts, "priority"); !p.empty()) fields["priority"] = {{"name", p}};
    if (auto due = param(call, facts, "duedate"); !due.empty()) fields["duedate"] = due;
    return send("jira.create_issue", {{"fields", fields}}, "ticket");
  }
  CallPlan why;
  const WorkflowObject* t = need(objects, "ticket", "ticket", why);
  if (!t) return why;
  const std::string key = str(t->data, "key");
  if (call.kind == "ticket.comment") {
    return send("jira.comment", {{"issue", key}, {"body", param(call, facts, "text")}});
  }
  json payload = {{"issue", key}, {"transition", param(call, facts, "transition")}};
  if (auto c = param(call, facts, "comment"); !c.empty()) payload["comment"] = c;
  return send("jira.transition", std::move(payload));
}

CallPlan plan_status(const WorkflowCall& call, const IncidentFacts& facts,
                     const std::map<std::string, WorkflowObject>& objects) {
  if (call.kind == "status.create") {
    json incident = {{"name", param(call, facts, "name")},
                     {"status", param(call, facts, "status")}};
    if (auto b = param(call, facts, "body"); !b.empty()) incident["body"] = b;
    if (auto i = param(call, facts, "impact"); !i.empty()) incident["impact_override"] = i;
    if (auto c = split_list(param(call, facts, "components")); !c.empty()) {
      incident["component_ids"] = c;
    }
    return send("statuspage.create_incident", {{"incident", incident}}, "status_page");
  }
  CallPlan why;
  const WorkflowObject* page = need(objects, "status_page", "status page incident", why);
  if (!page) return why;
  json incident = {{"status", call.kind == "status.resolve" ? std::string("resolved")
                                                            : param(call, facts, "status")}};
  if (auto b = param(call, facts, "body"); !b.empty()) incident["body"] = b;
  return send("statuspage.update_incident",
              {{"incident_id", str(page->data, "id")}, {"incident", incident}});
}

CallPlan plan_pager(const WorkflowCall& call, const IncidentFacts& facts,
                    const std::map<std::string, WorkflowObject>& objects) {
  const std::string dedup = "reflex-incident-" + std::to_string(facts.id);
  if (call.kind == "page") {
    std::string summary = param(call, facts, "message");
    if (summary.empty()) summary = facts.title;
    json details = facts.labels;
    details["policy"] = param(call, facts, "policy");
    details["affected_hosts"] = facts.affected_hosts;
    return send("pagerduty.event",
                {{"event_action", "trigger"},
                 {"dedup_key", dedup},
                 {"payload",
                  {{"summary", summary.substr(0, 1024)},
                   {"source", "reflex"},
                   {"severity", pagerduty_severity(facts.severity)},
                   {"custom_details", details}}}},
                "page");
  }
  CallPlan why;
  if (!need(objects, "page", "page", why)) return why;
  return send("pagerduty.event",
              {{"event_action", call.kind == "pager.resolve" ? "resolve" : "acknowledge"},
               {"dedup_key", dedup}});
}

// A rollback by a CI job: the job and its parameters rendered, the incident's id added
// as REFLEX_INCIDENT (and the rendered `hosts` as REFLEX_HOSTS when given).
CallPlan plan_ci_job(const WorkflowCall& call, const IncidentFacts& facts) {
  auto job = parse_ci_job(param(call, facts, "job"));
  if (!job) return skip(job.status().message());
  if (job->system != call.integration) {
    return skip("job names " + job->system + " once rendered, not " + call.integration +
                ": write the CI system's prefix before any template");
  }
  auto parameters = parse_ci_parameters(param(call, facts, "parameters"));
  if (!parameters) return skip(parameters.status().message());
  json values = json::object();
  for (const auto& [name, value] : *parameters) values[name] = value;
  if (call.with.contains("hosts")) values["REFLEX_HOSTS"] = param(call, facts, "hosts");
  values["REFLEX_INCIDENT"] = std::to_string(facts.id);
  const std::string object = "ci:" + call.step;
  if (job->system == "jenkins") {
    return send("jenkins.build", {{"job", job->job}, {"parameters", values}}, object);
  }
  return send(
      "github.dispatch",
      {{"repo", job->repo}, {"workflow", job->workflow}, {"ref", job->ref}, {"inputs", values}},
      object);
}

// A chat.post through an incoming webhook (Mattermost, Teams): text only, no buttons,
// nothing to update later, so it creates no message object (and is never refreshed).
CallPlan plan_chat_hook(const WorkflowCall& call, const IncidentFacts& facts) {
  if (auto why = chat_refusal(call.integration, call.kind); !why.empty()) return skip(why);
  const std::string text = param(call, facts, "text");
  if (text.empty()) return skip("the text rendered empty");
  if (call.integration == "teams") return send("teams.post", {{"text", text}});
  json payload = {{"text", text}};
  std::string channel = param(call, facts, "channel");
  if (!channel.empty() && channel.front() == '#') channel.erase(0, 1);  // a name, not "#name"
  if (!channel.empty()) payload["channel"] = channel;
  return send("mattermost.post", std::move(payload));
}

std::string first_line(const std::string& text) {
  return text.substr(0, text.find_first_of("\r\n"));
}

// What an email says when the step gives no body.
std::string default_email_body(const IncidentFacts& facts) {
  auto label = [&](const char* name) {
    auto it = facts.labels.find(name);
    return it == facts.labels.end() ? std::string() : it->second;
  };
  std::string body = facts.title + "\n\nIncident " + std::to_string(facts.id) + ": " +
                     protocol::severity_name(facts.severity) + ", " + facts.status + ", " +
                     std::to_string(facts.affected_hosts) + " affected hosts";
  if (const auto service = label("service"); !service.empty()) body += " of " + service;
  if (const auto env = label("env"); !env.empty()) body += " (" + env + ")";
  return body + ".\n";
}

// An email step: `to` a list (commas or spaces) of plain addresses, once rendered.
CallPlan plan_email(const WorkflowCall& call, const IncidentFacts& facts) {
  const auto to = split_list(param(call, facts, "to"));
  if (to.empty()) return skip("nobody to email: to rendered empty");
  for (const auto& a : to) {
    if (!plain_mail_address(a)) {
      return skip("to: \"" + a + "\" is not an address like alice@example.com");
    }
  }
  std::string body = param(call, facts, "body");
  if (body.empty()) body = default_email_body(facts);
  return send("email.send",
              {{"to", to}, {"subject", first_line(param(call, facts, "subject"))}, {"body", body}});
}

// An escalation level's email to a person who can be reached no other way.
CallPlan plan_notify_email(const WorkflowCall& call, const IncidentFacts& facts) {
  const std::string address = param(call, facts, "address");
  if (!plain_mail_address(address)) {
    return skip("\"" + address + "\" is not an address like alice@example.com");
  }
  const std::string text = param(call, facts, "text");
  const std::string level = param(call, facts, "level");
  const std::string body = text + "\n\nYou are paged for incident " + std::to_string(facts.id) +
                           " (" + level + " of its escalation policy). Acknowledge it in " +
                           "Reflex to stop the escalation.\n\n" + default_email_body(facts);
  return send(
      "email.send",
      {{"to", {address}}, {"subject", first_line(text) + " (" + level + ")"}, {"body", body}});
}

json incident_json(const IncidentFacts& facts) {
  return {{"id", facts.id},
          {"title", facts.title},
          {"status", facts.status},
          {"severity", protocol::severity_name(facts.severity)},
          {"labels", facts.labels}};
}

}  // namespace

std::vector<std::string> split_list(const std::string& text) {
  std::vector<std::string> out;
  std::string cur;
  for (char c : text + ",") {
    if (c == ',' || std::isspace(static_cast<unsigned char>(c))) {
      if (!cur.empty()) out.push_back(cur);
      cur.clear();
    } else {
      cur += c;
    }
  }
  return out;
}

std::string integration_for(std::string_view kind, const std::map<std::string, std::string>& with) {
  if (kind.starts_with("chat.") || kind == "refresh" || kind == "notify.chat") {
    auto it = with.find("integration");
    return it == with.end() || it->second.empty() ? "slack" : it->second;
  }
  if (kind.starts_with("ticket.")) return "jira";
  if (kind.starts_with("status.")) return "statuspage";
  if (kind == "monitoring.comment") return "dynatrace";
  if (kind == "page" || kind.starts_with("pager.")) return "pagerduty";
  if (kind == "webhook" || kind == "notify.webhook") return "webhook";
  if (kind == "email" || kind == "notify.email") return "email";
  if (kind == "escalate") return "oncall";
  if (kind == "remediate") return "agents";
  if (kind == "rollback") {
    auto it = with.find("job");
    return it == with.end() ? "agents" : ci_system_of(it->second);
  }
  return "";
}

std::string not_run_reason(std::string_view kind, const std::map<std::string, std::string>& with) {
  if (kind == "rollback" && with.contains("job")) {
    return "job \"" + with.at("job") +
           "\" names no CI system: it must start with jenkins: or github: (templates may "
           "follow the prefix)";
  }
  return std::string(kind) + " steps are not run by this hub version";
}

CallPlan plan_call(const WorkflowCall& call, const IncidentFacts& facts,
                   const std::map<std::string, WorkflowObject>& objects) {
  for (const char* object : kRefObjects) {
    auto it = objects.find(object);
    if (it != objects.end() && it->second.state == ObjectState::kPending &&
        references(call, object)) {
      return wait_for(std::string(object) == "status_page" ? "status page incident" : object);
    }
  }
  const std::string& k = call.kind;
  if (k.starts_with("chat.") || k == "refresh") {
    if (call.integration == "mattermost" || call.integration == "teams") {
      return plan_chat_hook(call, facts);
    }
    if (call.integration != "slack") {
      return skip("chat integration \"" + call.integration + "\" cannot run " + k);
    }
    return plan_chat(call, facts, objects);
  }
  if (k.starts_with("ticket.")) return plan_ticket(call, facts, objects);
  if (k.starts_with("status.")) return plan_status(call, facts, objects);
  if (k == "page" || k.starts_with("pager.")) return plan_pager(call, facts, objects);
  if (k == "monitoring.comment") {
    auto it = facts.labels.find("problem_id");
    if (it == facts.labels.end() || it->second.empty()) {
      return skip("no source monitoring problem: the incident has no problem_id label");
    }
    return send("dynatrace.comment", {{"problem_id", it->second},
                                      {"message", param(call, facts, "text")},
                                      {"context", "Reflex incident " + std::to_string(facts.id)}});
  }
  if (k == "notify.chat") {
    if (call.integration != "slack") {
      return skip("chat integration \"" + call.integration + "\" cannot run " + k);
    }
    const std::string text =
        slack_escape(param(call, facts, "text") + " (" + param(call, facts, "level") + ")");
    return send("slack.chat.postMessage", {{"channel", param(call, facts, "channel")},
                                           {"text", text},
                                           {"blocks", slack_blocks(text, "acknowledge", facts)}});
  }
  if (k == "notify.webhook") {
    return send("webhook.post", {{"url", param(call, facts, "url")},
                                 {"body",
                                  {{"text", param(call, facts, "text")},
                                   {"to", param(call, facts, "to")},
                                   {"level", param(call, facts, "level")},
                                   {"incident", incident_json(facts)}}}});
  }
  if (k == "webhook") {
    const std::string body = param(call, facts, "body");
    json doc = body.empty() ? json::object() : json::parse(body, nullptr, false);
    // A body that is not a JSON object (text, or a number a label rendered to) is sent
    // as {"text": body}, so the incident can go beside it.
    if (!doc.is_object()) doc = {{"text", body}};
    doc["incident"] = incident_json(facts);
    return send("webhook.post", {{"url", param(call, facts, "url")}, {"body", doc}});
  }
  if (k == "email") return plan_email(call, facts);
  if (k == "notify.email") return plan_notify_email(call, facts);
  if (k == "rollback" && call.with.contains("job") && !call.integration.empty()) {
    return plan_ci_job(call, facts);
  }
  return skip(not_run_reason(k, call.with));
}

std::string chat_refusal(std::string_view integration, std::string_view kind) {
  if (integration != "mattermost" && integration != "teams") return "";
  if (kind == "chat.post") return "";
  const std::string name = integration == "teams" ? "Teams" : "Mattermost";
  return std::string(kind) + " needs a message or channel id, which " + name +
         " incoming webhooks never return: they can only post (chat.post)";
}

std::string first_message(const std::map<std::string, WorkflowObject>& objects) {
  std::string best;
  uint64_t best_seq = 0;
  for (const auto& [name, o] : objects) {
    if (!name.starts_with("message:")) continue;
    if (best.empty() || o.call_seq < best_seq) {
      best = name;
      best_seq = o.call_seq;
    }
  }
  return best;
}

json object_data(const std::string& object, const json& payload, const json& result,
                 const std::map<std::string, std::string>& links) {
  if (object.starts_with("message:")) {
    return {{"channel", str(result, "channel")}, {"ts", str(result, "ts")}};
  }
  if (object == "channel") {
    return {{"id", str(result, "channel")}, {"name", str(result, "name")}};
  }
  if (object == "ticket") {
    const std::string key = str(result, "key");
    json d = {{"key", key}, {"id", str(result, "id")}};
    if (auto it = links.find("jira"); it != links.end() && !key.empty()) {
      d["url"] = it->second + "browse/" + key;
    }
    return d;
  }
  if (object == "status_page") {
    return {{"id", str(result, "id")}, {"url", str(result, "shortlink")}};
  }
  if (object == "page") return {{"dedup_key", str(payload, "dedup_key")}};
  if (object.starts_with("ci:")) {
    if (payload.contains("job")) {
      return {{"system", "jenkins"},
              {"job", str(payload, "job")},
              {"queue_url", str(result, "queue_url")},
              {"merged", result.is_object() && result.value("merged", json(false)) == true}};
    }
    return {{"system", "github"},
            {"repo", str(payload, "repo")},
            {"workflow", str(payload, "workflow")},
            {"ref", str(payload, "ref")}};
  }
  return json::object();
}

std::map<std::string, std::map<std::string, std::string>> object_refs(
    const std::map<std::string, WorkflowObject>& objects) {
  std::map<std::string, std::map<std::string, std::string>> refs;
  for (const char* name : kRefObjects) {
    auto it = objects.find(name);
    if (it == objects.end() || it->second.state != ObjectState::kReady) continue;
    for (const auto& [field, value] : it->second.data.items()) {
      if (value.is_string()) refs[name][field] = value.get<std::string>();
    }
  }
  return refs;
}

std::string slack_escape(const std::string& text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    if (c == '&') {
      out += "&amp;";
    } else if (c == '<') {
      out += "&lt;";
    } else if (c == '>') {
      out += "&gt;";
    } else {
      out += c;
    }
  }
  return out;
}

std::string slack_channel_name(const std::string& text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (c == '-' || c == '_') {
      out += c;
    } else if (c != '#' && !out.empty() && out.back() != '-') {
      out += '-';
    }
  }
  while (!out.empty() && out.back() == '-') out.pop_back();
  return out.substr(0, 80);
}

}  // namespace reflex::hub::policy
