// Application Auto Scaling's errors: aws_type is the model's shape name.
#pragma once

#include <string>

#include "common/result.h"

namespace berth::autoscaling {

inline std::unexpected<Error> validation(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "ValidationException");
}
inline std::unexpected<Error> objectNotFound(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "ObjectNotFoundException");
}
inline std::unexpected<Error> resourceNotFound(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "ResourceNotFoundException");
}
inline std::unexpected<Error> limitExceeded(std::string message) {
  return fail(ErrorCode::kResourceExhausted, std::move(message), "LimitExceededException");
}
inline std::unexpected<Error> tooManyTags(std::string message) {
  return fail(ErrorCode::kResourceExhausted, std::move(message), "TooManyTagsException");
}
inline std::unexpected<Error> invalidNextToken(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidNextTokenException");
}

}  // namespace berth::autoscaling
