// Turns an Envelope into one msgpack frame and back; the only code that knows the bytes.
//
// One ZeroMQ message carries exactly one frame. docs/PROTOCOL.md is the prose spec of
// the format, protocol/constants.h holds its vocabulary and limits, and
// tests/protocol/ pins the exact bytes with golden vectors.
//
// decode() takes untrusted bytes from the network: it never throws, never reads past
// the frame and bounds its allocations by the frame's size and the limits in
// constants.h. Failures come back as a Status whose code is one of code::k* in
// constants.h and whose message names the offending field ("b.samples[3].value: ...").
//
// All functions are pure and safe to call from any thread.
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include "common/status.h"
#include "protocol/constants.h"
#include "protocol/messages.h"

namespace reflex::protocol {

// The frame for `envelope`. Deterministic: equal envelopes give equal bytes (fixed key
// order, smallest integer encodings, floats as float64, optional fields left out when
// they hold their "absent" value). It does not enforce the decoder's limits; a sender
// that may build large frames (Metrics) must keep them under the peer's
// max_frame_bytes itself.
std::string encode(const Envelope& envelope);

// Same bytes as encode(), appended to `out` so a caller can reuse one buffer.
void encode_into(const Envelope& envelope, std::string& out);

struct DecodeLimits {
  // Larger frames are refused with "oversized" before parsing.
  size_t max_frame_bytes = kDefaultMaxFrameBytes;
};

// Parses one frame. The returned Envelope owns its strings; `frame` need only live
// for the duration of the call. Unknown keys are ignored, so newer peers may add fields.
Result<Envelope> decode(std::string_view frame, const DecodeLimits& limits = {});

// The highest version in both [peer_min, peer_max] and [kMinVersion, kMaxVersion];
// nullopt when the ranges do not meet (the hub then answers with an Error whose code
// is unsupported_version).
std::optional<uint32_t> negotiate_version(uint32_t peer_min, uint32_t peer_max);

}  // namespace reflex::protocol
