#include "image/resolve.h"

namespace berth::image {
namespace {

Result<FetchedManifest> fetchVerified(ManifestSource& manifests, std::string_view repository,
                                      std::string_view reference, std::string* digest_out) {
  FetchedManifest m = BERTH_TRY(manifests.getManifest(repository, reference));
  std::string digest = digestOf(m.bytes);
  if (isValidDigest(reference) && digest != reference) {
    return fail(ErrorCode::kInvalidArgument,
                "manifest digest mismatch: expected " + std::string(reference) + ", got " + digest);
  }
  *digest_out = digest;
  return m;
}

}  // namespace

Result<std::string> readVerifiedBlob(BlobSource& blobs, std::string_view repository, const Descriptor& d,
                                     size_t limit) {
  if (d.size > static_cast<int64_t>(limit)) {
    return fail(ErrorCode::kResourceExhausted, "blob " + d.digest + " larger than " + std::to_string(limit));
  }
  auto stream = BERTH_TRY(blobs.openBlob(repository, d.digest));
  std::string bytes = BERTH_TRY(readAll(*stream, limit));
  std::string actual = digestOf(bytes);
  if (actual != d.digest) {
    return fail(ErrorCode::kInvalidArgument, "blob digest mismatch: expected " + d.digest + ", got " + actual);
  }
  if (static_cast<int64_t>(bytes.size()) != d.size) {
    return fail(ErrorCode::kInvalidArgument, "blob " + d.digest + " size mismatch");
  }
  return bytes;
}

Result<ResolvedImage> resolveImage(ManifestSource& manifests, BlobSource& blobs, std::string_view repository,
                                   std::string_view reference, const Platform& platform) {
  ResolvedImage image;
  std::string digest;
  FetchedManifest top = BERTH_TRY(fetchVerified(manifests, repository, reference, &digest));
  FetchedManifest chosen;
  ManifestKind kind = BERTH_TRY(manifestKind(top.bytes, top.media_type));
  if (kind == ManifestKind::kIndex) {
    image.index_digest = digest;
    Index index = BERTH_TRY(parseIndex(top.bytes));
    Descriptor d = BERTH_TRY(selectPlatform(index, platform));
    chosen = BERTH_TRY(fetchVerified(manifests, repository, d.digest, &digest));
    if (BERTH_TRY(manifestKind(chosen.bytes, chosen.media_type)) != ManifestKind::kImage) {
      return fail(ErrorCode::kInvalidArgument, "index entry " + d.digest + " is not an image manifest");
    }
  } else {
    chosen = std::move(top);
  }
  image.manifest_digest = digest;
  image.manifest = BERTH_TRY(parseManifest(chosen.bytes));
  image.config_bytes = BERTH_TRY(readVerifiedBlob(blobs, repository, image.manifest.config, kMaxManifestBytes));
  image.config = BERTH_TRY(parseImageConfig(image.config_bytes));
  if (!image.config.os.empty() && image.config.os != platform.os) {
    return fail(ErrorCode::kInvalidArgument, "image is for " + image.config.os + ", not " + platform.os);
  }
  if (!image.config.architecture.empty() && image.config.architecture != platform.architecture) {
    return fail(ErrorCode::kInvalidArgument,
                "image is for " + image.config.architecture + ", not " + platform.architecture);
  }
  if (image.config.diff_ids.size() != image.manifest.layers.size()) {
    return fail(ErrorCode::kInvalidArgument, "image config has " + std::to_string(image.config.diff_ids.size()) +
                                                 " diff_ids for " + std::to_string(image.manifest.layers.size()) +
                                                 " layers");
  }
  for (size_t i = 0; i < image.manifest.layers.size(); ++i) {
    const Descriptor& l = image.manifest.layers[i];
    if (!isSupportedLayerType(l.media_type)) {
      return fail(ErrorCode::kInvalidArgument, "unsupported layer media type " + l.media_type);
    }
    image.layers.push_back(LayerRef{l, image.config.diff_ids[i]});
  }
  return image;
}

}  // namespace berth::image
