// SQLite WAL checkpoints on a thread of their own (see Checkpointer).
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>

#include "common/sqlite.h"

namespace reflex::sqlite {

// Takes WAL checkpoints off a writer's commits. By default the connection that commits
// past 1000 WAL pages copies the WAL back into the database file itself, fsync included,
// before its commit returns: a pause every few commits on the hot path. With a
// Checkpointer, `writer` no longer does that; once a commit leaves at least `pages`
// frames in the WAL, a thread of its own runs a passive checkpoint on a connection of
// its own (which never blocks the writer; the writer starts the WAL over once a
// checkpoint has copied everything). Durability is unchanged: a commit is durable in the
// WAL. Must be destroyed before `writer`; the destructor runs one last checkpoint.
class Checkpointer {
 public:
  static Result<std::unique_ptr<Checkpointer>> start(Database& writer, int pages = 1000);
  ~Checkpointer();
  Checkpointer(const Checkpointer&) = delete;
  Checkpointer& operator=(const Checkpointer&) = delete;

  // Checkpoints run so far and the last one's error ("" when it succeeded); for tests
  // and metrics.
  uint64_t runs() const;
  std::string last_error() const;

 private:
  Checkpointer(Database& writer, Database own, int pages);
  static int on_commit(void* self, sqlite3* db, const char* name, int pages);
  void run();
  void checkpoint();

  Database& writer_;
  Database own_;
  const int pages_;
  mutable std::mutex mu_;
  std::condition_variable wake_;
  bool due_ = false;
  bool quit_ = false;
  uint64_t runs_ = 0;
  std::string last_error_;
  std::thread thread_;
};

}  // namespace reflex::sqlite
