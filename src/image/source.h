// Where images come from: the abstract manifest and blob sources that image
// resolution reads. berthd's registry implements them over its content store
// (src/registry/); OciLayout (oci_layout.h) implements them over an OCI image
// layout directory for tests, `berth image build --output` and loading.
//
// Thread rules: implementations must allow concurrent calls from several
// worker threads (pulls run in parallel).
#pragma once

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"
#include "image/digest.h"

namespace berth::image {

struct FetchedManifest {
  std::string media_type;  // as stored or served (may be empty: callers detect from the bytes)
  std::string bytes;
};

class ManifestSource {
 public:
  virtual ~ManifestSource() = default;
  // The manifest or index that `reference` (a tag or "sha256:..." digest)
  // names in `repository`. NotFound when the repository or reference is
  // unknown. The caller verifies the digest of manifests fetched by digest.
  virtual Result<FetchedManifest> getManifest(std::string_view repository, std::string_view reference) = 0;
};

class BlobSource {
 public:
  virtual ~BlobSource() = default;
  // A stream of the blob `digest` in `repository`. NotFound when absent.
  // The caller hashes what it reads and refuses a mismatch.
  virtual Result<std::unique_ptr<ByteStream>> openBlob(std::string_view repository, std::string_view digest) = 0;
};

}  // namespace berth::image
