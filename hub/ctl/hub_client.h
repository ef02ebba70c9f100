// reflexctl's blocking HTTP client for the hub API (libcurl easy interface).
#pragma once

#include <string>

#include "common/status.h"

namespace reflex::ctl {

struct HttpResponse {
  long status = 0;
  std::string body;
};

class HubClient {
 public:
  // `base_url` like http://127.0.0.1:7180; `token` is sent as a Bearer token if set.
  HubClient(std::string base_url, std::string token, long timeout_ms = 10'000);

  // A transport failure (refused, timeout) is an error naming the URL; any HTTP status
  // comes back as a response for the caller to judge.
  Result<HttpResponse> get(const std::string& path) const;
  // POSTs `json_body` (Content-Type: application/json).
  Result<HttpResponse> post(const std::string& path, const std::string& json_body) const;
  bool has_token() const { return !token_.empty(); }

 private:
  Result<HttpResponse> request(const std::string& path, const std::string* body) const;

  std::string base_url_;
  std::string token_;
  long timeout_ms_;
};

// The bearer token in `path`, without surrounding whitespace; an error naming the file
// when it cannot be read or holds no token.
Result<std::string> read_token_file(const std::string& path);

}  // namespace reflex::ctl
