// Reading fields of untrusted JSON request bodies with errors that name the field path,
// e.g. `alerts[2].state: expected a string, got number`. Every error is a
// "bad_request" Status, which the HTTP routes answer with 400.
//
// `obj` arguments must be JSON objects (the caller checks with expect_object()); a
// field that is missing or null counts as absent.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "common/status.h"
#include "protocol/messages.h"

namespace reflex::hub::incidents::json_fields {

using Json = nlohmann::json;

// "key" when base is empty, else "base.key"; "base[i]".
std::string path(std::string_view base, std::string_view key);
std::string index_path(std::string_view base, size_t index);

// "bad_request", "<path>: <what>".
Status field_error(std::string_view path, std::string_view what);

// The body as JSON, or "body: not valid JSON (<parser's words>)". Never throws.
Result<Json> parse_body(std::string_view body);

// Ok when `value` is an object, else "<path>: expected an object, got <type>" (path
// "body" when empty).
Status expect_object(const Json& value, std::string_view path);

// Refuses a key outside `known`: "<path>.<key>: unknown field (expected a, b, c)".
Status only_known(const Json& obj, std::string_view base,
                  std::initializer_list<std::string_view> known);

// Absent: nullopt. Present: must be a string.
Result<std::optional<std::string>> opt_string(const Json& obj, std::string_view base,
                                              std::string_view key);
// Must be present as a non-empty string.
Result<std::string> req_string(const Json& obj, std::string_view base, std::string_view key);
// Absent: nullptr. Present: must be an object.
Result<const Json*> opt_object(const Json& obj, std::string_view base, std::string_view key);
// Absent: empty. Present: an object whose values are all strings (null reads as "").
Result<protocol::Labels> opt_string_map(const Json& obj, std::string_view base,
                                        std::string_view key);
// Absent: empty. Present: an array of non-empty strings.
Result<std::vector<std::string>> opt_string_list(const Json& obj, std::string_view base,
                                                 std::string_view key);
// Absent: nullopt. Present: an RFC 3339 date-time string, as epoch ms.
Result<std::optional<int64_t>> opt_time(const Json& obj, std::string_view base,
                                        std::string_view key);

// "string", "number", "object", ... for error messages.
std::string type_name(const Json& value);

}  // namespace reflex::hub::incidents::json_fields
