#include "tests/cluster/cluster_fixture.h"

#include <signal.h>

#include <stdexcept>

#include "common/pg.h"

namespace reflex::testing {

ClusterHub::ClusterHub(ClusterHubs& cluster, std::string id)
    : cluster_(cluster),
      id_(std::move(id)),
      ingest_("tcp://127.0.0.1:" + std::to_string(reserve_port())),
      http_port_(reserve_port()) {}

std::string ClusterHub::log() const {
  return read_file(cluster_.dir().file(id_ + ".log"));
}

void ClusterHub::start() {
  const std::string config = cluster_.dir().write(id_ + ".yaml", cluster_.config_for(*this));
  const std::string ready = cluster_.dir().file(id_ + ".ready");
  std::filesystem::remove(ready);
  child_ = std::make_unique<Child>(
      std::vector<std::string>{hub_binary(), "--config", config, "--ready-file", ready},
      cluster_.dir().file(id_ + ".log"), cluster_.dir().path().string());
  if (!wait_until([&] { return std::filesystem::exists(ready); }, std::chrono::seconds(20))) {
    throw std::runtime_error("hub " + id_ + " did not start serving:\n" + log());
  }
}

void ClusterHub::kill() {
  child_->signal(SIGKILL);
  child_->wait();
}

nlohmann::json ClusterHub::cluster() const {
  auto out = run({"/usr/bin/curl", "-fsS", "--max-time", "2", url() + "/api/v1/cluster"});
  if (out.exit_code != 0) return nullptr;
  auto doc = nlohmann::json::parse(out.out, nullptr, false);
  return doc.is_discarded() ? nlohmann::json() : doc;
}

std::string ClusterHub::role() const {
  const auto doc = cluster();
  if (!doc.is_object() || !doc.contains("self")) return "";
  return doc["self"].value("role", "");
}

ClusterHubs::ClusterHubs(std::string extra_yaml, std::string lease)
    : extra_yaml_(std::move(extra_yaml)), lease_(std::move(lease)) {
  auto pg = PgServer::launch();
  if (!pg) throw std::runtime_error(pg.status().to_string());
  pg_ = std::move(pg).value();
}

ClusterHub& ClusterHubs::add(const std::string& id) {
  hubs_.push_back(std::make_unique<ClusterHub>(*this, id));
  return *hubs_.back();
}

std::string ClusterHubs::config_for(const ClusterHub& hub) const {
  return "listen: " + hub.ingest() + "\nhttp: 127.0.0.1:" + std::to_string(hub.http_port()) +
         "\nstore: {backend: postgres, dsn: \"" + pg_->dsn() + "\", pool: 2}\n" +
         "cluster: {hub_id: " + hub.id() + ", lease: " + lease_ + "}\n" +
         "agents: {lost_after_missed: 3, check_interval: 50ms}\n" + extra_yaml_;
}

ClusterHub* ClusterHubs::leader() {
  ClusterHub* found = nullptr;
  for (auto& h : hubs_) {
    if (!h->running() || h->role() != "leader") continue;
    if (found) return nullptr;  // two say so: not settled
    found = h.get();
  }
  return found;
}

ClusterHub& ClusterHubs::wait_leader(std::chrono::milliseconds timeout) {
  ClusterHub* found = nullptr;
  if (!wait_until([&] { return (found = leader()) != nullptr; }, timeout)) {
    throw std::runtime_error("no single leader:\n" + logs());
  }
  return *found;
}

std::string ClusterHubs::logs() const {
  std::string out;
  for (const auto& h : hubs_) out += "--- " + h->id() + "\n" + h->log();
  for (const auto& a : agents_) out += "--- " + a + "\n" + read_file(dir_.file(a + ".log"));
  return out;
}

std::unique_ptr<Child> ClusterHubs::start_agent(const std::string& id, int events, int rate,
                                                const ClusterHub* first,
                                                const std::string& extra_yaml) {
  agents_.push_back(id);
  std::string endpoints = first ? first->ingest() : "";
  for (auto& h : hubs_) {
    if (h.get() != first) endpoints += (endpoints.empty() ? "" : ", ") + h->ingest();
  }
  const std::string cfg = dir_.write(
      id + ".yaml",
      "id: " + id +
          "\nlabels: {service: checkout}\nheartbeat_interval: 200ms"
          "\nstatus_http: {listen: '127.0.0.1:0'}\nhub: {endpoints: [" +
          endpoints + "], ack_timeout: 1s, failover_after: 1, failback_after: 1h}\nspool: {path: " +
          dir_.file(id + "-spool.db") + "}\nload_test: {events: " + std::to_string(events) +
          ", rate: " + std::to_string(rate) + "}\n" + extra_yaml);
  return std::make_unique<Child>(std::vector<std::string>{agent_binary(), "--config", cfg},
                                 dir_.file(id + ".log"));
}

std::vector<uint64_t> ClusterHubs::stored_seqs(const std::string& agent_id) const {
  std::vector<uint64_t> out;
  auto conn = pg::Connection::open(pg_->dsn());
  if (!conn) return out;
  // Heap order: the table is only ever appended to, so it is the order of the commits.
  auto rows = conn->query("SELECT seq FROM events WHERE agent_id = $1 ORDER BY ctid", agent_id);
  if (!rows) return out;
  for (int i = 0; i < rows->size(); ++i) {
    out.push_back(static_cast<uint64_t>((*rows)[i].column_int64(0)));
  }
  return out;
}

std::string ClusterHubs::peek(const std::string& sql) const {
  auto conn = pg::Connection::open(pg_->dsn());
  if (!conn) return "";
  auto rows = conn->query(sql);
  if (!rows || rows->empty()) return "";
  return (*rows)[0].column_text(0);
}

}  // namespace reflex::testing
