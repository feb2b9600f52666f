// An OCI image layout directory (image-spec "image-layout"):
//   oci-layout            {"imageLayoutVersion": "1.0.0"}
//   index.json            an image index; tags are the manifests'
//                         org.opencontainers.image.ref.name annotations
//   blobs/sha256/<hex>    content
// Reading implements ManifestSource and BlobSource (the repository argument
// is ignored: a layout is one repository; a ref.name of "repo:tag" also
// matches tag). Writing adds blobs and tagged manifests, for
// `berth image build --output DIR` and tests. skopeo reads the result as
// oci:DIR:TAG.
//
// Thread rules: reads are thread-safe; writes are for one thread at a time.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>
#include <vector>

#include "image/manifest.h"
#include "image/source.h"

namespace berth::image {

inline constexpr std::string_view kRefNameAnnotation = "org.opencontainers.image.ref.name";

class OciLayout : public ManifestSource, public BlobSource {
 public:
  explicit OciLayout(std::filesystem::path dir) : dir_(std::move(dir)) {}

  const std::filesystem::path& dir() const { return dir_; }
  std::filesystem::path blobPath(std::string_view digest) const;

  Result<FetchedManifest> getManifest(std::string_view repository, std::string_view reference) override;
  Result<std::unique_ptr<ByteStream>> openBlob(std::string_view repository, std::string_view digest) override;

  // The top-level index.json.
  Result<Index> index() const;

  // Creates the directory, oci-layout and an empty index.json if missing.
  Status create();
  // Writes a blob from memory; returns its digest.
  Result<std::string> putBlob(std::string_view bytes);
  // Moves (or copies, across file systems) the file at `path` in as blob `digest`.
  Status putBlobFile(const std::filesystem::path& path, std::string_view digest);
  // Adds `manifest` to index.json, tagged `ref_name` when non-empty; an
  // entry with the same ref name is replaced.
  Status addManifest(const Descriptor& manifest, std::string_view ref_name);

 private:
  std::filesystem::path dir_;
};

// Serializes a descriptor as the OCI JSON object (mediaType, digest, size,
// annotations, platform).
std::string descriptorJson(const Descriptor& d);

}  // namespace berth::image
