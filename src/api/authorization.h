// What an AWS call asks IAM for: the action ("ecs:RunTask"), the resources
// it acts on (as ARNs, "*" for an action without resource-level
// permissions), and the service's own condition keys (ecs:cluster).
//
// The resource of each operation is derived from its input the way the
// service authorization reference describes it for the services berth
// serves. Where berth cannot know an ARN exactly from the input alone, the
// nearest one is used and the difference is documented in docs/iam.md
// (a role named without its path: "role/NAME").
//
// KMS names keys by alias as well as by id, which only KMS can resolve:
// its key operations are marked `deferred` and KMS checks them itself with
// the key's ARN (see iam::Caller).
//
// Pure: no I/O, no state; any thread.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "aws/model.h"

namespace berth::api {

struct IamRequest {
  std::string action;                                     // "ecs:RunTask"
  std::vector<std::string> resources;                     // each must be allowed
  std::vector<std::pair<std::string, std::string>> keys;  // service condition keys ("ecs:cluster", ARN)
  bool deferred = false;                                  // the service checks the action itself
};

// The IAM service prefix of a model: its signing name, except CloudWatch's
// ("monitoring" signs, "cloudwatch" authorizes).
std::string iamServicePrefix(const aws::ServiceModel& model);

IamRequest describeIamRequest(const aws::ServiceModel& model, const aws::OperationModel& operation,
                              const boost::json::object& input, std::string_view region, std::string_view account);

}  // namespace berth::api
