// Building a reproducible layer from a directory, for `berth image build`.
//
// The same tree always gives the same bytes: entries in byte order of their
// names (depth first), uid/gid 0 with no user or group names, every mtime
// kLayerEpoch, no atime/ctime/xattrs, pax headers only where ustar cannot
// hold a name, and gzip (zlib, no name, mtime 0 in the header). Hard links
// inside the tree are kept as tar hard links to the first name in that
// order. Sockets and device nodes are left out.
#pragma once

#include <cstdint>
#include <filesystem>
#include <string>

#include "common/result.h"

namespace berth::image {

inline constexpr int64_t kLayerEpoch = 0;  // 1970-01-01T00:00:00Z

struct BuiltLayer {
  std::string digest;   // sha256 of the .tar.gz
  std::string diff_id;  // sha256 of the tar
  int64_t size = 0;     // bytes of the .tar.gz
  uint64_t entries = 0;
};

// Writes the gzip-compressed tar of the tree at `dir` (not including `dir`
// itself) to `out_file`.
Result<BuiltLayer> buildLayerFromDirectory(const std::filesystem::path& dir, const std::filesystem::path& out_file);

}  // namespace berth::image
