// Parameter Store's error types, as the ssm model names them (most without
// an "Exception" suffix), with AWS's wording where it is known. Seen in
// AWS's answers: ParameterAlreadyExists', "tags and overwrite" and the
// Standard-tier size message, the empty ParameterNotFound of GetParameter,
// and InvalidKeyId quoting KMS "(Service: AWSKMS; Status Code: 400; Error
// Code: ...; Request ID: ...; Proxy: null)". The others are best guesses.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/result.h"

namespace berth::ssm {

inline std::unexpected<Error> validation(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "ValidationException");
}
inline std::unexpected<Error> parameterNotFound(std::string message = {}) {
  return fail(ErrorCode::kNotFound, std::move(message), "ParameterNotFound");
}
inline std::unexpected<Error> versionNotFound(std::string_view what, std::string_view name) {
  return fail(ErrorCode::kNotFound,
              fmt::format("Systems Manager could not find version {} of {}. Verify the version and try again.", what,
                          name),
              "ParameterVersionNotFound");
}
inline std::unexpected<Error> alreadyExists() {
  return fail(ErrorCode::kAlreadyExists,
              "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.",
              "ParameterAlreadyExists");
}
inline std::unexpected<Error> invalidKeyId(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidKeyId");
}
inline std::unexpected<Error> invalidNextToken() {
  return fail(ErrorCode::kInvalidArgument, "The specified token is not valid.", "InvalidNextToken");
}
inline std::unexpected<Error> typed(ErrorCode code, std::string type, std::string message) {
  return fail(code, std::move(message), std::move(type));
}

}  // namespace berth::ssm
