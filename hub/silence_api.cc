#include "hub/silence_api.h"

#include <httplib.h>

#include <charconv>
#include <chrono>
#include <future>
#include <set>

#include "common/duration.h"
#include "common/json_text.h"
#include "hub/api_auth.h"
#include "hub/http_api.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub {
namespace {

using incidents::Matcher;
using incidents::MatchOp;
using incidents::Silence;
using incidents::SilenceState;
using nlohmann::json;

// Creating and expiring wait for their commit, which may be retried while the store is busy.
constexpr auto kCommandTimeout = std::chrono::seconds(8);
constexpr size_t kMaxActor = 200;
constexpr size_t kMaxComment = 64 * 1024;
constexpr size_t kMaxMatchers = 64;

Status bad_body(const std::string& field, const std::string& what) {
  return Status::error("invalid_body", field + ": " + what);
}

void send_status(httplib::Response& res, const Status& st) {
  json_error(res, silence_http_status(st), st.code(), st.message());
}

std::optional<uint64_t> parse_u64(std::string_view text) {
  uint64_t v = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec != std::errc() || end != text.data() + text.size() || text.empty()) return std::nullopt;
  return v;
}

Status no_silence(const std::string& id) {
  return Status::error("not_found", "no silence " + id);
}

Result<json> parse_object(std::string_view body, const std::string& example) {
  json doc = json::parse(body, nullptr, false);
  if (doc.is_discarded()) {
    return Status::error("invalid_body", "the body is not JSON: send an object such as " + example);
  }
  if (!doc.is_object()) {
    return Status::error("invalid_body", "the body must be a JSON object such as " + example);
  }
  return doc;
}

// A string field: absent -> nullopt; present but not a (non-empty, short enough) string
// -> an error naming it.
Result<std::optional<std::string>> string_field(const json& doc, const std::string& name,
                                                size_t max) {
  auto it = doc.find(name);
  if (it == doc.end()) return std::optional<std::string>();
  if (!it->is_string()) return bad_body(name, "must be a string");
  std::string v = it->get<std::string>();
  if (v.empty()) return bad_body(name, "must not be empty");
  if (v.size() > max) return bad_body(name, "longer than " + std::to_string(max) + " bytes");
  return std::optional<std::string>(std::move(v));
}

Result<MatchOp> parse_op(const std::string& text, const std::string& field) {
  if (text == "=") return MatchOp::kEqual;
  if (text == "!=") return MatchOp::kNotEqual;
  if (text == "=~") return MatchOp::kRegex;
  if (text == "!~") return MatchOp::kNotRegex;
  return bad_body(field, "expected =, !=, =~ or !~, got \"" + text + "\"");
}

// One structured matcher: {"name", "value", "op"} or Alertmanager's {"name", "value",
// "isRegex", "isEqual"}.
Result<Matcher> structured_matcher(const json& m, const std::string& field) {
  static const std::set<std::string> known = {"name", "value", "op", "isRegex", "isEqual"};
  for (const auto& [key, _] : m.items()) {
    if (!known.count(key)) {
      return bad_body(field + "." + key,
                      "unknown field (known: name, value, op, isRegex, isEqual)");
    }
  }
  if (!m.contains("name") || !m["name"].is_string())
    return bad_body(field + ".name", "required string");
  if (!m.contains("value") || !m["value"].is_string()) {
    return bad_body(field + ".value", "required string");
  }
  MatchOp op = MatchOp::kEqual;
  if (m.contains("op")) {
    if (m.contains("isRegex") || m.contains("isEqual")) {
      return bad_body(field + ".op", "give op or isRegex/isEqual, not both");
    }
    if (!m["op"].is_string()) return bad_body(field + ".op", "must be a string");
    auto parsed = parse_op(m["op"].get<std::string>(), field + ".op");
    if (!parsed) return parsed.status();
    op = *parsed;
  } else {
    bool regex = false, equal = true;
    for (auto [key, out] :
         {std::pair<const char*, bool*>{"isRegex", &regex}, {"isEqual", &equal}}) {
      if (!m.contains(key)) continue;
      if (!m[key].is_boolean()) return bad_body(field + "." + key, "must be true or false");
      *out = m[key].get<bool>();
    }
    op = regex ? (equal ? MatchOp::kRegex : MatchOp::kNotRegex)
               : (equal ? MatchOp::kEqual : MatchOp::kNotEqual);
  }
  auto made = Matcher::make(m["name"].get<std::string>(), op, m["value"].get<std::string>());
  if (!made) return bad_body(field, made.status().message());
  return std::move(made).value();
}

