// ECS's error types, named as the API returns them. Only the ECS control
// plane uses these; the API layer turns `aws_type` into the wire error.
#pragma once

#include <string>

#include "common/result.h"

namespace berth::ecs {

inline std::unexpected<Error> invalidParameter(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidParameterException");
}
inline std::unexpected<Error> clientError(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "ClientException");
}
inline std::unexpected<Error> clusterNotFound() {
  return fail(ErrorCode::kNotFound, "Cluster not found.", "ClusterNotFoundException");
}
inline std::unexpected<Error> serviceNotFound() {
  return fail(ErrorCode::kNotFound, "Service not found.", "ServiceNotFoundException");
}
inline std::unexpected<Error> serviceNotActive() {
  return fail(ErrorCode::kFailedPrecondition, "Service was not ACTIVE.", "ServiceNotActiveException");
}

}  // namespace berth::ecs
