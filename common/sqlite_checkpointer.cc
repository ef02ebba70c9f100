#include "common/sqlite_checkpointer.h"

#include <sqlite3.h>

namespace reflex::sqlite {

Result<std::unique_ptr<Checkpointer>> Checkpointer::start(Database& writer, int pages) {
  OpenOptions options;
  options.wal = false;  // the file is already in WAL mode; this connection only reads it
  auto own = Database::open(writer.path(), options);
  if (!own) return own.status();
  return std::unique_ptr<Checkpointer>(new Checkpointer(writer, std::move(own).value(), pages));
}

Checkpointer::Checkpointer(Database& writer, Database own, int pages)
    : writer_(writer), own_(std::move(own)), pages_(pages), thread_([this] { run(); }) {
  // Our hook replaces SQLite's automatic checkpoint, which is itself a WAL hook.
  sqlite3_wal_hook(writer_.db_, &Checkpointer::on_commit, this);
}

Checkpointer::~Checkpointer() {
  sqlite3_wal_autocheckpoint(writer_.db_, 1000);  // the default hook again
  {
    std::lock_guard lock(mu_);
    quit_ = true;
  }
  wake_.notify_one();
  thread_.join();
}

int Checkpointer::on_commit(void* self, sqlite3*, const char*, int pages) {
  auto* c = static_cast<Checkpointer*>(self);
  if (pages >= c->pages_) {
    {
      std::lock_guard lock(c->mu_);
      c->due_ = true;
    }
    c->wake_.notify_one();
  }
  return SQLITE_OK;
}

void Checkpointer::run() {
  std::unique_lock lock(mu_);
  for (;;) {
    wake_.wait(lock, [this] { return due_ || quit_; });
    bool last = quit_;
    due_ = false;
    lock.unlock();
    checkpoint();
    lock.lock();
    if (last) return;
  }
}

void Checkpointer::checkpoint() {
  int rc =
      sqlite3_wal_checkpoint_v2(own_.db_, nullptr, SQLITE_CHECKPOINT_PASSIVE, nullptr, nullptr);
  std::string error =
      rc == SQLITE_OK ? "" : own_.path() + ": checkpoint: " + sqlite3_errmsg(own_.db_);
  std::lock_guard lock(mu_);
  ++runs_;
  last_error_ = std::move(error);
}

uint64_t Checkpointer::runs() const {
  std::lock_guard lock(mu_);
  return runs_;
}

std::string Checkpointer::last_error() const {
  std::lock_guard lock(mu_);
  return last_error_;
}

}  // namespace reflex::sqlite