Result<incidents::Matchers> parse_matchers_field(const json& doc) {
  auto it = doc.find("matchers");
  if (it == doc.end()) return bad_body("matchers", "required, e.g. [\"service=\\\"checkout\\\"\"]");
  if (it->is_string()) {  // one list in text: {service="checkout", env="prod"}
    auto list = incidents::parse_matchers(it->get<std::string>());
    if (!list) return bad_body("matchers", list.status().message());
    return std::move(list).value();
  }
  if (!it->is_array()) return bad_body("matchers", "expected a list of matchers");
  if (it->size() > kMaxMatchers) {
    return bad_body("matchers", "more than " + std::to_string(kMaxMatchers) + " matchers");
  }
  incidents::Matchers out;
  for (size_t i = 0; i < it->size(); ++i) {
    const json& m = (*it)[i];
    const std::string field = "matchers[" + std::to_string(i) + "]";
    if (m.is_string()) {
      auto parsed = Matcher::parse(m.get<std::string>());
      if (!parsed) return bad_body(field, parsed.status().message());
      out.push_back(std::move(parsed).value());
    } else if (m.is_object()) {
      auto parsed = structured_matcher(m, field);
      if (!parsed) return parsed.status();
      out.push_back(std::move(parsed).value());
    } else {
      return bad_body(field, "expected a matcher text like service=\"checkout\" or an object");
    }
  }
  return out;
}

Result<int64_t> time_field(const json& doc, const std::string& name) {
  const json& v = doc[name];
  if (!v.is_string()) return bad_body(name, "expected an RFC 3339 date-time string");
  auto ms = incidents::parse_rfc3339_ms(v.get<std::string>(), name);
  if (!ms) return Status::error("invalid_body", ms.status().message());
  return *ms;
}

// The actor of a write: the bearer token's name when one was sent (the body may repeat it,
// not contradict it), else what the body says ("" when it says nothing).
Result<std::string> token_or_body_actor(std::string_view token_actor,
                                        const std::optional<std::string>& from_body,
                                        const std::string& field) {
  if (token_actor.empty()) return from_body.value_or("");
  if (from_body && *from_body != token_actor) {
    return bad_body(field, "\"" + *from_body + "\" is not \"" + std::string(token_actor) +
                               "\", the name of the bearer token sent; leave " + field + " out");
  }
  return std::string(token_actor);
}

}  // namespace

Result<SilenceCommand> parse_silence_create(std::string_view body, int64_t now_ms,
                                            std::string_view token_actor) {
  const std::string example =
      "{\"matchers\": [\"service=\\\"checkout\\\"\"], \"duration\": \"2h\", "
      "\"created_by\": \"alice\", \"comment\": \"deploying\"}";
  auto doc = parse_object(body, example);
  if (!doc) return doc.status();
  static const std::set<std::string> known = {"matchers",   "starts_at", "ends_at", "duration",
                                              "created_by", "actor",     "comment"};
  for (const auto& [name, _] : doc->items()) {
    if (!known.count(name)) {
      return bad_body(name,
                      "unknown field (known: matchers, starts_at, ends_at, duration, created_by, "
                      "comment)");
    }
  }
  SilenceCommand c;
  c.kind = SilenceCommand::Kind::kCreate;
  // Fields in a fixed order, so the first problem reported is always the same one.
  auto matchers = parse_matchers_field(*doc);
  if (!matchers) return matchers.status();
  c.spec.matchers = std::move(matchers).value();
  if (c.spec.matchers.empty()) return bad_body("matchers", "name at least one matcher");

  if (doc->contains("starts_at")) {
    auto t = time_field(*doc, "starts_at");
    if (!t) return t.status();
    c.spec.starts_at_ms = *t;
  }
  const bool has_end = doc->contains("ends_at"), has_duration = doc->contains("duration");
  if (has_end == has_duration) {
    return bad_body(
        has_end ? "duration" : "ends_at",
        has_end ? "give ends_at or duration, not both" : "required (or duration, such as \"2h\")");
  }
  if (has_end) {
    auto t = time_field(*doc, "ends_at");
    if (!t) return t.status();
    c.spec.ends_at_ms = *t;
  } else {
    const json& d = (*doc)["duration"];
    std::optional<Millis> length;
    if (d.is_string()) {
      if (auto parsed = parse_duration(d.get<std::string>()); parsed && parsed->count() > 0) {
        length = *parsed;
      }
    }
    if (!length) {
      return bad_body("duration", "expected a positive duration such as \"90m\" or \"2h\"");
    }
    c.spec.ends_at_ms = std::max(c.spec.starts_at_ms, now_ms) + length->count();
  }

  if (doc->contains("created_by") && doc->contains("actor")) {
    return bad_body("actor", "give created_by or actor, not both");
  }
  const std::string who = doc->contains("actor") ? "actor" : "created_by";
  auto by = string_field(*doc, who, kMaxActor);
  if (!by) return by.status();
  auto creator = token_or_body_actor(token_actor, *by, who);
  if (!creator) return creator.status();
  if (creator->empty()) return bad_body("created_by", "required: who is silencing");
  c.spec.created_by = std::move(creator).value();
  auto comment = string_field(*doc, "comment", kMaxComment);
  if (!comment) return comment.status();
  if (!*comment) return bad_body("comment", "required: say why");
  c.spec.comment = std::move(**comment);
  return c;
}

