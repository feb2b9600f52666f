// A small AWS client for the stack engine (src/stack/engine.h): JSON 1.1
// services (ECS, ECR, CloudWatch Logs, SSM, Cloud Map, Application Auto
// Scaling) and the Query protocol with XML answers (IAM, EC2), all
// SigV4-signed. It talks to whatever endpoint it is given: berthd, or an AWS
// endpoint that speaks plain HTTP (HttpClient has no TLS yet).
//
// AwsApi is the interface the resource types call; tests substitute fakes.
// An AWS error becomes an Error whose aws_type is the error's name without
// namespace ("ClusterNotFoundException", "NoSuchEntity"); code kNotFound for
// 404s and the well-known not-found names, else kInvalidArgument for other
// 4xx and kInternal for the rest.
//
// Thread rules: one thread at a time.
#pragma once

#include <memory>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <boost/json.hpp>

#include "cli/ecr_client.h"
#include "cli/http_client.h"
#include "common/result.h"
#include "stack/xml.h"

namespace berth::stack {

using QueryParams = std::vector<std::pair<std::string, std::string>>;

class AwsApi {
 public:
  virtual ~AwsApi() = default;
  // `service` is the signing name ("ecs", "logs", "ssm", "servicediscovery",
  // "application-autoscaling", "ecr"); `operation` e.g. "CreateCluster".
  virtual Result<boost::json::object> json(std::string_view service, std::string_view operation,
                                           const boost::json::object& input) = 0;
  // Query protocol ("iam", "ec2"): Action and Version are added; the answer's
  // root element (e.g. GetRoleResponse).
  virtual Result<XmlElement> query(std::string_view service, std::string_view action, const QueryParams& params) = 0;
};

// Over HTTP to one endpoint for every service.
class HttpAwsApi final : public AwsApi {
 public:
  HttpAwsApi(cli::Endpoint endpoint, cli::AwsCredentials credentials, std::string region);
  ~HttpAwsApi() override;

  Result<boost::json::object> json(std::string_view service, std::string_view operation,
                                   const boost::json::object& input) override;
  Result<XmlElement> query(std::string_view service, std::string_view action, const QueryParams& params) override;

 private:
  std::unique_ptr<cli::HttpClient> http_;
  cli::AwsCredentials credentials_;
  std::string region_;
};

// True when `e` says the thing does not exist.
bool isNotFound(const Error& e);

}  // namespace berth::stack
