// ECR's error types, named as the API returns them.
#pragma once

#include <string>

#include <boost/json.hpp>

#include "common/result.h"

namespace berth::ecr {

inline std::unexpected<Error> invalidParameter(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidParameterException");
}
inline std::unexpected<Error> repositoryNotFound(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "RepositoryNotFoundException");
}
inline std::unexpected<Error> imageNotFound(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "ImageNotFoundException");
}

// The maxResults member of a List/Describe call (1-1000), or `fallback`.
inline Result<int64_t> maxResults(const boost::json::object& in, int64_t fallback) {
  auto it = in.find("maxResults");
  if (it == in.end() || !it->value().is_int64()) return fallback;
  int64_t n = it->value().get_int64();
  if (n < 1 || n > 1000)
    return invalidParameter(
        "Invalid parameter at 'maxResults' failed to satisfy constraint: 'Member must have value less than or equal "
        "to 1000 and greater than or equal to 1'");
  return n;
}

}  // namespace berth::ecr
