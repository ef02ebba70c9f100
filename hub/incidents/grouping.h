// Which incident an alert belongs to, and how many hosts an incident's service has.
// Pure functions: the engine calls them per signal, the API when it describes an incident.
#pragma once

#include <cstdint>
#include <string>
#include <unordered_map>
#include <vector>

#include "hub/store.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents {

// An incident group. `key` is canonical: two alerts belong to the same group exactly
// when their keys are equal.
struct Group {
  std::string key;          // e.g. {service="checkout",env="prod"}
  protocol::Labels labels;  // the grouping labels and their values; empty when by fingerprint
  bool by_fingerprint = false;

  bool operator==(const Group&) const = default;
};

// Groups by the values of `keys`, in the order given (Prometheus label-set notation,
// quotes and backslashes escaped, so values cannot forge a key). An alert that lacks any
// of the keys, or has one empty, groups by its own fingerprint, {fingerprint="..."}: a
// partial match would lump unrelated alerts (every service-less alert of an env) into
// one incident. Configure fewer keys to group more coarsely.
Group group_of(const protocol::Labels& labels, const std::vector<std::string>& keys,
               const std::string& fingerprint);

// Hosts per service, for "k of n hosts": distinct hostnames of the agents whose label
// `service_label` has that value, lost agents included (they are still hosts of the
// service). Built from the agents registry when agents change, not per signal.
std::unordered_map<std::string, uint32_t> known_hosts_by_service(
    const std::vector<AgentRecord>& agents, const std::string& service_label = "service");

// "3 of 12 hosts"; "3 hosts" when the number of known hosts is unknown (0) or smaller
// than the number affected (external alerts can name hosts that run no agent);
// "1 host" in the singular.
std::string describe_hosts(uint32_t affected, uint32_t known);

}  // namespace reflex::hub::incidents
