// Small helpers over Boost.JSON for reading request members and building
// responses. Inputs are assumed type-checked against the service model by the
// protocol layer (src/aws/shape_validator.h); these accessors still never
// throw on a type mismatch: they return the fallback.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

namespace berth::json {

namespace bj = boost::json;

const bj::value* find(const bj::object& o, std::string_view key);
std::optional<std::string_view> getString(const bj::object& o, std::string_view key);
std::string stringOr(const bj::object& o, std::string_view key, std::string_view fallback = {});
std::optional<int64_t> getInt(const bj::object& o, std::string_view key);
std::optional<bool> getBool(const bj::object& o, std::string_view key);
// An array member, or nullptr when absent or not an array.
const bj::array* getArray(const bj::object& o, std::string_view key);
const bj::object* getObject(const bj::object& o, std::string_view key);

// Strings of an array member (non-strings skipped).
std::vector<std::string> stringList(const bj::object& o, std::string_view key);

std::string serialize(const bj::value& v);
std::optional<bj::value> parse(std::string_view text);

}  // namespace berth::json
