// Mustache templates over an incident, for the parameters of workflow steps: a channel
// name "#{{service}}-{{env}}", a message "{{severity}}: {{title}} ({{affected_hosts}} hosts)".
//
// Names: id, title, status, severity, service, env, affected_hosts, has_suspect (a
// boolean, for {{#has_suspect}}...{{/has_suspect}}), and labels.<name> for any of the
// incident's labels, and what earlier steps created (IncidentFacts::refs): ticket.key,
// ticket.url, channel.id, channel.name, status_page.id, status_page.url; the suspect
// change: suspect.version, suspect.hosts, suspect.id, suspect.author, suspect.commit,
// suspect.link, suspect.strategy, suspect.summary; who is on call now in a schedule:
// oncall.<schedule>.slack (a Slack member id), .name, .email, .id; and when
// business hours next begin: business_start ("2026-11-27 09:00"), business_day
// ("2026-11-27", a Jira duedate). Values are inserted as
// they are, without HTML escaping: each integration escapes for its own format (Slack's &, <, >;
// JSON strings).
#pragma once

#include <string>

#include "common/status.h"
#include "hub/policy/policy.h"

namespace reflex::hub::policy {

// Ok, or "invalid_template" with the parser's reason ("Unclosed section \"x\" at 5").
Status check_template(const std::string& text);
// The text rendered over `facts`; an invalid template renders as the empty string
// (check_template() at config time keeps those out).
std::string render_template(const std::string& text, const IncidentFacts& facts);

}  // namespace reflex::hub::policy
