// The CI job of a `rollback` step (`with: {job: ...}`): which CI system runs it, and the
// parameters it gets. Pure parsing, shared by check-config (policy_config.cc, on text
// without templates) and the calls a step makes (step_calls.cc, on the rendered text).
//
//   job: "jenkins:<job path>"                                  jenkins:deploy/checkout-rollback
//   job: "github:<owner>/<repo>/<workflow file or id>[@<ref>]"  github:acme/shop/rollback.yml@main
//        (ref defaults to main)
//   parameters: "NAME=value, NAME2=value2"  (a comma inside a value is kept when what
//        follows it is not NAME=; names are letters, digits, _ . and -, not starting
//        with a digit)
#pragma once

#include <map>
#include <nlohmann/json.hpp>
#include <string>
#include <string_view>

#include "common/status.h"

namespace reflex::hub::policy {

struct CiJob {
  std::string system;    // "jenkins" or "github"
  std::string job;       // jenkins: the job path "folder/name"
  std::string repo;      // github: "owner/name"
  std::string workflow;  // github: "rollback.yml"
  std::string ref;       // github: "main"
};

// The CI system a job's text names by its literal prefix ("jenkins" for
// "jenkins:deploy/{{service}}"); "" when it starts with neither prefix.
std::string ci_system_of(std::string_view job);

// The job `text` names. Errors say what is wrong and show the expected forms.
Result<CiJob> parse_ci_job(std::string_view text);

// "A=1, B=x, y" as {A: "1", B: "x, y"}; "" as none. Errors name the bad pair.
Result<std::map<std::string, std::string>> parse_ci_parameters(std::string_view text);

// The timeline's words for a done CI call, from its object's data (step_calls.h
// object_data): "jenkins build of deploy/rollback queued: <queue url>".
std::string describe_ci(const nlohmann::json& data);

}  // namespace reflex::hub::policy
