// Task role credentials as the container credentials endpoint serves them
// (`http://169.254.170.2$AWS_CONTAINER_CREDENTIALS_RELATIVE_URI`, i.e.
// `/v2/credentials/<id>`), and where they come from.
//
// berthd issues a task's credentials (an STS session of its task role)
// before the task launches and puts them here under the task's credentials
// id; they are refreshed before they expire and removed when the task stops.
//
// The id is a capability: credentialsIdFor() derives it from the task ARN
// with a keyed hash under a berthd secret, so it cannot be guessed, needs
// no persisting (the agent and berthd compute the same one, also after a
// restart), and is not the task id. On top of that, the endpoint answers an
// id only to the task it belongs to: the request must come from that
// task's address (all tasks share the bridge the endpoint is on).
//
// Threads: CredentialsStore is thread-safe; find() may be called from the
// HTTP server's threads while the IAM side puts and removes.
#pragma once

#include <map>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/clock.h"

namespace berth::agent::endpoints {

struct RoleCredentials {
  std::string task_arn;  // whose they are: only its address may fetch them
  std::string role_arn;
  std::string access_key_id;
  std::string secret_access_key;
  std::string token;
  WallTime expiration{};
};

class CredentialsProvider {
 public:
  virtual ~CredentialsProvider() = default;
  // The credentials for `id`, nullopt when the id is unknown.
  virtual std::optional<RoleCredentials> find(std::string_view id) const = 0;
};

class CredentialsStore final : public CredentialsProvider {
 public:
  // Replaces any credentials under `id` (refreshes before expiry).
  void put(const std::string& id, RoleCredentials credentials);
  // Idempotent.
  void remove(const std::string& id);
  std::optional<RoleCredentials> find(std::string_view id) const override;

 private:
  mutable std::mutex mu_;
  std::map<std::string, RoleCredentials, std::less<>> by_id_;
};

// The credentials id of `task_arn` under `key` (a berthd secret), formatted
// like a UUID.
std::string credentialsIdFor(std::string_view key, std::string_view task_arn);
// AWS_CONTAINER_CREDENTIALS_RELATIVE_URI for an id: "/v2/credentials/<id>".
std::string credentialsRelativeUri(std::string_view id);

// The 200 body: {RoleArn, AccessKeyId, SecretAccessKey, Token, Expiration}.
boost::json::object renderCredentials(const RoleCredentials& c);
// ECS's error body: {"code", "message", "HTTPErrorCode"}.
boost::json::object credentialsError(std::string_view code, std::string_view message, int http_status);

}  // namespace berth::agent::endpoints
