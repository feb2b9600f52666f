// The image store the agent uses: from a task's image reference to an image
// config and a mounted root filesystem.
//
//   ImageStore store(data_dir, registry_manifests, registry_blobs, mounter);
//   store.open();
//   auto image = store.pull("123456789012.dkr.ecr.us-east-1.amazonaws.com/app:latest");
//   // image->config: Entrypoint, Cmd, Env, WorkingDir, User, ExposedPorts, ...
//   auto rootfs = store.createRootfs(task_id, *image);   // .../tasks/<id>/rootfs/merged
//   ...
//   store.removeRootfs(task_id);                         // idempotent
//
// pull() resolves the reference in berthd's registry (ECR and localhost
// references by their repository; other references by
// ImageReference::localRepository(), i.e. only when loaded), picks
// linux/amd64, verifies every digest and unpacks missing layers into
// <data-dir>/layers/ (LayerStore: once per diffID, also under concurrency).
// Every failure to get the image is an Error with aws_type
// "CannotPullContainerError" and Fargate's wording; the agent reports
// "CannotPullContainerError: " + message as the stopped reason.
//
// Thread rules: pull, createRootfs and removeRootfs are thread-safe and
// block (disk, decompression, mount): call them from a worker thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "image/layer_store.h"
#include "image/reference.h"
#include "image/resolve.h"
#include "image/rootfs.h"

namespace berth::image {

struct PulledImage {
  ImageReference reference;
  std::string repository;       // in berthd's registry
  std::string manifest_digest;  // the linux/amd64 image manifest
  std::string index_digest;     // the index it came through, if any
  ImageConfig config;
  std::vector<std::filesystem::path> layer_dirs;  // base layer first
};

class ImageStore {
 public:
  ImageStore(std::filesystem::path data_dir, ManifestSource& manifests, BlobSource& blobs, Mounter& mounter,
             UnpackOptions unpack = {}, Platform platform = {});

  // Creates layers/ and tasks/ and cleans up after a crash (LayerStore::open).
  Status open();

  Result<PulledImage> pull(std::string_view image);
  Result<std::filesystem::path> createRootfs(std::string_view task_id, const PulledImage& image,
                                             bool read_only = false);
  Status removeRootfs(std::string_view task_id);

  LayerStore& layers() { return layers_; }

 private:
  std::filesystem::path data_dir_;
  ManifestSource& manifests_;
  BlobSource& blobs_;
  Platform platform_;
  LayerStore layers_;
  RootfsManager rootfs_;
};

}  // namespace berth::image
