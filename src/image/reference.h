// Image references as task definitions write them, parsed into the registry
// they name and the repository and tag or digest inside it.
//
//   123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.2   ECR (berthd's registry)
//   localhost:4566/app@sha256:...   127.0.0.1:4566/app             berthd's registry
//   busybox   library/busybox:1.36   quay.io/org/app:v1          anything else: external
//
// External references can never be pulled from the network on this offline
// machine; they resolve only when the image was loaded into berthd's registry
// (`berth image load`), under localRepository(): docker.io/library/busybox is
// "busybox", docker.io/user/app is "user/app", quay.io/org/app is
// "quay.io/org/app". Grammar as docker's reference package: repository path
// components [a-z0-9]+ joined by '.', '_', '__' or '-'; tag [A-Za-z0-9_][A-Za-z0-9_.-]{0,127};
// no tag and no digest means "latest".
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::image {

enum class RegistryKind {
  kEcr,       // <account>.dkr.ecr.<region>.amazonaws.com
  kLocal,     // localhost[:port], 127.0.0.1[:port]
  kExternal,  // docker.io and every other host
};

struct ImageReference {
  RegistryKind kind = RegistryKind::kExternal;
  std::string domain;      // "123456789012.dkr.ecr.us-east-1.amazonaws.com", "localhost:4566", "docker.io"
  std::string account_id;  // ECR only
  std::string region;      // ECR only
  std::string repository;  // path in the registry: "team/app", "library/busybox"
  std::string tag;         // "latest" when neither a tag nor a digest was given
  std::string digest;      // "sha256:<hex>" or empty

  // What to ask the registry's manifest endpoint for: the digest if any, else the tag.
  const std::string& reference() const { return digest.empty() ? tag : digest; }
  // The normalized full reference: domain/repository[:tag][@digest].
  std::string str() const;
  // The repository name in berthd's registry (see the header comment).
  std::string localRepository() const;
};

// InvalidArgument ("invalid reference format: ...") when `text` is not a
// reference; never throws.
Result<ImageReference> parseImageReference(std::string_view text);

// The ECS error type a task stops with when its image cannot be pulled.
inline constexpr std::string_view kCannotPullContainerError = "CannotPullContainerError";

// The error of a failed pull, worded as Fargate's: the agent reports
// "CannotPullContainerError: " + message as the container's reason.
// code kNotFound, aws_type kCannotPullContainerError, message
// "pull image manifest has been retried 5 time(s): failed to resolve ref <ref>: <detail>".
Error cannotPullError(const ImageReference& ref, std::string_view detail);
// The detail for an external image that is not in the local registry: what
// containerd says when the registry host cannot be reached, and how to fix it.
std::string offlineDetail(const ImageReference& ref);

}  // namespace berth::image
