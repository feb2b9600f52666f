#include "agent/endpoints/credentials.h"

#include <ctime>

#include <fmt/format.h>

#include "agent/endpoints/task_metadata.h"
#include "aws/crypto.h"

namespace berth::agent::endpoints {

void CredentialsStore::put(const std::string& id, RoleCredentials credentials) {
  std::lock_guard lock(mu_);
  by_id_[id] = std::move(credentials);
}

void CredentialsStore::remove(const std::string& id) {
  std::lock_guard lock(mu_);
  by_id_.erase(id);
}

std::optional<RoleCredentials> CredentialsStore::find(std::string_view id) const {
  std::lock_guard lock(mu_);
  auto it = by_id_.find(id);
  if (it == by_id_.end()) return std::nullopt;
  return it->second;
}

std::string credentialsIdFor(std::string_view key, std::string_view task_arn) {
  std::string h = aws::hexEncode(aws::hmacSha256Digest(key, task_arn)).substr(0, 32);
  return fmt::format("{}-{}-{}-{}-{}", h.substr(0, 8), h.substr(8, 4), h.substr(12, 4), h.substr(16, 4), h.substr(20));
}

std::string credentialsRelativeUri(std::string_view id) { return fmt::format("/v2/credentials/{}", id); }

boost::json::object renderCredentials(const RoleCredentials& c) {
  // STS's form: whole seconds, 'Z'.
  std::time_t secs = std::chrono::duration_cast<std::chrono::seconds>(c.expiration.time_since_epoch()).count();
  std::tm tm{};
  gmtime_r(&secs, &tm);
  std::string expiration = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z", tm.tm_year + 1900, tm.tm_mon + 1,
                                       tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
  return boost::json::object{{"RoleArn", c.role_arn},
                             {"AccessKeyId", c.access_key_id},
                             {"SecretAccessKey", c.secret_access_key},
                             {"Token", c.token},
                             {"Expiration", expiration}};
}

boost::json::object credentialsError(std::string_view code, std::string_view message, int http_status) {
  return boost::json::object{{"code", code}, {"message", message}, {"HTTPErrorCode", http_status}};
}

}  // namespace berth::agent::endpoints
