#include "hub/incidents/silences.h"

#include <algorithm>

namespace reflex::hub::incidents {
namespace {

Status invalid(const std::string& field, const std::string& what) {
  return Status::error("invalid_silence", field + ": " + what);
}

}  // namespace

const char* silence_state_name(SilenceState s) {
  switch (s) {
    case SilenceState::kPending:
      return "pending";
    case SilenceState::kActive:
      return "active";
    case SilenceState::kExpired:
      return "expired";
  }
  return "unknown";
}

Result<Silence> SilenceSet::create(SilenceSpec spec, int64_t now_ms) {
  if (spec.matchers.empty()) return invalid("matchers", "name at least one matcher");
  if (std::all_of(spec.matchers.begin(), spec.matchers.end(),
                  [](const Matcher& m) { return m.matches_empty(); })) {
    return invalid("matchers", "at least one matcher must not match an absent label, or " +
                                   matchers_to_string(spec.matchers) +
                                   " would silence every alert");
  }
  const int64_t starts = std::max(spec.starts_at_ms, now_ms);
  if (spec.ends_at_ms <= now_ms) return invalid("ends_at", "is not in the future");
  if (spec.ends_at_ms <= starts) return invalid("ends_at", "must be after starts_at");
  if (spec.created_by.empty()) return invalid("created_by", "must not be empty");
  if (spec.comment.empty()) return invalid("comment", "must not be empty; say why");

  Silence s;
  s.id = next_id_++;
  s.matchers = std::move(spec.matchers);
  s.starts_at_ms = starts;
  s.ends_at_ms = spec.ends_at_ms;
  s.created_by = std::move(spec.created_by);
  s.comment = std::move(spec.comment);
  s.created_ms = now_ms;
  silences_.emplace(s.id, s);
  return s;
}

Result<Silence> SilenceSet::expire(uint64_t id, const std::string& actor, int64_t now_ms) {
  if (actor.empty()) return Status::error("invalid_argument", "actor: must not be empty");
  auto it = silences_.find(id);
  if (it == silences_.end()) {
    return Status::error("not_found", "no silence " + std::to_string(id));
  }
  Silence& s = it->second;
  if (s.state(now_ms) == SilenceState::kExpired) {
    return Status::error("conflict", "silence " + std::to_string(id) + " has already expired");
  }
  s.starts_at_ms = std::min(s.starts_at_ms, now_ms);
  s.ends_at_ms = now_ms;
  s.expired_by = actor;
  return s;
}

std::optional<std::string> SilenceSet::match(const protocol::Labels& labels, int64_t now_ms) const {
  for (const auto& [id, s] : silences_) {
    if (s.state(now_ms) == SilenceState::kActive && matches_all(s.matchers, labels)) {
      return "silenced by " + std::to_string(id) + " (" + s.created_by + ")";
    }
  }
  for (const auto& w : windows_) {
    if (!matches_all(w.matchers, labels)) continue;
    if (auto occ = w.when.open_at(now_ms)) {
      return "in maintenance window " + w.name + " until " +
             format_local_minute(w.when.zone(), occ->end_ms / 1000) + " " + w.when.zone().name();
    }
  }
  return std::nullopt;
}

bool SilenceSet::due_for_reminder(const Silence& s) const {
  return policy_.lead_ms > 0 && s.reminded_ms == 0 && s.expired_by.empty() &&
         s.ends_at_ms - s.starts_at_ms >= policy_.min_length_ms;
}

std::vector<Silence> SilenceSet::reminders(int64_t now_ms) {
  std::vector<Silence> out;
  for (auto& [id, s] : silences_) {
    if (!due_for_reminder(s) || s.state(now_ms) != SilenceState::kActive) continue;
    if (now_ms < s.ends_at_ms - policy_.lead_ms) continue;
    s.reminded_ms = now_ms;
    out.push_back(s);
  }
  return out;
}

std::optional<int64_t> SilenceSet::next_reminder_ms(int64_t now_ms) const {
  std::optional<int64_t> next;
  for (const auto& [id, s] : silences_) {
    if (!due_for_reminder(s) || s.state(now_ms) == SilenceState::kExpired) continue;
    const int64_t at = std::max(s.ends_at_ms - policy_.lead_ms, s.starts_at_ms);
    if (!next || at < *next) next = at;
  }
  return next;
}

const Silence* SilenceSet::find(uint64_t id) const {
  auto it = silences_.find(id);
  return it == silences_.end() ? nullptr : &it->second;
}

std::vector<Silence> SilenceSet::list() const {
  std::vector<Silence> out;
  for (const auto& [id, s] : silences_) out.push_back(s);
  return out;
}

std::vector<Silence> SilenceSet::active(int64_t now_ms) const {
  std::vector<Silence> out;
  for (const auto& [id, s] : silences_) {
    if (s.state(now_ms) == SilenceState::kActive) out.push_back(s);
  }
  return out;
}

std::vector<std::pair<std::string, Occurrence>> SilenceSet::open_windows(int64_t now_ms) const {
  std::vector<std::pair<std::string, Occurrence>> out;
  for (const auto& w : windows_) {
    if (auto occ = w.when.open_at(now_ms)) out.emplace_back(w.name, *occ);
  }
  return out;
}

void SilenceSet::forget_ended_before(int64_t ms) {
  std::erase_if(silences_, [&](const auto& kv) { return kv.second.ends_at_ms < ms; });
}

SilenceSnapshot SilenceSet::snapshot() const {
  return SilenceSnapshot{next_id_, list()};
}

Status SilenceSet::restore(SilenceSnapshot snapshot) {
  if (!silences_.empty() || next_id_ != 1) {
    return Status::error("invalid_argument", "restore: the silence set already holds silences");
  }
  std::map<uint64_t, Silence> loaded;
  for (auto& s : snapshot.silences) {
    if (s.id == 0 || s.id >= snapshot.next_id) {
      return Status::error("invalid_argument", "restore: silence id " + std::to_string(s.id) +
                                                   " is not below next_id " +
                                                   std::to_string(snapshot.next_id));
    }
    const uint64_t id = s.id;
    if (!loaded.emplace(id, std::move(s)).second) {
      return Status::error("invalid_argument",
                           "restore: silence id " + std::to_string(id) + " appears twice");
    }
  }
  silences_ = std::move(loaded);
  next_id_ = snapshot.next_id;
  return Status::ok();
}

}  // namespace reflex::hub::incidents
