// Changes (deploy awareness): what was deployed where and when, so an incident that
// opens shortly after a change to its service can name that change as the suspect
// (change_suspect.h). Changes arrive through POST /api/v1/changes (parse_change_request
// below) or as Jenkins and GitHub webhooks (change_webhooks.h); ChangeLog keeps the recent
// ones in memory, external_tables.h keeps all of them in SQLite.
#pragma once

#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"

namespace reflex::hub::incidents {

enum class DeployStrategy : uint8_t { kUnspecified, kCanary, kBlueGreen, kRolling };

// "", "canary", "blue-green", "rolling".
std::string_view deploy_strategy_name(DeployStrategy strategy);
// One of the three names (not ""), else a "bad_request" error naming `field`.
Result<DeployStrategy> parse_deploy_strategy(std::string_view text, std::string_view field);

struct Change {
  // Unique. Webhooks derive it from the sender's own key, so a redelivery is recognised
  // ("jenkins:<build url>", "github:<owner/repo>/deployments/<id>"); API changes get
  // "chg-<n>" from ChangeLog::add().
  std::string id;
  std::string service;
  std::string environment;  // "" when not said
  std::string version;
  std::vector<std::string> hosts;  // the hosts changed; empty: not said (all of them)
  DeployStrategy strategy = DeployStrategy::kUnspecified;
  std::string active_color;  // blue-green: the colour live after the change
  std::string commit;
  std::string author;
  std::string link;
  std::string source;  // "api", "jenkins", "github", or what the API caller said
  int64_t at_ms = 0;   // when the change took effect (epoch ms)

  bool operator==(const Change&) const = default;
};

// The body of POST /api/v1/changes:
//   {"service": "checkout",            required
//    "environment": "prod", "version": "4.2.1",
//    "hosts": ["web-1", "web-2"],      the changed hosts (for a canary: the canaries)
//    "strategy": "canary",             canary | blue-green | rolling; optional
//    "active_color": "green",          only with blue-green
//    "commit": "c0ffee", "author": "alice", "link": "https://ci/...",
//    "source": "spinnaker",            default "api"
//    "at": "2026-01-01T10:00:00Z"}     RFC 3339; default now
// Unknown fields and wrong types are "bad_request" errors naming the field. `actor` (the
// API token's name) is the author when the body gives none. The id is left empty.
Result<Change> parse_change_request(std::string_view body, const std::string& actor,
                                    int64_t now_ms);

// The API's JSON form of a change (the request's fields plus "id" and "at" in RFC 3339
// and "at_ms"), for GET /api/v1/changes and incident details.
nlohmann::json change_to_json(const Change& change);

// The recent changes per service, bounded: the latest `per_service` by at_ms (older ones
// live only in the store). Loop thread only.
class ChangeLog {
 public:
  explicit ChangeLog(size_t per_service = 50) : per_service_(per_service) {}

  // Gives a change without an id the next "chg-<n>". Returns false, keeping nothing,
  // when a change with the same id is held (a webhook redelivered); the id is assigned
  // either way.
  bool add(Change& change);

  // Newest first: the changes of `service` and of each of `dependencies`, at most `n`.
  std::vector<Change> recent(const std::string& service,
                             const std::vector<std::string>& dependencies, size_t n) const;

  // Loads what ChangeTables::load() read; `next_seq` continues the "chg-<n>" ids.
  void restore(const std::vector<Change>& changes, uint64_t next_seq);
  uint64_t next_seq() const { return next_seq_; }
  size_t size() const { return ids_.size(); }

 private:
  size_t per_service_;
  uint64_t next_seq_ = 1;
  std::unordered_map<std::string, std::deque<Change>> by_service_;  // oldest first
  std::unordered_set<std::string> ids_;
};

}  // namespace reflex::hub::incidents
