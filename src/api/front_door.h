// The AWS front door: an http::Handler that turns HTTP requests into calls
// on AwsServices and their results into AWS-shaped responses.
//
// Protocols: JSON 1.0/1.1 routed by X-Amz-Target; Query (form-encoded, XML
// answers) and EC2's variant routed by Action and the SigV4 scope's service.
// Also answers GET /health, and hands /v2/ to the registry. Every response carries x-amzn-RequestId.
//
// Threads: handle() runs on I/O threads; all state here is immutable after
// start-up except the services' own.
#pragma once

#include <map>
#include <string>

#include "api/authorizer.h"
#include "api/service.h"
#include "aws/sigv4.h"
#include "common/clock.h"
#include "http/server.h"

namespace berth::api {

struct FrontDoorOptions {
  aws::AuthMode auth = aws::AuthMode::kSigV4;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Validate every response against the model's output shape; a violation
  // becomes a 500 naming it. For tests.
  bool check_responses = false;
};

class FrontDoor final : public http::Handler {
 public:
  FrontDoor(FrontDoorOptions options, aws::CredentialLookup credentials, const Clock& clock);

  // Registers a service; not thread-safe, call before serving.
  void addService(AwsService* service);

  // Serves the OCI registry's /v2/ URLs through `registry` (not owned; set
  // before serving).
  void setRegistry(http::Handler* registry) { registry_ = registry; }

  // Checks every call by a principal other than root against IAM (not
  // owned; set before serving). Without one, every signed call is allowed.
  void setAuthorizer(const Authorizer* authorizer) { authorizer_ = authorizer; }

  void handle(http::Request request, http::Respond respond) override;
  std::unique_ptr<http::BodySink> streamBody(const http::RequestHeader& header) override;
  http::Response reject(http::beast_http::status status, std::string_view reason) override;

 private:
  struct Route {
    const aws::ServiceModel* model = nullptr;
    const aws::OperationModel* operation = nullptr;
    aws::Protocol protocol = aws::Protocol::kJson;
  };
  void handleAws(http::Request request, http::Respond respond);

  FrontDoorOptions options_;
  aws::CredentialLookup credentials_;
  const Clock& clock_;
  std::map<std::string, AwsService*, std::less<>> services_;  // by model id
  http::Handler* registry_ = nullptr;
  const Authorizer* authorizer_ = nullptr;
};

// The wire form of an error for a protocol: status, headers and body.
http::Response errorResponse(aws::Protocol protocol, const aws::ServiceModel* model, const Error& error,
                             const std::string& request_id);

}  // namespace berth::api
