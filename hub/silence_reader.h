// Reading the silences table beside the store's writer, for GET /api/v1/silences. A reader
// has a connection of its own on the hub's store, whichever the backend, and sees the last
// committed state. Thread-safe (calls take turns on the connection).
#pragma once

#include <cstdint>
#include <memory>
#include <optional>
#include <vector>

#include "common/status.h"
#include "hub/config.h"
#include "hub/incidents/silences.h"

namespace reflex::hub {

class SilenceReader {
 public:
  virtual ~SilenceReader() = default;
  // Every silence ever stored, by id.
  virtual Result<std::vector<incidents::Silence>> all() = 0;
  // One silence, however old; nullopt when no silence has that id.
  virtual Result<std::optional<incidents::Silence>> silence(uint64_t id) = 0;
};

// Opens a reader on the store `cfg` names, which open_store() has already migrated.
Result<std::unique_ptr<SilenceReader>> open_silence_reader(const StoreConfig& cfg);

}  // namespace reflex::hub
