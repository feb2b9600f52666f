// IAM's and STS's error types, by the model's shape names (the front door
// writes their Query codes: NoSuchEntityException -> NoSuchEntity, 404).
// ValidationError and AccessDenied are not in the models; the front door
// answers AccessDenied with 403.
#pragma once

#include <string>

#include "common/result.h"

namespace berth::iam {

inline std::unexpected<Error> noSuchEntity(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "NoSuchEntityException");
}
inline std::unexpected<Error> entityAlreadyExists(std::string message) {
  return fail(ErrorCode::kAlreadyExists, std::move(message), "EntityAlreadyExistsException");
}
inline std::unexpected<Error> deleteConflict(std::string message) {
  return fail(ErrorCode::kFailedPrecondition, std::move(message), "DeleteConflictException");
}
inline std::unexpected<Error> limitExceeded(std::string message) {
  return fail(ErrorCode::kResourceExhausted, std::move(message), "LimitExceededException");
}
inline std::unexpected<Error> malformedPolicy(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "MalformedPolicyDocumentException");
}
inline std::unexpected<Error> invalidInput(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidInputException");
}
inline std::unexpected<Error> validationError(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "ValidationError");
}
inline std::unexpected<Error> accessDenied(std::string message) {
  return fail(ErrorCode::kPermissionDenied, std::move(message), "AccessDenied");
}
inline std::unexpected<Error> unmodifiableEntity(std::string message) {
  return fail(ErrorCode::kFailedPrecondition, std::move(message), "UnmodifiableEntityException");
}

}  // namespace berth::iam
