// Image archives for `berth image load`: an OCI image layout in a tar
// (`skopeo copy ... oci-archive:F`, `docker save` of Docker 25+) or a
// `docker save` archive (manifest.json naming a config and layer tars;
// `skopeo copy ... docker-archive:F:name:tag`), optionally gzip or zstd
// compressed.
//
// The archive is untrusted input. Reading it happens in two steps:
//
//  1. extractImageArchive() copies every regular file of the tar into a
//     scratch directory under a generated name (0, 1, 2...), hashing it as
//     it goes; the archive's names are only keys in a map and never become
//     paths on disk, so nothing can be written beside the scratch directory.
//     Names are normalized ("./a//b" is "a/b"); an absolute name or a ".."
//     component refuses the whole archive. Hard links and symlinks become
//     aliases of the regular file they name (symlinks resolved lexically
//     from their directory, at most 8 deep, never above the archive root);
//     other entry types are ignored.
//  2. readImageArchive() finds the images in it: OCI (index.json, blobs
//     under blobs/sha256/<hex> whose content must match <hex>) or docker
//     (manifest.json). Docker images become OCI image manifests whose layers
//     are the archive's layer files as they are (uncompressed tar layers, so
//     the blob digest is the diffID, which must match the config's diff_ids;
//     gzip and zstd layers are typed as such).
//
// Thread rules: pure functions over files; any thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::image {

struct ArchiveFile {
  std::filesystem::path path;  // in the scratch directory
  std::string digest;          // sha256 of its content
  int64_t size = 0;
  std::string magic;  // its first bytes (at most 4), to tell compressed layers
};

struct ArchiveLimits {
  size_t max_entries = 100000;
  size_t max_name = 4096;
  uint64_t max_total_bytes = uint64_t{64} << 30;
};

// Name in the archive (normalized) -> file.
using ExtractedArchive = std::map<std::string, ArchiveFile>;

// InvalidArgument for a malformed archive or a refused name; Io for the
// scratch directory. `scratch` must exist and be empty.
Result<ExtractedArchive> extractImageArchive(const std::filesystem::path& archive, const std::filesystem::path& scratch,
                                             const ArchiveLimits& limits = {});

// One manifest to push: children of an index come before the index.
struct ArchiveManifest {
  std::string media_type;
  std::string bytes;
  std::string digest;
  std::vector<std::string> blobs;  // config and layer digests it needs
};

struct ArchiveImage {
  // References the archive gives the image ("busybox:latest",
  // "docker.io/library/busybox:1.36"), or bare tags ("latest") from an OCI
  // ref.name; may be empty.
  std::vector<std::string> names;
  std::vector<ArchiveManifest> manifests;  // the last one is the image (or index) itself
};

struct ImageArchive {
  enum class Format { kOciLayout, kDockerSave } format = Format::kOciLayout;
  std::vector<ArchiveImage> images;
  std::map<std::string, ArchiveFile> blobs;  // by digest: every blob the manifests need
};

// InvalidArgument when the archive is neither format or is inconsistent
// (missing or mismatching blobs, bad manifests, diff_ids not matching).
Result<ImageArchive> readImageArchive(const ExtractedArchive& files);

}  // namespace berth::image
