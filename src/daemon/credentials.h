// Root credentials of a berthd data directory: generated on first start and
// written to <data-dir>/credentials in the AWS shared-credentials format
// ([default] profile, mode 0600), so the aws CLI and SDKs can use them with
// AWS_SHARED_CREDENTIALS_FILE.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace berth::daemon {

struct RootCredentials {
  std::string access_key_id;      // AKIA + 16 characters
  std::string secret_access_key;  // 40 characters
};

// Reads the [default] profile of `file`, or creates the file with new keys.
Result<RootCredentials> loadOrCreateRootCredentials(const std::filesystem::path& file);

// Parses the [profile] section of a shared-credentials file's text.
Result<RootCredentials> parseCredentialsFile(std::string_view text, std::string_view profile = "default");

}  // namespace berth::daemon
