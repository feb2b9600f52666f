// RegistrySource: the image store's view of berthd's own registry. It
// implements image::ManifestSource over the ECR model (manifests and tags
// live in ecr::Ecr) and image::BlobSource over the BlobStore (layers and
// configs), so the agent's ImageStore pulls what docker, skopeo and
// `berth image build` pushed, without going through HTTP.
//
//   ecr::RegistrySource source(ecr, blobs, control_io.get_executor());
//   image::ImageStore images(data_dir, source.manifests(), source.blobs(), mounter);
//
// Contract: getManifest returns the manifest bytes and media type as the
// registry serves them (NotFound for an unknown repository, tag or digest).
// openBlob returns a stream of the stored blob; blobs are shared by every
// repository of the account (as in the registry), so `repository` is only
// checked to exist. Callers verify digests (resolveImage does).
//
// Threads: ecr::Ecr is single-writer and lives on the control executor, so
// every call that reads it is posted there and waited for. Call these
// methods from worker threads only, NEVER from the control executor (the
// wait would deadlock; such a call fails with kFailedPrecondition instead).
// Blob bytes are read on the calling thread; the control thread only answers
// the lookups. If the control executor does not answer within `timeout`
// (berthd stopping), the call fails with kFailedPrecondition.
#pragma once

#include <chrono>
#include <memory>
#include <string>
#include <string_view>

#include <boost/asio/io_context.hpp>

#include "control/ecr/ecr.h"
#include "image/source.h"
#include "registry/blob_store.h"

namespace berth::ecr {

class RegistrySource final : public image::ManifestSource, public image::BlobSource {
 public:
  using Executor = boost::asio::io_context::executor_type;

  RegistrySource(Ecr& ecr, registry::BlobStore& blobs, Executor control,
                 std::chrono::milliseconds timeout = std::chrono::seconds(30));

  Result<image::FetchedManifest> getManifest(std::string_view repository, std::string_view reference) override;
  Result<std::unique_ptr<image::ByteStream>> openBlob(std::string_view repository, std::string_view digest) override;

  // The two interfaces, for wiring (the agent's ImageStore takes both).
  image::ManifestSource& manifests() { return *this; }
  image::BlobSource& blobs() { return *this; }

 private:
  Ecr& ecr_;
  registry::BlobStore& blob_store_;
  Executor control_;
  std::chrono::milliseconds timeout_;
};

}  // namespace berth::ecr
