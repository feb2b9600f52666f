// Registry credentials as ECR hands them out: GetAuthorizationToken returns
// base64("AWS:<password>"), valid for 12 hours, and docker/skopeo send it
// back as HTTP Basic credentials (user "AWS").
//
// berth's password is "<expiry epoch seconds>.<hex HMAC-SHA256(key, expiry)>"
// under a key derived from the daemon's root secret: tokens need no state,
// survive a restart of berthd, and die with the root credentials.
//
// Threads: immutable after construction; any thread.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

#include "common/clock.h"
#include "common/result.h"

namespace berth::registry {

std::string base64Encode(std::string_view bytes);
std::optional<std::string> base64Decode(std::string_view text);

class RegistryTokens {
 public:
  static constexpr std::chrono::hours kLifetime{12};

  RegistryTokens(std::string_view root_secret, const Clock& clock);

  struct Issued {
    std::string authorization_token;  // base64("AWS:" + password)
    std::string password;
    WallTime expires_at;
  };
  Issued issue() const;

  // Checks an Authorization header value ("Basic <base64 user:password>").
  // kUnauthenticated with a message fit for the client otherwise.
  Status checkBasic(std::string_view authorization) const;
  Status checkPassword(std::string_view user, std::string_view password) const;

 private:
  std::string mac(std::string_view expiry) const;

  std::string key_;
  const Clock& clock_;
};

}  // namespace berth::registry
