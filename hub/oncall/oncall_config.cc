#include "hub/oncall/oncall_config.h"

#include <algorithm>
#include <cctype>
#include <chrono>
#include <optional>

#include "hub/incidents/config_lists.h"
#include "hub/incidents/rfc3339.h"

namespace reflex::hub::oncall {
namespace {

namespace chr = std::chrono;
using incidents::at_index;
using incidents::present;

constexpr int64_t kDaySec = 86'400;
constexpr int64_t kMaxShiftMs = 28 * kDaySec * 1000;
constexpr const char* kDayNames[] = {"sunday",   "monday", "tuesday", "wednesday",
                                     "thursday", "friday", "saturday"};
constexpr const char* kDayHelp = "mon, tue, wed, thu, fri, sat, sun";

bool valid_id(const std::string& id) {
  return !id.empty() && std::all_of(id.begin(), id.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

const char* kIdHelp = "must be letters, digits, '.', '_' or '-'";

template <class Map>
std::string declared(const Map& map) {
  std::string out;
  for (const auto& [name, value] : map) out += (out.empty() ? "" : ", ") + name;
  return "(declared: " + (out.empty() ? std::string("none") : out) + ")";
}

std::optional<int> parse_weekday(std::string text) {
  for (char& c : text) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  for (int i = 0; i < 7; ++i) {
    const std::string full = kDayNames[i];
    if (text == full || text == full.substr(0, 3)) return i;
  }
  return std::nullopt;
}

// Minutes after midnight for "HH:MM" (00:00..23:59).
std::optional<int64_t> parse_hhmm(const std::string& s) {
  if (s.size() != 5 || s[2] != ':') return std::nullopt;
  for (size_t i : {0, 1, 3, 4}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const int h = (s[0] - '0') * 10 + (s[1] - '0');
  const int m = (s[3] - '0') * 10 + (s[4] - '0');
  if (h > 23 || m > 59) return std::nullopt;
  return h * 60 + m;
}

// Days since 1970-01-01 for "YYYY-MM-DD".
std::optional<int64_t> parse_date(const std::string& s) {
  if (s.size() != 10 || s[4] != '-' || s[7] != '-') return std::nullopt;
  for (size_t i : {0, 1, 2, 3, 5, 6, 8, 9}) {
    if (s[i] < '0' || s[i] > '9') return std::nullopt;
  }
  const chr::year_month_day ymd{chr::year(std::stoi(s.substr(0, 4))),
                                chr::month(static_cast<unsigned>(std::stoi(s.substr(5, 2)))),
                                chr::day(static_cast<unsigned>(std::stoi(s.substr(8, 2))))};
  if (!ymd.ok()) return std::nullopt;
  return chr::sys_days(ymd).time_since_epoch().count();
}

int weekday_of_day(int64_t day) {
  return static_cast<int>(((day + 4) % 7 + 7) % 7);  // 1970-01-01 was a Thursday
}

void read_people(config::MapReader& top, std::map<std::string, Person>& out) {
  YAML::Node n = top.take("people");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsMap()) {
    errors.add(n, "people", "expected a mapping of person ids to {name, slack, email, ...}");
    return;
  }
  for (const auto& kv : n) {
    Person p;
    p.id = kv.first.Scalar();
    const std::string path = "people." + p.id;
    if (!valid_id(p.id)) errors.add(kv.first, path, std::string("a person id ") + kIdHelp);
    config::MapReader r(kv.second, path, errors);
    r.get("name", p.name);
    r.get("slack", p.slack);
    r.get("email", p.email);
    r.get("phone_webhook", p.phone_webhook);
    if (p.slack.empty() && p.email.empty() && p.phone_webhook.empty()) {
      errors.add(kv.second, path,
                 "give at least one way to reach them: slack, email or phone_webhook");
    }
    if (!p.email.empty() && p.email.find('@') == std::string::npos) {
      errors.add(r.take("email"), r.path_of("email"),
                 "expected an address like alice@example.com, got \"" + p.email + "\"");
    }
    if (!p.phone_webhook.empty() && p.phone_webhook.rfind("http://", 0) != 0 &&
        p.phone_webhook.rfind("https://", 0) != 0) {
      errors.add(r.take("phone_webhook"), r.path_of("phone_webhook"),
                 "expected an http:// or https:// URL");
    }
    out[p.id] = std::move(p);
  }
}

// The local wall-clock seconds of the layer's first shift, and its period, from the
// rotation, handoff, start and shift keys (already claimed; their nodes for messages).
struct LayerTimes {
  std::string rotation, handoff, start;
  Millis shift{0};
  bool has_shift = false;
};

void layer_times(config::MapReader& l, const LayerTimes& t, Layer& layer) {
  config::Errors& errors = l.errors();
  if (t.rotation == "hours" && !t.has_shift) {
    errors.add(l.take("rotation"), l.path_of("shift"),
               "required with rotation: hours (e.g. shift: 12h)");
  } else if (t.rotation != "hours" && t.has_shift) {
    errors.add(l.take("shift"), l.path_of("shift"), "only with rotation: hours");
  } else if (t.has_shift && (t.shift.count() <= 0 || t.shift.count() % 60'000 != 0 ||
                             t.shift.count() > kMaxShiftMs)) {
    errors.add(l.take("shift"), l.path_of("shift"),
               "must be a positive number of whole minutes, at most 28d");
  }
  std::optional<int> handoff_day;
  std::string time = t.handoff;
  if (t.rotation == "weekly") {
    const size_t space = t.handoff.find(' ');
    if (space != std::string::npos) handoff_day = parse_weekday(t.handoff.substr(0, space));
    time = space == std::string::npos ? "" : t.handoff.substr(space + 1);
  }
  const auto minute = parse_hhmm(time);
  if (!t.handoff.empty() && (!minute || (t.rotation == "weekly" && !handoff_day))) {
    errors.add(l.take("handoff"), l.path_of("handoff"),
               (t.rotation == "weekly"
                    ? "expected \"DAY HH:MM\" (DAY one of " + std::string(kDayHelp) + ")"
                    : std::string("expected a local time \"HH:MM\"")) +
                   ", got \"" + t.handoff + "\"");
  }
  const auto day = parse_date(t.start);
  if (!t.start.empty() && !day) {
    errors.add(l.take("start"), l.path_of("start"),
               "expected a date YYYY-MM-DD, got \"" + t.start + "\"");
  }
  if (day && handoff_day && weekday_of_day(*day) != *handoff_day) {
    errors.add(l.take("start"), l.path_of("start"),
               t.start + " is a " + kDayNames[weekday_of_day(*day)] +
                   "; a weekly layer starts on its handoff day (" + kDayNames[*handoff_day] + ")");
  }
  if (day && minute) layer.first_local_s = *day * kDaySec + *minute * 60;
  if (t.rotation == "daily") layer.period_s = kDaySec;
  if (t.rotation == "weekly") layer.period_s = 7 * kDaySec;
  if (t.rotation == "hours") {
    layer.rotation = Rotation::kHours;
    if (t.shift.count() >= 60'000) layer.period_s = t.shift.count() / 1000;
  }
  if (t.rotation == "weekly") layer.rotation = Rotation::kWeekly;
}

void read_restrict(config::MapReader& l, Layer& layer) {
  if (!l.has("restrict")) return;
  auto r = l.child("restrict");
  r.require("days");
  std::vector<std::string> days;
  const bool ok = incidents::read_list(
      r, "days", days, [](const std::string& d, const std::vector<std::string>&) {
        return parse_weekday(d) ? "" : "unknown day '" + d + "'; use " + kDayHelp;
      });
  if (ok && r.has("days") && days.empty()) {
    r.errors().add(r.path_of("days"), "name at least one day");
  }
  if (!ok || days.empty()) return;
  layer.days = 0;
  for (const auto& d : days) layer.days |= static_cast<uint8_t>(1u << *parse_weekday(d));
}

Layer read_layer(config::MapReader& l, size_t index, const std::map<std::string, Person>& people) {
  Layer layer;
  layer.name = "layers[" + std::to_string(index) + "]";
  l.get("name", layer.name);
  if (layer.name.empty()) l.errors().add(l.take("name"), l.path_of("name"), "must not be empty");
  LayerTimes t;
  l.require("rotation");
  l.get_enum("rotation", t.rotation, {"daily", "weekly", "hours"});
  l.require("handoff");
  l.get("handoff", t.handoff);
  l.require("start");
  l.get("start", t.start);
  t.has_shift = l.has("shift");
  l.get("shift", t.shift);
  layer_times(l, t, layer);
  l.require("members");
  const bool listed = incidents::read_list(
      l, "members", layer.members, [&](const std::string& m, const std::vector<std::string>&) {
        return people.count(m) ? "" : "no person '" + m + "' " + declared(people);
      });
  if (listed && l.has("members") && layer.members.empty()) {
    l.errors().add(l.take("members"), l.path_of("members"), "name at least one person");
  }
  read_restrict(l, layer);
  return layer;
}

void read_overrides(config::MapReader& r, const std::map<std::string, Person>& people,
                    std::vector<Override>& out) {
  YAML::Node n = r.take("overrides");
  if (!present(n)) return;
  config::Errors& errors = r.errors();
  const std::string path = r.path_of("overrides");
  if (!n.IsSequence()) {
    errors.add(n, path, "expected a list of {user, start, end}");
    return;
  }
  std::vector<std::pair<Override, size_t>> valid;
  for (size_t i = 0; i < n.size(); ++i) {
    config::MapReader o(n[i], at_index(path, i), errors);
    Override ov;
    o.require("user");
    o.get("user", ov.user);
    if (!ov.user.empty() && !people.count(ov.user)) {
      errors.add(o.take("user"), o.path_of("user"),
                 "no person '" + ov.user + "' " + declared(people));
    }
    bool ok = !ov.user.empty();
    for (auto [key, out_ms] : {std::pair{"start", &ov.start_ms}, std::pair{"end", &ov.end_ms}}) {
      o.require(key);
      std::string text;
      o.get(key, text);
      if (text.empty()) {
        ok = false;
        continue;
      }
      const std::string at = o.path_of(key);
      auto ms = incidents::parse_rfc3339_ms(text, at);
      if (!ms) {
        errors.add(o.take(key), at, ms.status().message().substr(at.size() + 2));
        ok = false;
        continue;
      }
      *out_ms = *ms;
    }
    if (ok && ov.end_ms <= ov.start_ms) {
      errors.add(o.take("end"), o.path_of("end"), "must be after start");
      ok = false;
    }
    if (ok) valid.emplace_back(ov, i);
  }
  std::sort(valid.begin(), valid.end(),
            [](const auto& a, const auto& b) { return a.first.start_ms < b.first.start_ms; });
  for (size_t k = 1; k < valid.size(); ++k) {
    if (valid[k].first.start_ms < valid[k - 1].first.end_ms) {
      const size_t i = std::max(valid[k].second, valid[k - 1].second);
      const size_t j = std::min(valid[k].second, valid[k - 1].second);
      errors.add(n[i], at_index(path, i), "overlaps " + at_index("overrides", j));
    }
  }
  for (auto& [ov, i] : valid) out.push_back(std::move(ov));
}

void read_schedules(config::MapReader& top, const std::map<std::string, Person>& people,
                    std::map<std::string, Schedule>& out, const std::string& zoneinfo_dir) {
  YAML::Node n = top.take("schedules");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsMap()) {
    errors.add(n, "schedules", "expected a mapping of schedule names to {time_zone, layers}");
    return;
  }
  for (const auto& kv : n) {
    Schedule s;
    s.name = kv.first.Scalar();
    const std::string path = "schedules." + s.name;
    if (!valid_id(s.name)) errors.add(kv.first, path, std::string("a schedule name ") + kIdHelp);
    config::MapReader r(kv.second, path, errors);
    std::string zone;
    r.require("time_zone");
    r.get("time_zone", zone);
    if (r.has("time_zone")) {
      auto z = incidents::TimeZone::load(zone, zoneinfo_dir);
      if (z) {
        s.zone = std::move(z).value();
      } else {
        errors.add(r.take("time_zone"), r.path_of("time_zone"), z.status().message());
      }
    }
    r.require("layers");
    YAML::Node layers = r.take("layers");
    const std::string lpath = r.path_of("layers");
    if (present(layers) && (!layers.IsSequence() || layers.size() == 0)) {
      errors.add(layers, lpath, "expected a list of at least one layer");
    } else if (present(layers)) {
      std::vector<std::string> names;
      for (size_t i = 0; i < layers.size(); ++i) {
        config::MapReader l(layers[i], at_index(lpath, i), errors);
        Layer layer = read_layer(l, i, people);
        if (std::find(names.begin(), names.end(), layer.name) != names.end()) {
          errors.add(l.take("name"), l.path_of("name"),
                     "'" + layer.name + "' names another layer of this schedule too");
        }
        names.push_back(layer.name);
        s.layers.push_back(std::move(layer));
      }
    }
    read_overrides(r, people, s.overrides);
    out[s.name] = std::move(s);
  }
}

std::optional<Target> read_target(const YAML::Node& node, config::MapReader& t,
                                  const OncallConfig& cfg) {
  int given = 0;
  std::optional<Target> target;
  for (auto [key, kind] :
       {std::pair{"schedule", Target::Kind::kSchedule}, std::pair{"user", Target::Kind::kUser},
        std::pair{"channel", Target::Kind::kChannel}}) {
    if (!t.has(key)) continue;
    ++given;
    std::string name;
    t.get(key, name);
    if (name.empty()) {
      t.errors().add(t.take(key), t.path_of(key), "must not be empty");
      continue;
    }
    if (kind == Target::Kind::kSchedule && !cfg.schedules.count(name)) {
      t.errors().add(t.take(key), t.path_of(key),
                     "no schedule '" + name + "' " + declared(cfg.schedules));
      continue;
    }
    if (kind == Target::Kind::kUser && !cfg.people.count(name)) {
      t.errors().add(t.take(key), t.path_of(key),
                     "no person '" + name + "' " + declared(cfg.people));
      continue;
    }
    target = Target{.kind = kind, .name = name};
  }
  if (given != 1) {
    t.errors().add(
        node, t.path(),
        "give exactly one of schedule, user or channel, " + std::to_string(given) + " given");
    return std::nullopt;
  }
  return target;
}

Level read_level(config::MapReader& l, const OncallConfig& cfg) {
  Level level;
  Millis delay{0};
  const YAML::Node d = l.take("delay");
  if (present(d) && d.IsScalar() && d.Scalar().rfind('-', 0) == 0) {
    l.errors().add(d, l.path_of("delay"), "must not be negative, got " + d.Scalar());
  } else {
    l.get("delay", delay);
  }
  level.delay_ms = delay.count();
  l.require("targets");
  YAML::Node n = l.take("targets");
  const std::string path = l.path_of("targets");
  if (present(n) && (!n.IsSequence() || n.size() == 0)) {
    l.errors().add(n, path, "expected a list of at least one {schedule|user|channel: NAME}");
    return level;
  }
  for (size_t i = 0; present(n) && i < n.size(); ++i) {
    config::MapReader t(n[i], at_index(path, i), l.errors());
    if (auto target = read_target(n[i], t, cfg)) level.targets.push_back(std::move(*target));
  }
  return level;
}

void read_policies(config::MapReader& top, const OncallConfig& cfg,
                   std::map<std::string, EscalationPolicy>& out) {
  YAML::Node n = top.take("escalation_policies");
  if (!present(n)) return;
  config::Errors& errors = top.errors();
  if (!n.IsMap()) {
    errors.add(n, "escalation_policies", "expected a mapping of policy names to {levels, ...}");
    return;
  }
  for (const auto& kv : n) {
    EscalationPolicy p;
    p.name = kv.first.Scalar();
    const std::string path = "escalation_policies." + p.name;
    if (!valid_id(p.name)) errors.add(kv.first, path, std::string("a policy name ") + kIdHelp);
    config::MapReader r(kv.second, path, errors);
    r.get("repeat", p.repeat, 0, 100);
    const bool has_repeat_after = r.has("repeat_after");
    Millis repeat_after{0};
    r.get("repeat_after", repeat_after);
    r.require("levels");
    YAML::Node levels = r.take("levels");
    const std::string lpath = r.path_of("levels");
    if (present(levels) && (!levels.IsSequence() || levels.size() == 0)) {
      errors.add(levels, lpath, "expected a list of at least one {delay, targets}");
    } else if (present(levels)) {
      for (size_t i = 0; i < levels.size(); ++i) {
        config::MapReader l(levels[i], at_index(lpath, i), errors);
        p.levels.push_back(read_level(l, cfg));
      }
    }
    if (p.levels.empty()) continue;
    p.repeat_after_ms = has_repeat_after ? repeat_after.count() : p.levels.back().delay_ms;
    int64_t period = p.repeat_after_ms;
    for (size_t i = 1; i < p.levels.size(); ++i) period += p.levels[i].delay_ms;
    if (p.repeat > 0 && period == 0) {
      const std::string key = has_repeat_after ? "repeat_after" : "repeat";
      errors.add(r.take(key), r.path_of(key),
                 "every round would fall due at once; give repeat_after a positive duration");
    }
    out[p.name] = std::move(p);
  }
}

}  // namespace

void read_oncall_config(config::MapReader& top, OncallConfig& out,
                        const std::string& zoneinfo_dir) {
  const size_t before = top.errors().list().size();
  OncallConfig next;
  read_people(top, next.people);
  read_schedules(top, next.people, next.schedules, zoneinfo_dir);
  read_policies(top, next, next.policies);
  if (top.errors().list().size() == before) out = std::move(next);
}

}  // namespace reflex::hub::oncall