Result<std::string> parse_expire_actor(std::string_view body,
                                       const std::multimap<std::string, std::string>& params,
                                       std::string_view token_actor) {
  std::optional<std::string> actor;
  for (const auto& [name, value] : params) {
    if (name != "actor") {
      return Status::error("invalid_query", name + ": unknown parameter (known: actor)");
    }
    if (actor) return Status::error("invalid_query", "actor: given more than once");
    if (value.empty()) return Status::error("invalid_query", "actor: must not be empty");
    actor = value;
  }
  if (body.find_first_not_of(" \t\r\n") != std::string_view::npos) {
    auto doc = parse_object(body, "{\"actor\": \"bob\"}");
    if (!doc) return doc.status();
    for (const auto& [name, _] : doc->items()) {
      if (name != "actor") return bad_body(name, "unknown field (known here: actor)");
    }
    auto from_body = string_field(*doc, "actor", kMaxActor);
    if (!from_body) return from_body.status();
    if (*from_body) {
      if (actor && *actor != **from_body) {
        return bad_body("actor", "differs from the actor in the query");
      }
      actor = std::move(**from_body);
    }
  }
  auto who = token_or_body_actor(token_actor, actor, "actor");
  if (!who) return who.status();
  if (who->empty()) return bad_body("actor", "required: who is expiring the silence");
  actor = std::move(who).value();
  if (actor->size() > kMaxActor) {
    return bad_body("actor", "longer than " + std::to_string(kMaxActor) + " bytes");
  }
  return *actor;
}

Result<std::optional<SilenceState>> parse_silence_query(
    const std::multimap<std::string, std::string>& params) {
  std::optional<SilenceState> state;
  bool seen = false;
  for (const auto& [name, value] : params) {
    if (name != "state") {
      return Status::error("invalid_query", name + ": unknown parameter (known: state)");
    }
    if (seen) return Status::error("invalid_query", "state: given more than once");
    seen = true;
    bool found = false;
    for (auto s : {SilenceState::kActive, SilenceState::kPending, SilenceState::kExpired}) {
      if (value == incidents::silence_state_name(s)) {
        state = s;
        found = true;
      }
    }
    if (!found) {
      return Status::error("invalid_query",
                           "state: expected active, pending or expired, got \"" + value + "\"");
    }
  }
  return state;
}

int silence_http_status(const Status& st) {
  const std::string& c = st.code();
  if (c == "invalid_body" || c == "invalid_query" || c == "invalid_silence" ||
      c == "invalid_argument") {
    return 400;
  }
  if (c == "not_found") return 404;
  if (c == "conflict") return 409;
  if (c == "unavailable") return 503;
  return 500;
}

json silence_json(const Silence& s, int64_t now_ms) {
  json matchers = json::array();
  for (const auto& m : s.matchers) matchers.push_back(m.to_string());
  return {{"id", s.id},
          {"state", incidents::silence_state_name(s.state(now_ms))},
          {"matchers", matchers},
          {"starts_at", incidents::format_rfc3339_ms(s.starts_at_ms)},
          {"ends_at", incidents::format_rfc3339_ms(s.ends_at_ms)},
          {"starts_at_ms", s.starts_at_ms},
          {"ends_at_ms", s.ends_at_ms},
          {"created_by", s.created_by},
          {"comment", s.comment},
          {"created_ms", s.created_ms},
          {"expired_by", s.expired_by},
          {"reminded_ms", s.reminded_ms}};
}

