// Result<T>: the value of a call that can fail, or the Error saying why.
//
// No exceptions cross component boundaries (ARCHITECTURE.md, decision 6).
// An Error carries a generic category for code that only needs to branch on
// "what kind of failure", an optional AWS error type chosen by the component
// that knows the service's semantics (for example "ClusterNotFoundException"),
// a message meant for the API caller, and the errno where the OS said no.
#pragma once

#include <expected>
#include <string>
#include <utility>

namespace berth {

enum class ErrorCode {
  kInvalidArgument,     // the caller's input is wrong
  kNotFound,            // the named thing does not exist
  kAlreadyExists,       // it exists and must not
  kFailedPrecondition,  // the state forbids the operation now
  kPermissionDenied,    // authenticated but not allowed
  kUnauthenticated,     // no or bad credentials / signature
  kResourceExhausted,   // a limit was reached
  kUnimplemented,       // the operation is not supported
  kIo,                  // the OS or disk failed; sys_errno says how
  kInternal,            // a bug or an invariant broken
};

struct Error {
  ErrorCode code = ErrorCode::kInternal;
  std::string message;
  // AWS exception name ("ClusterNotFoundException"), when the producer knows
  // it. The API layer derives one from `code` when this is empty.
  std::string aws_type;
  int sys_errno = 0;
};

template <typename T>
using Result = std::expected<T, Error>;

// The Result of a call that returns nothing on success.
using Status = std::expected<void, Error>;

inline std::unexpected<Error> fail(ErrorCode code, std::string message, std::string aws_type = {}) {
  return std::unexpected(Error{code, std::move(message), std::move(aws_type), 0});
}

// An I/O failure with the errno that caused it; `what` names the operation.
std::unexpected<Error> failErrno(std::string what, int err);

const char* errorCodeName(ErrorCode code);

}  // namespace berth

// Propagates the error of an expression of Result type, else yields its value.
#define BERTH_TRY(expr)                                             \
  ({                                                                \
    auto&& berth_try_result_ = (expr);                              \
    if (!berth_try_result_) [[unlikely]]                            \
      return std::unexpected(std::move(berth_try_result_).error()); \
    std::move(berth_try_result_).value();                           \
  })
