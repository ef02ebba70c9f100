#include "hub/incidents/generic_events.h"

#include <optional>

#include "hub/incidents/external_labels.h"
#include "hub/incidents/json_fields.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub::incidents {
namespace {

namespace jf = json_fields;
using jf::Json;
using protocol::AlertState;

bool valid_source_name(std::string_view s) {
  if (s.empty() || s.size() > 64) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    const unsigned char c = static_cast<unsigned char>(s[i]);
    const bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum && (i == 0 || (c != '_' && c != '.' && c != '-'))) return false;
  }
  return true;
}

bool printable(std::string_view s) {
  for (unsigned char c : s) {
    if (c < 0x20 || c == 0x7f) return false;
  }
  return true;
}

Result<AlertState> read_state(const Json& obj, const std::string& base) {
  auto text = jf::req_string(obj, base, "state");
  if (!text) return text.status();
  if (*text == "firing") return AlertState::kFiring;
  if (*text == "resolved") return AlertState::kResolved;
  return jf::field_error(jf::path(base, "state"),
                         "expected firing or resolved, got '" + *text + "'");
}

Result<protocol::Labels> read_labels(const Json& obj, const std::string& base) {
  auto labels = jf::opt_string_map(obj, base, "labels");
  if (!labels) return labels.status();
  std::erase_if(*labels, [](const auto& kv) { return kv.second.empty(); });
  for (const auto& [name, value] : *labels) {
    const std::string where = jf::path(jf::path(base, "labels"), name);
    if (!is_valid_label_name(name)) {
      return jf::field_error(where, "not a valid label name ([a-zA-Z_][a-zA-Z0-9_]*)");
    }
    if (name.rfind("__", 0) == 0)
      return jf::field_error(where, "names starting with __ are reserved");
  }
  return labels;
}

Result<AlertSignal> generic_alert(const Json& item, const std::string& base,
                                  const std::string& source, int64_t now_ms) {
  REFLEX_RETURN_IF_ERROR(jf::expect_object(item, base));
  REFLEX_RETURN_IF_ERROR(jf::only_known(
      item, base,
      {"name", "state", "severity", "labels", "annotations", "host", "at", "fingerprint"}));
  AlertSignal s;
  s.source = "external:" + source;
  auto name = jf::req_string(item, base, "name");
  if (!name) return name.status();
  s.rule = *name;
  auto state = read_state(item, base);
  if (!state) return state.status();
  s.state = *state;
  auto severity = jf::opt_string(item, base, "severity");
  if (!severity) return severity.status();
  if (*severity) {
    auto sev = parse_severity(**severity, jf::path(base, "severity"));
    if (!sev) return Status::error("bad_request", sev.status().message());
    s.severity = *sev;
  }
  auto labels = read_labels(item, base);
  if (!labels) return labels.status();
  s.labels = std::move(labels).value();
  if (auto it = s.labels.find("alertname"); it != s.labels.end() && it->second != s.rule) {
    return jf::field_error(jf::path(jf::path(base, "labels"), "alertname"),
                           "differs from name '" + s.rule + "'");
  }
  s.labels["alertname"] = s.rule;
  auto annotations = jf::opt_string_map(item, base, "annotations");
  if (!annotations) return annotations.status();
  s.annotations = std::move(annotations).value();
  auto host = jf::opt_string(item, base, "host");
  if (!host) return host.status();
  s.host = host->value_or("");
  auto at = jf::opt_time(item, base, "at");
  if (!at) return at.status();
  s.at_ms = at->value_or(now_ms);
  if (s.at_ms < 0) return jf::field_error(jf::path(base, "at"), "before 1970");
  auto fingerprint = jf::opt_string(item, base, "fingerprint");
  if (!fingerprint) return fingerprint.status();
  if (*fingerprint) {
    const std::string& fp = **fingerprint;
    if (fp.empty() || fp.size() > 128 || !printable(fp)) {
      return jf::field_error(jf::path(base, "fingerprint"),
                             "must be 1 to 128 printable characters");
    }
    s.fingerprint = fp;
  } else {
    protocol::Labels identity = s.labels;
    identity["__source__"] = source;
    if (!s.host.empty()) identity["__host__"] = s.host;
    s.fingerprint = label_set_fingerprint(identity);
  }
  return s;
}

Result<std::optional<int64_t>> webhook_time(const Json& obj, const std::string& base,
                                            const char* key) {
  auto t = jf::opt_time(obj, base, key);
  if (!t) return t.status();
  if (*t && **t == kGoZeroTimeMs) return std::optional<int64_t>();
  return t;
}

