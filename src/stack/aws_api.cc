#include "stack/aws_api.h"

#include <fmt/format.h>

#include "aws/sigv4.h"
#include "common/clock.h"
#include "common/json.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

// The JSON 1.1 target prefix of each service the engine calls.
std::string_view targetPrefix(std::string_view service) {
  if (service == "ecs") return "AmazonEC2ContainerServiceV20141113";
  if (service == "ecr") return "AmazonEC2ContainerRegistry_V20150921";
  if (service == "logs") return "Logs_20140328";
  if (service == "ssm") return "AmazonSSM";
  if (service == "servicediscovery") return "Route53AutoNaming_v20170314";
  if (service == "application-autoscaling") return "AnyScaleFrontendService";
  return {};
}

std::string_view queryVersion(std::string_view service) {
  if (service == "iam") return "2010-05-08";
  if (service == "ec2") return "2016-11-15";
  if (service == "sts") return "2011-06-15";
  if (service == "monitoring") return "2010-08-01";  // CloudWatch
  return {};
}

bool notFoundName(std::string_view t) {
  return t == "NoSuchEntity" || t == "ResourceNotFoundException" || t == "RepositoryNotFoundException" ||
         t == "ParameterNotFound" || t == "ClusterNotFoundException" || t == "ServiceNotFoundException" ||
         t == "NamespaceNotFound" || t == "ServiceNotFound" || t == "OperationNotFound" ||
         t == "ObjectNotFoundException";
}

Error awsError(int status, std::string_view operation, std::string type, std::string_view message) {
  if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
  if (size_t colon = type.find(':'); colon != std::string::npos) type = type.substr(0, colon);
  ErrorCode code = notFoundName(type) || status == 404 ? ErrorCode::kNotFound
                   : status >= 400 && status < 500     ? ErrorCode::kInvalidArgument
                                                       : ErrorCode::kInternal;
  return Error{code, fmt::format("{} failed: {}: {}", operation, type.empty() ? std::to_string(status) : type, message),
               type, 0};
}

}  // namespace

bool isNotFound(const Error& e) { return e.code == ErrorCode::kNotFound || notFoundName(e.aws_type); }

std::string signingRegion(std::string_view service, std::string_view region) {
  return service == "iam" ? "us-east-1" : std::string(region);
}

Result<ServiceEndpoint> awsServiceEndpoint(std::string_view service, std::string_view region) {
  bool known = !targetPrefix(service).empty() || !queryVersion(service).empty();
  if (!known) return fail(ErrorCode::kInvalidArgument, fmt::format("no AWS endpoint known for service {}", service));
  // The region becomes part of a host name: letters, digits and dashes only.
  if (region.empty() || region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string_view::npos)
    return fail(ErrorCode::kInvalidArgument, fmt::format("{:?} is not an AWS region name", region));
  if (region.starts_with("cn-") || region.starts_with("us-gov-") || region.starts_with("us-iso"))
    return fail(
        ErrorCode::kInvalidArgument,
        fmt::format("region {}: only the aws partition's endpoints are known (not China, GovCloud or ISO)", region));
  cli::Endpoint e;
  e.port = "443";
  e.tls = true;
  if (service == "iam") {
    e.host = "iam.amazonaws.com";
  } else {
    e.host = fmt::format("{}.{}.amazonaws.com", service == "ecr" ? "api.ecr" : service, region);
  }
  return ServiceEndpoint{std::move(e), signingRegion(service, region)};
}

HttpAwsApi::HttpAwsApi(cli::Endpoint endpoint, cli::AwsCredentials credentials, std::string region)
    : single_(std::move(endpoint)), credentials_(std::move(credentials)), region_(std::move(region)) {}

HttpAwsApi::HttpAwsApi(cli::AwsCredentials credentials, std::string region)
    : credentials_(std::move(credentials)), region_(std::move(region)) {}

HttpAwsApi::~HttpAwsApi() = default;

Result<std::pair<cli::HttpClient*, std::string>> HttpAwsApi::clientFor(std::string_view service) {
  ServiceEndpoint target = single_ ? ServiceEndpoint{*single_, signingRegion(service, region_)}
                                   : BERTH_TRY(awsServiceEndpoint(service, region_));
  auto& client = clients_[target.endpoint.url()];
  if (!client) client = std::make_unique<cli::HttpClient>(std::move(target.endpoint));
  return std::pair{client.get(), std::move(target.signing_region)};
}

Result<bj::object> HttpAwsApi::json(std::string_view service, std::string_view operation, const bj::object& input) {
  std::string_view prefix = targetPrefix(service);
  if (prefix.empty()) return fail(ErrorCode::kInvalidArgument, fmt::format("unknown JSON service {}", service));
  auto [http, signing_region] = BERTH_TRY(clientFor(service));
  cli::HttpResponse r = BERTH_TRY(cli::postSignedJson(*http, credentials_, signing_region, service,
                                                      fmt::format("{}.{}", prefix, operation), json::serialize(input)));
  std::optional<bj::value> doc = json::parse(r.body);
  if (r.status != 200) {
    std::string type, message = r.body;
    if (doc && doc->is_object()) {
      type = json::stringOr(doc->as_object(), "__type");
      message = json::stringOr(doc->as_object(), "message", json::stringOr(doc->as_object(), "Message"));
    }
    return std::unexpected(awsError(r.status, operation, type, message));
  }
  if (r.body.empty()) return bj::object{};
  if (!doc || !doc->is_object())
    return fail(ErrorCode::kInternal, fmt::format("{}: the answer is not a JSON object", operation));
  return std::move(doc->as_object());
}

Result<XmlElement> HttpAwsApi::query(std::string_view service, std::string_view action, const QueryParams& params) {
  std::string body = fmt::format("Action={}&Version={}", urlEncode(action), queryVersion(service));
  for (const auto& [k, v] : params) body += fmt::format("&{}={}", urlEncode(k), urlEncode(v));
  auto [http, signing_region] = BERTH_TRY(clientFor(service));
  aws::SigningInput s;
  s.method = "POST";
  s.host = http->endpoint().authority();
  s.path = "/";
  s.headers = {{"Content-Type", "application/x-www-form-urlencoded; charset=utf-8"}};
  s.body = std::move(body);
  s.region = std::move(signing_region);
  s.service = std::string(service);
  s.access_key_id = credentials_.access_key_id;
  s.secret_access_key = credentials_.secret_access_key;
  s.session_token = credentials_.session_token;
  s.now = SystemClock::instance().now();
  cli::Headers headers(s.headers.begin(), s.headers.end());
  for (auto& h : aws::signRequest(s)) headers.push_back(std::move(h));
  cli::HttpResponse r = BERTH_TRY(http->request("POST", "/", headers, s.body));
  auto doc = parseXml(r.body);
  if (r.status != 200) {
    std::string type, message = r.body;
    if (doc) {
      // IAM: ErrorResponse/Error/Code; EC2: Response/Errors/Error/Code.
      const XmlElement* err = doc->find("Error");
      if (!err) err = doc->find("Errors/Error");
      if (err) {
        type = err->textAt("Code");
        message = err->textAt("Message");
      }
    }
    return std::unexpected(awsError(r.status, action, type, message));
  }
  if (!doc)
    return fail(ErrorCode::kInternal, fmt::format("{}: the answer is not XML: {}", action, doc.error().message));
  return std::move(*doc);
}

}  // namespace berth::stack
