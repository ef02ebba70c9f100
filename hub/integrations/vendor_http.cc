#include "hub/integrations/vendor_http.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace reflex::hub {
namespace {

using nlohmann::json;

std::string trim(std::string s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.pop_back();
  size_t start = 0;
  while (start < s.size() && std::isspace(static_cast<unsigned char>(s[start]))) ++start;
  return s.substr(start);
}

Status bad_payload(std::string_view where, std::string_view path, std::string_view what) {
  return Status::error("invalid_payload", std::string(where) + ": payload." + std::string(path) +
                                              " " + std::string(what));
}

}  // namespace

Result<std::string> read_secret(std::string_view section, std::string_view key,
                                const std::string& file, const std::string& env) {
  const std::string at = std::string(section) + "." + std::string(key);
  std::string secret;
  if (!file.empty()) {
    std::ifstream in(file);
    if (!in) return Status::error("config", at + "_file: cannot read " + file);
    std::stringstream text;
    text << in.rdbuf();
    secret = trim(text.str());
    if (secret.empty()) return Status::error("config", at + "_file: " + file + " is empty");
  } else {
    const char* v = env.empty() ? nullptr : std::getenv(env.c_str());
    secret = v ? trim(v) : "";
    if (secret.empty()) {
      return Status::error("config",
                           at + "_env: the environment variable " + env + " is not set or empty");
    }
  }
  if (secret.find_first_of("\r\n") != std::string::npos) {
    return Status::error(
        "config", std::string(section) + ": the " + std::string(key) + " holds a line break");
  }
  return secret;
}

Result<std::string> read_hook_url(std::string_view section, const std::string& file,
                                  const std::string& env) {
  auto url = read_secret(section, "url", file, env);
  if (!url) return url.status();
  if (url->rfind("http://", 0) != 0 && url->rfind("https://", 0) != 0) {
    return Status::error("config", std::string(section) + ".url_" +
                                       (file.empty() ? "env: " + env : "file: " + file) +
                                       " does not hold an http:// or https:// URL");
  }
  return url;
}

std::optional<Millis> retry_after_seconds(const HttpResponse& r) {
  auto v = r.header("Retry-After");
  if (!v) return std::nullopt;
  std::string_view s = *v;
  while (!s.empty() && s.front() == ' ') s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\r')) s.remove_suffix(1);
  int64_t seconds = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), seconds);
  if (ec != std::errc() || end != s.data() + s.size() || seconds < 0) return std::nullopt;
  return Millis(std::min<int64_t>(seconds, 24 * 3600) * 1000);
}

std::string http_error(std::string_view where, int status, std::string_view detail) {
  std::string out = std::string(where) + "HTTP " + std::to_string(status);
  if (!detail.empty()) out += ": " + std::string(detail);
  return out;
}

std::optional<Outcome> classify_transient(std::string_view where, const HttpResponse& r,
                                          std::string_view detail,
                                          std::initializer_list<int> also_retry) {
  if (!r.error.empty() || r.status == 0) {
    return Outcome::retry(std::string(where) + (r.error.empty() ? "no response" : r.error));
  }
  const bool listed = std::find(also_retry.begin(), also_retry.end(), r.status) != also_retry.end();
  if (r.status == 408 || r.status == 429 || r.status >= 500 || listed) {
    return Outcome::retry(http_error(where, r.status, detail), retry_after_seconds(r));
  }
  return std::nullopt;
}

std::string clip(std::string text, size_t max) {
  if (text.size() > max) text = text.substr(0, max) + "...";
  return text;
}

std::string printable_excerpt(std::string_view body, size_t max) {
  std::string out;
  for (char c : body.substr(0, max)) {
    const auto u = static_cast<unsigned char>(c);
    out += (u >= 0x20 && u < 0x7f) ? c : ' ';
  }
  while (!out.empty() && out.back() == ' ') out.pop_back();
  return clip(out, max);
}

std::string encode_path_segment(std::string_view segment) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  for (char c : segment) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  static constexpr char kAlphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) |
                       (uint32_t(uint8_t(bytes[i + 1])) << 8) | uint8_t(bytes[i + 2]);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += kAlphabet[n & 63];
  }
  if (i + 1 == bytes.size()) {
    const uint32_t n = uint32_t(uint8_t(bytes[i])) << 16;
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += "==";
  } else if (i + 2 == bytes.size()) {
    const uint32_t n = (uint32_t(uint8_t(bytes[i])) << 16) | (uint32_t(uint8_t(bytes[i + 1])) << 8);
    out += kAlphabet[(n >> 18) & 63];
    out += kAlphabet[(n >> 12) & 63];
    out += kAlphabet[(n >> 6) & 63];
    out += '=';
  }
  return out;
}

std::string with_slash(std::string url) {
  while (url.size() > 1 && url.back() == '/' && url[url.size() - 2] == '/') url.pop_back();
  if (url.empty() || url.back() != '/') url += '/';
  return url;
}

std::vector<std::string> url_secrets(const std::string& url) {
  std::vector<std::string> out{url};
  const size_t scheme = url.find("://");
  const size_t path = url.find('/', scheme == std::string::npos ? 0 : scheme + 3);
  if (path == std::string::npos) return out;
  out.push_back(url.substr(path));
  std::string part;
  for (char c : url.substr(path) + "/") {
    if (c == '/' || c == '?' || c == '&' || c == '=') {
      if (part.size() >= 8) out.push_back(part);
      part.clear();
    } else {
      part += c;
    }
  }
  return out;
}

Status need_object(std::string_view where, const json& parent, const char* key,
                   std::string_view path) {
  auto it = parent.find(key);
  if (it == parent.end()) return bad_payload(where, path, "is required");
  if (!it->is_object()) return bad_payload(where, path, "must be a JSON object");
  return Status::ok();
}

Status need_string(std::string_view where, const json& parent, const char* key,
                   std::string_view path) {
  auto it = parent.find(key);
  if (it == parent.end()) return bad_payload(where, path, "is required");
  if (!it->is_string() || it->get<std::string>().empty()) {
    return bad_payload(where, path, "must be a non-empty string");
  }
  return Status::ok();
}

Status optional_string(std::string_view where, const json& parent, const char* key,
                       std::string_view path) {
  auto it = parent.find(key);
  if (it != parent.end() && !it->is_string()) return bad_payload(where, path, "must be a string");
  return Status::ok();
}

std::string string_at(const json& doc, const char* key) {
  if (!doc.is_object()) return "";
  auto it = doc.find(key);
  return it != doc.end() && it->is_string() ? it->get<std::string>() : "";
}

}  // namespace reflex::hub
