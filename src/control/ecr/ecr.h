// ECR: repositories, images (manifests) and tags, shared by the ECR API
// (AmazonEC2ContainerRegistry_V20150921) and the registry's data plane
// (/v2/, src/api/registry/). An image pushed by docker or skopeo is the same
// record DescribeImages returns, and PutImage's manifest is what the
// registry serves.
//
// The model is AWS-shaped JSON where the API returns it (the Repository
// shape) and small structs for images and tags; every change is written
// through to the Store (kinds "ecr.repository", "ecr.image", "ecr.tag")
// before the call returns, and memory is changed only after the commit
// succeeded. Manifest bytes live in the image records (at most 4 MiB each);
// layers and configs live in the BlobStore, which this model only reads
// (existence checks) and garbage-collects after deletes.
//
// Threads: single writer. Every method runs on the control executor.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "registry/blob_store.h"
#include "registry/manifest.h"
#include "store/store.h"

namespace berth::ecr {

namespace bj = boost::json;

struct EcrConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Blobs younger than this survive garbage collection even when no
  // manifest references them yet (a push in progress).
  std::chrono::seconds gc_grace{3600};
};

// A manifest as the registry serves it.
struct StoredManifest {
  std::string digest;
  std::string media_type;
  std::string body;
};

// ECR's repository name rule (the model's RepositoryName pattern, 2-256).
bool validRepositoryName(std::string_view name);
// The OCI tag rule: [A-Za-z0-9_][A-Za-z0-9._-]{0,127}.
bool validTag(std::string_view tag);

class Ecr {
 public:
  Ecr(EcrConfig config, store::Store& store, const Clock& clock, registry::BlobStore& blobs);

  // Loads the model from the store. Call once, before anything else.
  Status load();

  // Runs one ECR API operation (all but GetAuthorizationToken, which the
  // API layer answers). `input` is type-checked against the model.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input);
  bool supports(std::string_view operation) const;

  // ---- The registry's calls. Errors carry ECR exception names in aws_type
  // (RepositoryNotFoundException, ImageNotFoundException,
  // ImageTagAlreadyExistsException, LayersNotFoundException,
  // ReferencedImagesNotFoundException); src/api/registry maps them to the
  // registry's codes.

  // kNotFound unless the repository exists; with `create`, creates it
  // (default settings) instead.
  Status requireRepository(std::string_view name, bool create);
  // Stores a parsed manifest under `repo`, tagged `tag` when not empty.
  // The blobs it references must be in the BlobStore and child manifests in
  // the repository. Re-pushing the same digest under the same tag is a
  // no-op, even in an IMMUTABLE repository.
  Result<std::string> putManifest(std::string_view repo, const registry::Manifest& manifest, std::string body,
                                  std::string_view tag, bool create_repo);
  // `reference` is a tag or a digest.
  Result<StoredManifest> getManifest(std::string_view repo, std::string_view reference) const;
  // Deletes an image by digest (with its tags), or only a tag.
  Status deleteManifest(std::string_view repo, std::string_view reference);
  Result<std::vector<std::string>> tags(std::string_view repo) const;
  std::vector<std::string> repositoryNames() const;

  // Every blob digest a stored manifest references.
  std::set<std::string, std::less<>> referencedBlobs() const;
  // Removes unreferenced blobs older than the grace period.
  Result<registry::GcStats> collectGarbage();

  size_t repositoryCount() const { return repos_.size(); }

 private:
  struct Image {
    std::string digest;
    std::string media_type;
    std::string artifact_type;
    std::string manifest;
    int64_t size = 0;
    double pushed_at = 0;
    std::vector<std::string> blobs;
    std::vector<std::string> children;
  };
  struct Repository {
    bj::object doc;  // the Repository shape
    bj::array tags;  // resource tags [{Key, Value}]
    std::optional<std::string> lifecycle_policy;
    std::map<std::string, Image, std::less<>> images;     // by digest
    std::map<std::string, std::string, std::less<>> tag_to_digest;
  };

  using Handler = Result<bj::value> (Ecr::*)(const bj::object&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  Result<bj::value> createRepository(const bj::object& in);
  Result<bj::value> describeRepositories(const bj::object& in);
  Result<bj::value> deleteRepository(const bj::object& in);
  Result<bj::value> listImages(const bj::object& in);
  Result<bj::value> describeImages(const bj::object& in);
  Result<bj::value> batchGetImage(const bj::object& in);
  Result<bj::value> batchDeleteImage(const bj::object& in);
  Result<bj::value> putImage(const bj::object& in);
  Result<bj::value> putLifecyclePolicy(const bj::object& in);
  Result<bj::value> getLifecyclePolicy(const bj::object& in);
  Result<bj::value> deleteLifecyclePolicy(const bj::object& in);
  Result<bj::value> putImageTagMutability(const bj::object& in);
  Result<bj::value> putImageScanningConfiguration(const bj::object& in);
  Result<bj::value> tagResource(const bj::object& in);
  Result<bj::value> untagResource(const bj::object& in);
  Result<bj::value> listTagsForResource(const bj::object& in);

  Result<Repository*> repository(const bj::object& in);
  Result<Repository*> repositoryByName(std::string_view name);
  Result<Repository*> repositoryByArn(std::string_view arn);
  Status checkRegistryId(const bj::object& in) const;
  Repository makeRepository(std::string_view name, const bj::object& in) const;
  bool tagImmutable(const Repository& repo, std::string_view tag) const;
  std::vector<std::string> tagsOf(const Repository& repo, std::string_view digest) const;
  // Resolves an ImageIdentifier; nullptr when it names no image.
  const Image* resolve(const Repository& repo, const bj::object& image_id) const;
  bj::object imageDetail(const Repository& repo, const Image& image) const;
  std::string notFoundMessage(std::string_view name) const;
  // Stores `manifest` in `repo` under `tag`; the shared part of PutImage and
  // a registry push. `api` selects PutImage's stricter duplicate rule.
  Result<const Image*> store(Repository& repo, const registry::Manifest& manifest, std::string body,
                             std::string_view tag, bool api);

  void persist(store::Batch& batch, const Repository& repo) const;
  void persist(store::Batch& batch, std::string_view repo, const Image& image) const;
  Status commit(store::Batch& batch);
  std::string encodeToken(std::string_view op, std::string_view position) const;
  Result<std::string> decodeToken(std::string_view op, const bj::object& in) const;
  void afterDelete();

  EcrConfig config_;
  store::Store& store_;
  const Clock& clock_;
  registry::BlobStore& blobs_;
  std::map<std::string, Repository, std::less<>> repos_;
  std::string token_key_;
};

}  // namespace berth::ecr
