// A small AWS client for the stack engine (src/stack/engine.h): JSON 1.1
// services (ECS, ECR, CloudWatch Logs, SSM, Cloud Map, Application Auto
// Scaling) and the Query protocol with XML answers (IAM, EC2), all
// SigV4-signed. It talks either to one endpoint for every service (berthd)
// or, in AWS mode, to each service's public https:// endpoint
// (awsServiceEndpoint below), one HttpClient per host.
//
// AwsApi is the interface the resource types call; tests substitute fakes.
// An AWS error becomes an Error whose aws_type is the error's name without
// namespace ("ClusterNotFoundException", "NoSuchEntity"); code kNotFound for
// 404s and the well-known not-found names, else kInvalidArgument for other
// 4xx and kInternal for the rest.
//
// Thread rules: one thread at a time.
#pragma once

#include <map>
#include <memory>
#include <optional>
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

// Where one service's calls go and the region they are signed for.
struct ServiceEndpoint {
  cli::Endpoint endpoint;
  std::string signing_region;
};

// The region a service's requests are signed for: us-east-1 for IAM (a
// global service), else `region`.
std::string signingRegion(std::string_view service, std::string_view region);

// AWS's public endpoint of `service` (a signing name as AwsApi takes) in
// `region`, as botocore's endpoints.json has it for the aws partition:
// https://<prefix>.<region>.amazonaws.com, where the prefix is the signing
// name except ECR's "api.ecr"; IAM is global (https://iam.amazonaws.com,
// signed for us-east-1). Other partitions (cn-*, us-gov-*, iso) and unknown
// services are refused.
Result<ServiceEndpoint> awsServiceEndpoint(std::string_view service, std::string_view region);

// Over HTTP(S): to one endpoint for every service, or to AWS.
class HttpAwsApi final : public AwsApi {
 public:
  // Every service at `endpoint` (berthd).
  HttpAwsApi(cli::Endpoint endpoint, cli::AwsCredentials credentials, std::string region);
  // AWS mode: every service at awsServiceEndpoint(service, region).
  HttpAwsApi(cli::AwsCredentials credentials, std::string region);
  ~HttpAwsApi() override;

  Result<boost::json::object> json(std::string_view service, std::string_view operation,
                                   const boost::json::object& input) override;
  Result<XmlElement> query(std::string_view service, std::string_view action, const QueryParams& params) override;

 private:
  // The client for `service`'s host (made on first use) and its signing region.
  Result<std::pair<cli::HttpClient*, std::string>> clientFor(std::string_view service);

  std::optional<cli::Endpoint> single_;                              // unset in AWS mode
  std::map<std::string, std::unique_ptr<cli::HttpClient>> clients_;  // by URL
  cli::AwsCredentials credentials_;
  std::string region_;
};

// True when `e` says the thing does not exist.
bool isNotFound(const Error& e);

}  // namespace berth::stack
