// Cloud Map's error types, named as the API returns them: without the
// "Exception" suffix (except ResourceNotFoundException and
// TooManyTagsException, which the model spells that way).
#pragma once

#include <string>

#include "common/result.h"

namespace berth::servicediscovery {

inline std::unexpected<Error> invalidInput(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidInput");
}
inline std::unexpected<Error> namespaceNotFound(std::string_view id) {
  return fail(ErrorCode::kNotFound, "Namespace not found: " + std::string(id), "NamespaceNotFound");
}
inline std::unexpected<Error> serviceNotFound(std::string_view id) {
  return fail(ErrorCode::kNotFound, "Service not found: " + std::string(id), "ServiceNotFound");
}
inline std::unexpected<Error> instanceNotFound(std::string_view id) {
  return fail(ErrorCode::kNotFound, "Instance not found: " + std::string(id), "InstanceNotFound");
}
inline std::unexpected<Error> operationNotFound(std::string_view id) {
  return fail(ErrorCode::kNotFound, "Operation not found: " + std::string(id), "OperationNotFound");
}
inline std::unexpected<Error> resourceNotFound(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "ResourceNotFoundException");
}
inline std::unexpected<Error> resourceInUse(std::string message) {
  return fail(ErrorCode::kFailedPrecondition, std::move(message), "ResourceInUse");
}
inline std::unexpected<Error> namespaceAlreadyExists(std::string message) {
  return fail(ErrorCode::kAlreadyExists, std::move(message), "NamespaceAlreadyExists");
}
inline std::unexpected<Error> serviceAlreadyExists(std::string message) {
  return fail(ErrorCode::kAlreadyExists, std::move(message), "ServiceAlreadyExists");
}
inline std::unexpected<Error> duplicateRequest(std::string message) {
  return fail(ErrorCode::kAlreadyExists, std::move(message), "DuplicateRequest");
}
inline std::unexpected<Error> customHealthNotFound(std::string message) {
  return fail(ErrorCode::kFailedPrecondition, std::move(message), "CustomHealthNotFound");
}
inline std::unexpected<Error> tooManyTags(std::string message) {
  return fail(ErrorCode::kResourceExhausted, std::move(message), "TooManyTagsException");
}

}  // namespace berth::servicediscovery
