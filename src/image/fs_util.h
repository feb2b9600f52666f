// File-system helpers shared by the layer unpacker, the layer store and the
// rootfs code. Everything works relative to directory file descriptors and
// never follows a symlink out of the tree it was given.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "common/result.h"
#include "image/digest.h"

namespace berth::image {

// openat2(dirfd, path, flags, RESOLVE_BENEATH | RESOLVE_NO_MAGICLINKS): the
// path may use symlinks only while it stays beneath `dirfd`; absolute
// symlinks and `..` escapes fail with EXDEV. Returns -errno on failure.
int openBeneath(int dirfd, const std::string& path, int flags, mode_t mode = 0);

// Removes `name` in `dirfd` and, for a directory, everything under it,
// without following symlinks. A missing entry is success.
Status removeTreeAt(int dirfd, const std::string& name);
// The same for a path (its last component is not followed).
Status removeTree(const std::filesystem::path& path);

// Opens a directory (O_RDONLY | O_DIRECTORY | O_CLOEXEC).
Result<UniqueFd> openDir(const std::filesystem::path& path);
// mkdir -p with mode 0755 for missing components.
Status makeDirs(const std::filesystem::path& path);

// Writes `data` to `path` through a temp file in the same directory, fsync
// and rename: readers see the old file or the whole new one.
Status writeFileAtomic(const std::filesystem::path& path, std::string_view data, mode_t mode = 0644);
// The whole file, at most `limit` bytes.
Result<std::string> readFile(const std::filesystem::path& path, size_t limit);

}  // namespace berth::image
