// The Query protocol (IAM, STS, and CloudWatch for older clients) and EC2's
// variant of it: form-encoded requests in, XML documents out.
//
// Requests are decoded by the operation's input shape into the same JSON
// object a JSON-protocol request would carry (member names as in the model,
// timestamps as epoch seconds, booleans and numbers typed), so handlers see
// one representation whatever the protocol. Responses go the other way:
// handlers build JSON, and encodeQueryOutput writes the XML that botocore's
// QueryParser / EC2QueryParser read back into the same structure
// (tests/unit/aws/check_query_xml.py checks that with botocore itself).
//
// Naming rules follow botocore's serializers (serialize.py):
//  - Query: a member is `locationName` or its name; lists are
//    `Name.member.N` (or `Name.<locationName>.N`), flattened lists `Name.N`;
//    maps `Name.entry.N.key` / `.value`, flattened `Name.N.key`; an empty
//    list is sent as `Name=`.
//  - EC2: a member is `queryName`, else `locationName` with its first letter
//    upper-cased, else its name; every list is `Name.N`.
//
// Thread rules: stateless functions, safe from any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "aws/model.h"
#include "common/result.h"

namespace berth::aws {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

// Parses application/x-www-form-urlencoded text (a POST body or a URL's
// query string): `&`-separated `name=value` pairs, `+` is a space, `%XX` a
// byte. A pair without `=` has an empty value; empty pairs are skipped. Order
// is kept. Fails with aws_type "MalformedQueryString" on a bad escape.
Result<QueryParams> parseFormUrlEncoded(std::string_view text);

// Decodes a Query or EC2 request's parameters into the operation's input,
// then checks it like decodeJsonInput does (validateInput). The protocol is
// EC2's for the ec2 model and Query's otherwise. Action, Version, the SigV4
// query parameters and any other unknown parameter are ignored. When a name
// repeats, the last value wins.
//
// A value that does not parse as its shape's type ("MaxItems=abc") fails
// with the service's validation error (validationErrorType()).
Result<boost::json::object> decodeQueryInput(const ServiceModel& service, const OperationModel& op,
                                             const QueryParams& params);

// The XML body of a successful response. `output` is the operation's output
// as JSON (what validateOutput checks); members it has that the shape lacks
// are dropped, and numbers given for timestamps (epoch seconds) are written
// as ISO 8601 with milliseconds.
//   Query: <OpResponse xmlns="ns"><OpResult>...</OpResult>
//          <ResponseMetadata><RequestId>id</RequestId></ResponseMetadata></OpResponse>
//   EC2:   <OpResponse xmlns="ns"><requestId>id</requestId>...</OpResponse>
std::string encodeQueryOutput(const ServiceModel& service, const OperationModel& op, const boost::json::value& output,
                              std::string_view request_id);

// The XML body of an error response.
//   Query: <ErrorResponse xmlns="ns"><Error><Type>Sender</Type><Code>..</Code>
//          <Message>..</Message></Error><RequestId>..</RequestId></ErrorResponse>
//   EC2:   <Response><Errors><Error><Code>..</Code><Message>..</Message></Error>
//          </Errors><RequestID>..</RequestID></Response>
// `server_fault` makes the Query <Type> "Receiver".
std::string encodeQueryError(const ServiceModel& service, std::string_view code, std::string_view message,
                             bool server_fault, std::string_view request_id);

// The same from a berth Error: its aws_type and message; kInternal and kIo
// are server faults. Without an aws_type the name is a generic one
// ("InternalFailure", or the service's validation error for
// kInvalidArgument); the API layer should set aws_type.
std::string encodeQueryError(const ServiceModel& service, const Error& error, std::string_view request_id);

}  // namespace berth::aws
