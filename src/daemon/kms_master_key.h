// berthd's KMS master key: 32 random bytes in <data-dir>/kms-master.key
// (mode 0600), under which every KMS key's material is sealed in the store.
// Losing the file makes every KMS key, and so every SecureString, unusable.
#pragma once

#include <filesystem>
#include <string>

#include "common/result.h"

namespace berth::daemon {

// Reads the key from `file`, or creates the file with a new key: written to
// a temporary file with mode 0600, fsynced, then linked into place so that a
// crash never leaves a partial key and two starters never both win.
// Fails when the file exists with the wrong size or is readable by others.
Result<std::string> loadOrCreateKmsMasterKey(const std::filesystem::path& file);

}  // namespace berth::daemon
