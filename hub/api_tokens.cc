#include "hub/api_tokens.h"

#include <openssl/crypto.h>
#include <openssl/sha.h>

#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <map>
#include <sstream>

namespace reflex::hub {
namespace {

constexpr size_t kMaxNameLength = 100;

TokenTable::Digest digest_of(std::string_view token) {
  TokenTable::Digest d{};
  SHA256(reinterpret_cast<const unsigned char*>(token.data()), token.size(), d.data());
  return d;
}

// Letters, digits and . _ - @: a name that reads well as an actor, and never "reflex"
// (the hub's own actor) or "agent:..." (an agent's).
std::string name_problem(const std::string& name) {
  if (name.empty()) return "must not be empty";
  if (name.size() > kMaxNameLength) {
    return "longer than " + std::to_string(kMaxNameLength) + " characters";
  }
  for (unsigned char c : name) {
    if (!std::isalnum(c) && c != '.' && c != '_' && c != '-' && c != '@') {
      return "\"" + name + "\" may hold only letters, digits and . _ - @";
    }
  }
  if (name == "reflex") return "\"reflex\" is the hub's own actor name; choose another";
  return "";
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\r' || c == '\n';
}

// The token a file or inline value holds: surrounding whitespace (the newline an editor
// or `echo` adds) is not part of it.
std::string_view trimmed(std::string_view s) {
  while (!s.empty() && is_space(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_space(s.back())) s.remove_suffix(1);
  return s;
}

Result<std::string> read_token_file(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return Status::error("io", "cannot read " + path + ": " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return Status::error("io", "cannot read " + path);
  return std::string(trimmed(text.str()));
}

std::string token_problem(std::string_view token) {
  if (token.empty()) return "the token is empty";
  for (unsigned char c : token) {
    if (c <= ' ' || c == 0x7f) return "the token holds whitespace or control characters";
  }
  if (token.size() < kMinTokenLength) {
    return "the token is shorter than " + std::to_string(kMinTokenLength) +
           " characters (make one with: openssl rand -hex 32)";
  }
  return "";
}

}  // namespace

const char* api_role_name(ApiRole role) {
  switch (role) {
    case ApiRole::kViewer:
      return "viewer";
    case ApiRole::kResponder:
      return "responder";
    case ApiRole::kAdmin:
      return "admin";
  }
  return "?";
}

std::optional<ApiRole> parse_api_role(std::string_view text) {
  for (auto r : {ApiRole::kViewer, ApiRole::kResponder, ApiRole::kAdmin}) {
    if (text == api_role_name(r)) return r;
  }
  return std::nullopt;
}

void TokenTable::add(ApiIdentity identity, std::string_view token) {
  entries_.push_back({std::move(identity), digest_of(token)});
}

std::optional<ApiIdentity> TokenTable::find(std::string_view presented) const {
  const Digest d = digest_of(presented);
  const Entry* found = nullptr;
  for (const auto& e : entries_) {
    // Every entry is compared, whatever matched before.
    const bool same = CRYPTO_memcmp(d.data(), e.digest.data(), d.size()) == 0;
    if (same) found = &e;
  }
  if (!found) return std::nullopt;
  return found->identity;
}

void read_api_config(config::MapReader& top, const std::string& http, ApiConfig& out) {
  auto api = top.child("api");
  api.get("insecure_open", out.insecure_open);
  const YAML::Node list = api.take("tokens");
  std::map<std::string, size_t> names;
  if (list.IsDefined() && !list.IsNull() && !list.IsSequence()) {
    api.errors().add(list, "api.tokens", "expected a list of {name, role, token_file}");
  } else if (list.IsSequence()) {
    for (size_t i = 0; i < list.size(); ++i) {
      const std::string path = "api.tokens[" + std::to_string(i) + "]";
      config::MapReader entry(list[i], path, api.errors());
      ApiTokenConfig t;
      entry.require("name");
      entry.require("role");
      entry.get("name", t.name);
      entry.get_enum("role", t.role, {"viewer", "responder", "admin"});
      entry.get("token_file", t.token_file);
      entry.get("token", t.token);
      if (entry.has("name")) {
        if (auto problem = name_problem(t.name); !problem.empty()) {
          api.errors().add(entry.take("name"), path + ".name", problem);
        } else if (auto [it, fresh] = names.emplace(t.name, i); !fresh) {
          api.errors().add(entry.take("name"), path + ".name",
                           "\"" + t.name + "\" is already the name of api.tokens[" +
                               std::to_string(it->second) + "]");
        }
      }
      const bool has_file = entry.has("token_file"), has_inline = entry.has("token");
      if (has_file == has_inline) {
        api.errors().add(list[i], path,
                         has_file ? "give token_file or token, not both"
                                  : "needs token_file (or an inline token)");
      } else if (has_file && t.token_file.empty()) {
        api.errors().add(entry.take("token_file"), path + ".token_file", "must not be empty");
      }
      out.tokens.push_back(std::move(t));
    }
  }
  std::string host;
  int port = 0;
  const bool http_ok = config::parse_host_port(http, host, port).is_ok();
  if (out.tokens.empty() && !out.insecure_open && http_ok &&
      !is_loopback_endpoint("tcp://" + http)) {
    api.errors().add(top.take("http"), "http",
                     "a non-loopback HTTP address needs api.tokens (bearer tokens with roles) "
                     "or api.insecure_open: true");
  }
}

Result<TokenTable> load_token_table(const ApiConfig& api) {
  TokenTable table;
  std::map<TokenTable::Digest, size_t> seen;
  for (size_t i = 0; i < api.tokens.size(); ++i) {
    const ApiTokenConfig& t = api.tokens[i];
    const std::string path = "api.tokens[" + std::to_string(i) + "]";
    const auto role = parse_api_role(t.role);
    if (!role) return Status::error("config", path + ".role: unknown role \"" + t.role + "\"");
    std::string token;
    std::string key = path + ".token";
    if (!t.token_file.empty()) {
      key = path + ".token_file";
      auto read = read_token_file(t.token_file);
      if (!read) return Status::error("config", key + ": " + read.status().message());
      token = std::move(read).value();
    } else {
      token = std::string(trimmed(t.token));
    }
    if (auto problem = token_problem(token); !problem.empty()) {
      return Status::error(
          "config", key + ": " + problem + (t.token_file.empty() ? "" : " in " + t.token_file));
    }
    const auto d = digest_of(token);
    if (auto [it, fresh] = seen.emplace(d, i); !fresh) {
      return Status::error("config", key + ": the same token as api.tokens[" +
                                         std::to_string(it->second) +
                                         "]; each name needs a token of its own");
    }
    table.add({.name = t.name, .role = *role}, token);
  }
  return table;
}

}  // namespace reflex::hub
