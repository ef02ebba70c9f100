#include "protocol/wire_reader.h"

#include <algorithm>
#include <limits>

#include "protocol/constants.h"

namespace reflex::protocol::internal {
namespace {

std::string_view str_view(const msgpack::object& o) {
  return std::string_view(o.via.str.ptr, o.via.str.size);
}

const char* type_of(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return "nil";
    case msgpack::type::BOOLEAN:
      return "bool";
    case msgpack::type::POSITIVE_INTEGER:
      return "uint";
    case msgpack::type::NEGATIVE_INTEGER:
      return "negative int";
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return "float";
    case msgpack::type::STR:
      return "str";
    case msgpack::type::BIN:
      return "bin";
    case msgpack::type::ARRAY:
      return "array";
    case msgpack::type::MAP:
      return "map";
    case msgpack::type::EXT:
      return "ext";
  }
  return "unknown";
}

// Quotes a value from the frame for an error message, cut short so a hostile
// 64 KiB string does not end up in logs whole.
std::string quoted(std::string_view s) {
  constexpr size_t kMaxShown = 64;
  std::string out = "\"";
  out.append(s.substr(0, kMaxShown));
  if (s.size() > kMaxShown) out += "...";
  out += '"';
  return out;
}

Status read_unsigned(const msgpack::object& o, const Path& p, uint64_t max, const char* type,
                     uint64_t& out) {
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    return error_at(code::kInvalidValue, p,
                    "expected a non-negative integer, got " + std::to_string(o.via.i64));
  }
  if (o.type != msgpack::type::POSITIVE_INTEGER) return wrong_type(p, "uint", o);
  if (o.via.u64 > max) {
    return error_at(code::kInvalidValue, p, std::to_string(o.via.u64) + " does not fit in " + type);
  }
  out = o.via.u64;
  return Status::ok();
}

template <class Enum, size_t N>
Status read_enum(const msgpack::object& o, const Path& p, const char* const (&names)[N],
                 Enum& out) {
  if (o.type != msgpack::type::STR) return wrong_type(p, "str", o);
  const std::string_view name = str_view(o);
  for (size_t i = 0; i < N; ++i) {
    if (name == names[i]) {
      out = static_cast<Enum>(i);
      return Status::ok();
    }
  }
  return error_at(code::kInvalidValue, p, "unknown value " + quoted(name));
}

// A msgpack map whose keys are str and whose values `read_value` converts; a repeated
// key is malformed rather than silently keeping one of the two values.
template <class Value>
Status read_string_map(const msgpack::object& o, const Path& p, std::map<std::string, Value>& out) {
  if (o.type != msgpack::type::MAP) return wrong_type(p, "map", o);
  std::map<std::string, Value> result;
  for (uint32_t i = 0; i < o.via.map.size; ++i) {
    const msgpack::object_kv& kv = o.via.map.ptr[i];
    if (kv.key.type != msgpack::type::STR) return wrong_type(p, "str keys", kv.key);
    std::string key(str_view(kv.key));
    const Path value_path = p.field(key);
    Value value{};
    REFLEX_RETURN_IF_ERROR(read(kv.val, value_path, value));
    if (!result.emplace(std::move(key), std::move(value)).second) {
      return error_at(code::kMalformed, p, "duplicate key " + quoted(str_view(kv.key)));
    }
  }
  out = std::move(result);
  return Status::ok();
}

}  // namespace

void Path::append_to(std::string& out) const {
  if (parent_ == nullptr) return;  // the root is implied in child paths
  parent_->append_to(out);
  if (index_ != kNoIndex) {
    out += '[';
    out += std::to_string(index_);
    out += ']';
    return;
  }
  if (!out.empty()) out += '.';
  out += key_;
}

std::string Path::str() const {
  std::string out;
  append_to(out);
  return out.empty() ? "envelope" : out;
}

Status error_at(std::string_view code, const Path& path, std::string_view detail) {
  std::string message = path.str();
  message += ": ";
  message += detail;
  return Status::error(std::string(code), std::move(message));
}

Status wrong_type(const Path& path, std::string_view expected, const msgpack::object& got) {
  std::string detail = "expected ";
  detail += expected;
  detail += ", got ";
  detail += type_of(got);
  return error_at(code::kWrongType, path, detail);
}

Status read(const msgpack::object& o, const Path& p, std::string& out) {
  if (o.type != msgpack::type::STR) return wrong_type(p, "str", o);
  out.assign(o.via.str.ptr, o.via.str.size);
  return Status::ok();
}

Status read(const msgpack::object& o, const Path& p, uint64_t& out) {
  return read_unsigned(o, p, std::numeric_limits<uint64_t>::max(), "uint64", out);
}

