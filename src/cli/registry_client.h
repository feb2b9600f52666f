// The CLI's client for berthd's registry (/v2/, the Docker Registry HTTP
// API v2): what `berth image build` and `berth image load` push with, and
// what `--base` pulls a base image from.
//
// Auth as docker does it against ECR: an anonymous `GET /v2/` first (berthd
// --auth off answers 200); on 401, HTTP Basic with the token of ECR's
// GetAuthorizationToken. Uploads are monolithic (POST, then PUT with the
// body streamed from a file) and skipped for blobs the registry has (HEAD).
//
// Thread rules: one thread at a time (it uses one HttpClient).
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/ecr_client.h"
#include "cli/http_client.h"
#include "image/source.h"

namespace berth::cli {

class RegistryClient {
 public:
  static Result<std::unique_ptr<RegistryClient>> connect(HttpClient& http, EcrClient& ecr);

  Result<bool> hasBlob(std::string_view repo, std::string_view digest);
  // Uploads the file at `file` (streamed) or, when `file` is empty, `bytes`.
  Status uploadBlob(std::string_view repo, std::string_view digest, const std::filesystem::path& file,
                    std::string_view bytes = {});
  // PUTs a manifest under `reference` (a tag or its digest); returns the
  // registry's Docker-Content-Digest.
  Result<std::string> putManifest(std::string_view repo, std::string_view reference, std::string_view media_type,
                                  std::string bytes);
  Result<image::FetchedManifest> getManifest(std::string_view repo, std::string_view reference);
  Status downloadBlob(std::string_view repo, std::string_view digest, const std::filesystem::path& out);

 private:
  RegistryClient(HttpClient& http, std::string authorization) : http_(http), authorization_(std::move(authorization)) {}
  Headers headers(Headers extra = {}) const;

  HttpClient& http_;
  std::string authorization_;  // "Basic ..." or empty
};

// A blob to push: a file, or bytes in memory when `file` is empty.
struct PushBlob {
  std::string digest;
  std::filesystem::path file;
  std::string bytes;
};

// Uploads the blobs the registry lacks, then the manifest under
// `reference`. Returns the manifest digest.
Result<std::string> pushManifest(RegistryClient& registry, std::string_view repo, std::string_view reference,
                                 std::string_view media_type, std::string manifest, const std::vector<PushBlob>& blobs);

// ManifestSource and BlobSource over the registry (for `--base` from
// berthd): blobs are downloaded into `scratch` (which the caller owns and
// removes) and streamed from there.
class RemoteRegistrySource final : public image::ManifestSource, public image::BlobSource {
 public:
  RemoteRegistrySource(RegistryClient& registry, std::filesystem::path scratch)
      : registry_(registry), scratch_(std::move(scratch)) {}
  Result<image::FetchedManifest> getManifest(std::string_view repository, std::string_view reference) override;
  Result<std::unique_ptr<image::ByteStream>> openBlob(std::string_view repository, std::string_view digest) override;
  // Where openBlob left the blob `digest` (empty if it was not fetched).
  std::filesystem::path fetchedPath(std::string_view digest) const;

 private:
  RegistryClient& registry_;
  std::filesystem::path scratch_;
};

}  // namespace berth::cli
