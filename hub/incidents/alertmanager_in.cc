#include "hub/incidents/alertmanager_in.h"

#include <optional>

#include "common/json_text.h"
#include "hub/incidents/external_labels.h"
#include "hub/incidents/json_fields.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub::incidents {
namespace {

namespace jf = json_fields;
using jf::Json;

constexpr int kOpenApiRequired = 602;  // go-openapi errors.RequiredFailCode

Status unprocessable(const std::string& message) {
  return Status::error("unprocessable", message);
}

Status parse_failure(const Status& why) {
  return Status::error("bad_request",
                       "parsing alerts body from \"\" failed, because " + why.message());
}

// One postable alert after the OpenAPI stage: types checked, dates parsed.
struct Postable {
  bool has_labels = false;
  protocol::Labels labels;
  protocol::Labels annotations;
  std::optional<int64_t> starts_at;  // unset: missing, null, "" or Go's zero time
  std::optional<int64_t> ends_at;
  std::string generator_url;
};

Result<std::optional<int64_t>> read_time(const Json& obj, const std::string& base,
                                         const char* key) {
  auto s = jf::opt_string(obj, base, key);
  if (!s) return s.status();
  if (!*s || (*s)->empty()) return std::optional<int64_t>();
  auto ms = parse_rfc3339_ms(**s, jf::path(base, key));
  if (!ms) return ms.status();
  if (*ms == kGoZeroTimeMs) return std::optional<int64_t>();
  return std::optional<int64_t>(*ms);
}

Result<Postable> decode(const Json& item, const std::string& base) {
  REFLEX_RETURN_IF_ERROR(jf::expect_object(item, base));
  Postable p;
  auto labels_it = item.find("labels");
  p.has_labels = labels_it != item.end() && !labels_it->is_null();
  auto labels = jf::opt_string_map(item, base, "labels");
  if (!labels) return labels.status();
  p.labels = std::move(labels).value();
  auto annotations = jf::opt_string_map(item, base, "annotations");
  if (!annotations) return annotations.status();
  p.annotations = std::move(annotations).value();
  auto starts = read_time(item, base, "startsAt");
  if (!starts) return starts.status();
  p.starts_at = *starts;
  auto ends = read_time(item, base, "endsAt");
  if (!ends) return ends.status();
  p.ends_at = *ends;
  auto url = jf::opt_string(item, base, "generatorURL");
  if (!url) return url.status();
  if (*url) p.generator_url = **url;
  return p;
}

std::string first_invalid_name(const protocol::Labels& set) {
  for (const auto& [name, value] : set) {
    if (!is_valid_label_name(name)) return name;
  }
  return "";
}

// Alertmanager's handler: defaulting, then validation. Returns the reason it refuses.
std::string admit(Postable& p, int64_t now_ms, const AlertmanagerInOptions& options,
                  ExternalAlert& out) {
  if (!p.starts_at) p.starts_at = p.ends_at ? *p.ends_at : now_ms;
  bool timeout = false;
  if (!p.ends_at) {
    timeout = true;
    p.ends_at = now_ms + options.resolve_timeout_ms;
  }
  std::erase_if(p.labels, [](const auto& kv) { return kv.second.empty(); });

  if (*p.ends_at < *p.starts_at) return "start time must be before end time";
  if (p.labels.empty()) return "at least one label pair required";
  if (auto bad = first_invalid_name(p.labels); !bad.empty()) {
    return "invalid label set: invalid name " + json_text(Json(bad));
  }
  if (auto bad = first_invalid_name(p.annotations); !bad.empty()) {
    return "invalid annotations: invalid name " + json_text(Json(bad));
  }
  if (*p.starts_at < 0) return "start time before 1970 is not supported";

  AlertSignal& s = out.signal;
  s.source = options.source;
  s.fingerprint = label_set_fingerprint(p.labels);
  s.rule = rule_from_labels(p.labels);
  const bool firing = *p.ends_at > now_ms;
  s.state = firing ? protocol::AlertState::kFiring : protocol::AlertState::kResolved;
  s.severity = severity_from_labels(p.labels);
  s.host = host_from_labels(p.labels);
  s.at_ms = firing ? *p.starts_at : *p.ends_at;
  s.labels = std::move(p.labels);
  s.annotations = std::move(p.annotations);
  if (!p.generator_url.empty()) s.annotations.emplace("generatorURL", p.generator_url);
  out.starts_at_ms = *p.starts_at;
  out.ends_at_ms = *p.ends_at;
  out.timeout = timeout;
  return "";
}

bool blank(std::string_view body) {
  return body.find_first_not_of(" \t\r\n") == std::string_view::npos;
}

AlertmanagerReply json_reply(int status, const Json& body) {
  return {status, "application/json", json_text(body)};
}

}  // namespace

Result<PostedAlerts> parse_postable_alerts(std::string_view body, int64_t now_ms,
                                           const AlertmanagerInOptions& options) {
  // Stage 1: the OpenAPI layer. Decoding (types, dates) fails first, then `required`.
  if (blank(body)) return unprocessable("alerts in body is required");
  auto json = jf::parse_body(body);
  if (!json) return parse_failure(json.status());
  std::vector<Postable> items;
  if (!json->is_null()) {
    if (!json->is_array()) {
      return parse_failure(
          jf::field_error("body", "expected an array of alerts, got " + jf::type_name(*json)));
    }
    items.reserve(json->size());
    for (size_t i = 0; i < json->size(); ++i) {
      auto p = decode((*json)[i], jf::index_path("alerts", i));
      if (!p) return parse_failure(p.status());
      items.push_back(std::move(p).value());
    }
  }
  for (size_t i = 0; i < items.size(); ++i) {
    if (!items[i].has_labels) {
      return unprocessable(std::to_string(i) + ".labels in body is required");
    }
  }

  // Stage 2: the handler, alert by alert.
  PostedAlerts out;
  out.accepted.reserve(items.size());
  for (size_t i = 0; i < items.size(); ++i) {
    ExternalAlert alert;
    std::string why = admit(items[i], now_ms, options, alert);
    if (why.empty()) {
      out.accepted.push_back(std::move(alert));
    } else {
      out.errors.push_back(jf::index_path("alerts", i) + ": " + why);
    }
  }
  return out;
}

AlertmanagerReply post_alerts_reply(const PostedAlerts& posted) {
  if (posted.errors.empty()) return {};
  std::string joined;
  for (const auto& e : posted.errors) joined += (joined.empty() ? "" : "; ") + e;
  return json_reply(400, Json(joined));
}

AlertmanagerReply openapi_error_reply(const Status& failure) {
  if (failure.code() == "unprocessable") {
    return json_reply(422, {{"code", kOpenApiRequired}, {"message", failure.message()}});
  }
  if (failure.code() == "bad_request") {
    return json_reply(400, {{"code", 400}, {"message", failure.message()}});
  }
  return json_reply(500, {{"code", 500}, {"message", failure.message()}});
}

AlertmanagerReply internal_error_reply(std::string_view message) {
  return json_reply(500, Json(std::string(message)));
}

}  // namespace reflex::hub::incidents
