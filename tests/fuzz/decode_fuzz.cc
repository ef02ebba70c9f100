// Fuzz target over protocol::decode, also linked into protocol_corpus_replay so the
// corpus runs as a regression test without libFuzzer.
//
// Beyond "no crash, no sanitizer report", it checks that whatever decode accepts is
// stable: encode(decode(x)) decodes again and re-encodes to the same bytes. Encoded
// bytes are compared rather than Envelopes so NaN values compare equal.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>

#include "protocol/codec.h"

namespace {

[[noreturn]] void fail(const char* what, const std::string& detail) {
  std::fprintf(stderr, "decode_fuzz: %s: %s\n", what, detail.c_str());
  std::abort();
}

// The codes docs/PROTOCOL.md promises decode() returns, and no others.
bool is_decode_code(std::string_view code) {
  using namespace reflex::protocol::code;
  for (std::string_view known : {kOversized, kTruncated, kMalformed, kWrongType, kMissingField,
                                 kUnknownType, kUnsupportedVersion, kInvalidValue}) {
    if (code == known) return true;
  }
  return false;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace reflex::protocol;
  using reflex::Result;
  const std::string_view frame(reinterpret_cast<const char*>(data), size);
  Result<Envelope> first = decode(frame);
  if (!first) {
    if (!is_decode_code(first.status().code()) || first.status().message().empty()) {
      fail("error outside the documented codes, or without a message", first.status().to_string());
    }
    return 0;
  }
  const std::string encoded = encode(*first);
  // Re-encoding may grow a frame (an int in a float field becomes a float64), so the
  // second decode is not held to the default frame size.
  DecodeLimits limits;
  limits.max_frame_bytes =
      encoded.size() > limits.max_frame_bytes ? encoded.size() : limits.max_frame_bytes;
  Result<Envelope> second = decode(encoded, limits);
  if (!second) fail("re-encoded frame does not decode", second.status().to_string());
  if (encode(*second) != encoded) fail("re-encoding is not stable", "");
  return 0;
}
