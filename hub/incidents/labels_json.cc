#include "hub/incidents/labels_json.h"

#include <nlohmann/json.hpp>

#include "common/json_text.h"

namespace reflex::hub::incidents {
namespace {

bool ascii(const std::string& s) {
  for (unsigned char c : s) {
    if (c >= 0x80) return false;
  }
  return true;
}

// JSON's escapes, as nlohmann's serializer writes them.
void append_string(std::string& out, const std::string& s) {
  static constexpr char kHex[] = "0123456789abcdef";
  out += '"';
  for (unsigned char c : s) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\b':
        out += "\\b";
        break;
      case '\f':
        out += "\\f";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (c < 0x20) {
          out += "\\u00";
          out += kHex[c >> 4];
          out += kHex[c & 0xf];
        } else {
          out += static_cast<char>(c);
        }
    }
  }
  out += '"';
}

}  // namespace

std::string labels_json(const protocol::Labels& labels) {
  size_t size = 2;
  for (const auto& [name, value] : labels) {
    // Anything beyond ASCII goes through nlohmann, which checks that it is UTF-8.
    if (!ascii(name) || !ascii(value)) {
      return json_text(nlohmann::json(labels));
    }
    size += name.size() + value.size() + 6;
  }
  std::string out;
  out.reserve(size);
  out += '{';
  for (const auto& [name, value] : labels) {
    if (out.size() > 1) out += ',';
    append_string(out, name);
    out += ':';
    append_string(out, value);
  }
  out += '}';
  return out;
}

}  // namespace reflex::hub::incidents
