// Unpacked layers, one directory per diffID: <data-dir>/layers/<diffid-hex>/,
// each a ready overlayfs lower (whiteouts as 0/0 devices, opaque directories
// as trusted.overlay.opaque=y).
//
// A layer is unpacked into <layers>/.tmp/<hex>, its blob digest, size and
// diffID are checked, and only then is it renamed into place: a directory
// under its diffID is always complete and verified. Failures leave nothing
// behind (the scratch directory is removed).
//
// Concurrency: a per-diffID lock file (flock on <layers>/.locks/<hex>) makes
// concurrent ensure() calls for one layer, from threads of this process or
// from another process, unpack it once; the others wait and reuse it.
// Distinct layers unpack in parallel. ensure() blocks: call it from a worker
// thread, never from an event loop.
#pragma once

#include <atomic>
#include <filesystem>
#include <string>
#include <string_view>

#include "image/resolve.h"
#include "image/unpack.h"

namespace berth::image {

class LayerStore {
 public:
  // `layers_dir` is <data-dir>/layers.
  explicit LayerStore(std::filesystem::path layers_dir, UnpackOptions options = {});

  // Creates the directory layout and removes scratch directories left by a
  // crash. Call once before ensure().
  Status open();

  // The directory of the unpacked layer, unpacking `layer` (read from
  // `blobs` in `repository`) when it is not there yet.
  Result<std::filesystem::path> ensure(const LayerRef& layer, BlobSource& blobs, std::string_view repository);

  std::filesystem::path pathFor(std::string_view diff_id) const;
  bool contains(std::string_view diff_id) const;
  // Layers unpacked by this object (tests check "unpacked once").
  uint64_t unpackCount() const { return unpacked_.load(); }

 private:
  std::filesystem::path dir_;
  UnpackOptions options_;
  std::atomic<uint64_t> unpacked_{0};
};

}  // namespace berth::image
