#include "hub/incidents/json_fields.h"

#include "hub/incidents/rfc3339.h"

namespace reflex::hub::incidents::json_fields {
namespace {

const Json* find(const Json& obj, std::string_view key) {
  auto it = obj.find(std::string(key));
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

Status wrong_type(const std::string& path, std::string_view expected, const Json& got) {
  return field_error(path, "expected " + std::string(expected) + ", got " + type_name(got));
}

}  // namespace

std::string path(std::string_view base, std::string_view key) {
  if (base.empty()) return std::string(key);
  return std::string(base) + "." + std::string(key);
}

std::string index_path(std::string_view base, size_t index) {
  return std::string(base) + "[" + std::to_string(index) + "]";
}

Status field_error(std::string_view path, std::string_view what) {
  return Status::error("bad_request", std::string(path) + ": " + std::string(what));
}

std::string type_name(const Json& value) {
  if (value.is_number()) return "number";
  if (value.is_boolean()) return "boolean";
  return value.type_name();  // null, string, object, array
}

Result<Json> parse_body(std::string_view body) {
  try {
    return Json::parse(body.begin(), body.end());
  } catch (const Json::exception& e) {
    return field_error("body", std::string("not valid JSON (") + e.what() + ")");
  }
}

Status expect_object(const Json& value, std::string_view path) {
  if (value.is_object()) return Status::ok();
  return wrong_type(path.empty() ? "body" : std::string(path), "an object", value);
}

Status only_known(const Json& obj, std::string_view base,
                  std::initializer_list<std::string_view> known) {
  for (auto it = obj.begin(); it != obj.end(); ++it) {
    bool ok = false;
    for (auto k : known) ok = ok || it.key() == k;
    if (ok) continue;
    std::string list;
    for (auto k : known) list += (list.empty() ? "" : ", ") + std::string(k);
    return field_error(path(base, it.key()), "unknown field (expected " + list + ")");
  }
  return Status::ok();
}

Result<std::optional<std::string>> opt_string(const Json& obj, std::string_view base,
                                              std::string_view key) {
  const Json* v = find(obj, key);
  if (!v) return std::optional<std::string>();
  if (!v->is_string()) return wrong_type(path(base, key), "a string", *v);
  return std::optional<std::string>(v->get<std::string>());
}

Result<std::string> req_string(const Json& obj, std::string_view base, std::string_view key) {
  auto s = opt_string(obj, base, key);
  if (!s) return s.status();
  if (!*s) return field_error(path(base, key), "required");
  if ((*s)->empty()) return field_error(path(base, key), "must not be empty");
  return std::move(**s);
}

Result<const Json*> opt_object(const Json& obj, std::string_view base, std::string_view key) {
  const Json* v = find(obj, key);
  if (v && !v->is_object()) return wrong_type(path(base, key), "an object", *v);
  return v;
}

Result<protocol::Labels> opt_string_map(const Json& obj, std::string_view base,
                                        std::string_view key) {
  auto o = opt_object(obj, base, key);
  if (!o) return o.status();
  protocol::Labels out;
  if (!*o) return out;
  const std::string where = path(base, key);
  for (auto it = (*o)->begin(); it != (*o)->end(); ++it) {
    if (it->is_null()) {
      out[it.key()] = "";  // as Go decodes it
      continue;
    }
    if (!it->is_string()) return wrong_type(path(where, it.key()), "a string", *it);
    out[it.key()] = it->get<std::string>();
  }
  return out;
}

Result<std::vector<std::string>> opt_string_list(const Json& obj, std::string_view base,
                                                 std::string_view key) {
  const Json* v = find(obj, key);
  std::vector<std::string> out;
  if (!v) return out;
  const std::string where = path(base, key);
  if (!v->is_array()) return wrong_type(where, "an array of strings", *v);
  for (size_t i = 0; i < v->size(); ++i) {
    const Json& e = (*v)[i];
    if (!e.is_string()) return wrong_type(index_path(where, i), "a string", e);
    if (e.get_ref<const std::string&>().empty()) {
      return field_error(index_path(where, i), "must not be empty");
    }
    out.push_back(e.get<std::string>());
  }
  return out;
}

Result<std::optional<int64_t>> opt_time(const Json& obj, std::string_view base,
                                        std::string_view key) {
  auto s = opt_string(obj, base, key);
  if (!s) return s.status();
  if (!*s) return std::optional<int64_t>();
  auto ms = parse_rfc3339_ms(**s, path(base, key));
  if (!ms) return ms.status();
  return std::optional<int64_t>(*ms);
}

}  // namespace reflex::hub::incidents::json_fields
