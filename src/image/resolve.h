// Resolving an image reference to what a container needs: the platform's
// image manifest (through an index or manifest list when there is one), its
// config and its layers. Every manifest fetched by digest and every blob read
// is checked against its digest.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "image/manifest.h"
#include "image/source.h"

namespace berth::image {

struct LayerRef {
  Descriptor blob;      // the (compressed) layer blob
  std::string diff_id;  // sha256 of the uncompressed tar, from the config
};

struct ResolvedImage {
  std::string index_digest;     // when resolved through an index; else empty
  std::string manifest_digest;  // the image manifest used
  Manifest manifest;
  std::string config_bytes;
  ImageConfig config;
  std::vector<LayerRef> layers;  // base layer first
};

// Fetches and verifies. Errors: NotFound (no such repository, tag, digest
// or platform), InvalidArgument (malformed or mismatching content: digest
// mismatch, diff_ids not matching the layers, unsupported media types,
// config for another OS).
Result<ResolvedImage> resolveImage(ManifestSource& manifests, BlobSource& blobs, std::string_view repository,
                                   std::string_view reference, const Platform& platform = {});

// Reads a whole blob (config, small) and verifies its digest and size.
Result<std::string> readVerifiedBlob(BlobSource& blobs, std::string_view repository, const Descriptor& d,
                                     size_t limit);

}  // namespace berth::image
