#include "tests/support/pg_server.h"

#include <pwd.h>
#include <signal.h>
#include <unistd.h>

#include <cstdlib>
#include <filesystem>
#include <fstream>

namespace reflex::testing {
namespace {

// Debian's postgresql-15; REFLEX_PG_BINDIR points elsewhere (another version, a build).
std::string server_bin_dir() {
  const char* dir = std::getenv("REFLEX_PG_BINDIR");
  return dir && *dir ? dir : "/usr/lib/postgresql/15/bin";
}

constexpr const char* kRunuser = "/usr/sbin/runuser";
constexpr const char* kSuperuser = "reflex";
constexpr const char* kDatabase = "reflex_test";

std::string tail(const std::string& text, size_t max = 2000) {
  return text.size() <= max ? text : "..." + text.substr(text.size() - max);
}

}  // namespace

Result<std::unique_ptr<PgServer>> PgServer::launch(const PgServerOptions& options) {
  std::unique_ptr<PgServer> server(new PgServer());
  REFLEX_RETURN_IF_ERROR(server->initialise(options));
  return server;
}

Status PgServer::initialise(const PgServerOptions& options) {
  bin_dir_ = server_bin_dir();
  for (const char* program : {"initdb", "pg_ctl", "postgres", "createdb"}) {
    std::string path = bin_dir_ + "/" + program;
    if (::access(path.c_str(), X_OK) != 0) {
      return Status::error("missing", "PostgreSQL 15 is not installed: no " + path +
                                          " (scripts/install-deps installs postgresql-15)");
    }
  }
  if (::geteuid() == 0) {
    // PostgreSQL will not run as root; its own system user owns the directory instead.
    const passwd* user = ::getpwnam("postgres");
    if (user == nullptr) {
      return Status::error("missing",
                           "tests run as root, PostgreSQL refuses to, and there is no "
                           "`postgres` user to run it as (the postgresql-15 package creates it)");
    }
    if (::access(kRunuser, X_OK) != 0) {
      return Status::error("missing", std::string("tests run as root and ") + kRunuser +
                                          " (util-linux) is missing to run PostgreSQL as "
                                          "`postgres`");
    }
    if (::chown(dir_.path().c_str(), user->pw_uid, user->pw_gid) != 0) {
      return Status::error("io", "cannot give " + dir_.path().string() + " to the postgres user");
    }
    as_postgres_user_ = true;
  }
  data_dir_ = dir_.file("data");
  socket_dir_ = dir_.path().string();
  log_path_ = dir_.file("server.log");
  tcp_ = options.tcp;
  // The socket's name carries the port; alone in its directory any port will do.
  if (tcp_) port_ = reserve_port();

  REFLEX_RETURN_IF_ERROR(
      run_tool("initdb", {"-D", data_dir_, "-U", kSuperuser, "--auth=trust", "-E", "UTF8",
                          "--locale=C", "--no-sync", "--no-instructions"}));
  {
    // Appended as root or not, the file keeps its owner.
    std::ofstream conf(data_dir_ + "/postgresql.conf", std::ios::app);
    conf << "\n# PgServer (tests/support/pg_server.cc)\n"
         << "listen_addresses = '" << (tcp_ ? "127.0.0.1" : "") << "'\n"
         << "port = " << port_ << "\n"
         << "unix_socket_directories = '" << socket_dir_
         << "'\n"
         // Surviving an OS crash is not under test: no fsync. Commits still reach the
         // kernel before they return (synchronous_commit stays on), so a server killed
         // by stop() loses nothing it acknowledged.
         << (options.durable ? "fsync = on\nfull_page_writes = on\nshared_buffers = 128MB\n"
                             : "fsync = off\nfull_page_writes = off\nshared_buffers = 16MB\n")
         << "max_connections = 40\n"
         << "log_min_messages = warning\n";
    if (!conf) return Status::error("io", "cannot write " + data_dir_ + "/postgresql.conf");
  }
  dsn_ = dsn_for(kDatabase);
  REFLEX_RETURN_IF_ERROR(start());
  return create_database(kDatabase);
}

PgServer::~PgServer() {
  // postmaster.pid exists while a server runs on the directory (also one whose start
  // timed out); a clean stop removes it.
  const std::string pid_path = data_dir_ + "/postmaster.pid";
  if (data_dir_.empty() || !std::filesystem::exists(pid_path)) return;
  if (stop().is_ok()) return;
  // pg_ctl failed: kill the postmaster its pid file names, if that is still a postgres.
  std::ifstream pid_file(pid_path);
  pid_t pid = 0;
  if (!(pid_file >> pid) || pid <= 0) return;
  if (read_file("/proc/" + std::to_string(pid) + "/comm").starts_with("postgres")) {
    ::kill(pid, SIGKILL);
  }
}

std::string PgServer::dsn_for(const std::string& database) const {
  return "host=" + socket_dir_ + " port=" + std::to_string(port_) + " user=" + kSuperuser +
         " dbname=" + database;
}

std::string PgServer::tcp_dsn() const {
  if (!tcp_) return "";
  return "host=127.0.0.1 port=" + std::to_string(port_) + " user=" + kSuperuser +
         " dbname=" + kDatabase;
}

Status PgServer::run_tool(const std::string& program, std::vector<std::string> args) const {
  std::vector<std::string> argv;
  if (as_postgres_user_) argv = {kRunuser, "-u", "postgres", "--"};
  argv.push_back(bin_dir_ + "/" + program);
  argv.insert(argv.end(), args.begin(), args.end());
  Output out = run(argv);
  if (out.exit_code == 0) return Status::ok();
  return Status::error("postgres", program + " exited with " + std::to_string(out.exit_code) +
                                       ": " + tail(out.err + out.out) +
                                       "\nserver log: " + tail(log()));
}

Status PgServer::create_database(const std::string& name) {
  return run_tool("createdb",
                  {"-h", socket_dir_, "-p", std::to_string(port_), "-U", kSuperuser, name});
}

Status PgServer::stop() {
  REFLEX_RETURN_IF_ERROR(run_tool("pg_ctl", {"-D", data_dir_, "-m", "immediate", "-w", "stop"}));
  running_ = false;
  return Status::ok();
}

Status PgServer::start() {
  REFLEX_RETURN_IF_ERROR(
      run_tool("pg_ctl", {"-D", data_dir_, "-l", log_path_, "-w", "-t", "60", "start"}));
  running_ = true;
  return Status::ok();
}

Status PgServer::restart() {
  REFLEX_RETURN_IF_ERROR(stop());
  return start();
}

std::string PgServer::log() const {
  return read_file(log_path_);
}

}  // namespace reflex::testing
