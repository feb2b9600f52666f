// Image manifests: parsing and validation of the four manifest kinds the
// registry stores (OCI image manifest and index, Docker v2 schema 2 manifest
// and manifest list). Untrusted input: never throws, never asserts.
//
// Threads: pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::registry {

inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList = "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciImageConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerImageConfig = "application/vnd.docker.container.image.v1+json";

// Manifests larger than this are refused (ECR's and the OCI spec's 4 MiB).
inline constexpr size_t kMaxManifestSize = 4 * 1024 * 1024;

bool isManifestMediaType(std::string_view media_type);
bool isIndexMediaType(std::string_view media_type);

struct Descriptor {
  std::string media_type;
  std::string digest;
  int64_t size = 0;
};

struct Manifest {
  std::string media_type;     // one of the four above
  std::string digest;         // sha256 of the bytes as given
  Descriptor config;          // image manifests only
  std::vector<Descriptor> layers;     // image manifests only
  std::vector<Descriptor> manifests;  // indexes only: child manifests
  std::string artifact_type;  // OCI artifactType, or the config media type of a non-image artifact
  std::string subject;        // digest of the OCI subject, if any
  // Config plus layers for an image manifest; the index's own size otherwise.
  int64_t image_size = 0;

  bool isIndex() const { return !manifests.empty() || isIndexMediaType(media_type); }
  // The digests of blobs this manifest needs in the blob store (config and
  // layers); child manifests are not blobs here.
  std::vector<std::string> blobDigests() const;
};

// Parses and validates `body`. `content_type` is the request's Content-Type
// (may be empty or generic: then the body's mediaType, or its shape,
// decides). Errors carry the registry's code in aws_type:
//   MANIFEST_INVALID  not JSON, wrong schemaVersion, bad descriptors,
//                     Content-Type and mediaType disagree
//   UNSUPPORTED       a media type that is no manifest berth stores
//                     (schema 1 included)
//   SIZE_INVALID      larger than kMaxManifestSize
Result<Manifest> parseManifest(std::string_view body, std::string_view content_type);

}  // namespace berth::registry
