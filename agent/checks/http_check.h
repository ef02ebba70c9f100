// The `http` check: one request per run through the shared HttpClient, judged by its
// status code and, optionally, a regular expression over the body.
//
//   type: http
//   url: https://example.com/healthz      # required; http:// or https://
//   method: GET                           # GET, HEAD, POST, PUT, PATCH, DELETE, OPTIONS
//   headers: {Authorization: Bearer x}
//   expect_status: [200, 204]             # default: any 2xx or 3xx
//   body_match: '"status":\s*"ok"'        # ECMAScript regex searched in the body
//   tls_verify: true
//   follow_redirects: false
#pragma once

#include <map>
#include <memory>
#include <string>
#include <vector>

#include "agent/checks/check.h"
#include "common/config.h"
#include "common/http_client.h"

namespace reflex::agent {

struct HttpCheckConfig {
  std::string url;
  std::string method = "GET";
  std::map<std::string, std::string> headers;
  std::vector<int> expect_status;  // empty: any 2xx or 3xx
  std::string body_match;          // empty: the body is not looked at
  bool tls_verify = true;
  bool follow_redirects = false;
};

// Reads the http-specific keys of one check; problems go to r.errors(), named by path.
void read_http_check(config::MapReader& r, HttpCheckConfig& out);

// Only the first 64 KiB of a body are read (and matched). `client` must outlive the
// check; destroying the check abandons its request in flight. The config must have
// passed read_http_check (an invalid body_match makes every run UNKNOWN).
std::unique_ptr<PeriodicCheck> make_http_check(CheckSpec spec, HttpCheckConfig config,
                                               HttpClient& client);

}  // namespace reflex::agent
