// ECR images: ListImages, DescribeImages, BatchGetImage, BatchDeleteImage
// and PutImage.
#include <algorithm>

#include <fmt/format.h>

#include "common/json.h"
#include "control/ecr/ecr.h"
#include "control/ecr/errors.h"

namespace berth::ecr {
namespace {

std::string describeId(const bj::object& id) {
  auto show = [&](std::string_view key) {
    auto v = json::getString(id, key);
    return v ? fmt::format("'{}'", *v) : std::string("null");
  };
  return fmt::format("{{imageDigest:{}, imageTag:{}}}", show("imageDigest"), show("imageTag"));
}

bj::object imageFailure(const bj::object& id, std::string_view code, std::string_view reason) {
  return bj::object{{"imageId", id}, {"failureCode", code}, {"failureReason", reason}};
}

std::string tagStatus(const bj::object& in) {
  if (const auto* f = json::getObject(in, "filter")) return json::stringOr(*f, "tagStatus", "ANY");
  return "ANY";
}

}  // namespace

const Ecr::Image* Ecr::resolve(const Repository& repo, const bj::object& id) const {
  auto digest = json::getString(id, "imageDigest");
  auto tag = json::getString(id, "imageTag");
  std::string d;
  if (tag) {
    auto t = repo.tag_to_digest.find(*tag);
    if (t == repo.tag_to_digest.end()) return nullptr;
    d = t->second;
    if (digest && *digest != d) return nullptr;
  } else if (digest) {
    d = std::string(*digest);
  } else {
    return nullptr;
  }
  auto it = repo.images.find(d);
  return it == repo.images.end() ? nullptr : &it->second;
}

bj::object Ecr::imageDetail(const Repository& repo, const Image& image) const {
  bj::object d{{"registryId", config_.account_id},
               {"repositoryName", repo.doc.at("repositoryName")},
               {"imageDigest", image.digest},
               {"imageSizeInBytes", image.size},
               {"imagePushedAt", image.pushed_at},
               {"imageManifestMediaType", image.media_type}};
  auto tags = tagsOf(repo, image.digest);
  if (!tags.empty()) {
    bj::array a;
    for (auto& t : tags) a.emplace_back(t);
    d["imageTags"] = std::move(a);
  }
  if (!image.artifact_type.empty()) d["artifactMediaType"] = image.artifact_type;
  return d;
}

Result<bj::value> Ecr::listImages(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  std::string status = tagStatus(in);
  // The model's ImageIdentifierList holds 1-100 entries, whatever
  // maxResults says: larger pages are cut at 100 (with a nextToken), and an
  // empty result leaves imageIds out.
  int64_t limit = std::min<int64_t>(BERTH_TRY(maxResults(in, 100)), 100);
  std::string after = BERTH_TRY(decodeToken("ListImages", in));
  // One entry per (digest, tag); untagged images once, without a tag.
  std::vector<std::pair<std::string, bj::object>> entries;
  for (const auto& [digest, image] : repo->images) {
    auto tags = tagsOf(*repo, digest);
    if (tags.empty() && status != "TAGGED")
      entries.emplace_back(digest + "|", bj::object{{"imageDigest", digest}});
    if (status != "UNTAGGED")
      for (const auto& t : tags) entries.emplace_back(digest + "|" + t, bj::object{{"imageDigest", digest}, {"imageTag", t}});
  }
  bj::array ids;
  std::string last;
  auto it = std::find_if(entries.begin(), entries.end(), [&](const auto& e) { return after.empty() || e.first > after; });
  for (; it != entries.end() && static_cast<int64_t>(ids.size()) < limit; ++it) {
    ids.push_back(it->second);
    last = it->first;
  }
  bj::object reply;
  if (!ids.empty()) reply["imageIds"] = std::move(ids);
  if (it != entries.end()) reply["nextToken"] = encodeToken("ListImages", last);
  return reply;
}

Result<bj::value> Ecr::describeImages(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  bj::array details;
  if (const auto* ids = json::getArray(in, "imageIds"); ids && !ids->empty()) {
    std::set<std::string> seen;
    for (const auto& v : *ids) {
      const bj::object& id = v.as_object();
      const Image* image = resolve(*repo, id);
      if (!image)
        return imageNotFound(fmt::format(
            "The image with imageId {} does not exist within the repository with name '{}' in the registry with id "
            "'{}'",
            describeId(id), json::stringOr(repo->doc, "repositoryName"), config_.account_id));
      if (seen.insert(image->digest).second) details.push_back(imageDetail(*repo, *image));
    }
    return bj::object{{"imageDetails", std::move(details)}};
  }
  std::string status = tagStatus(in);
  int64_t limit = BERTH_TRY(maxResults(in, 100));
  std::string after = BERTH_TRY(decodeToken("DescribeImages", in));
  std::string last;
  auto it = after.empty() ? repo->images.begin() : repo->images.upper_bound(after);
  for (; it != repo->images.end() && static_cast<int64_t>(details.size()) < limit; ++it) {
    bool tagged = !tagsOf(*repo, it->first).empty();
    if ((status == "TAGGED" && !tagged) || (status == "UNTAGGED" && tagged)) continue;
    details.push_back(imageDetail(*repo, it->second));
    last = it->first;
  }
  bj::object reply{{"imageDetails", std::move(details)}};
  if (it != repo->images.end()) reply["nextToken"] = encodeToken("DescribeImages", last);
  return reply;
}

Result<bj::value> Ecr::batchGetImage(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  auto accepted = json::stringList(in, "acceptedMediaTypes");
  bj::array images, failures;
  const bj::array* ids = json::getArray(in, "imageIds");
  if (!ids || ids->empty())
    return invalidParameter("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length "
                            "greater than or equal to 1'");
  for (const auto& v : *ids) {
    const bj::object& id = v.as_object();
    if (!json::getString(id, "imageDigest") && !json::getString(id, "imageTag")) {
      failures.push_back(imageFailure(id, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"));
      continue;
    }
    if (auto d = json::getString(id, "imageDigest"); d && !registry::isDigest(*d)) {
      failures.push_back(imageFailure(id, "InvalidImageDigest", "Invalid image digest"));
      continue;
    }
    const Image* image = resolve(*repo, id);
    if (!image) {
      bool tag_mismatch = json::getString(id, "imageDigest") && json::getString(id, "imageTag") &&
                          repo->tag_to_digest.contains(*json::getString(id, "imageTag"));
      failures.push_back(tag_mismatch ? imageFailure(id, "ImageTagDoesNotMatchDigest", "Image tag does not match digest")
                                      : imageFailure(id, "ImageNotFound", "Requested image not found"));
      continue;
    }
    if (!accepted.empty() && std::find(accepted.begin(), accepted.end(), image->media_type) == accepted.end()) {
      failures.push_back(imageFailure(id, "ImageNotFound",
                                      fmt::format("The image's manifest media type {} is not in acceptedMediaTypes",
                                                  image->media_type)));
      continue;
    }
    bj::object image_id{{"imageDigest", image->digest}};
    if (auto tag = json::getString(id, "imageTag")) image_id["imageTag"] = *tag;
    images.push_back(bj::object{{"registryId", config_.account_id},
                                {"repositoryName", repo->doc.at("repositoryName")},
                                {"imageId", std::move(image_id)},
                                {"imageManifest", image->manifest},
                                {"imageManifestMediaType", image->media_type}});
  }
  return bj::object{{"images", std::move(images)}, {"failures", std::move(failures)}};
}

Result<bj::value> Ecr::batchDeleteImage(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  std::string name = json::stringOr(repo->doc, "repositoryName");
  const bj::array* ids = json::getArray(in, "imageIds");
  if (!ids || ids->empty())
    return invalidParameter("Invalid parameter at 'imageIds' failed to satisfy constraint: 'Member must have length "
                            "greater than or equal to 1'");
  // Work on a copy; commit once; then swap in.
  Repository updated = *repo;
  bj::array deleted, failures;
  store::Batch batch;
  auto dropImage = [&](const std::string& digest) {
    for (const auto& t : tagsOf(updated, digest)) {
      deleted.push_back(bj::object{{"imageDigest", digest}, {"imageTag", t}});
      updated.tag_to_digest.erase(t);
      batch.erase("ecr.tag", name + ":" + t);
    }
    updated.images.erase(digest);
    batch.erase("ecr.image", name + "@" + digest);
  };
  auto referencedByIndex = [&](const std::string& digest) {
    for (const auto& [_, other] : updated.images)
      if (std::find(other.children.begin(), other.children.end(), digest) != other.children.end()) return true;
    return false;
  };
  for (const auto& v : *ids) {
    const bj::object& id = v.as_object();
    auto digest = json::getString(id, "imageDigest");
    auto tag = json::getString(id, "imageTag");
    if (!digest && !tag) {
      failures.push_back(imageFailure(id, "MissingDigestAndTag", "Invalid request parameters: both tag and digest cannot be null"));
      continue;
    }
    if (digest && !registry::isDigest(*digest)) {
      failures.push_back(imageFailure(id, "InvalidImageDigest", "Invalid image digest"));
      continue;
    }
    const Image* image = resolve(updated, id);
    if (!image) {
      failures.push_back(imageFailure(id, "ImageNotFound", "Requested image not found"));
      continue;
    }
    std::string d = image->digest;
    if (tag && !digest) {
      // Removing a tag; the image goes with its last tag.
      updated.tag_to_digest.erase(std::string(*tag));
      batch.erase("ecr.tag", name + ":" + std::string(*tag));
      deleted.push_back(bj::object{{"imageDigest", d}, {"imageTag", *tag}});
      if (tagsOf(updated, d).empty() && !referencedByIndex(d)) {
        updated.images.erase(d);
        batch.erase("ecr.image", name + "@" + d);
      }
      continue;
    }
    if (referencedByIndex(d)) {
      failures.push_back(imageFailure(id, "ImageReferencedByManifestList",
                                      "Requested image is referenced by an image index in the repository"));
      continue;
    }
    bool had_tags = !tagsOf(updated, d).empty();
    dropImage(d);
    if (!had_tags) deleted.push_back(bj::object{{"imageDigest", d}});
  }
  BERTH_TRY(commit(batch));
  repo->images = std::move(updated.images);
  repo->tag_to_digest = std::move(updated.tag_to_digest);
  if (!deleted.empty()) afterDelete();
  bj::object reply{{"failures", std::move(failures)}};
  if (!deleted.empty()) reply["imageIds"] = std::move(deleted);  // the model's list holds at least one
  return reply;
}

Result<bj::value> Ecr::putImage(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  std::string body = json::stringOr(in, "imageManifest");
  std::string media_type = json::stringOr(in, "imageManifestMediaType");
  auto manifest = registry::parseManifest(body, media_type);
  if (!manifest) return invalidParameter("Invalid parameter at 'imageManifest' failed to satisfy constraint: '" +
                                         manifest.error().message + "'");
  if (auto d = json::getString(in, "imageDigest"); d && *d != manifest->digest)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("Provided digest {} does not match the digest of the manifest {}", *d, manifest->digest),
                "ImageDigestDoesNotMatchException");
  std::string tag = json::stringOr(in, "imageTag");
  if (json::getString(in, "imageTag") && !validTag(tag))
    return invalidParameter("Invalid parameter at 'imageTag' failed to satisfy constraint: 'Member must satisfy "
                            "regular expression pattern: [a-zA-Z0-9_][a-zA-Z0-9._-]{0,127}'");
  const Image* image = BERTH_TRY(store(*repo, *manifest, body, tag, /*api=*/true));
  bj::object image_id{{"imageDigest", image->digest}};
  if (!tag.empty()) image_id["imageTag"] = tag;
  return bj::object{{"image", bj::object{{"registryId", config_.account_id},
                                         {"repositoryName", repo->doc.at("repositoryName")},
                                         {"imageId", std::move(image_id)},
                                         {"imageManifest", image->manifest},
                                         {"imageManifestMediaType", image->media_type}}}};
}

}  // namespace berth::ecr
