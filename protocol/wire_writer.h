// Internal to protocol/: appends msgpack values to a std::string, deterministically.
//
// A thin layer over msgpack::packer that fixes the choices the spec makes: strings
// are str (never bin), integers take their smallest encoding, and doubles are always
// float64 (msgpack-c's pack_double would turn 2.0 into the integer 2 and lose -0.0).
#pragma once

#include <cstdint>
#include <cstring>
#include <map>
#include <string>
#include <string_view>
#include <type_traits>
#include <vector>

#include <msgpack.hpp>

namespace reflex::protocol::internal {

class WireWriter {
 public:
  // Appends to `out`, which must outlive the writer.
  explicit WireWriter(std::string& out) : sink_{out}, packer_(sink_) {}
  WireWriter(const WireWriter&) = delete;
  WireWriter& operator=(const WireWriter&) = delete;

  // A map header; exactly `entries` key/value pairs must follow.
  void map(uint32_t entries) { packer_.pack_map(entries); }
  void array(uint32_t elements) { packer_.pack_array(elements); }

  void str(std::string_view s) {
    const auto size = static_cast<uint32_t>(s.size());
    packer_.pack_str(size);
    packer_.pack_str_body(s.data(), size);
  }
  void uint(uint64_t v) { packer_.pack_uint64(v); }
  void int32(int32_t v) { packer_.pack_int32(v); }
  void boolean(bool v) { v ? packer_.pack_true() : packer_.pack_false(); }
  void float64(double v) {
    uint64_t bits;
    std::memcpy(&bits, &v, sizeof bits);
    char buf[9];
    buf[0] = static_cast<char>(0xcb);
    for (int i = 0; i < 8; ++i) buf[1 + i] = static_cast<char>(bits >> (56 - 8 * i));
    sink_.write(buf, sizeof buf);
  }

  // Key/value helpers, one call per field so body encoders read like the spec.
  void field(std::string_view key, std::string_view v) {
    str(key);
    str(v);
  }
  void field_uint(std::string_view key, uint64_t v) {
    str(key);
    uint(v);
  }
  void field_int32(std::string_view key, int32_t v) {
    str(key);
    int32(v);
  }
  void field_float(std::string_view key, double v) {
    str(key);
    float64(v);
  }
  void field_bool(std::string_view key, bool v) {
    str(key);
    boolean(v);
  }
  // std::map iterates in key order, so string maps encode deterministically.
  template <class Value>
  void field_map(std::string_view key, const std::map<std::string, Value>& m) {
    str(key);
    map(static_cast<uint32_t>(m.size()));
    for (const auto& [k, v] : m) {
      str(k);
      if constexpr (std::is_same_v<Value, std::string>) {
        str(v);
      } else {
        uint(v);
      }
    }
  }
  void field_strs(std::string_view key, const std::vector<std::string>& list) {
    str(key);
    array(static_cast<uint32_t>(list.size()));
    for (const auto& s : list) str(s);
  }

 private:
  struct Sink {
    std::string& out;
    void write(const char* data, size_t size) { out.append(data, size); }
  };
  Sink sink_;
  msgpack::packer<Sink> packer_;
};

}  // namespace reflex::protocol::internal
