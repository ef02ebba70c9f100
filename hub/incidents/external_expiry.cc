#include "hub/incidents/external_expiry.h"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <string_view>

namespace reflex::hub::incidents {
namespace {

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

}  // namespace

Result<AlertSignal> expired_signal(const ExpiryRow& row) {
  auto labels = from_json(row.labels_json);
  if (!labels) {
    return Status::error("corrupt", "external expiry row '" + row.fingerprint +
                                        "': labels are not a JSON object of strings");
  }
  auto annotations = from_json(row.annotations_json);
  if (!annotations) {
    return Status::error("corrupt", "external expiry row '" + row.fingerprint +
                                        "': annotations are not a JSON object of strings");
  }
  AlertSignal s;
  s.source = row.source;
  s.fingerprint = row.fingerprint;
  s.rule = row.rule;
  s.state = protocol::AlertState::kResolved;
  s.severity = row.severity;
  s.labels = std::move(*labels);
  s.annotations = std::move(*annotations);
  s.host = row.host;
  s.at_ms = row.ends_at_ms;
  return s;
}

Status no_alert_row(const std::string& fingerprint) {
  return Status::error("not_found",
                       "the end of external alert " + fingerprint + ": the alert has no row");
}

EndPlan plan_ends(const std::vector<AlertRow>& rows, const std::vector<ExpiryWrite>& writes) {
  EndPlan plan;
  if (writes.empty()) return plan;
  std::unordered_map<std::string_view, const ExpiryWrite*> last;
  last.reserve(writes.size());
  for (const auto& w : writes) last[w.fingerprint] = &w;
  plan.with_row.assign(rows.size(), nullptr);
  for (size_t i = rows.size(); i-- > 0;) {
    auto it = last.find(rows[i].fingerprint);
    if (it == last.end() || it->second == nullptr) continue;
    plan.with_row[i] = it->second;
    it->second = nullptr;  // taken: the alert's earlier rows leave the end alone
  }
  for (const auto& w : writes) {
    if (last.at(w.fingerprint) == &w) plan.alone.push_back(&w);
  }
  return plan;
}

ExpiryWrite ExternalExpiry::observe(const ExternalAlert& alert) {
  const AlertSignal& s = alert.signal;
  if (s.state != protocol::AlertState::kFiring) {
    forget(s.fingerprint);
    return {s.fingerprint, std::nullopt};
  }
  ExpiryWrite write{s.fingerprint, alert.ends_at_ms, alert.timeout};
  if (auto it = by_fp_.find(std::string_view(s.fingerprint)); it != by_fp_.end()) {
    const Entry& old = it->second;
    if (!old.timeout && old.ends_at_ms > *write.ends_at_ms) {
      write.ends_at_ms = old.ends_at_ms;  // a later explicit end rules
      write.timeout = false;
    }
  }
  put(write.fingerprint, *write.ends_at_ms, write.timeout);
  return write;
}

bool ExternalExpiry::earlier(const Node* a, const Node* b) {
  if (a->second.ends_at_ms != b->second.ends_at_ms) {
    return a->second.ends_at_ms < b->second.ends_at_ms;
  }
  return a->first.view() < b->first.view();
}

void ExternalExpiry::place(size_t i, Node* node) {
  due_[i] = node;
  node->second.heap_pos = static_cast<uint32_t>(i);
}

void ExternalExpiry::sift_up(size_t i) {
  Node* node = due_[i];
  while (i > 0) {
    const size_t parent = (i - 1) / 2;
    if (!earlier(node, due_[parent])) break;
    place(i, due_[parent]);
    i = parent;
  }
  place(i, node);
}

void ExternalExpiry::sift_down(size_t i) {
  Node* node = due_[i];
  const size_t n = due_.size();
  for (;;) {
    size_t child = 2 * i + 1;
    if (child >= n) break;
    if (child + 1 < n && earlier(due_[child + 1], due_[child])) ++child;
    if (!earlier(due_[child], node)) break;
    place(i, due_[child]);
    i = child;
  }
  place(i, node);
}

void ExternalExpiry::remove_due(size_t i) {
  Node* last = due_.back();
  due_.pop_back();
  if (i == due_.size()) return;
  place(i, last);
  sift_up(i);
  sift_down(last->second.heap_pos);
}

void ExternalExpiry::put(const std::string& fingerprint, int64_t ends_at_ms, bool timeout) {
  auto it = by_fp_.find(std::string_view(fingerprint));
  if (it != by_fp_.end()) {
    it->second.ends_at_ms = ends_at_ms;
    it->second.timeout = timeout;
    sift_up(it->second.heap_pos);
    sift_down(it->second.heap_pos);
    return;
  }
  it = by_fp_.emplace(CompactKey(fingerprint), Entry{ends_at_ms, 0, timeout}).first;
  due_.push_back(&*it);
  sift_up(due_.size() - 1);
}

bool ExternalExpiry::forget(const std::string& fingerprint) {
  auto it = by_fp_.find(std::string_view(fingerprint));
  if (it == by_fp_.end()) return false;
  remove_due(it->second.heap_pos);
  by_fp_.erase(it);
  return true;
}

std::optional<int64_t> ExternalExpiry::next_due_ms() const {
  if (due_.empty()) return std::nullopt;
  return due_.front()->second.ends_at_ms;
}

std::vector<ExpiryEnd> ExternalExpiry::expire(int64_t now_ms) {
  std::vector<ExpiryEnd> out;
  while (!due_.empty() && due_.front()->second.ends_at_ms <= now_ms) {
    const Node* node = due_.front();
    out.push_back(ExpiryEnd{node->first.str(), node->second.ends_at_ms, node->second.timeout});
    remove_due(0);
    by_fp_.erase(by_fp_.find(node->first));
  }
  return out;
}

std::optional<ExpiryEnd> ExternalExpiry::tracked(const std::string& fingerprint) const {
  auto it = by_fp_.find(std::string_view(fingerprint));
  if (it == by_fp_.end()) return std::nullopt;
  return ExpiryEnd{it->first.str(), it->second.ends_at_ms, it->second.timeout};
}

std::vector<ExpiryEnd> ExternalExpiry::snapshot() const {
  std::vector<const Node*> order(due_.begin(), due_.end());
  std::sort(order.begin(), order.end(), earlier);
  std::vector<ExpiryEnd> out;
  out.reserve(order.size());
  for (const Node* n : order) {
    out.push_back(ExpiryEnd{n->first.str(), n->second.ends_at_ms, n->second.timeout});
  }
  return out;
}

Status ExternalExpiry::restore(const std::vector<ExpiryEnd>& ends) {
  if (!by_fp_.empty()) {
    return Status::error("invalid_argument", "restore needs an empty ExternalExpiry");
  }
  for (const auto& end : ends) {
    auto corrupt = [&](const std::string& what) {
      by_fp_.clear();
      due_.clear();
      return Status::error("corrupt", "external alert end '" + end.fingerprint + "': " + what);
    };
    if (end.fingerprint.empty()) return corrupt("no fingerprint");
    if (by_fp_.contains(std::string_view(end.fingerprint))) {
      return corrupt("duplicate fingerprint");
    }
    put(end.fingerprint, end.ends_at_ms, end.timeout);
  }
  return Status::ok();
}

}  // namespace reflex::hub::incidents
