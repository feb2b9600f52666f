// The contract between the AWS front door and the services behind it.
//
// The front door decodes the wire protocol, verifies the signature and
// type-checks the input against the botocore model; a service sees JSON in
// and gives JSON out, whatever protocol the client spoke.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "api/authorization.h"
#include "aws/model.h"
#include "common/result.h"
#include "http/server.h"
#include "iam/caller.h"

namespace berth::api {

struct Principal {
  std::string access_key_id;
  std::string account_id;
  std::string arn;
};

struct AwsCall {
  const aws::ServiceModel* model = nullptr;
  const aws::OperationModel* operation = nullptr;
  boost::json::object input;
  Principal principal;
  // The same caller, with the permission check for actions behind this
  // operation's own (see iam/caller.h). Empty authorize: may do anything.
  iam::Caller caller;
  // Set when the front door left the call's own action to the service, which
  // must check it (caller.check with the request's keys plus
  // aws:ResourceTag/<key> of each resource): the caller's policies depend on
  // resource tags, which only the service knows.
  std::optional<IamRequest> iam_request;
  std::string request_id;
  std::string region;
  // For an operation whose output is an event stream (StartLiveTail): opens
  // the answer as HTTP 200 with an application/vnd.amazon.eventstream body
  // written through the returned stream, instead of answering through
  // `done` (which is then never called). `on_close` as in
  // http::ResponseStream. Set by the front door for JSON-protocol calls of
  // operations whose output holds an event stream.
  std::function<std::shared_ptr<http::ResponseStream>(std::function<void()> on_close)> open_event_stream;
};

using AwsReply = Result<boost::json::value>;
using AwsDone = std::function<void(AwsReply)>;

class AwsService {
 public:
  virtual ~AwsService() = default;
  // The botocore model id this service implements ("ecs", "ec2", ...).
  virtual std::string_view modelId() const = 0;
  // Runs one call. Called on an I/O thread; the service moves to its own
  // executor as it needs and completes `done` exactly once, on any thread
  // (unless it answered through AwsCall::open_event_stream).
  virtual void call(AwsCall call, AwsDone done) = 0;
};

}  // namespace berth::api
