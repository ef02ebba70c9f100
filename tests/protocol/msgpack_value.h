// Test helper: msgpack values built by hand, so tests can write the frames the encoder
// never would (wrong types, missing or duplicate keys, lying headers).
//
// A Value is a small tree that packs to bytes; parse() turns a real frame back into a
// tree so a test can take a valid encoding and break one field of it.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <initializer_list>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <msgpack.hpp>

#include "protocol/messages.h"

namespace reflex::protocol::testing {

struct Value {
  enum class Kind { kNil, kBool, kUint, kNegInt, kFloat64, kStr, kArray, kMap, kRaw };
  Kind kind = Kind::kNil;
  bool boolean = false;
  uint64_t u64 = 0;
  int64_t i64 = 0;
  double f64 = 0;
  std::string bytes;         // kStr contents, or kRaw bytes written verbatim
  std::vector<Value> items;  // kArray elements; kMap keys and values alternating

  // The value stored under string key `key` in a map; throws if absent.
  Value& operator[](std::string_view key) {
    for (size_t i = 0; i + 1 < items.size(); i += 2) {
      if (items[i].kind == Kind::kStr && items[i].bytes == key) return items[i + 1];
    }
    throw std::out_of_range("no key " + std::string(key));
  }
  // Replaces the value under `key`, or appends the entry.
  Value& set(std::string_view key, Value v);
  // Removes every entry under `key`.
  Value& erase(std::string_view key);
  // Appends an entry even if `key` exists (duplicate keys).
  Value& append(Value key, Value v) {
    items.push_back(std::move(key));
    items.push_back(std::move(v));
    return *this;
  }
};

inline Value nil() {
  return {};
}
inline Value boolean(bool b) {
  Value v;
  v.kind = Value::Kind::kBool;
  v.boolean = b;
  return v;
}
inline Value num(uint64_t u) {
  Value v;
  v.kind = Value::Kind::kUint;
  v.u64 = u;
  return v;
}
// Packed with a negative-int format when n < 0, else as a uint.
inline Value integer(int64_t n) {
  if (n >= 0) return num(static_cast<uint64_t>(n));
  Value v;
  v.kind = Value::Kind::kNegInt;
  v.i64 = n;
  return v;
}
inline Value dbl(double d) {
  Value v;
  v.kind = Value::Kind::kFloat64;
  v.f64 = d;
  return v;
}
inline Value str(std::string s) {
  Value v;
  v.kind = Value::Kind::kStr;
  v.bytes = std::move(s);
  return v;
}
inline Value raw(std::string bytes) {
  Value v;
  v.kind = Value::Kind::kRaw;
  v.bytes = std::move(bytes);
  return v;
}
inline Value array(std::vector<Value> items) {
  Value v;
  v.kind = Value::Kind::kArray;
  v.items = std::move(items);
  return v;
}
inline Value map(std::initializer_list<std::pair<std::string, Value>> entries) {
  Value v;
  v.kind = Value::Kind::kMap;
  for (const auto& [k, val] : entries) v.append(str(k), val);
  return v;
}

inline Value& Value::set(std::string_view key, Value v) {
  for (size_t i = 0; i + 1 < items.size(); i += 2) {
    if (items[i].kind == Kind::kStr && items[i].bytes == key) {
      items[i + 1] = std::move(v);
      return *this;
    }
  }
  return append(str(std::string(key)), std::move(v));
}

inline Value& Value::erase(std::string_view key) {
  for (size_t i = 0; i + 1 < items.size();) {
    if (items[i].kind == Kind::kStr && items[i].bytes == key) {
      items.erase(items.begin() + static_cast<std::ptrdiff_t>(i),
                  items.begin() + static_cast<std::ptrdiff_t>(i + 2));
    } else {
      i += 2;
    }
  }
  return *this;
}

inline void pack_into(const Value& v, msgpack::packer<msgpack::sbuffer>& pk,
                      msgpack::sbuffer& buf) {
  switch (v.kind) {
    case Value::Kind::kNil:
      pk.pack_nil();
      return;
    case Value::Kind::kBool:
      v.boolean ? pk.pack_true() : pk.pack_false();
      return;
    case Value::Kind::kUint:
      pk.pack_uint64(v.u64);
      return;
    case Value::Kind::kNegInt:
      pk.pack_int64(v.i64);
      return;
    case Value::Kind::kFloat64: {
      uint64_t bits;
      std::memcpy(&bits, &v.f64, sizeof bits);
      char b[9] = {static_cast<char>(0xcb)};
      for (int i = 0; i < 8; ++i) b[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
      buf.write(b, sizeof b);
      return;
    }
    case Value::Kind::kStr:
      pk.pack_str(static_cast<uint32_t>(v.bytes.size()));
      pk.pack_str_body(v.bytes.data(), static_cast<uint32_t>(v.bytes.size()));
      return;
    case Value::Kind::kRaw:
      buf.write(v.bytes.data(), v.bytes.size());
      return;
    case Value::Kind::kArray:
      pk.pack_array(static_cast<uint32_t>(v.items.size()));
      for (const Value& item : v.items) pack_into(item, pk, buf);
      return;
    case Value::Kind::kMap:
      pk.pack_map(static_cast<uint32_t>(v.items.size() / 2));
      for (const Value& item : v.items) pack_into(item, pk, buf);
      return;
  }
}

inline std::string pack(const Value& v) {
  msgpack::sbuffer buf;
  msgpack::packer<msgpack::sbuffer> pk(buf);
  pack_into(v, pk, buf);
  return std::string(buf.data(), buf.size());
}

inline Value from_object(const msgpack::object& o) {
  switch (o.type) {
    case msgpack::type::NIL:
      return nil();
    case msgpack::type::BOOLEAN:
      return boolean(o.via.boolean);
    case msgpack::type::POSITIVE_INTEGER:
      return num(o.via.u64);
    case msgpack::type::NEGATIVE_INTEGER:
      return integer(o.via.i64);
    case msgpack::type::FLOAT32:
    case msgpack::type::FLOAT64:
      return dbl(o.via.f64);
    case msgpack::type::STR:
      return str(std::string(o.via.str.ptr, o.via.str.size));
    case msgpack::type::ARRAY: {
      Value v = array({});
      for (uint32_t i = 0; i < o.via.array.size; ++i)
        v.items.push_back(from_object(o.via.array.ptr[i]));
      return v;
    }
    case msgpack::type::MAP: {
      Value v = map({});
      for (uint32_t i = 0; i < o.via.map.size; ++i) {
        v.append(from_object(o.via.map.ptr[i].key), from_object(o.via.map.ptr[i].val));
      }
      return v;
    }
    default:
      throw std::invalid_argument("from_object: bin and ext are not used by these tests");
  }
}

// The tree of a well-formed msgpack frame (throws on a bad one: test input is trusted).
inline Value parse(const std::string& frame) {
  msgpack::object_handle handle = msgpack::unpack(frame.data(), frame.size());
  return from_object(handle.get());
}

// A v1 envelope map around `body`, as a peer would send it.
inline Value envelope(std::string type, Value body) {
  return map({{"v", num(1)},
              {"t", str(std::move(type))},
              {"a", str("agent-1")},
              {"s", num(0)},
              {"ts", num(1700000000000)},
              {"b", std::move(body)}});
}

inline std::string hex(std::string_view bytes) {
  static const char kDigits[] = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += kDigits[c >> 4];
    out += kDigits[c & 15];
  }
  return out;
}

// Hex digits to bytes; whitespace is skipped so golden vectors can be laid out by field.
inline std::string unhex(std::string_view text) {
  std::string out;
  int pending = -1;
  for (char c : text) {
    int d;
    if (c >= '0' && c <= '9') {
      d = c - '0';
    } else if (c >= 'a' && c <= 'f') {
      d = c - 'a' + 10;
    } else if (c == ' ' || c == '\n') {
      continue;
    } else {
      throw std::invalid_argument("unhex: bad digit");
    }
    if (pending < 0) {
      pending = d;
    } else {
      out += static_cast<char>(pending * 16 + d);
      pending = -1;
    }
  }
  if (pending >= 0) throw std::invalid_argument("unhex: odd number of digits");
  return out;
}

}  // namespace reflex::protocol::testing
