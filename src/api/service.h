// The contract between the AWS front door and the services behind it.
//
// The front door decodes the wire protocol, verifies the signature and
// type-checks the input against the botocore model; a service sees JSON in
// and gives JSON out, whatever protocol the client spoke.
#pragma once

#include <functional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "aws/model.h"
#include "common/result.h"

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
  std::string request_id;
  std::string region;
};

using AwsReply = Result<boost::json::value>;
using AwsDone = std::function<void(AwsReply)>;

class AwsService {
 public:
  virtual ~AwsService() = default;
  // The botocore model id this service implements ("ecs", "ec2", ...).
  virtual std::string_view modelId() const = 0;
  // Runs one call. Called on an I/O thread; the service moves to its own
  // executor as it needs and completes `done` exactly once, on any thread.
  virtual void call(AwsCall call, AwsDone done) = 0;
};

}  // namespace berth::api
