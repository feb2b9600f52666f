// Checks JSON values against botocore shapes, on the way in and on the way
// out.
//
// In: decodeJsonInput turns the body of a JSON-protocol request (JSON 1.0 and
// 1.1: ECS, Logs, ECR, Cloud Map, Application Auto Scaling, SSM, KMS,
// CloudWatch) into the operation's input, failing with the error the real
// service gives: SerializationException when the body is not JSON or a value
// has the wrong JSON type, and the service's own validation error for a
// missing required member or a length, range, enum or pattern violation.
// Which name and message each service uses is in docs/protocols.md, with how
// sure we are of each. Unknown members are ignored, as AWS does.
//
// Out: validateOutput checks what berth is about to send against the
// operation's output shape and reports the first path a client's model would
// reject. berthd runs it on every response in test mode (ARCHITECTURE.md,
// decision 1: a response that the model would reject is a bug).
//
// Thread rules: all functions are thread-safe and reentrant. Patterns are
// compiled on first use and cached process-wide under a mutex.
#pragma once

#include <optional>
#include <string_view>

#include <boost/json.hpp>

#include "aws/model.h"
#include "common/result.h"

namespace berth::aws {

// Decodes and validates a JSON-protocol request body. An empty (or
// all-whitespace, or `null`) body is the empty input {}.
//
// The result holds only modelled members, without explicit nulls (AWS reads
// an explicit null as absent); integer members are int64 (fractions are
// truncated, as Coral does); timestamps are epoch seconds (numbers); blobs
// stay base64 strings; documents are copied as they are.
//
// Errors have code kInvalidArgument and aws_type set: "SerializationException"
// or the service's validation exception (validationErrorType()).
Result<boost::json::object> decodeJsonInput(const ServiceModel& service, const OperationModel& op,
                                            std::string_view body);

// The constraint pass of decodeJsonInput on its own: required members,
// enums, lengths, ranges and (where they translate to ECMAScript) patterns
// of an already type-checked input, such as decodeQueryInput's. Reports the
// service's validation error.
Status validateInput(const ServiceModel& service, const OperationModel& op, const boost::json::object& input);

// The AWS error name a service uses for invalid input to `op` (which may be
// null): "InvalidParameterException" for ECS and Logs, "ValidationException"
// for SSM, "ValidationError" for IAM, ...
std::string_view validationErrorType(const ServiceModel& service, const OperationModel* op);

// Checks an operation's response (as berth's handlers build it, before the
// protocol encodes it): JSON types, required members, enums, lengths and
// ranges, no unknown members, no nulls. Integer members must be JSON
// integers, timestamps numbers (epoch seconds) or ISO 8601 strings, blobs
// strings. An operation without an output shape accepts {} or null only.
//
// Errors have code kInternal, no aws_type, and say where:
// "ecs DescribeServices output: services[0].launchType: 'FOO' is not one of [EC2, FARGATE, ...]".
Status validateOutput(const ServiceModel& service, const OperationModel& op, const boost::json::value& output);

// The same check for any shape, e.g. an exception's body. `what` prefixes
// the message.
Status validateOutputShape(const ShapeModel& shape, const boost::json::value& value, std::string_view what);

// A timestamp as text on the wire: ISO 8601 ("2026-01-01T00:00:00Z",
// fractional seconds and numeric offsets allowed) or epoch seconds
// ("1767225600.5"). Returns epoch seconds, or nullopt.
std::optional<double> parseTimestampText(std::string_view text);

}  // namespace berth::aws
