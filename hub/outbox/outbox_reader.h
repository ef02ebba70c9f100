// Reading the outbox table beside the store's writer: the delivery stage resumes its rows
// and looks up idempotency keys, GET /api/v1/outbox lists them. A reader has a connection
// of its own on the hub's store, whichever the backend, and sees the last committed state.
// Thread-safe (calls take turns on the connection).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include "common/status.h"
#include "hub/config.h"
#include "hub/outbox/outbox_row.h"

namespace reflex::hub {

class OutboxReader {
 public:
  virtual ~OutboxReader() = default;
  // Pending and sending rows, oldest first: what a (re)started delivery stage resumes.
  virtual Result<std::vector<OutboxRow>> load_open() = 0;
  virtual Result<std::optional<OutboxRow>> find(uint64_t id) = 0;
  virtual Result<std::optional<OutboxRow>> find_by_key(const std::string& idempotency_key) = 0;
  virtual Result<std::vector<OutboxRow>> list(const OutboxQuery& q) = 0;
  // The highest id ever stored, 0 for an empty table.
  virtual Result<uint64_t> max_id() = 0;
};

// Opens a reader on the store `cfg` names, which open_store() has already migrated.
Result<std::unique_ptr<OutboxReader>> open_outbox_reader(const StoreConfig& cfg);

}  // namespace reflex::hub
