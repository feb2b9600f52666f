// KMS's error types, as the kms model names them, with AWS's wording where
// it is known. Seen in AWS's answers: "Key '<arn>' does not exist",
// "Alias <arn> is not found.", "Invalid keyId <x>", DisabledException
// starting with the key ARN, the empty InvalidCiphertextException. Not
// confirmed (best guesses): "<arn> is disabled." past the ARN, "<arn> is
// pending deletion.", IncorrectKeyException's, the alias and validation
// messages.
#pragma once

#include <string>
#include <string_view>

#include <fmt/format.h>

#include "common/result.h"

namespace berth::kms {

inline std::unexpected<Error> keyNotFound(std::string_view key_arn) {
  return fail(ErrorCode::kNotFound, fmt::format("Key '{}' does not exist", key_arn), "NotFoundException");
}
inline std::unexpected<Error> aliasNotFound(std::string_view alias_arn) {
  return fail(ErrorCode::kNotFound, fmt::format("Alias {} is not found.", alias_arn), "NotFoundException");
}
inline std::unexpected<Error> notFound(std::string message) {
  return fail(ErrorCode::kNotFound, std::move(message), "NotFoundException");
}
inline std::unexpected<Error> disabled(std::string_view key_arn) {
  return fail(ErrorCode::kFailedPrecondition, fmt::format("{} is disabled.", key_arn), "DisabledException");
}
inline std::unexpected<Error> invalidState(std::string message) {
  return fail(ErrorCode::kFailedPrecondition, std::move(message), "KMSInvalidStateException");
}
inline std::unexpected<Error> pendingDeletion(std::string_view key_arn) {
  return invalidState(fmt::format("{} is pending deletion.", key_arn));
}
inline std::unexpected<Error> invalidCiphertext() {
  // AWS answers InvalidCiphertextException with an empty message.
  return fail(ErrorCode::kInvalidArgument, "", "InvalidCiphertextException");
}
inline std::unexpected<Error> incorrectKey() {
  return fail(ErrorCode::kInvalidArgument,
              "The key ID in the request does not identify a CMK that can perform this operation.",
              "IncorrectKeyException");
}
inline std::unexpected<Error> alreadyExists(std::string message) {
  return fail(ErrorCode::kAlreadyExists, std::move(message), "AlreadyExistsException");
}
inline std::unexpected<Error> invalidAliasName(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidAliasNameException");
}
inline std::unexpected<Error> invalidArn(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidArnException");
}
inline std::unexpected<Error> invalidMarker() {
  return fail(ErrorCode::kInvalidArgument, "Invalid marker", "InvalidMarkerException");
}
inline std::unexpected<Error> validation(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "ValidationException");
}
inline std::unexpected<Error> unsupported(std::string message) {
  return fail(ErrorCode::kFailedPrecondition, std::move(message), "UnsupportedOperationException");
}
inline std::unexpected<Error> invalidKeyUsage(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidKeyUsageException");
}
inline std::unexpected<Error> tagError(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "TagException");
}
inline std::unexpected<Error> limitExceeded(std::string message) {
  return fail(ErrorCode::kResourceExhausted, std::move(message), "LimitExceededException");
}

}  // namespace berth::kms
