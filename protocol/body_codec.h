// Internal to protocol/: the body of each message type, to and from msgpack.
//
// codec.cc handles the envelope and calls these for its "b" map. Which body fields are
// required and which the encoder leaves out when empty is decided in body_encode.cc
// and body_decode.cc together, and written down in docs/PROTOCOL.md.
#pragma once

#include "common/status.h"
#include "protocol/messages.h"
#include "protocol/wire_reader.h"
#include "protocol/wire_writer.h"

namespace reflex::protocol::internal {

// Appends the body map of whichever message `body` holds.
void write_body(const Body& body, WireWriter& w);

// Fills `out` with the `type` alternative read from the body map `fields`.
Status read_body(MessageType type, const FieldMap& fields, Body& out);

}  // namespace reflex::protocol::internal
