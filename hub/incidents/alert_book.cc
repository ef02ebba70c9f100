#include "hub/incidents/alert_book.h"

#include <algorithm>

namespace reflex::hub::incidents {

AlertBook::Applied AlertBook::apply(const AlertSignal& s, int64_t now_ms,
                                    std::vector<AlertTransition>& history) {
  auto found = alerts_.find(std::string_view(s.fingerprint));
  const bool inserted = found == alerts_.end();
  auto it = inserted ? alerts_.try_emplace(CompactKey(s.fingerprint)).first : found;
  AlertRecord& a = it->second;
  Applied out{&a, a, inserted, inserted || a.state != s.state};
  if (out.state_changed) a.since_ms = s.at_ms;
  if (out.state_changed || a.severity != s.severity) {
    history.push_back(
        AlertTransition{s.fingerprint, s.source,
                        inserted ? std::nullopt : std::optional<protocol::AlertState>(a.state),
                        s.state, s.severity, s.at_ms, now_ms});
  }
  a.state = s.state;
  a.severity = s.severity;
  a.last_ms = s.at_ms;
  if (!s.host.empty() || inserted) a.host = s.host;
  return out;
}

AlertRecord* AlertBook::find(std::string_view fingerprint) {
  auto it = alerts_.find(fingerprint);
  return it == alerts_.end() ? nullptr : &it->second;
}

const AlertRecord* AlertBook::find(std::string_view fingerprint) const {
  auto it = alerts_.find(fingerprint);
  return it == alerts_.end() ? nullptr : &it->second;
}

std::vector<AlertRow> AlertBook::rows() const {
  std::vector<AlertRow> out;
  out.reserve(alerts_.size());
  for (const auto& [fp, rec] : alerts_) out.push_back(AlertRow{fp.str(), rec, true, std::nullopt});
  std::sort(out.begin(), out.end(),
            [](const AlertRow& a, const AlertRow& b) { return a.fingerprint < b.fingerprint; });
  return out;
}

}  // namespace reflex::hub::incidents
