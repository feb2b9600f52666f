// durableai backend: GET /health -> "ok"; GET / -> the task's id and a
// greeting read from SSM Parameter Store with the task role's credentials.
//
// Environment: PORT (8000), GREETING_PARAMETER (the parameter's name),
// AWS_ENDPOINT_URL_SSM or AWS_ENDPOINT_URL (plain http), AWS_REGION or
// AWS_DEFAULT_REGION, AWS_CONTAINER_CREDENTIALS_RELATIVE_URI (or
// AWS_CONTAINER_CREDENTIALS_FULL_URI), ECS_CONTAINER_METADATA_URI_V4.
#include <cstdio>
#include <ctime>
#include <mutex>
#include <optional>
#include <string>

#include <boost/json.hpp>

#include "../common/aws_sign.h"
#include "../common/http.h"
#include "../common/net.h"

namespace durableai {
namespace {

namespace json = boost::json;

constexpr std::string_view kCredentialsHost = "http://169.254.170.2";
// Credentials are refreshed this long before they expire.
constexpr std::time_t kRefreshMargin = 5 * 60;

std::optional<std::string> stringField(const json::value& v, std::string_view key) {
  const json::object* o = v.if_object();
  if (!o) return std::nullopt;
  const json::value* f = o->if_contains(key);
  if (!f || !f->is_string()) return std::nullopt;
  return std::string(f->get_string());
}

// GET of a JSON document; errors name `what`.
std::expected<json::value, std::string> getJson(const std::string& url_text, std::string_view what) {
  auto url = parseHttpUrl(url_text);
  if (!url) return std::unexpected(std::string(what) + ": " + url.error());
  auto response = httpRequest(*url, "GET", {}, {});
  if (!response) return std::unexpected(std::string(what) + ": " + response.error());
  if (response->status != 200)
    return std::unexpected(std::string(what) + ": HTTP " + std::to_string(response->status) + ": " +
                           response->body.substr(0, 300));
  boost::system::error_code ec;
  json::value doc = json::parse(response->body, ec);
  if (ec) return std::unexpected(std::string(what) + ": response is not JSON");
  return doc;
}

// 2026-12-07T21:26:54Z (fractional seconds allowed) -> seconds since the epoch.
std::optional<std::time_t> parseIsoTime(const std::string& text) {
  std::tm tm{};
  int consumed = 0;
  if (std::sscanf(text.c_str(), "%4d-%2d-%2dT%2d:%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
                  &tm.tm_min, &tm.tm_sec, &consumed) != 6)
    return std::nullopt;
  tm.tm_year -= 1900;
  tm.tm_mon -= 1;
  return timegm(&tm);
}

// The task role's credentials from the container credentials endpoint,
// cached until kRefreshMargin before they expire. Thread-safe.
class TaskCredentials {
 public:
  std::expected<AwsCredentials, std::string> get() {
    std::lock_guard lock(mu_);
    std::time_t now = std::time(nullptr);
    if (cached_ && now + kRefreshMargin < expires_) return *cached_;
    std::string url = envOr("AWS_CONTAINER_CREDENTIALS_FULL_URI", "");
    if (std::string relative = envOr("AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", ""); !relative.empty())
      url = std::string(kCredentialsHost) + relative;
    if (url.empty())
      return std::unexpected(
          "task role credentials: AWS_CONTAINER_CREDENTIALS_RELATIVE_URI is not set (no task role?)");
    auto doc = getJson(url, "task role credentials");
    if (!doc) return std::unexpected(doc.error());
    AwsCredentials c;
    auto id = stringField(*doc, "AccessKeyId");
    auto secret = stringField(*doc, "SecretAccessKey");
    if (!id || !secret) return std::unexpected("task role credentials: no AccessKeyId/SecretAccessKey in the response");
    c.access_key_id = *id;
    c.secret_access_key = *secret;
    c.session_token = stringField(*doc, "Token").value_or("");
    auto expiration = stringField(*doc, "Expiration");
    std::optional<std::time_t> expires = expiration ? parseIsoTime(*expiration) : std::nullopt;
    expires_ = expires.value_or(now + kRefreshMargin + 60);  // no Expiration: ask again in a minute
    cached_ = c;
    return c;
  }

