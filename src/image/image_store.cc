#include "image/image_store.h"

#include "image/fs_util.h"

namespace berth::image {

ImageStore::ImageStore(std::filesystem::path data_dir, ManifestSource& manifests, BlobSource& blobs,
                       Mounter& mounter, UnpackOptions unpack, Platform platform)
    : data_dir_(std::move(data_dir)),
      manifests_(manifests),
      blobs_(blobs),
      platform_(std::move(platform)),
      layers_(data_dir_ / "layers", unpack),
      rootfs_(data_dir_ / "tasks", mounter) {}

Status ImageStore::open() {
  BERTH_TRY(layers_.open());
  return makeDirs(data_dir_ / "tasks");
}

Result<PulledImage> ImageStore::pull(std::string_view image) {
  auto ref = parseImageReference(image);
  if (!ref) {
    return std::unexpected(Error{ErrorCode::kInvalidArgument,
                                 "inspect image has been retried 5 time(s): " + ref.error().message,
                                 std::string(kCannotPullContainerError), 0});
  }
  PulledImage out;
  out.reference = *ref;
  out.repository = ref->localRepository();
  auto resolved = resolveImage(manifests_, blobs_, out.repository, ref->reference(), platform_);
  if (!resolved) {
    const Error& e = resolved.error();
    if (e.code != ErrorCode::kNotFound) return std::unexpected(cannotPullError(*ref, e.message));
    if (ref->kind == RegistryKind::kExternal) return std::unexpected(cannotPullError(*ref, offlineDetail(*ref)));
    if (e.message.starts_with("no match for platform")) return std::unexpected(cannotPullError(*ref, e.message));
    return std::unexpected(cannotPullError(*ref, ref->str() + ": not found"));
  }
  for (const LayerRef& layer : resolved->layers) {
    auto dir = layers_.ensure(layer, blobs_, out.repository);
    if (!dir) {
      return std::unexpected(cannotPullError(*ref, "failed to extract layer " + layer.diff_id + ": " +
                                                       dir.error().message));
    }
    out.layer_dirs.push_back(*dir);
  }
  out.manifest_digest = resolved->manifest_digest;
  out.index_digest = resolved->index_digest;
  out.config = std::move(resolved->config);
  return out;
}

Result<std::filesystem::path> ImageStore::createRootfs(std::string_view task_id, const PulledImage& image,
                                                       bool read_only) {
  if (image.layer_dirs.empty()) {
    // An image without layers (FROM scratch, nothing added) still gets a root.
    BERTH_TRY(makeDirs(data_dir_ / "layers" / ".empty"));
    return rootfs_.create(task_id, {data_dir_ / "layers" / ".empty"}, read_only);
  }
  return rootfs_.create(task_id, image.layer_dirs, read_only);
}

Status ImageStore::removeRootfs(std::string_view task_id) { return rootfs_.remove(task_id); }

}  // namespace berth::image
