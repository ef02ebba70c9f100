// Test support: a throwaway PostgreSQL 15 server of the test's own.
//
// initdb into a fresh temp directory, a server listening on a unix socket in that
// directory (and optionally on 127.0.0.1 at a reserved port), fsync off (unless
// `durable`), trust authentication for the superuser "reflex", and one database,
// "reflex_test". The destructor stops it (immediate shutdown) and removes the directory.
// Used by the tests and by bench/cluster. Nothing of the machine's own PostgreSQL (the
// distro's cluster, port 5432) is used or touched.
//
// PostgreSQL refuses to run as root, so when the tests run as root the directory is given
// to the `postgres` system user (created by Debian's postgresql-15 package) and the
// server's programs run as that user (runuser).
#pragma once

#include <memory>
#include <string>

#include "common/status.h"
#include "tests/support/process.h"

namespace reflex::testing {

struct PgServerOptions {
  // Also listen on 127.0.0.1, at a port reserved for this test process (reserve_port()).
  bool tcp = false;
  // Flush as a production server does (fsync, full page writes) with PostgreSQL's default
  // shared_buffers, for benchmarks that compare durable stores; tests leave it off.
  bool durable = false;
};

class PgServer {
 public:
  // Creates and starts a server; waits until it accepts connections. Fails with code
  // "missing" when PostgreSQL 15's server programs (or, as root, the postgres user) are
  // not installed, naming what is missing; "postgres" when a program fails, with its
  // output and the server log's tail.
  static Result<std::unique_ptr<PgServer>> launch(const PgServerOptions& options = {});

  ~PgServer();
  PgServer(const PgServer&) = delete;
  PgServer& operator=(const PgServer&) = delete;

  // libpq conninfo for the database "reflex_test" over the unix socket.
  const std::string& dsn() const { return dsn_; }
  // The same for another database (see create_database()).
  std::string dsn_for(const std::string& database) const;
  // Over TCP to 127.0.0.1; empty unless launched with `tcp`.
  std::string tcp_dsn() const;
  int port() const { return port_; }
  const std::string& socket_dir() const { return socket_dir_; }

  // A new empty database owned by the superuser.
  Status create_database(const std::string& name);

  // Immediate shutdown, as in a crash: clients' sessions end without warning and the next
  // start() runs crash recovery. The data stays.
  Status stop();
  // Starts the stopped server on the same directory and port; waits until it accepts
  // connections.
  Status start();
  Status restart();
  bool running() const { return running_; }

  // The server's log, for failure messages.
  std::string log() const;

 private:
  PgServer() = default;
  Status initialise(const PgServerOptions& options);
  // Runs one of the server's programs, as the postgres user when the tests run as root.
  Status run_tool(const std::string& program, std::vector<std::string> args) const;

  TempDir dir_;
  std::string bin_dir_;
  std::string data_dir_;
  std::string socket_dir_;
  std::string log_path_;
  std::string dsn_;
  bool as_postgres_user_ = false;
  bool tcp_ = false;
  int port_ = 5432;
  bool running_ = false;
};

}  // namespace reflex::testing
