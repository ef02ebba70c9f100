// From a workflow call (workflow_state.h) to the outbox request that carries it out: a
// pure function of the call, the incident as templates see it, and the objects earlier
// calls created. The runner (runner.h) decides when a call may go (one call at a time
// per incident and integration, in order); this file decides what it sends, or why it
// must wait or cannot run.
//
// What each step kind sends (operations of hub/integrations/*):
//   chat.post            slack.chat.postMessage {channel, text[, blocks with buttons]};
//                        creates "message:<step>"
//   chat.update          slack.chat.update of the incident's message (the first one
//                        posted) with the new text; later refreshes keep that text
//   chat.reply           slack.chat.postMessage in the message's thread
//   chat.create_channel  slack.conversations.create {name} (made a valid Slack name);
//                        creates "channel"
//   chat.invite          slack.conversations.invite {channel, users} on the channel
//   chat.archive         slack.conversations.archive of the channel ("chat.say" posts
//                        its `text` in the channel first)
//   ticket.create        jira.create_issue; creates "ticket"
//   ticket.comment       jira.comment on the ticket
//   ticket.transition    jira.transition of the ticket
//   status.create        statuspage.create_incident; creates "status_page"
//   status.update/resolve statuspage.update_incident of it
//   monitoring.comment   dynatrace.comment on the problem named by the incident's label
//                        problem_id
//   page                 pagerduty.event trigger with dedup_key reflex-incident-<id>;
//                        creates "page" ("pager.acknowledge" and "pager.resolve" follow
//                        the incident by themselves)
//   webhook              webhook.post {url, body}
//   email                email.send {to (the rendered list), subject (its first line),
//                        body (default: the incident's title and state)}
//   chat.post with integration mattermost or teams
//                        mattermost.post {text, channel ("#" dropped)} or teams.post
//                        {text}: incoming webhooks return no id, so no message object is
//                        created and nothing is refreshed; the other chat kinds are
//                        refused (chat_refusal)
//   rollback with job    jenkins.build {job, parameters} or github.dispatch {repo,
//                        workflow, ref, inputs} (ci_job.h: the job's syntax and its
//                        `parameters`), with REFLEX_INCIDENT (and REFLEX_HOSTS when
//                        `hosts` is given) added; creates "ci:<step>" ("rollback" with an
//                        agent `action` is not run by this version)
// and the calls the runner adds by itself: "refresh", a chat message updated in place
// because the incident changed; "escalate", a page step whose policy is the hub's own
// (the runner runs it, pump() never plans it); "notify.chat" (slack.chat.postMessage to
// a person's member id or a channel, with an Acknowledge button), "notify.webhook"
// (webhook.post to a person's phone gateway) and "notify.email" (email.send to a person
// reachable only by email), one per target of an escalation level.
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>

#include "hub/policy/workflow_state.h"

namespace reflex::hub::policy {

struct CallPlan {
  enum class Verdict { kSend, kWait, kSkip };
  Verdict verdict = Verdict::kSkip;
  std::string operation;  // kSend: "slack.chat.postMessage"
  nlohmann::json payload;
  std::string creates;  // kSend: the object the call creates when done; "" for none
  std::string reason;   // kWait: the object waited for; kSkip: why not
};

// The integration a call of `kind` goes to: `integration` of chat steps (default slack),
// else jira, statuspage, dynatrace, pagerduty, webhook, email; jenkins or github for a
// rollback whose `job` starts with that prefix; "oncall" for escalate and "agents" for
// remediate and rollback by action (the runner's own); "" for kinds no integration runs
// (a job with no prefix).
std::string integration_for(std::string_view kind, const std::map<std::string, std::string>& with);
// Why a chat call of `kind` cannot run on `integration`; "" when it can. Incoming
// webhooks (mattermost, teams) can only post.
std::string chat_refusal(std::string_view integration, std::string_view kind);

// Why a call integration_for() gives "" is not run, for the timeline.
std::string not_run_reason(std::string_view kind, const std::map<std::string, std::string>& with);

// What `call` sends now. `facts` carries the objects' refs for templates.
CallPlan plan_call(const WorkflowCall& call, const IncidentFacts& facts,
                   const std::map<std::string, WorkflowObject>& objects);

// The name of the incident's message for chat.update and chat.reply: the first message
// object by the call that created it; "" when none was ever posted.
std::string first_message(const std::map<std::string, WorkflowObject>& objects);

// The data an object keeps once the call creating it is done, from the call's payload
// and the vendor's result (outbox row result). `links`: base URLs for people ("jira":
// https://example.atlassian.net/ gives ticket urls .../browse/OPS-7).
nlohmann::json object_data(const std::string& object, const nlohmann::json& payload,
                           const nlohmann::json& result,
                           const std::map<std::string, std::string>& links);

// The refs templates see of the ready objects (IncidentFacts::refs).
std::map<std::string, std::map<std::string, std::string>> object_refs(
    const std::map<std::string, WorkflowObject>& objects);

// "a, b c" -> {"a", "b", "c"}: a list template's rendered text, split at commas and
// white space.
std::vector<std::string> split_list(const std::string& text);

// Slack's mrkdwn escaping of &, < and >.
std::string slack_escape(const std::string& text);
// A valid Slack channel name: lowercase letters, digits, - and _, at most 80; "#" and
// other characters dropped or made "-". Empty when nothing is left.
std::string slack_channel_name(const std::string& text);

}  // namespace reflex::hub::policy
