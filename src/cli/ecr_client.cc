#include "cli/ecr_client.h"

#include <cstdlib>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "aws/sigv4.h"
#include "common/clock.h"
#include "common/json.h"

namespace berth::cli {
namespace {

namespace bj = boost::json;

std::string_view trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return s;
}

std::optional<std::string> readFile(const std::string& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

const char* env(const char* name) {
  const char* v = std::getenv(name);
  return v && *v ? v : nullptr;
}

}  // namespace

Result<AwsCredentials> parseSharedCredentials(std::string_view text, std::string_view profile) {
  AwsCredentials c;
  bool in_section = false, found = false;
  while (!text.empty()) {
    size_t nl = text.find('\n');
    std::string_view line = trim(text.substr(0, nl));
    text = nl == std::string_view::npos ? std::string_view() : text.substr(nl + 1);
    if (line.empty() || line.front() == '#' || line.front() == ';') continue;
    if (line.front() == '[' && line.back() == ']') {
      in_section = trim(line.substr(1, line.size() - 2)) == profile;
      found = found || in_section;
      continue;
    }
    if (!in_section) continue;
    size_t eq = line.find('=');
    if (eq == std::string_view::npos) continue;
    std::string_view key = trim(line.substr(0, eq)), value = trim(line.substr(eq + 1));
    if (key == "aws_access_key_id") c.access_key_id = value;
    if (key == "aws_secret_access_key") c.secret_access_key = value;
    if (key == "aws_session_token") c.session_token = std::string(value);
  }
  if (!found || c.access_key_id.empty() || c.secret_access_key.empty()) {
    return fail(ErrorCode::kNotFound, fmt::format("no credentials in profile {}", profile));
  }
  return c;
}

AwsCredentials findCredentials(const std::string& data_dir) {
  if (!data_dir.empty()) {
    if (auto text = readFile(data_dir + "/credentials")) {
      if (auto c = parseSharedCredentials(*text, "default")) return *c;
    }
  }
  if (env("AWS_ACCESS_KEY_ID") && env("AWS_SECRET_ACCESS_KEY")) {
    AwsCredentials c{env("AWS_ACCESS_KEY_ID"), env("AWS_SECRET_ACCESS_KEY"), std::nullopt};
    if (const char* token = env("AWS_SESSION_TOKEN")) c.session_token = token;
    return c;
  }
  std::string file;
  if (const char* f = env("AWS_SHARED_CREDENTIALS_FILE")) {
    file = f;
  } else if (const char* home = env("HOME")) {
    file = std::string(home) + "/.aws/credentials";
  }
  if (!file.empty()) {
    if (auto text = readFile(file)) {
      const char* profile = env("AWS_PROFILE");
      if (auto c = parseSharedCredentials(*text, profile ? profile : "default")) return *c;
    }
  }
  return AwsCredentials{"AKIABERTHANONYMOUS00", std::string(40, 'x'), std::nullopt};
}

std::string defaultRegion() {
  if (const char* r = env("AWS_REGION")) return r;
  if (const char* r = env("AWS_DEFAULT_REGION")) return r;
  return "us-east-1";
}

EcrClient::EcrClient(HttpClient& http, AwsCredentials credentials, std::string region)
    : http_(http), credentials_(std::move(credentials)), region_(std::move(region)) {}

Result<HttpResponse> postSignedJson(HttpClient& http, const AwsCredentials& credentials, std::string_view region,
                                    std::string_view service, std::string target, std::string body) {
  aws::SigningInput s;
  s.method = "POST";
  s.host = http.endpoint().authority();
  s.path = "/";
  s.headers = {{"Content-Type", "application/x-amz-json-1.1"}, {"X-Amz-Target", std::move(target)}};
  s.body = std::move(body);
  s.region = std::string(region);
  s.service = std::string(service);
  s.access_key_id = credentials.access_key_id;
  s.secret_access_key = credentials.secret_access_key;
  s.session_token = credentials.session_token;
  s.now = SystemClock::instance().now();
  Headers headers(s.headers.begin(), s.headers.end());
  for (auto& h : aws::signRequest(s)) headers.push_back(std::move(h));
  return http.request("POST", "/", headers, s.body);
}

Result<bj::object> EcrClient::call(std::string_view operation, const bj::object& input) {
  HttpResponse r = BERTH_TRY(postSignedJson(http_, credentials_, region_, "ecr",
                                            fmt::format("AmazonEC2ContainerRegistry_V20150921.{}", operation),
                                            json::serialize(input)));
  std::optional<bj::value> doc = json::parse(r.body);
  if (r.status != 200) {
    std::string type, message = r.body;
    if (doc && doc->is_object()) {
      type = json::stringOr(doc->as_object(), "__type");
      if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
      message = json::stringOr(doc->as_object(), "message", json::stringOr(doc->as_object(), "Message"));
    }
    return fail(r.status == 400 || r.status == 404 ? ErrorCode::kInvalidArgument : ErrorCode::kInternal,
                fmt::format("{} failed: {}: {}", operation, type.empty() ? std::to_string(r.status) : type, message),
                type);
  }
  if (!doc || !doc->is_object())
    return fail(ErrorCode::kInternal, fmt::format("{}: the answer is not JSON", operation));
  return doc->as_object();
}

Result<std::string> EcrClient::authorizationToken() {
  bj::object out = BERTH_TRY(call("GetAuthorizationToken", {}));
  const bj::array* data = json::getArray(out, "authorizationData");
  if (!data || data->empty() || !(*data)[0].is_object()) {
    return fail(ErrorCode::kInternal, "GetAuthorizationToken returned no authorizationData");
  }
  std::string token = json::stringOr((*data)[0].as_object(), "authorizationToken");
  if (token.empty()) return fail(ErrorCode::kInternal, "GetAuthorizationToken returned no token");
  return token;
}

Status EcrClient::ensureRepository(std::string_view name) {
  auto created = call("CreateRepository", bj::object{{"repositoryName", name}});
  if (!created && created.error().aws_type != "RepositoryAlreadyExistsException")
    return std::unexpected(created.error());
  return {};
}

}  // namespace berth::cli
