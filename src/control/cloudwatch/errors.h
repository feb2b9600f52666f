// CloudWatch's errors. aws_type is the model's shape name (what the JSON 1.0
// protocol sends as __type); the front door writes the Query code
// (InvalidParameterValue, MissingParameter, ...) for Query clients and in
// the x-amzn-query-error header of JSON answers.
#pragma once

#include <string>

#include "common/result.h"

namespace berth::cloudwatch {

inline std::unexpected<Error> invalidParameterValue(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidParameterValueException");
}
inline std::unexpected<Error> invalidParameterCombination(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidParameterCombinationException");
}
inline std::unexpected<Error> missingParameter(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "MissingRequiredParameterException");
}
inline std::unexpected<Error> invalidNextToken(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidNextToken");
}
inline std::unexpected<Error> invalidFormat(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidFormatFault");
}
inline std::unexpected<Error> validationError(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "ValidationError");
}
inline std::unexpected<Error> alarmNotFound(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "ResourceNotFound");
}
inline std::unexpected<Error> resourceNotFoundException(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "ResourceNotFoundException");
}
inline std::unexpected<Error> limitExceeded(std::string message) {
  return fail(ErrorCode::kResourceExhausted, std::move(message), "LimitExceededFault");
}

}  // namespace berth::cloudwatch
