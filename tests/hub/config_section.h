// Reading one section of hub.yaml in a test: parse `yaml`, run `read` (one of the
// read_*_config functions) on its top-level reader, and keep the value and the errors.
#pragma once

#include <catch2/catch.hpp>
#include <string>

#include "common/config.h"
#include "hub/policy/policy_config.h"

namespace reflex::testing {

template <class Config>
struct SectionRead {
  Config config;
  Status status;
};

template <class Config, class Read>
SectionRead<Config> read_section(const std::string& yaml, Read read) {
  auto root = config::parse_yaml(yaml, "hub.yaml");
  INFO(root.status().to_string());
  REQUIRE(root);
  SectionRead<Config> r;
  config::Errors errors("hub.yaml");
  {
    config::MapReader top(*root, "", errors);
    read(top, r.config);
  }  // unknown keys are reported when the reader finishes
  r.status = errors.status();
  return r;
}

// The routes and workflows of `yaml`; the test stops when they do not read cleanly.
inline hub::policy::PolicyConfig policy_from(const std::string& yaml) {
  auto read = read_section<hub::policy::PolicyConfig>(
      yaml, [](config::MapReader& top, hub::policy::PolicyConfig& out) {
        hub::policy::read_policy_config(top, out);
      });
  INFO(read.status.to_string());
  REQUIRE(read.status);
  return read.config;
}

}  // namespace reflex::testing
