// On-call tests: an OncallConfig read from hub.yaml text (the real reader, so tests say
// what operators write) and instants written as RFC 3339.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "hub/incidents/rfc3339.h"
#include "hub/oncall/oncall_config.h"
#include "tests/hub/config_section.h"

namespace reflex::testing {

inline hub::oncall::OncallConfig oncall_from_yaml(const std::string& yaml) {
  auto r = read_section<hub::oncall::OncallConfig>(
      yaml, [](config::MapReader& top, hub::oncall::OncallConfig& out) {
        hub::oncall::read_oncall_config(top, out);
      });
  INFO(r.status.to_string());
  REQUIRE(r.status);
  return std::move(r.config);
}

// Epoch ms of an RFC 3339 instant.
inline int64_t at(const std::string& rfc3339) {
  auto ms = hub::incidents::parse_rfc3339_ms(rfc3339, "at");
  INFO(rfc3339);
  REQUIRE(ms);
  return *ms;
}

inline std::string iso(int64_t ms) {
  return hub::incidents::format_rfc3339_ms(ms);
}

// The people most tests page.
inline const char* kPeople = R"(
people:
  alice: {name: Alice Doe, slack: U012ABC, email: alice@example.com, phone_webhook: https://sms.example/alice}
  bob:   {slack: U034DEF, email: bob@example.com}
  carol: {email: carol@example.com}
  dave:  {slack: U056GHI}
)";

}  // namespace reflex::testing
