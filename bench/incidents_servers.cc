#include "bench/incidents_servers.h"

#include <httplib.h>

#include <thread>

#include "bench/agent_footprint_targets.h"
#include "common/sqlite.h"

namespace reflex::bench {
namespace {

constexpr auto kReadyTimeout = std::chrono::seconds(30);
constexpr auto kStopTimeout = std::chrono::seconds(60);

class ReflexReceiver final : public Receiver {
 public:
  explicit ReflexReceiver(std::unique_ptr<HubProcess> hub) : hub_(std::move(hub)) {}
  pid_t pid() const override { return hub_->pid(); }
  int http_port() const override { return hub_->http_port(); }
  std::string ingest_endpoint() const override { return hub_->ingest_endpoint(); }
  Status stop() override { return hub_->stop(kStopTimeout); }

 private:
  std::unique_ptr<HubProcess> hub_;
};

class AlertmanagerReceiver final : public Receiver {
 public:
  AlertmanagerReceiver(std::unique_ptr<ChildProcess> child, int port)
      : child_(std::move(child)), port_(port) {}
  pid_t pid() const override { return child_->pid(); }
  int http_port() const override { return port_; }
  Status stop() override { return child_->stop(kStopTimeout); }

 private:
  std::unique_ptr<ChildProcess> child_;
  int port_;
};

}  // namespace

Result<std::unique_ptr<Receiver>> start_reflex(const std::string& binary, const ScratchDir& dir,
                                               const std::string& extra_yaml) {
  REFLEX_RETURN_IF_ERROR(dir.write("hub.yaml",
                                   "listen: tcp://127.0.0.1:0\n"
                                   "http: 127.0.0.1:0\n"
                                   "store:\n"
                                   "  path: " +
                                       dir.file("hub.db") +
                                       "\n"
                                       "log:\n"
                                       "  level: warn\n" +
                                       extra_yaml));
  auto hub = HubProcess::start(binary, dir.file("hub.yaml"), dir.path().string(),
                               dir.file("hub.log"), kReadyTimeout);
  if (!hub) return hub.status();
  return std::unique_ptr<Receiver>(std::make_unique<ReflexReceiver>(std::move(hub).value()));
}

Result<std::unique_ptr<Receiver>> start_alertmanager(const std::string& binary,
                                                     const ScratchDir& dir, OrphanGuard* guard,
                                                     const std::string& config) {
  REFLEX_RETURN_IF_ERROR(dir.write("alertmanager.yml", config));
  auto port = free_port(false);
  if (!port) return port.status();
  std::filesystem::create_directories(dir.path() / "am-data");
  auto child = ChildProcess::start({binary, "--config.file=" + dir.file("alertmanager.yml"),
                                    "--storage.path=" + dir.file("am-data"),
                                    "--web.listen-address=127.0.0.1:" + std::to_string(*port),
                                    "--cluster.listen-address=", "--log.level=warn"},
                                   dir.path().string(), dir.file("alertmanager.log"), guard);
  if (!child) return child.status();
  httplib::Client client("127.0.0.1", *port);
  const auto deadline = std::chrono::steady_clock::now() + kReadyTimeout;
  for (;;) {
    if ((*child)->exited()) {
      return Status::error("alertmanager", "exited before it was ready:\n" + (*child)->log_tail());
    }
    auto res = client.Get("/-/ready");
    if (res && res->status == 200) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return Status::error("alertmanager", "not ready within 30 s:\n" + (*child)->log_tail());
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(50));
  }
  return std::unique_ptr<Receiver>(
      std::make_unique<AlertmanagerReceiver>(std::move(child).value(), *port));
}

Result<size_t> stored_external_alerts(const ScratchDir& dir) {
  auto db = sqlite::Database::open(dir.file("hub.db"));
  if (!db) return db.status();
  auto count = db->prepare("SELECT count(*) FROM alerts WHERE source LIKE 'external:%'");
  if (!count) return count.status();
  auto row = count->step();
  if (!row) return row.status();
  return static_cast<size_t>(count->column_int64(0));
}

}  // namespace reflex::bench
