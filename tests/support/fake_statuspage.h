// Test support: a fake Atlassian Statuspage API v1 on 127.0.0.1 (see
// the vendor documentation, https://developer.statuspage.io/) enforcing the documented contract of
// what Reflex calls:
//  - `Authorization: OAuth <api key>`, else 401; errors carry the documented
//    ErrorEntity {"message": "..."};
//  - POST v1/pages/{page_id}/incidents with {"incident": {...}}: name required (at most
//    255), status a realtime or scheduled value, impact_override one of none, minor,
//    major, critical, maintenance, body at most 25,000; 201 Incident with id and
//    shortlink;
//  - PATCH (or PUT) v1/pages/{page_id}/incidents/{id} with {"incident": {...}}: 200
//    Incident; each status or body adds an incident update; GET returns it;
//  - an unknown page or incident is 404; a body without the "incident" object is 400;
//    invalid fields are 422 (which of 400 and 422 a mistake gets is not documented, so
//    tests of clients should not depend on it).
// Unknown component ids are accepted (what Statuspage does with them is unconfirmed).
#pragma once

#include <map>
#include <string>
#include <vector>

#include "tests/support/fake_vendor.h"

namespace reflex::testing {

class FakeStatuspage {
 public:
  struct Incident {
    std::string id;
    std::string name;
    std::string status;
    std::string impact;
    std::vector<std::string> component_ids;
    std::vector<std::pair<std::string, std::string>> updates;  // (status, body)
  };

  explicit FakeStatuspage(std::string api_key = "statuspage-fake-key-0000",
                          std::string page_id = "kctbh9vrtdwd", int port = 0);

  // "http://127.0.0.1:<port>/v1/": the base URL to configure.
  std::string base_url() const { return server_.url("/v1/"); }
  const std::string& api_key() const { return api_key_; }
  const std::string& page_id() const { return page_id_; }

  int port() const { return server_.port(); }
  void fail_next(int n, FakeVendorServer::Fault fault) { server_.fail_next(n, std::move(fault)); }
  // The next `n` calls get `status` (420, Statuspage's historical code, or 429) with
  // Retry-After.
  void rate_limit_next(int n, int status, int retry_after_seconds);
  void down() { server_.down(); }
  void up() { server_.up(); }
  std::vector<FakeVendorServer::Received> received() const { return server_.received(); }

  std::vector<Incident> incidents() const;

 private:
  using Answer = FakeVendorServer::Answer;
  Answer handle(const FakeVendorServer::Request& req);
  // The error of `incident`'s fields; "" when valid. `create`: name is required.
  std::string invalid(const nlohmann::json& incident, bool create) const;
  void apply(Incident& i, const nlohmann::json& fields);
  nlohmann::json incident_json(const Incident& i) const;

  std::string api_key_;
  std::string page_id_;
  mutable std::mutex mu_;
  std::vector<Incident> incidents_;
  FakeVendorServer server_;  // last: stops before the state goes
};

}  // namespace reflex::testing
