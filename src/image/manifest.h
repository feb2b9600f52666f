// OCI and Docker image manifests, indexes and image configs: parsing,
// validation and platform selection. Pure functions over bytes; the bytes come
// from untrusted registries and layouts, so nothing here throws or asserts on
// input (fuzz/manifest input goes through these).
//
// Accepted: OCI image manifest and index (image-spec v1.0/1.1) and Docker
// v2 schema 2 manifest and manifest list. Schema 1 is refused.
#pragma once

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::image {

namespace media {
inline constexpr std::string_view kOciManifest = "application/vnd.oci.image.manifest.v1+json";
inline constexpr std::string_view kOciIndex = "application/vnd.oci.image.index.v1+json";
inline constexpr std::string_view kDockerManifest = "application/vnd.docker.distribution.manifest.v2+json";
inline constexpr std::string_view kDockerManifestList =
    "application/vnd.docker.distribution.manifest.list.v2+json";
inline constexpr std::string_view kOciConfig = "application/vnd.oci.image.config.v1+json";
inline constexpr std::string_view kDockerConfig = "application/vnd.docker.container.image.v1+json";
inline constexpr std::string_view kOciLayer = "application/vnd.oci.image.layer.v1.tar";
inline constexpr std::string_view kOciLayerGzip = "application/vnd.oci.image.layer.v1.tar+gzip";
inline constexpr std::string_view kOciLayerZstd = "application/vnd.oci.image.layer.v1.tar+zstd";
inline constexpr std::string_view kDockerLayerGzip = "application/vnd.docker.image.rootfs.diff.tar.gzip";
}  // namespace media

// Largest manifest or config accepted (ECR's manifest limit is 4 MiB).
inline constexpr size_t kMaxManifestBytes = 4 << 20;
// Most layers an image may have (overlayfs stacks at most 500 lowers).
inline constexpr size_t kMaxLayers = 500;

struct Platform {
  std::string os = "linux";
  std::string architecture = "amd64";
  std::string variant;
};

struct Descriptor {
  std::string media_type;
  std::string digest;  // valid "sha256:<hex>"
  int64_t size = 0;    // >= 0
  std::optional<Platform> platform;
  std::map<std::string, std::string> annotations;
};

// An image manifest (OCI or Docker schema 2).
struct Manifest {
  std::string media_type;
  Descriptor config;
  std::vector<Descriptor> layers;
};

// An image index or Docker manifest list.
struct Index {
  std::string media_type;
  std::vector<Descriptor> manifests;
};

enum class ManifestKind { kImage, kIndex };

// What `bytes` is: from its mediaType member, else `content_type`, else the
// shape (a "manifests" array makes an index). InvalidArgument when it is none
// of the accepted kinds.
Result<ManifestKind> manifestKind(std::string_view bytes, std::string_view content_type = {});
// The media type to serve `bytes` with (its mediaType, or the one implied by shape).
std::string manifestMediaType(std::string_view bytes, std::string_view content_type = {});

Result<Manifest> parseManifest(std::string_view bytes);
Result<Index> parseIndex(std::string_view bytes);

// True for the layer media types berth can unpack (tar, gzip, zstd, and
// Docker's gzip layer).
bool isSupportedLayerType(std::string_view media_type);

// The manifest in `index` for `want` (linux/amd64 by default): an exact
// os/architecture match, preferring a matching variant (or none given).
// Entries without a platform are skipped unless nothing else matches and the
// index has a single entry. NotFound when nothing fits, worded as containerd:
// "no match for platform in manifest: not found".
Result<Descriptor> selectPlatform(const Index& index, const Platform& want = {});

struct HealthCheck {
  std::vector<std::string> test;  // ["CMD", ...], ["CMD-SHELL", "..."], ["NONE"]
  int64_t interval_ns = 0;
  int64_t timeout_ns = 0;
  int64_t start_period_ns = 0;
  int64_t retries = 0;
};

// The runtime part of an image config, as the agent needs it for the
// container spec, plus the layer diffIDs.
struct ImageConfig {
  std::string os;
  std::string architecture;
  std::vector<std::string> entrypoint;
  std::vector<std::string> cmd;
  std::vector<std::string> env;  // "KEY=value"
  std::string working_dir;
  std::string user;
  std::vector<std::string> exposed_ports;  // "8000/tcp", sorted
  std::string stop_signal;
  std::optional<HealthCheck> healthcheck;
  std::map<std::string, std::string> labels;
  std::vector<std::string> diff_ids;  // rootfs.diff_ids, base layer first
};

Result<ImageConfig> parseImageConfig(std::string_view bytes);

}  // namespace berth::image