 private:
  std::mutex mu_;
  std::optional<AwsCredentials> cached_;
  std::time_t expires_ = 0;
};

// The task id: the last segment of the TaskARN in the task metadata.
// Cached once found. Thread-safe.
class TaskId {
 public:
  std::expected<std::string, std::string> get() {
    std::lock_guard lock(mu_);
    if (!id_.empty()) return id_;
    std::string base = envOr("ECS_CONTAINER_METADATA_URI_V4", "");
    if (base.empty()) return std::unexpected("task metadata: ECS_CONTAINER_METADATA_URI_V4 is not set");
    auto doc = getJson(base + "/task", "task metadata");
    if (!doc) return std::unexpected(doc.error());
    auto arn = stringField(*doc, "TaskARN");
    if (!arn || arn->empty()) return std::unexpected("task metadata: no TaskARN");
    id_ = arn->substr(arn->rfind('/') + 1);
    return id_;
  }

 private:
  std::mutex mu_;
  std::string id_;
};

// ssm:GetParameter (JSON 1.1) for `name`, decrypted; returns its Value.
std::expected<std::string, std::string> getParameter(TaskCredentials& credentials, const std::string& name) {
  std::string endpoint = envOr("AWS_ENDPOINT_URL_SSM", envOr("AWS_ENDPOINT_URL", ""));
  std::string region = envOr("AWS_REGION", envOr("AWS_DEFAULT_REGION", ""));
  if (endpoint.empty()) return std::unexpected("SSM: AWS_ENDPOINT_URL is not set (this example speaks plain http)");
  if (region.empty()) return std::unexpected("SSM: AWS_REGION is not set");
  auto url = parseHttpUrl(endpoint);
  if (!url) return std::unexpected("SSM: AWS_ENDPOINT_URL: " + url.error());
  auto creds = credentials.get();
  if (!creds) return std::unexpected(creds.error());
  std::string body = "{\"Name\":\"" + jsonEscape(name) + "\",\"WithDecryption\":true}";
  Headers headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", "AmazonSSM.GetParameter"}};
  url->target = "/";
  Headers auth =
      signAwsRequest("POST", url->authority(), "/", headers, body, region, "ssm", *creds, std::time(nullptr));
  headers.insert(headers.end(), auth.begin(), auth.end());
  auto response = httpRequest(*url, "POST", headers, body);
  if (!response) return std::unexpected("SSM GetParameter: " + response.error());
  boost::system::error_code ec;
  json::value doc = json::parse(response->body, ec);
  if (response->status != 200) {
    std::string type = ec ? "" : stringField(doc, "__type").value_or("");
    std::string message = ec ? response->body.substr(0, 300)
                             : stringField(doc, "message").value_or(stringField(doc, "Message").value_or(""));
    return std::unexpected("SSM GetParameter " + name + ": HTTP " + std::to_string(response->status) + " " +
                           type.substr(type.rfind('#') + 1) + ": " + message);
  }
  if (ec) return std::unexpected("SSM GetParameter: response is not JSON");
  const json::object* o = doc.if_object();
  const json::value* parameter = o ? o->if_contains("Parameter") : nullptr;
  auto value = parameter ? stringField(*parameter, "Value") : std::nullopt;
  if (!value) return std::unexpected("SSM GetParameter: no Parameter.Value in the response");
  return *value;
}

Response errorResponse(const std::string& what) {
  std::fprintf(stderr, "backend: %s\n", what.c_str());
  return jsonResponse(502, "{\"service\":\"backend\",\"error\":\"" + jsonEscape(what) + "\"}");
}

}  // namespace
}  // namespace durableai

int main() {
  using namespace durableai;
  static TaskCredentials credentials;
  static TaskId task_id;
  int port = std::atoi(envOr("PORT", "8000").c_str());
  std::printf("backend: listening on 0.0.0.0:%d\n", port);
  std::fflush(stdout);
  std::string error = serve(port, [](const Request& request) -> Response {
    if (request.method != "GET") return jsonResponse(405, "{\"error\":\"only GET\"}");
    if (request.path() == "/health") return Response{200, {{"Content-Type", "text/plain"}}, "ok"};
    if (request.path() != "/") return jsonResponse(404, "{\"error\":\"not found\"}");
    auto id = task_id.get();
    if (!id) return errorResponse(id.error());
    std::string parameter = envOr("GREETING_PARAMETER", "");
    if (parameter.empty()) return errorResponse("GREETING_PARAMETER is not set");
    auto greeting = getParameter(credentials, parameter);
    if (!greeting) return errorResponse(greeting.error());
    return jsonResponse(200, "{\"service\":\"backend\",\"task\":\"" + jsonEscape(*id) + "\",\"greeting\":\"" +
                                 jsonEscape(*greeting) + "\"}");
  });
  std::fprintf(stderr, "backend: %s\n", error.c_str());
  return 1;
}
