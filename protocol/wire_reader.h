// Internal to protocol/: typed, path-aware reads from an unpacked msgpack object tree.
//
// Every read checks the msgpack type and the target's range and returns a Status whose
// message starts with the field's path ("b.samples[3].value: expected float, got str"),
// so body decoders are a flat list of field reads. Nothing here throws.
#pragma once

#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "common/status.h"
#include "protocol/constants.h"
#include "protocol/messages.h"

namespace reflex::protocol::internal {

// Where a value sits in the frame. Links live on the caller's stack, each pointing at
// its parent, which must outlive it; the text is built only when an error needs it.
class Path {
 public:
  Path() = default;  // the envelope itself
  Path field(std::string_view key) const { return Path(this, key, kNoIndex); }
  Path at(size_t index) const { return Path(this, {}, index); }

  // "b.samples[3].value"; "envelope" for the root.
  std::string str() const;

 private:
  static constexpr size_t kNoIndex = static_cast<size_t>(-1);
  Path(const Path* parent, std::string_view key, size_t index)
      : parent_(parent), key_(key), index_(index) {}
  void append_to(std::string& out) const;

  const Path* parent_ = nullptr;
  std::string_view key_;
  size_t index_ = kNoIndex;
};

// Failures naming `path`; the codes are those in constants.h.
Status error_at(std::string_view code, const Path& path, std::string_view detail);
Status wrong_type(const Path& path, std::string_view expected, const msgpack::object& got);

// The value readers. Each checks the msgpack type (and range, and enum names) and
// writes `out` only on success.
Status read(const msgpack::object& o, const Path& p, std::string& out);
Status read(const msgpack::object& o, const Path& p, uint64_t& out);
Status read(const msgpack::object& o, const Path& p, uint32_t& out);
Status read(const msgpack::object& o, const Path& p, std::optional<int32_t>& out);
Status read(const msgpack::object& o, const Path& p, double& out);  // int or float
Status read(const msgpack::object& o, const Path& p, bool& out);
Status read(const msgpack::object& o, const Path& p, Labels& out);
Status read(const msgpack::object& o, const Path& p, std::map<std::string, uint64_t>& out);
Status read(const msgpack::object& o, const Path& p, std::vector<std::string>& out);
Status read(const msgpack::object& o, const Path& p, Severity& out);
Status read(const msgpack::object& o, const Path& p, AlertState& out);
Status read(const msgpack::object& o, const Path& p, RemediationOutcome& out);
Status read(const msgpack::object& o, const Path& p, CommandStatus& out);

enum class Need { kRequired, kOptional };

// The string-keyed entries of a msgpack map that encodes a struct (the envelope, a
// body, a Sample). Keys that are not strings are ignored like any unknown key.
// Refers into the unpacked tree and to `path`; both must outlive it.
class FieldMap {
 public:
  // wrong_type unless `object` is a map; malformed if a string key appears twice.
  static Result<FieldMap> open(const msgpack::object& object, const Path& path);

  // The value stored under `key`, or null when the key is absent.
  const msgpack::object* find(std::string_view key) const;
  const Path& path() const { return path_; }

  // Reads `key` into `out`. An absent required field is missing_field. An absent
  // optional field, or one sent as nil, leaves `out` at its default.
  template <class T>
  Status get(std::string_view key, Need need, T& out) const {
    const msgpack::object* value = find(key);
    const Path p = path_.field(key);
    if (value == nullptr) {
      return need == Need::kRequired ? error_at(code::kMissingField, p, "required field is missing")
                                     : Status::ok();
    }
    if (need == Need::kOptional && value->type == msgpack::type::NIL) return Status::ok();
    return read(*value, p, out);
  }

 private:
  using Entry = std::pair<std::string_view, const msgpack::object*>;
  FieldMap(const Path& path, std::vector<Entry> entries)
      : path_(path), entries_(std::move(entries)) {}

  Path path_;
  std::vector<Entry> entries_;  // sorted by key
};

}  // namespace reflex::protocol::internal