Status read(const msgpack::object& o, const Path& p, uint32_t& out) {
  uint64_t wide = 0;
  REFLEX_RETURN_IF_ERROR(read_unsigned(o, p, std::numeric_limits<uint32_t>::max(), "uint32", wide));
  out = static_cast<uint32_t>(wide);
  return Status::ok();
}

Status read(const msgpack::object& o, const Path& p, std::optional<int32_t>& out) {
  constexpr int64_t kMin = std::numeric_limits<int32_t>::min();
  constexpr int64_t kMax = std::numeric_limits<int32_t>::max();
  if (o.type == msgpack::type::POSITIVE_INTEGER) {
    if (o.via.u64 > static_cast<uint64_t>(kMax)) {
      return error_at(code::kInvalidValue, p, std::to_string(o.via.u64) + " does not fit in int32");
    }
    out = static_cast<int32_t>(o.via.u64);
    return Status::ok();
  }
  if (o.type == msgpack::type::NEGATIVE_INTEGER) {
    if (o.via.i64 < kMin) {
      return error_at(code::kInvalidValue, p, std::to_string(o.via.i64) + " does not fit in int32");
    }
    out = static_cast<int32_t>(o.via.i64);
    return Status::ok();
  }
  return wrong_type(p, "int", o);
}

Status read(const msgpack::object& o, const Path& p, double& out) {
  switch (o.type) {
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      out = o.via.f64;
      return Status::ok();
    case msgpack::type::POSITIVE_INTEGER:
      out = static_cast<double>(o.via.u64);
      return Status::ok();
    case msgpack::type::NEGATIVE_INTEGER:
      out = static_cast<double>(o.via.i64);
      return Status::ok();
    default:
      return wrong_type(p, "float", o);
  }
}

Status read(const msgpack::object& o, const Path& p, bool& out) {
  if (o.type != msgpack::type::BOOLEAN) return wrong_type(p, "bool", o);
  out = o.via.boolean;
  return Status::ok();
}

Status read(const msgpack::object& o, const Path& p, Labels& out) {
  return read_string_map(o, p, out);
}

Status read(const msgpack::object& o, const Path& p, std::map<std::string, uint64_t>& out) {
  return read_string_map(o, p, out);
}

Status read(const msgpack::object& o, const Path& p, std::vector<std::string>& out) {
  if (o.type != msgpack::type::ARRAY) return wrong_type(p, "array", o);
  std::vector<std::string> result(o.via.array.size);
  for (uint32_t i = 0; i < o.via.array.size; ++i) {
    REFLEX_RETURN_IF_ERROR(read(o.via.array.ptr[i], p.at(i), result[i]));
  }
  out = std::move(result);
  return Status::ok();
}

Status read(const msgpack::object& o, const Path& p, Severity& out) {
  return read_enum(o, p, kSeverityNames, out);
}
Status read(const msgpack::object& o, const Path& p, AlertState& out) {
  return read_enum(o, p, kAlertStateNames, out);
}
Status read(const msgpack::object& o, const Path& p, RemediationOutcome& out) {
  return read_enum(o, p, kRemediationOutcomeNames, out);
}
Status read(const msgpack::object& o, const Path& p, CommandStatus& out) {
  return read_enum(o, p, kCommandStatusNames, out);
}

Result<FieldMap> FieldMap::open(const msgpack::object& object, const Path& path) {
  if (object.type != msgpack::type::MAP) return wrong_type(path, "map", object);
  std::vector<Entry> entries;
  entries.reserve(object.via.map.size);
  for (uint32_t i = 0; i < object.via.map.size; ++i) {
    const msgpack::object_kv& kv = object.via.map.ptr[i];
    if (kv.key.type == msgpack::type::STR) entries.emplace_back(str_view(kv.key), &kv.val);
  }
  std::sort(entries.begin(), entries.end(),
            [](const Entry& a, const Entry& b) { return a.first < b.first; });
  const auto repeated =
      std::adjacent_find(entries.begin(), entries.end(),
                         [](const Entry& a, const Entry& b) { return a.first == b.first; });
  if (repeated != entries.end()) {
    return error_at(code::kMalformed, path, "duplicate key " + quoted(repeated->first));
  }
  return FieldMap(path, std::move(entries));
}

const msgpack::object* FieldMap::find(std::string_view key) const {
  const auto it = std::lower_bound(entries_.begin(), entries_.end(), key,
                                   [](const Entry& e, std::string_view k) { return e.first < k; });
  return it != entries_.end() && it->first == key ? it->second : nullptr;
}

}  // namespace reflex::protocol::internal
