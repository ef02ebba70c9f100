// The envelope and the frame: unpack limits, msgpack exceptions mapped to error codes,
// and the order of checks the spec promises (size, msgpack, trailing bytes, version,
// type, envelope fields, body). Bodies live in body_encode.cc / body_decode.cc.
#include "protocol/codec.h"

#include <algorithm>
#include <exception>
#include <iterator>
#include <new>
#include <string>

#include <msgpack.hpp>

#include "protocol/body_codec.h"
#include "protocol/wire_reader.h"
#include "protocol/wire_writer.h"

namespace reflex::protocol {
namespace {

using internal::error_at;
using internal::FieldMap;
using internal::Need;
using internal::Path;

Status frame_error(std::string_view code, std::string message) {
  return Status::error(std::string(code), std::move(message));
}

// Strings, bin and ext point into the caller's frame instead of being copied into the
// msgpack zone; the decoder copies what it keeps before returning.
bool reference_frame_bytes(msgpack::type::object_type, std::size_t, void*) {
  return true;
}

// A collection header claiming more elements than the frame has bytes cannot be
// complete: with the limit clamped to the frame size, that overflow means "truncated";
// otherwise the protocol limit itself was exceeded.
Status size_overflow(size_t frame_size, uint32_t policy, const char* what) {
  if (frame_size < policy) {
    return frame_error(code::kTruncated, std::string(what) + " header claims more than the " +
                                             std::to_string(frame_size) + "-byte frame can hold");
  }
  return frame_error(code::kOversized,
                     std::string(what) + " exceeds the limit of " + std::to_string(policy));
}

// Unpacks exactly one msgpack value spanning the whole frame. `handle` keeps the
// object tree alive; its strings point into `frame`.
Status unpack_frame(std::string_view frame, msgpack::object_handle& handle) {
  const size_t n = frame.size();
  const auto clamp = [n](uint32_t policy) { return std::min<size_t>(policy, n); };
  const msgpack::unpack_limit limit(clamp(kMaxArrayElements), clamp(kMaxMapEntries),
                                    clamp(kMaxStringBytes), clamp(kMaxStringBytes),
                                    clamp(kMaxStringBytes), kMaxDepth);
  size_t offset = 0;
  try {
    bool referenced = false;
    handle =
        msgpack::unpack(frame.data(), n, offset, referenced, reference_frame_bytes, nullptr, limit);
  } catch (const msgpack::array_size_overflow&) {
    return size_overflow(n, kMaxArrayElements, "an array");
  } catch (const msgpack::map_size_overflow&) {
    return size_overflow(n, kMaxMapEntries, "a map");
  } catch (const msgpack::str_size_overflow&) {
    return size_overflow(n, kMaxStringBytes, "a str");
  } catch (const msgpack::bin_size_overflow&) {
    return size_overflow(n, kMaxStringBytes, "a bin");
  } catch (const msgpack::ext_size_overflow&) {
    return size_overflow(n, kMaxStringBytes, "an ext");
  } catch (const msgpack::depth_size_overflow&) {
    return frame_error(code::kOversized,
                       "containers nested deeper than the limit of " + std::to_string(kMaxDepth));
  } catch (const msgpack::insufficient_bytes&) {
    return frame_error(code::kTruncated, "frame ends inside a msgpack value");
  } catch (const msgpack::parse_error&) {
    return frame_error(code::kMalformed, "not msgpack (invalid byte)");
  } catch (const std::bad_alloc&) {
    return frame_error(code::kOversized, "out of memory unpacking the frame");
  } catch (const std::exception& e) {
    return frame_error(code::kMalformed, std::string("unpack failed: ") + e.what());
  } catch (...) {
    return frame_error(code::kMalformed, "unpack failed");
  }
  if (offset != n) {
    const size_t extra = n - offset;
    return frame_error(code::kMalformed, std::to_string(extra) +
                                             (extra == 1 ? " trailing byte" : " trailing bytes") +
                                             " after the envelope");
  }
  return Status::ok();
}

Status read_version(const FieldMap& envelope, uint32_t& out) {
  uint64_t version = 0;
  REFLEX_RETURN_IF_ERROR(envelope.get(key::kVersion, Need::kRequired, version));
  if (version < kMinVersion || version > kMaxVersion) {
    return error_at(code::kUnsupportedVersion, envelope.path().field(key::kVersion),
                    "version " + std::to_string(version) + " is not in the supported range " +
                        std::to_string(kMinVersion) + ".." + std::to_string(kMaxVersion));
  }
  out = static_cast<uint32_t>(version);
  return Status::ok();
}

Status read_type(const FieldMap& envelope, MessageType& out) {
  const Path path = envelope.path().field(key::kType);
  const msgpack::object* type = envelope.find(key::kType);
  if (type == nullptr) return error_at(code::kMissingField, path, "required field is missing");
  if (type->type != msgpack::type::STR) return internal::wrong_type(path, "str", *type);
  const std::string_view name(type->via.str.ptr, type->via.str.size);
  for (size_t i = 0; i < std::size(kTypeNames); ++i) {
    if (name == kTypeNames[i]) {
      out = static_cast<MessageType>(i);
      return Status::ok();
    }
  }
  return error_at(code::kUnknownType, path,
                  "unknown message type \"" + std::string(name.substr(0, 64)) + "\"");
}

Status read_envelope(const msgpack::object& root, Envelope& out) {
  const Path root_path;
  Result<FieldMap> envelope = FieldMap::open(root, root_path);
  if (!envelope) return envelope.status();
  REFLEX_RETURN_IF_ERROR(read_version(*envelope, out.version));
  MessageType type{};
  REFLEX_RETURN_IF_ERROR(read_type(*envelope, type));
  REFLEX_RETURN_IF_ERROR(envelope->get(key::kAgentId, Need::kRequired, out.agent_id));
  REFLEX_RETURN_IF_ERROR(envelope->get(key::kSeq, Need::kRequired, out.seq));
  REFLEX_RETURN_IF_ERROR(envelope->get(key::kTsMs, Need::kRequired, out.ts_ms));

  const Path body_path = root_path.field(key::kBody);
  const msgpack::object* body = envelope->find(key::kBody);
  if (body == nullptr) return error_at(code::kMissingField, body_path, "required field is missing");
  Result<FieldMap> fields = FieldMap::open(*body, body_path);
  if (!fields) return fields.status();
  return internal::read_body(type, *fields, out.body);
}

}  // namespace

void encode_into(const Envelope& envelope, std::string& out) {
  internal::WireWriter w(out);
  w.map(6);
  w.field_uint(key::kVersion, envelope.version);
  w.field(key::kType, type_name(envelope.type()));
  w.field(key::kAgentId, envelope.agent_id);
  w.field_uint(key::kSeq, envelope.seq);
  w.field_uint(key::kTsMs, envelope.ts_ms);
  w.str(key::kBody);
  internal::write_body(envelope.body, w);
}

std::string encode(const Envelope& envelope) {
  std::string out;
  encode_into(envelope, out);
  return out;
}

Result<Envelope> decode(std::string_view frame, const DecodeLimits& limits) {
  if (frame.size() > limits.max_frame_bytes) {
    return frame_error(code::kOversized, "frame of " + std::to_string(frame.size()) +
                                             " bytes exceeds the limit of " +
                                             std::to_string(limits.max_frame_bytes));
  }
  if (frame.empty()) return frame_error(code::kTruncated, "empty frame");
  // Past unpacking, only allocation can throw (building the Envelope's strings).
  try {
    msgpack::object_handle handle;
    REFLEX_RETURN_IF_ERROR(unpack_frame(frame, handle));
    Envelope envelope;
    REFLEX_RETURN_IF_ERROR(read_envelope(handle.get(), envelope));
    return envelope;
  } catch (const std::bad_alloc&) {
    return frame_error(code::kOversized, "out of memory decoding the frame");
  } catch (...) {
    return frame_error(code::kMalformed, "decoding failed unexpectedly");
  }
}

std::optional<uint32_t> negotiate_version(uint32_t peer_min, uint32_t peer_max) {
  const uint32_t low = std::max(peer_min, kMinVersion);
  const uint32_t high = std::min(peer_max, kMaxVersion);
  if (low > high) return std::nullopt;
  return high;
}

}  // namespace reflex::protocol
