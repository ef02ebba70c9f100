#include "tests/e2e/hub_fixture.h"

#include <signal.h>

#include <stdexcept>

#include "common/sqlite.h"

namespace reflex::testing {

HubProcess::HubProcess(const std::string& extra_yaml)
    : ingest_("tcp://127.0.0.1:" + std::to_string(reserve_port())), http_port_(reserve_port()) {
  // Ports of this test's own, so a stopped hub's agents never meet another test's hub.
  dir_.write("hub.yaml", "listen: " + ingest_ + "\nhttp: 127.0.0.1:" + std::to_string(http_port_) +
                             "\nstore: {path: " + dir_.file("hub.db") +
                             "}\n"
                             "agents: {lost_after_missed: 3, check_interval: 50ms}\n" +
                             extra_yaml);
  launch();
}

void HubProcess::restart() {
  stop(SIGTERM);
  start();
}

void HubProcess::stop(int sig) {
  child_->signal(sig);
  const int code = child_->wait();
  if (sig == SIGTERM && code != 0) throw std::runtime_error("hub did not stop cleanly:\n" + log());
}

void HubProcess::start() {
  launch();
}

std::vector<uint64_t> HubProcess::stored_seqs(const std::string& agent_id) const {
  std::vector<uint64_t> out;
  auto db = sqlite::Database::open(dir_.file("hub.db"));
  if (!db) return out;
  auto st = db->prepare("SELECT seq FROM events WHERE agent_id = ? ORDER BY rowid");
  if (!st || !st->bind_all(agent_id)) return out;
  while (true) {
    auto row = st->step();
    if (!row || !*row) break;
    out.push_back(static_cast<uint64_t>(st->column_int64(0)));
  }
  return out;
}

std::vector<std::string> HubProcess::stored_frames(const std::string& agent_id) const {
  std::vector<std::string> out;
  auto db = sqlite::Database::open(dir_.file("hub.db"));
  if (!db) return out;
  auto st = db->prepare("SELECT frame FROM events WHERE agent_id = ? ORDER BY seq");
  if (!st || !st->bind_all(agent_id)) return out;
  while (true) {
    auto row = st->step();
    if (!row || !*row) break;
    auto blob = st->column_blob(0);
    out.emplace_back(blob.begin(), blob.end());
  }
  return out;
}

void HubProcess::launch() {
  const std::string ready = dir_.file("hub.ready");
  std::filesystem::remove(ready);
  child_ = std::make_unique<Child>(
      std::vector<std::string>{hub_binary(), "--config", config_path(), "--ready-file", ready},
      dir_.file("hub.log"), dir_.path().string());
  if (!wait_until([&] { return std::filesystem::exists(ready); })) {
    throw std::runtime_error("hub did not become ready:\n" + log());
  }
}

std::unique_ptr<Child> HubProcess::start_agent(const std::string& id, const std::string& heartbeat,
                                               const std::string& extra_yaml,
                                               const std::string& spool_yaml) {
  const std::string cfg =
      dir_.write(id + ".yaml",
                 "id: " + id + "\nlabels: {service: checkout}\nheartbeat_interval: " + heartbeat +
                     "\nstatus_http: {listen: '127.0.0.1:0'}" + "\nhub: {endpoints: [" + ingest_ +
                     "], ack_timeout: 1s}\nspool: {path: " + dir_.file(id + "-spool.db") +
                     (spool_yaml.empty() ? "" : ", " + spool_yaml) + "}\n" + extra_yaml);
  return std::make_unique<Child>(std::vector<std::string>{agent_binary(), "--config", cfg},
                                 dir_.file(id + ".log"));
}

std::unique_ptr<Child> HubProcess::start_agent(const std::string& id, const AgentSpec& spec) {
  const std::string cfg = dir_.write(
      id + ".yaml", "id: " + id + "\n" +
                        (spec.hostname.empty() ? "" : "hostname: " + spec.hostname + "\n") +
                        "labels: " + spec.labels + "\nheartbeat_interval: " + spec.heartbeat +
                        "\nstatus_http: {listen: '127.0.0.1:0'}\nhub: {endpoints: [" + ingest_ +
                        "], ack_timeout: 1s}\nspool: {path: " + dir_.file(id + "-spool.db") +
                        "}\n" + spec.extra_yaml);
  return std::make_unique<Child>(std::vector<std::string>{agent_binary(), "--config", cfg},
                                 dir_.file(id + ".log"));
}

nlohmann::json HubProcess::agents() const {
  auto out = run({ctl_binary(), "--hub", url(), "agents", "--json"});
  if (out.exit_code != 0) return nlohmann::json::object();
  return nlohmann::json::parse(out.out, nullptr, false);
}

double HubProcess::metric(const std::string& sample) const {
  const std::string text = run({"/usr/bin/curl", "-fsS", url() + "/metrics"}).out;
  const auto pos = text.find("\n" + sample + " ");
  if (pos == std::string::npos) return 0;
  return std::stod(text.substr(pos + sample.size() + 2));
}

std::map<std::string, std::string> HubProcess::states() const {
  std::map<std::string, std::string> out;
  auto doc = agents();
  if (!doc.is_object() || !doc.contains("agents")) return out;
  for (const auto& a : doc["agents"]) out[a["id"]] = a["state"];
  return out;
}

Output HubProcess::ctl(const std::vector<std::string>& args) const {
  std::vector<std::string> argv{ctl_binary(), "--hub", url()};
  argv.insert(argv.end(), args.begin(), args.end());
  return run(argv);
}

nlohmann::json HubProcess::api_get(const std::string& path) const {
  auto out = run({"/usr/bin/curl", "-fsS", url() + path});
  if (out.exit_code != 0) return nullptr;
  return nlohmann::json::parse(out.out, nullptr, false);
}

}  // namespace reflex::testing
