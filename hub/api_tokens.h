// Bearer tokens for the hub's HTTP API: the `api` section of hub.yaml, and the table of
// tokens the API checks requests against.
//
//   api:
//     tokens:
//       - {name: alice, role: responder, token_file: /etc/reflex/tokens/alice}
//       - {name: grafana, role: viewer, token: "..."}   # inline: allowed, discouraged
//     insecure_open: false   # true: no tokens, yet a non-loopback `http` address
//
// The table keeps a SHA-256 digest of each token, never the token itself, and compares
// digests in constant time. Token files are read when the config is loaded (so
// check-config, start-up and SIGHUP reload report the same problems) and again when
// the hub installs the table.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/config.h"
#include "common/status.h"
#include "hub/config.h"

namespace reflex::hub {

// Ordered: each role may do everything the ones before it may.
enum class ApiRole : uint8_t { kViewer, kResponder, kAdmin };
const char* api_role_name(ApiRole role);
std::optional<ApiRole> parse_api_role(std::string_view text);

// Who a request was made by.
struct ApiIdentity {
  std::string name;  // the token's name: the actor of every write made with it
  ApiRole role = ApiRole::kViewer;
  bool operator==(const ApiIdentity&) const = default;
};

// Immutable once built; shared between the HTTP threads (see ApiAuth).
class TokenTable {
 public:
  using Digest = std::array<unsigned char, 32>;

  // Adds a token; the caller has checked names and digests are unique.
  void add(ApiIdentity identity, std::string_view token);
  // The identity whose token is `presented`, comparing against every entry in constant
  // time (no early exit), or nullopt.
  std::optional<ApiIdentity> find(std::string_view presented) const;
  bool empty() const { return entries_.empty(); }
  size_t size() const { return entries_.size(); }

 private:
  struct Entry {
    ApiIdentity identity;
    Digest digest;
  };
  std::vector<Entry> entries_;
};

// Tokens shorter than this are refused: the API has no rate limit on guesses.
inline constexpr size_t kMinTokenLength = 16;

// Reads the `api` section into `out`: structure only (names, roles, one of token or
// token_file per entry, duplicate names); errors name the key path, e.g.
// "api.tokens[2].role". `http` is the hub's HTTP listen address: a non-loopback one
// needs tokens or insecure_open.
void read_api_config(config::MapReader& top, const std::string& http, ApiConfig& out);

// Reads every token (file or inline) and builds the table. Errors name the entry's key
// path and never quote a token: a missing or unreadable file, an empty or short token,
// whitespace inside one, the same token under two names.
Result<TokenTable> load_token_table(const ApiConfig& api);

}  // namespace reflex::hub
