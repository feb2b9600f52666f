#include "common/json.h"

namespace berth::json {

const bj::value* find(const bj::object& o, std::string_view key) {
  auto it = o.find(key);
  if (it == o.end() || it->value().is_null()) return nullptr;
  return &it->value();
}

std::optional<std::string_view> getString(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  if (!v || !v->is_string()) return std::nullopt;
  return std::string_view(v->get_string());
}

std::string stringOr(const bj::object& o, std::string_view key, std::string_view fallback) {
  auto s = getString(o, key);
  return std::string(s ? *s : fallback);
}

std::optional<int64_t> getInt(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return v->get_int64();
  if (v->is_uint64()) return static_cast<int64_t>(v->get_uint64());
  if (v->is_double()) return static_cast<int64_t>(v->get_double());
  return std::nullopt;
}

std::optional<bool> getBool(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  if (!v || !v->is_bool()) return std::nullopt;
  return v->get_bool();
}

const bj::array* getArray(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  return v && v->is_array() ? &v->get_array() : nullptr;
}

const bj::object* getObject(const bj::object& o, std::string_view key) {
  const bj::value* v = find(o, key);
  return v && v->is_object() ? &v->get_object() : nullptr;
}

std::vector<std::string> stringList(const bj::object& o, std::string_view key) {
  std::vector<std::string> out;
  if (const bj::array* a = getArray(o, key)) {
    for (const auto& v : *a)
      if (v.is_string()) out.emplace_back(v.get_string());
  }
  return out;
}

std::string serialize(const bj::value& v) { return bj::serialize(v); }

std::optional<bj::value> parse(std::string_view text) {
  boost::system::error_code ec;
  bj::value v = bj::parse(text, ec);
  if (ec) return std::nullopt;
  return v;
}

}  // namespace berth::json
