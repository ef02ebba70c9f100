// A real reflex-hub process for a benchmark, and the scratch directory it lives in.
//
// The hub is started exactly as operators start it (binary, --config, --ready-file) and
// found through its ready file, never through fixed ports or sleeps. A hub of a cluster
// (PostgreSQL store) rewrites the file when its role changes: {"role", "hub_id",
// "http_port", "ingest" (null while it does not ingest), "pid"}. Destroying a HubProcess
// that is still running kills it (SIGKILL) and reaps it, so an aborted benchmark leaves no
// process behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <filesystem>
#include <memory>
#include <string>

#include "common/status.h"

namespace reflex::bench {

// A fresh directory under `parent`, removed with its contents on destruction unless
// keep() was called.
class ScratchDir {
 public:
  static Result<std::unique_ptr<ScratchDir>> create(const std::string& parent,
                                                    const std::string& prefix);
  ~ScratchDir();
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  std::string file(const std::string& name) const { return (path_ / name).string(); }
  Status write(const std::string& name, const std::string& text) const;
  void keep() { keep_ = true; }

 private:
  explicit ScratchDir(std::filesystem::path path) : path_(std::move(path)) {}
  std::filesystem::path path_;
  bool keep_ = false;
};

class HubProcess {
 public:
  // Runs `binary --config CONFIG --ready-file DIR/hub.ready` in `dir` with stdout and
  // stderr in `log`, and waits up to `ready_timeout` for the ready file. On failure the
  // error carries the tail of the hub's log. One hub per directory.
  static Result<std::unique_ptr<HubProcess>> start(const std::string& binary,
                                                   const std::string& config,
                                                   const std::string& dir, const std::string& log,
                                                   std::chrono::milliseconds ready_timeout);
  ~HubProcess();
  HubProcess(const HubProcess&) = delete;
  HubProcess& operator=(const HubProcess&) = delete;

  pid_t pid() const { return pid_; }
  // False once it was stopped or killed.
  bool running() const { return running_; }
  // As the ready file said when it was last read: the agent endpoint ("" when the hub
  // does not ingest), the HTTP port, and for a hub of a cluster its role and id.
  const std::string& ingest_endpoint() const { return ingest_; }
  int http_port() const { return http_port_; }
  const std::string& role() const { return role_; }
  const std::string& hub_id() const { return hub_id_; }

  // Reads the ready file again; fails when it cannot be read or parsed.
  Status refresh();
  // Re-reads the ready file every few milliseconds until it names `role`, for at most
  // `timeout`. Fails when the hub exits or the time runs out.
  Status wait_role(const std::string& role, std::chrono::milliseconds timeout);
  // SIGKILL, as in a crash, and reaps it.
  void kill();

  // SIGTERM, then waits up to `timeout` for the exit (SIGKILL after that). Fails unless
  // the hub exited by itself with status 0.
  Status stop(std::chrono::milliseconds timeout);

 private:
  HubProcess(pid_t pid, std::string log, std::string ready)
      : pid_(pid), log_(std::move(log)), ready_(std::move(ready)) {}
  // Waits up to `timeout` for the exit; true (and the exit status) once reaped.
  bool reap(std::chrono::milliseconds timeout, int& status);
  std::string log_tail() const;

  pid_t pid_ = -1;
  bool running_ = true;
  std::string log_;
  std::string ready_;
  std::string ingest_;
  int http_port_ = 0;
  std::string role_;
  std::string hub_id_;
};

}  // namespace reflex::bench