Result<std::unique_ptr<SilenceApi>> SilenceApi::open(const StoreConfig& cfg, LoopDoor& door,
                                                     const Clock& clock, SubmitSilence submit) {
  auto reader = open_silence_reader(cfg);
  if (!reader) return reader.status();
  return std::unique_ptr<SilenceApi>(
      new SilenceApi(door, clock, std::move(submit), std::move(reader).value()));
}

SilenceApi::SilenceApi(LoopDoor& door, const Clock& clock, SubmitSilence submit,
                       std::unique_ptr<SilenceReader> reader)
    : door_(door), clock_(clock), submit_(std::move(submit)), reader_(std::move(reader)) {}

void SilenceApi::add_routes(httplib::Server& server) {
  server.Post("/api/v1/silences",
              [this](const httplib::Request& req, httplib::Response& res) { create(req, res); });
  server.Get("/api/v1/silences",
             [this](const httplib::Request& req, httplib::Response& res) { list(req, res); });
  server.Get(R"(/api/v1/silences/(\d+))",
             [this](const httplib::Request& req, httplib::Response& res) { show(req, res); });
  server.Delete(R"(/api/v1/silences/(\d+))",
                [this](const httplib::Request& req, httplib::Response& res) { expire(req, res); });
  server.Post(R"(/api/v1/silences/(\d+)/expire)",
              [this](const httplib::Request& req, httplib::Response& res) { expire(req, res); });
}

Result<Silence> SilenceApi::run(SilenceCommand command) {
  auto answer = std::make_shared<SilenceAnswer>();
  auto done = answer->get_future();
  door_.post([submit = submit_, c = std::move(command), answer]() mutable {
    submit(std::move(c), std::move(answer));
  });
  if (done.wait_for(kCommandTimeout) != std::future_status::ready) {
    return Status::error("unavailable", "the hub did not confirm the change within " +
                                            std::to_string(kCommandTimeout.count()) +
                                            " s; it may still be applied: list the silences");
  }
  try {
    return done.get();
  } catch (const std::future_error&) {
    return Status::error("unavailable", "the hub is stopping");
  }
}

void SilenceApi::create(const httplib::Request& req, httplib::Response& res) {
  auto command = parse_silence_create(req.body, clock_.now_ms(), request_actor(req));
  if (!command) return send_status(res, command.status());
  auto row = run(std::move(command).value());
  if (!row) return send_status(res, row.status());
  res.status = 201;
  res.set_content(
      json_text(json{{"id", row->id}, {"silence", silence_json(*row, clock_.now_ms())}}),
      "application/json");
}

void SilenceApi::list(const httplib::Request& req, httplib::Response& res) {
  auto state = parse_silence_query(req.params);
  if (!state) return send_status(res, state.status());
  auto all = reader_->all();
  if (!all) return send_status(res, all.status());
  const int64_t now = clock_.now_ms();
  json list = json::array();
  for (const auto& s : *all) {
    if (*state && s.state(now) != **state) continue;
    list.push_back(silence_json(s, now));
  }
  res.set_content(json_text(json{{"silences", list}, {"now_ms", now}}), "application/json");
}

void SilenceApi::show(const httplib::Request& req, httplib::Response& res) {
  auto id = parse_u64(req.matches[1].str());
  if (!id) return send_status(res, no_silence(req.matches[1].str()));
  auto row = reader_->silence(*id);
  if (!row) return send_status(res, row.status());
  if (!*row) return send_status(res, no_silence(std::to_string(*id)));
  res.set_content(json_text(json{{"silence", silence_json(**row, clock_.now_ms())}}),
                  "application/json");
}

void SilenceApi::expire(const httplib::Request& req, httplib::Response& res) {
  auto id = parse_u64(req.matches[1].str());
  if (!id) return send_status(res, no_silence(req.matches[1].str()));
  auto actor = parse_expire_actor(req.body, req.params, request_actor(req));
  if (!actor) return send_status(res, actor.status());
  SilenceCommand c;
  c.kind = SilenceCommand::Kind::kExpire;
  c.id = *id;
  c.actor = std::move(actor).value();
  auto row = run(std::move(c));
  if (!row && row.status().code() == "not_found") {
    // The hub holds silences until they end; the store has every one ever made.
    auto held = reader_->silence(*id);
    if (!held) return send_status(res, held.status());
    if (*held) {
      return send_status(res, Status::error("conflict", "silence " + std::to_string(*id) +
                                                            " has already expired"));
    }
  }
  if (!row) return send_status(res, row.status());
  res.set_content(json_text(json{{"silence", silence_json(*row, clock_.now_ms())}}),
                  "application/json");
}

}  // namespace reflex::hub
