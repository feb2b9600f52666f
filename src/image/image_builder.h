// Composing an OCI image (config and manifest) from one new layer, optionally
// on top of a base image, for `berth image build`. Deterministic: the same
// inputs give the same config and manifest bytes (fixed "created" time,
// members in a fixed order).
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "image/layer_builder.h"
#include "image/manifest.h"
#include "image/resolve.h"

namespace berth::image {

struct BuildOptions {
  std::optional<std::vector<std::string>> entrypoint;  // set: replaces the base's (and resets its Cmd)
  std::optional<std::vector<std::string>> cmd;
  std::vector<std::string> env;    // "K=V", replacing the base's K
  std::vector<std::string> ports;  // "8000", "8000/tcp", "53/udp"
  std::optional<std::string> workdir;
  std::optional<std::string> user;
};

// ARGS of --entrypoint/--cmd: a JSON array of strings (exec form, as in a
// Dockerfile) or any other string as a single argument ("" is no arguments).
Result<std::vector<std::string>> parseArgs(std::string_view text);
// "8000" -> "8000/tcp"; checks 1..65535 and tcp/udp/sctp.
Result<std::string> normalizePort(std::string_view text);

struct ComposedImage {
  std::string config_bytes;
  Descriptor config;
  std::string manifest_bytes;
  Descriptor manifest;  // media type OCI manifest, digest and size of manifest_bytes
  std::vector<Descriptor> layers;  // base layers (OCI media types) then the new one
};

Result<ComposedImage> composeImage(const ResolvedImage* base, const BuiltLayer& layer, const BuildOptions& options);

}  // namespace berth::image
