#include "hub/integrations/slack.h"

#include "common/json_text.h"
#include "hub/integrations/vendor_http.h"

#include <algorithm>
#include <cctype>
#include <cstdio>

namespace reflex::hub {
namespace {

using nlohmann::json;

constexpr std::string_view kPrefix = "slack.";
constexpr std::string_view kMethods[] = {"chat.postMessage", "chat.update", "conversations.create",
                                         "conversations.invite", "conversations.archive"};

bool one_of(std::string_view code, std::initializer_list<std::string_view> codes) {
  return std::find(codes.begin(), codes.end(), code) != codes.end();
}

// Slack's error codes are short identifiers; anything else is cut so a strange body
// cannot flood the record.
std::string code_of(const json& doc) {
  auto it = doc.find("error");
  if (it == doc.end() || !it->is_string()) return "unknown_error";
  std::string code = it->get<std::string>();
  if (code.size() > 64) code = code.substr(0, 64) + "...";
  return code;
}

json done_result(std::string_view method, const json& doc) {
  if (method == "chat.postMessage" || method == "chat.update") {
    return {{"channel", string_at(doc, "channel")}, {"ts", string_at(doc, "ts")}};
  }
  if (method == "conversations.create" || method == "conversations.invite") {
    auto ch = doc.find("channel");
    if (ch == doc.end() || !ch->is_object()) return json::object();
    json out{{"channel", string_at(*ch, "id")}};
    if (method == "conversations.create") out["name"] = string_at(*ch, "name");
    return out;
  }
  return json::object();
}

std::string hint(std::string_view code) {
  if (code == "not_in_channel") return " (the bot is not a member: invite it to the channel)";
  if (code == "name_taken") {
    return " (a channel with this name exists; if an earlier attempt created it, look it up)";
  }
  if (one_of(code, {"invalid_auth", "not_authed", "token_revoked", "account_inactive"})) {
    return " (check integrations.slack.token_file or token_env)";
  }
  if (code == "missing_scope") return " (the Slack app lacks a scope this method needs)";
  return "";
}

// Slack's timestamps: Unix seconds with six decimals ("1700000000.000100").
std::string slack_time(int64_t epoch_ms) {
  epoch_ms = std::max<int64_t>(0, epoch_ms);
  char out[32];
  std::snprintf(out, sizeof out, "%lld.%06lld", static_cast<long long>(epoch_ms / 1000),
                static_cast<long long>(epoch_ms % 1000 * 1000));
  return out;
}

// A conversation id (C..., G..., D...), which conversations.history reads; a name or a
// user id would have to be resolved first.
bool is_conversation_id(const std::string& channel) {
  if (channel.size() < 2 || (channel[0] != 'C' && channel[0] != 'G' && channel[0] != 'D')) {
    return false;
  }
  return std::all_of(channel.begin(), channel.end(), [](char c) {
    return std::isupper(static_cast<unsigned char>(c)) ||
           std::isdigit(static_cast<unsigned char>(c));
  });
}

// How far the lookup window reaches past the row's times, for the skew between the
// hub's clock and Slack's.
constexpr int64_t kLookupMarginMs = 5 * 60'000;
constexpr int kLookupLimit = 200;

Status bad_payload(std::string_view method, const std::string& what) {
  return Status::error("invalid_payload", "slack " + std::string(method) + ": payload." + what);
}

Status check_payload(std::string_view method, const json& p) {
  auto need_string = [&](const char* key) -> Status {
    auto it = p.find(key);
    if (it == p.end()) return bad_payload(method, std::string(key) + " is required");
    if (!it->is_string() || it->get<std::string>().empty()) {
      return bad_payload(method, std::string(key) + " must be a non-empty string");
    }
    return Status::ok();
  };
  if (!p.is_object()) return bad_payload(method, "must be a JSON object");
  if (method == "conversations.create") return need_string("name");
  REFLEX_RETURN_IF_ERROR(need_string("channel"));
  if (method == "chat.postMessage" && !p.contains("text") && !p.contains("blocks") &&
      !p.contains("attachments")) {
    return bad_payload(method, "text, blocks or attachments is required");
  }
  if (method == "chat.update") return need_string("ts");
  if (method == "conversations.invite") return need_string("users");
  return Status::ok();
}

}  // namespace

Outcome classify_slack(std::string_view method, const HttpResponse& r) {
  const std::string where = "slack " + std::string(method) + ": ";
  if (!r.error.empty() || r.status == 0) {
    return Outcome::retry(where + (r.error.empty() ? "no response" : r.error));
  }
  if (r.status == 429) {
    return Outcome::retry(where + "HTTP 429 rate limited", retry_after_seconds(r));
  }
  if (r.status >= 500 || r.status == 408) {
    return Outcome::retry(where + "HTTP " + std::to_string(r.status));
  }
  if (r.status < 200 || r.status >= 300) {
    return Outcome::permanent(where + "HTTP " + std::to_string(r.status));
  }
  const json doc = json::parse(r.body, nullptr, false);
  if (!doc.is_object() || !doc.contains("ok") || !doc["ok"].is_boolean()) {
    return Outcome::retry(where + "HTTP " + std::to_string(r.status) +
                          " without Slack's {\"ok\": ...} body");
  }
  if (doc["ok"].get<bool>()) return Outcome::done(done_result(method, doc));
  const std::string code = code_of(doc);
  if ((method == "conversations.archive" && code == "already_archived") ||
      (method == "conversations.invite" && code == "already_in_channel")) {
    return Outcome::done(done_result(method, doc));
  }
  if (one_of(code, {"ratelimited", "rate_limited"})) {
    return Outcome::retry(where + code, retry_after_seconds(r));
  }
  if (one_of(code, {"internal_error", "fatal_error", "service_unavailable", "request_timeout"})) {
    return Outcome::retry(where + code);
  }
  return Outcome::permanent(where + code + hint(code));
}

SlackIntegration::SlackIntegration(SlackSettings settings) : settings_(std::move(settings)) {
  if (settings_.base_url.empty() || settings_.base_url.back() != '/') settings_.base_url += '/';
}

Result<HttpRequest> SlackIntegration::prepare(const OutboxRow& row) const {
  std::string_view op = row.operation;
  if (op.substr(0, kPrefix.size()) != kPrefix ||
      std::find(std::begin(kMethods), std::end(kMethods), op.substr(kPrefix.size())) ==
          std::end(kMethods)) {
    return Status::error("invalid_operation",
                         "slack: unknown operation \"" + row.operation +
                             "\" (known: slack.chat.postMessage, slack.chat.update, "
                             "slack.conversations.create, slack.conversations.invite, "
                             "slack.conversations.archive)");
  }
  const std::string_view method = op.substr(kPrefix.size());
  REFLEX_RETURN_IF_ERROR(check_payload(method, row.payload));
  HttpRequest req;
  req.method = "POST";
  req.url = settings_.base_url + std::string(method);
  req.headers = {{"Authorization", "Bearer " + settings_.token},
                 {"Content-Type", "application/json; charset=utf-8"}};
  if (method == "chat.postMessage") {
    json payload = row.payload;
    payload["metadata"] = {{"event_type", std::string(kSlackMetadataEventType)},
                           {"event_payload", {{"idempotency_key", row.idempotency_key}}}};
    req.body = json_text(payload);
  } else {
    req.body = json_text(row.payload);
  }
  req.timeout = settings_.timeout;
  return req;
}

std::optional<HttpRequest> SlackIntegration::lookup(const OutboxRow& row) const {
  if (row.operation != "slack.chat.postMessage") return std::nullopt;
  const std::string channel = string_at(row.payload, "channel");
  if (!is_conversation_id(channel)) return std::nullopt;
  const int64_t latest = std::max(row.created_ms, row.updated_ms) + settings_.timeout.count();
  HttpRequest req;
  req.method = "GET";
  req.url = settings_.base_url + "conversations.history?channel=" + encode_path_segment(channel) +
            "&include_all_metadata=true&oldest=" + slack_time(row.created_ms - kLookupMarginMs) +
            "&latest=" + slack_time(latest + kLookupMarginMs) +
            "&limit=" + std::to_string(kLookupLimit);
  req.headers = {{"Authorization", "Bearer " + settings_.token}};
  req.timeout = settings_.timeout;
  return req;
}

LookupOutcome SlackIntegration::classify_lookup(const OutboxRow& row,
                                                const HttpResponse& response) const {
  return classify_slack_lookup(string_at(row.payload, "channel"), row.idempotency_key, response);
}

LookupOutcome classify_slack_lookup(const std::string& channel, const std::string& key,
                                    const HttpResponse& r) {
  // Slack's answer is classified as any call's; only ok true is read further.
  const Outcome verdict = classify_slack("conversations.history", r);
  if (verdict.kind != Outcome::Kind::kDone) {
    const json doc = json::parse(r.body, nullptr, false);
    // The channel is gone: nothing was posted there, and the send will say so.
    if (doc.is_object() && code_of(doc) == "channel_not_found" && r.status == 200) {
      return LookupOutcome::not_found();
    }
    std::string error = verdict.error;
    if (doc.is_object() && code_of(doc) == "missing_scope") {
      error +=
          " (looking a message up needs channels:history, or groups:history for a private "
          "channel)";
    }
    return LookupOutcome::retry(std::move(error), verdict.retry_after);
  }
  const json doc = json::parse(r.body, nullptr, false);
  auto messages = doc.find("messages");
  if (messages == doc.end() || !messages->is_array()) {
    return LookupOutcome::retry("slack conversations.history: ok without messages");
  }
  for (const auto& m : *messages) {
    if (!m.is_object()) continue;
    auto meta = m.find("metadata");
    if (meta == m.end() || !meta->is_object()) continue;
    if (string_at(*meta, "event_type") != kSlackMetadataEventType) continue;
    auto payload = meta->find("event_payload");
    if (payload == meta->end() || !payload->is_object()) continue;
    if (string_at(*payload, "idempotency_key") != key) continue;
    const std::string ts = string_at(m, "ts");
    if (ts.empty()) continue;
    return LookupOutcome::found({{"channel", channel}, {"ts", ts}});
  }
  if (doc.value("has_more", false)) {
    // The window holds more than one page: absence on this page proves nothing.
    return LookupOutcome::retry("slack conversations.history: more than " +
                                std::to_string(kLookupLimit) +
                                " messages around the attempt; cannot tell whether it was posted");
  }
  return LookupOutcome::not_found();
}

Outcome SlackIntegration::classify(const OutboxRow& row, const HttpResponse& response) const {
  std::string_view op = row.operation;
  if (op.substr(0, kPrefix.size()) == kPrefix) op.remove_prefix(kPrefix.size());
  return classify_slack(op, response);
}

std::string SlackIntegration::rate_key(const OutboxRow& row) const {
  if (row.operation != "slack.chat.postMessage") return "";
  auto it = row.payload.find("channel");
  if (it == row.payload.end() || !it->is_string()) return "";
  return "channel:" + it->get<std::string>();
}

Result<SlackSettings> slack_settings(const SlackConfig& cfg) {
  SlackSettings s;
  s.base_url = cfg.base_url;
  s.timeout = cfg.timeout;
  auto token = read_secret("integrations.slack", "token", cfg.token_file, cfg.token_env);
  if (!token) return token.status();
  s.token = std::move(token).value();
  if (!cfg.signing_secret_file.empty() || !cfg.signing_secret_env.empty()) {
    auto secret = read_secret("integrations.slack", "signing_secret", cfg.signing_secret_file,
                              cfg.signing_secret_env);
    if (!secret) return secret.status();
    s.signing_secret = std::move(secret).value();
  }
  return s;
}

}  // namespace reflex::hub
