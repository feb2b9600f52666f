// The CLI's ECR API client (JSON 1.1, SigV4-signed) and the credentials it
// signs with.
//
// Credentials, in order: --data-dir (<data-dir>/credentials, [default]),
// AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY[/AWS_SESSION_TOKEN], the shared
// credentials file (AWS_SHARED_CREDENTIALS_FILE or ~/.aws/credentials,
// profile AWS_PROFILE or default). With none, dummy keys are used: enough
// for a berthd started with --auth off, refused by one that checks.
//
// Thread rules: one thread at a time (it owns an HttpClient).
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "cli/http_client.h"
#include "common/result.h"

namespace berth::cli {

struct AwsCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::optional<std::string> session_token;
};

// The [profile] section of a shared-credentials file's text; NotFound when absent.
Result<AwsCredentials> parseSharedCredentials(std::string_view text, std::string_view profile);
// The chain above; `data_dir` empty to skip the first step.
AwsCredentials findCredentials(const std::string& data_dir);
// AWS_REGION, AWS_DEFAULT_REGION, or us-east-1.
std::string defaultRegion();

// POSTs `body` to `/` as a JSON 1.1 call with X-Amz-Target `target`,
// SigV4-signed for `service` in `region`; the answer whatever its status.
Result<HttpResponse> postSignedJson(HttpClient& http, const AwsCredentials& credentials, std::string_view region,
                                    std::string_view service, std::string target, std::string body);

class EcrClient {
 public:
  EcrClient(HttpClient& http, AwsCredentials credentials, std::string region);

  // Calls `operation` (CreateRepository...) with `input`. An AWS error
  // becomes an Error with aws_type set to its name (without namespace).
  Result<boost::json::object> call(std::string_view operation, const boost::json::object& input);

  // GetAuthorizationToken's token: base64 "AWS:<password>", for HTTP Basic.
  Result<std::string> authorizationToken();
  // CreateRepository unless it exists already.
  Status ensureRepository(std::string_view name);

 private:
  HttpClient& http_;
  AwsCredentials credentials_;
  std::string region_;
};

}  // namespace berth::cli
