#include "hub/incidents/external_expiry.h"

#include <cstring>

#include <nlohmann/json.hpp>

namespace reflex::hub::incidents {
namespace {

std::string to_json(const protocol::Labels& labels) {
  return nlohmann::json(labels).dump();
}

// Rows are written by to_json() or checked by restore(), so a failure here cannot
// happen; it would only yield empty labels.
std::optional<protocol::Labels> from_json(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  protocol::Labels out;
  for (auto it = j.begin(); it != j.end(); ++it) {
    if (!it->is_string()) return std::nullopt;
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

void pack_field(std::string& out, const std::string& field) {
  const uint32_t n = static_cast<uint32_t>(field.size());
  char len[sizeof n];
  std::memcpy(len, &n, sizeof n);
  out.append(len, sizeof n);
  out += field;
}

std::string unpack_field(const std::string& packed, size_t& pos) {
  uint32_t n = 0;
  std::memcpy(&n, packed.data() + pos, sizeof n);
  pos += sizeof n;
  std::string field = packed.substr(pos, n);
  pos += n;
  return field;
}

}  // namespace

ExpiryWrite ExternalExpiry::observe(const ExternalAlert& alert) {
  const AlertSignal& s = alert.signal;
  if (s.state != protocol::AlertState::kFiring) {
    forget(s.fingerprint);
    return {s.fingerprint, std::nullopt};
  }
  ExpiryRow row{
      s.fingerprint,          s.source,         s.rule,       s.severity, s.host, to_json(s.labels),
      to_json(s.annotations), alert.ends_at_ms, alert.timeout};
  if (auto it = by_fp_.find(s.fingerprint); it != by_fp_.end()) {
    const Entry& old = it->second;
    if (!old.timeout && old.ends_at_ms > row.ends_at_ms) {
      row.ends_at_ms = old.ends_at_ms;  // a later explicit end rules
      row.timeout = false;
    }
  }
  put(row);
  return {s.fingerprint, std::move(row)};
}

void ExternalExpiry::put(const ExpiryRow& row) {
  Entry e;
  e.packed.reserve(row.source.size() + row.rule.size() + row.host.size() + row.labels_json.size() +
                   row.annotations_json.size() + 5 * sizeof(uint32_t));
  for (const std::string* f :
       {&row.source, &row.rule, &row.host, &row.labels_json, &row.annotations_json}) {
    pack_field(e.packed, *f);
  }
  e.ends_at_ms = row.ends_at_ms;
  e.severity = row.severity;
  e.timeout = row.timeout;
  auto it = by_fp_.find(row.fingerprint);
  if (it != by_fp_.end()) {
    due_.erase({it->second.ends_at_ms, &it->first});
    it->second = std::move(e);
  } else {
    it = by_fp_.emplace(row.fingerprint, std::move(e)).first;
  }
  due_.insert({it->second.ends_at_ms, &it->first});
}

ExpiryRow ExternalExpiry::unpack(const std::string& fingerprint, const Entry& e) {
  ExpiryRow row;
  row.fingerprint = fingerprint;
  size_t pos = 0;
  row.source = unpack_field(e.packed, pos);
  row.rule = unpack_field(e.packed, pos);
  row.host = unpack_field(e.packed, pos);
  row.labels_json = unpack_field(e.packed, pos);
  row.annotations_json = unpack_field(e.packed, pos);
  row.severity = e.severity;
  row.ends_at_ms = e.ends_at_ms;
  row.timeout = e.timeout;
  return row;
}

bool ExternalExpiry::forget(const std::string& fingerprint) {
  auto it = by_fp_.find(fingerprint);
  if (it == by_fp_.end()) return false;
  due_.erase({it->second.ends_at_ms, &it->first});
  by_fp_.erase(it);
  return true;
}

std::optional<int64_t> ExternalExpiry::next_due_ms() const {
  if (due_.empty()) return std::nullopt;
  return due_.begin()->first;
}

std::vector<AlertSignal> ExternalExpiry::expire(int64_t now_ms) {
  std::vector<AlertSignal> out;
  while (!due_.empty() && due_.begin()->first <= now_ms) {
    auto it = by_fp_.find(*due_.begin()->second);
    due_.erase(due_.begin());
    ExpiryRow row = unpack(it->first, it->second);
    by_fp_.erase(it);
    AlertSignal s;
    s.source = std::move(row.source);
    s.fingerprint = std::move(row.fingerprint);
    s.rule = std::move(row.rule);
    s.state = protocol::AlertState::kResolved;
    s.severity = row.severity;
    s.labels = from_json(row.labels_json).value_or(protocol::Labels{});
    s.annotations = from_json(row.annotations_json).value_or(protocol::Labels{});
    s.host = std::move(row.host);
    s.at_ms = row.ends_at_ms;
    out.push_back(std::move(s));
  }
  return out;
}

std::optional<ExpiryRow> ExternalExpiry::row(const std::string& fingerprint) const {
  auto it = by_fp_.find(fingerprint);
  if (it == by_fp_.end()) return std::nullopt;
  return unpack(it->first, it->second);
}

std::vector<ExpiryRow> ExternalExpiry::snapshot() const {
  std::vector<ExpiryRow> out;
  out.reserve(due_.size());
  for (const auto& [end, fp] : due_) out.push_back(unpack(*fp, by_fp_.at(*fp)));
  return out;
}

Status ExternalExpiry::restore(const std::vector<ExpiryRow>& rows) {
  if (!by_fp_.empty()) {
    return Status::error("invalid_argument", "restore needs an empty ExternalExpiry");
  }
  for (const auto& row : rows) {
    auto corrupt = [&](const std::string& what) {
      by_fp_.clear();
      due_.clear();
      return Status::error("corrupt", "external expiry row '" + row.fingerprint + "': " + what);
    };
    if (row.fingerprint.empty()) return corrupt("no fingerprint");
    if (by_fp_.count(row.fingerprint)) return corrupt("duplicate fingerprint");
    if (!from_json(row.labels_json)) return corrupt("labels are not a JSON object of strings");
    if (!from_json(row.annotations_json)) {
      return corrupt("annotations are not a JSON object of strings");
    }
    put(row);
  }
  return Status::ok();
}

}  // namespace reflex::hub::incidents
