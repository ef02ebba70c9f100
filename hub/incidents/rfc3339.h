// RFC 3339 date-times as external senders write them (Alertmanager clients, GitHub,
// scripts), read into epoch milliseconds.
//
// Accepted, like Alertmanager's OpenAPI layer (go-openapi strfmt.DateTime):
//   2026-01-01T10:00:00Z            2026-01-01T10:00:00.123456789+02:00
//   2026-01-01t10:00:00z            2026-01-01T10:00:00.5+0200 (offset without colon)
//   2026-01-01 10:00:00Z            2026-01-01T10:00:00 (no offset: UTC)
// Fractional seconds of any length are truncated to the millisecond. Fields are range
// checked (month 1-12, the day within its month, leap years, hour 0-23, minute and
// second 0-59). Years run from 0001 to 9999, so results may be negative (before 1970):
// Go's zero time, 0001-01-01T00:00:00Z, which Alertmanager uses for "not set", is
// kGoZeroTimeMs.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>

#include "common/status.h"

namespace reflex::hub::incidents {

// 0001-01-01T00:00:00Z in epoch milliseconds.
inline constexpr int64_t kGoZeroTimeMs = -62'135'596'800'000;

// Epoch ms, or a "bad_request" error: `<field>: "<text>" is not an RFC 3339 date-time
// (<what is wrong>)`.
Result<int64_t> parse_rfc3339_ms(std::string_view text, std::string_view field);

// "2026-01-01T10:00:00Z", with ".123" when the milliseconds are not zero. UTC.
std::string format_rfc3339_ms(int64_t epoch_ms);

}  // namespace reflex::hub::incidents