Result<AlertSignal> webhook_alert(const Json& item, const std::string& base,
                                  std::string_view source, int64_t now_ms) {
  REFLEX_RETURN_IF_ERROR(jf::expect_object(item, base));
  AlertSignal s;
  s.source = std::string(source);
  auto status = jf::req_string(item, base, "status");
  if (!status) return status.status();
  if (*status == "firing") {
    s.state = AlertState::kFiring;
  } else if (*status == "resolved") {
    s.state = AlertState::kResolved;
  } else {
    return jf::field_error(jf::path(base, "status"),
                           "expected firing or resolved, got '" + *status + "'");
  }
  if (!item.contains("labels") || item["labels"].is_null()) {
    return jf::field_error(jf::path(base, "labels"), "required");
  }
  auto labels = jf::opt_string_map(item, base, "labels");
  if (!labels) return labels.status();
  std::erase_if(*labels, [](const auto& kv) { return kv.second.empty(); });
  if (labels->empty())
    return jf::field_error(jf::path(base, "labels"), "at least one label required");
  s.labels = std::move(labels).value();
  auto annotations = jf::opt_string_map(item, base, "annotations");
  if (!annotations) return annotations.status();
  s.annotations = std::move(annotations).value();
  auto starts = webhook_time(item, base, "startsAt");
  if (!starts) return starts.status();
  auto ends = webhook_time(item, base, "endsAt");
  if (!ends) return ends.status();
  const bool firing = s.state == AlertState::kFiring;
  s.at_ms = (firing ? *starts : *ends).value_or(now_ms);
  if (s.at_ms < 0) {
    return jf::field_error(jf::path(base, firing ? "startsAt" : "endsAt"), "before 1970");
  }
  auto fingerprint = jf::opt_string(item, base, "fingerprint");
  if (!fingerprint) return fingerprint.status();
  s.fingerprint = fingerprint->value_or("");
  if (s.fingerprint.empty()) s.fingerprint = label_set_fingerprint(s.labels);
  s.rule = rule_from_labels(s.labels);
  s.severity = severity_from_labels(s.labels);
  s.host = host_from_labels(s.labels);
  if (auto url = jf::opt_string(item, base, "generatorURL"); url && *url && !(*url)->empty()) {
    s.annotations.emplace("generatorURL", **url);
  }
  return s;
}

Result<const Json*> alerts_array(const Json& body) {
  auto it = body.find("alerts");
  if (it == body.end() || it->is_null()) return jf::field_error("alerts", "required");
  if (!it->is_array()) {
    return jf::field_error("alerts", "expected an array, got " + jf::type_name(*it));
  }
  return &*it;
}

Result<std::vector<AlertSignal>> generic_from_json(const Json& json, int64_t now_ms) {
  REFLEX_RETURN_IF_ERROR(jf::expect_object(json, ""));
  REFLEX_RETURN_IF_ERROR(jf::only_known(json, "", {"source", "alerts"}));
  auto source = jf::req_string(json, "", "source");
  if (!source) return source.status();
  if (!valid_source_name(*source)) {
    return jf::field_error("source", "'" + *source +
                                         "' must be 1 to 64 of [A-Za-z0-9_.-], starting with a "
                                         "letter or digit");
  }
  auto alerts = alerts_array(json);
  if (!alerts) return alerts.status();
  if ((*alerts)->empty()) return jf::field_error("alerts", "must not be empty");
  std::vector<AlertSignal> out;
  out.reserve((*alerts)->size());
  for (size_t i = 0; i < (*alerts)->size(); ++i) {
    auto s = generic_alert((**alerts)[i], jf::index_path("alerts", i), *source, now_ms);
    if (!s) return s.status();
    out.push_back(std::move(s).value());
  }
  return out;
}

Result<std::vector<AlertSignal>> webhook_from_json(const Json& json, int64_t now_ms,
                                                   std::string_view source) {
  REFLEX_RETURN_IF_ERROR(jf::expect_object(json, ""));
  auto alerts = alerts_array(json);
  if (!alerts) return alerts.status();
  std::vector<AlertSignal> out;
  out.reserve((*alerts)->size());
  for (size_t i = 0; i < (*alerts)->size(); ++i) {
    auto s = webhook_alert((**alerts)[i], jf::index_path("alerts", i), source, now_ms);
    if (!s) return s.status();
    out.push_back(std::move(s).value());
  }
  return out;
}

}  // namespace

Result<std::vector<AlertSignal>> parse_generic_events(std::string_view body, int64_t now_ms) {
  auto json = jf::parse_body(body);
  if (!json) return json.status();
  return generic_from_json(*json, now_ms);
}

Result<std::vector<AlertSignal>> parse_alertmanager_webhook(std::string_view body, int64_t now_ms,
                                                            std::string_view source) {
  auto json = jf::parse_body(body);
  if (!json) return json.status();
  return webhook_from_json(*json, now_ms, source);
}

Result<std::vector<AlertSignal>> parse_events_body(std::string_view body, int64_t now_ms) {
  auto json = jf::parse_body(body);
  if (!json) return json.status();
  if (json->is_object() && json->contains("groupKey")) {
    return webhook_from_json(*json, now_ms, "external:alertmanager");
  }
  return generic_from_json(*json, now_ms);
}

}  // namespace reflex::hub::incidents
