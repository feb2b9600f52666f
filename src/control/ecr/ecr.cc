// The ECR model's core: loading, persistence, pagination tokens, and the
// registry's calls (push, pull, delete, tags, garbage collection).
#include "control/ecr/ecr.h"

#include <regex>

#include <fmt/format.h>

#include "aws/crypto.h"
#include "common/json.h"
#include "common/random.h"
#include "control/ecr/errors.h"
#include "registry/tokens.h"

namespace berth::ecr {
namespace {

constexpr std::string_view kRepoKind = "ecr.repository";
constexpr std::string_view kImageKind = "ecr.image";
constexpr std::string_view kTagKind = "ecr.tag";

std::string imageKey(std::string_view repo, std::string_view digest) {
  return fmt::format("{}@{}", repo, digest);
}
std::string tagKey(std::string_view repo, std::string_view tag) { return fmt::format("{}:{}", repo, tag); }

bj::array toArray(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::vector<std::string> fromArray(const bj::object& o, std::string_view key) { return json::stringList(o, key); }

}  // namespace

bool validRepositoryName(std::string_view name) {
  static const std::regex kPattern(
      R"([a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*(\/[a-z0-9]+((\.|_|__|-+)[a-z0-9]+)*)*)");
  if (name.size() < 2 || name.size() > 256) return false;
  return std::regex_match(name.begin(), name.end(), kPattern);
}

bool validTag(std::string_view tag) {
  if (tag.empty() || tag.size() > 128) return false;
  auto word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  if (!word(tag[0])) return false;
  for (char c : tag)
    if (!word(c) && c != '.' && c != '-') return false;
  return true;
}

Ecr::Ecr(EcrConfig config, store::Store& store, const Clock& clock, registry::BlobStore& blobs)
    : config_(std::move(config)), store_(store), clock_(clock), blobs_(blobs), token_key_(randomHex(16)) {}

const std::map<std::string, Ecr::Handler, std::less<>>& Ecr::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"CreateRepository", &Ecr::createRepository},
      {"DescribeRepositories", &Ecr::describeRepositories},
      {"DeleteRepository", &Ecr::deleteRepository},
      {"ListImages", &Ecr::listImages},
      {"DescribeImages", &Ecr::describeImages},
      {"BatchGetImage", &Ecr::batchGetImage},
      {"BatchDeleteImage", &Ecr::batchDeleteImage},
      {"PutImage", &Ecr::putImage},
      {"PutLifecyclePolicy", &Ecr::putLifecyclePolicy},
      {"GetLifecyclePolicy", &Ecr::getLifecyclePolicy},
      {"DeleteLifecyclePolicy", &Ecr::deleteLifecyclePolicy},
      {"PutImageTagMutability", &Ecr::putImageTagMutability},
      {"PutImageScanningConfiguration", &Ecr::putImageScanningConfiguration},
      {"TagResource", &Ecr::tagResource},
      {"UntagResource", &Ecr::untagResource},
      {"ListTagsForResource", &Ecr::listTagsForResource},
  };
  return kHandlers;
}

bool Ecr::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> Ecr::invoke(std::string_view operation, const bj::object& input) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement ECR {} yet.", operation));
  return (this->*(it->second))(input);
}

Status Ecr::load() {
  auto parse = [](const store::Record& r) -> Result<bj::object> {
    auto v = json::parse(r.value);
    if (!v || !v->is_object())
      return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{} in the store", r.kind, r.key));
    return std::move(v->get_object());
  };
  for (const auto& r : BERTH_TRY(store_.loadAll(kRepoKind))) {
    bj::object o = BERTH_TRY(parse(r));
    Repository repo;
    if (const auto* doc = json::getObject(o, "repository")) repo.doc = *doc;
    if (const auto* tags = json::getArray(o, "tags")) repo.tags = *tags;
    if (auto p = json::getString(o, "lifecyclePolicy")) repo.lifecycle_policy = std::string(*p);
    repos_[r.key] = std::move(repo);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kImageKind))) {
    bj::object o = BERTH_TRY(parse(r));
    std::string repo = json::stringOr(o, "repository");
    auto it = repos_.find(repo);
    if (it == repos_.end()) continue;  // deleted with its repository
    Image image;
    image.digest = json::stringOr(o, "digest");
    image.media_type = json::stringOr(o, "mediaType");
    image.artifact_type = json::stringOr(o, "artifactMediaType");
    image.manifest = json::stringOr(o, "manifest");
    image.size = json::getInt(o, "size").value_or(0);
    if (const auto* p = json::find(o, "pushedAt"); p && p->is_number()) image.pushed_at = p->to_number<double>();
    image.blobs = fromArray(o, "blobs");
    image.children = fromArray(o, "children");
    it->second.images[image.digest] = std::move(image);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kTagKind))) {
    bj::object o = BERTH_TRY(parse(r));
    auto it = repos_.find(json::stringOr(o, "repository"));
    if (it == repos_.end()) continue;
    it->second.tag_to_digest[json::stringOr(o, "tag")] = json::stringOr(o, "digest");
  }
  return {};
}

void Ecr::persist(store::Batch& batch, const Repository& repo) const {
  bj::object o{{"repository", repo.doc}, {"tags", repo.tags}};
  if (repo.lifecycle_policy) o["lifecyclePolicy"] = *repo.lifecycle_policy;
  batch.put(std::string(kRepoKind), json::stringOr(repo.doc, "repositoryName"), json::serialize(o));
}

void Ecr::persist(store::Batch& batch, std::string_view repo, const Image& image) const {
  bj::object o{{"repository", repo},
               {"digest", image.digest},
               {"mediaType", image.media_type},
               {"manifest", image.manifest},
               {"size", image.size},
               {"pushedAt", image.pushed_at},
               {"blobs", toArray(image.blobs)},
               {"children", toArray(image.children)}};
  if (!image.artifact_type.empty()) o["artifactMediaType"] = image.artifact_type;
  batch.put(std::string(kImageKind), imageKey(repo, image.digest), json::serialize(o));
}

Status Ecr::commit(store::Batch& batch) {
  if (auto ok = store_.commit(batch); !ok)
    return fail(ErrorCode::kInternal, "berth could not save the change: " + ok.error().message, "ServerException");
  return {};
}

std::string Ecr::encodeToken(std::string_view op, std::string_view position) const {
  std::string payload = fmt::format("{}|{}", op, position);
  std::string mac = aws::hexEncode(aws::hmacSha256Digest(token_key_, payload)).substr(0, 16);
  return registry::base64Encode(payload + "|" + mac);
}

Result<std::string> Ecr::decodeToken(std::string_view op, const bj::object& in) const {
  auto token = json::getString(in, "nextToken");
  if (!token) return std::string();
  auto bad = [] { return invalidParameter("Invalid parameter at 'nextToken' failed to satisfy constraint: 'The token is not valid'"); };
  auto raw = registry::base64Decode(*token);
  if (!raw) return bad();
  auto last = raw->rfind('|');
  if (last == std::string::npos) return bad();
  std::string payload = raw->substr(0, last);
  if (aws::hexEncode(aws::hmacSha256Digest(token_key_, payload)).substr(0, 16) != raw->substr(last + 1)) return bad();
  std::string prefix = std::string(op) + "|";
  if (!payload.starts_with(prefix)) return bad();
  return payload.substr(prefix.size());
}

std::string Ecr::notFoundMessage(std::string_view name) const {
  return fmt::format("The repository with name '{}' does not exist in the registry with id '{}'", name,
                     config_.account_id);
}

Result<Ecr::Repository*> Ecr::repositoryByName(std::string_view name) {
  auto it = repos_.find(name);
  if (it == repos_.end()) return repositoryNotFound(notFoundMessage(name));
  return &it->second;
}

Status Ecr::checkRegistryId(const bj::object& in) const {
  if (auto id = json::getString(in, "registryId"); id && *id != config_.account_id)
    return invalidParameter(fmt::format(
        "Invalid parameter at 'registryId' failed to satisfy constraint: 'berth serves only registry {}'",
        config_.account_id));
  return {};
}

Result<Ecr::Repository*> Ecr::repository(const bj::object& in) {
  BERTH_TRY(checkRegistryId(in));
  return repositoryByName(json::stringOr(in, "repositoryName"));
}

std::vector<std::string> Ecr::tagsOf(const Repository& repo, std::string_view digest) const {
  std::vector<std::string> out;
  for (const auto& [tag, d] : repo.tag_to_digest)
    if (d == digest) out.push_back(tag);
  return out;
}

bool Ecr::tagImmutable(const Repository& repo, std::string_view tag) const {
  std::string mutability = json::stringOr(repo.doc, "imageTagMutability", "MUTABLE");
  bool immutable = mutability.starts_with("IMMUTABLE");
  if (!mutability.ends_with("_WITH_EXCLUSION")) return immutable;
  // Exclusion filters flip the setting for matching tags (wildcard '*').
  auto matches = [](std::string_view pattern, std::string_view s) {
    size_t p = 0, t = 0, star = std::string_view::npos, mark = 0;
    while (t < s.size()) {
      if (p < pattern.size() && pattern[p] == s[t]) ++p, ++t;
      else if (p < pattern.size() && pattern[p] == '*') star = p++, mark = t;
      else if (star != std::string_view::npos) p = star + 1, t = ++mark;
      else return false;
    }
    while (p < pattern.size() && pattern[p] == '*') ++p;
    return p == pattern.size();
  };
  if (const auto* filters = json::getArray(repo.doc, "imageTagMutabilityExclusionFilters"))
    for (const auto& f : *filters)
      if (f.is_object() && matches(json::stringOr(f.as_object(), "filter"), tag)) return !immutable;
  return immutable;
}

// ---------------------------------------------------------------- registry

Status Ecr::requireRepository(std::string_view name, bool create) {
  if (repos_.contains(name)) return {};
  if (!create) return repositoryNotFound(notFoundMessage(name));
  if (!validRepositoryName(name)) return invalidParameter("invalid repository name");
  Repository repo = makeRepository(name, bj::object{});
  store::Batch batch;
  persist(batch, repo);
  BERTH_TRY(commit(batch));
  repos_.emplace(std::string(name), std::move(repo));
  return {};
}

Result<const Ecr::Image*> Ecr::store(Repository& repo, const registry::Manifest& manifest, std::string body,
                                     std::string_view tag, bool api) {
  std::string name = json::stringOr(repo.doc, "repositoryName");
  std::vector<std::string> missing;
  for (const auto& d : manifest.blobDigests())
    if (!blobs_.exists(d)) missing.push_back(d);
  if (!missing.empty())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("Layers with digests '[{}]' required for pushing image into repository with name '{}' in "
                            "registry with id '{}' do not exist",
                            fmt::join(missing, ", "), name, config_.account_id),
                "LayersNotFoundException");
  for (const auto& child : manifest.manifests)
    if (!repo.images.contains(child.digest))
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("Manifest references image {} that does not exist in repository with name '{}' in "
                              "registry with id '{}'",
                              child.digest, name, config_.account_id),
                  "ReferencedImagesNotFoundException");

  bool have_image = repo.images.contains(manifest.digest);
  if (!tag.empty()) {
    auto current = repo.tag_to_digest.find(tag);
    if (current != repo.tag_to_digest.end()) {
      if (current->second == manifest.digest) {
        if (api)
          return fail(ErrorCode::kAlreadyExists,
                      fmt::format("Image with digest '{}' and tag '{}' already exists in the repository with name "
                                  "'{}' in registry with id '{}'",
                                  manifest.digest, tag, name, config_.account_id),
                      "ImageAlreadyExistsException");
        return &repo.images.at(manifest.digest);
      }
      if (tagImmutable(repo, tag))
        return fail(ErrorCode::kAlreadyExists,
                    fmt::format("The image tag '{}' already exists in the '{}' repository and cannot be overwritten "
                                "because the repository is immutable.",
                                tag, name),
                    "ImageTagAlreadyExistsException");
    }
  } else if (have_image) {
    if (api)
      return fail(ErrorCode::kAlreadyExists,
                  fmt::format("Image with digest '{}' already exists in the repository with name '{}' in registry "
                              "with id '{}'",
                              manifest.digest, name, config_.account_id),
                  "ImageAlreadyExistsException");
    return &repo.images.at(manifest.digest);
  }

  Image image;
  if (have_image) {
    image = repo.images.at(manifest.digest);
  } else {
    image.digest = manifest.digest;
    image.media_type = manifest.media_type;
    image.artifact_type = manifest.isIndex() ? manifest.artifact_type
                                             : (manifest.artifact_type.empty() ? manifest.config.media_type
                                                                               : manifest.artifact_type);
    image.manifest = std::move(body);
    image.size = manifest.image_size;
    image.pushed_at = clock_.epochSeconds();
    image.blobs = manifest.blobDigests();
    for (const auto& c : manifest.manifests) image.children.push_back(c.digest);
  }
  store::Batch batch;
  if (!have_image) persist(batch, name, image);
  if (!tag.empty())
    batch.put(std::string(kTagKind), tagKey(name, tag),
              json::serialize(bj::object{{"repository", name}, {"tag", tag}, {"digest", image.digest}}));
  BERTH_TRY(commit(batch));
  if (!tag.empty()) repo.tag_to_digest[std::string(tag)] = image.digest;
  auto [it, _] = repo.images.insert_or_assign(image.digest, std::move(image));
  return &it->second;
}

Result<std::string> Ecr::putManifest(std::string_view repo_name, const registry::Manifest& manifest, std::string body,
                                     std::string_view tag, bool create_repo) {
  BERTH_TRY(requireRepository(repo_name, create_repo));
  Repository& repo = repos_.find(repo_name)->second;
  const Image* image = BERTH_TRY(store(repo, manifest, std::move(body), tag, /*api=*/false));
  return image->digest;
}

Result<StoredManifest> Ecr::getManifest(std::string_view repo_name, std::string_view reference) const {
  auto it = repos_.find(repo_name);
  if (it == repos_.end()) return repositoryNotFound(notFoundMessage(repo_name));
  const Repository& repo = it->second;
  std::string digest(reference);
  if (!registry::isDigest(reference)) {
    auto t = repo.tag_to_digest.find(reference);
    if (t == repo.tag_to_digest.end()) return imageNotFound("manifest unknown");
    digest = t->second;
  }
  auto image = repo.images.find(digest);
  if (image == repo.images.end()) return imageNotFound("manifest unknown");
  return StoredManifest{image->second.digest, image->second.media_type, image->second.manifest};
}

Status Ecr::deleteManifest(std::string_view repo_name, std::string_view reference) {
  Repository* repo = BERTH_TRY(repositoryByName(repo_name));
  store::Batch batch;
  if (!registry::isDigest(reference)) {
    if (!repo->tag_to_digest.contains(reference)) return imageNotFound("manifest unknown");
    batch.erase(std::string(kTagKind), tagKey(repo_name, reference));
    BERTH_TRY(commit(batch));
    repo->tag_to_digest.erase(repo->tag_to_digest.find(reference));
    return {};
  }
  auto image = repo->images.find(reference);
  if (image == repo->images.end()) return imageNotFound("manifest unknown");
  for (const auto& [_, other] : repo->images)
    for (const auto& child : other.children)
      if (child == reference)
        return fail(ErrorCode::kFailedPrecondition, "the manifest is referenced by an index in the repository",
                    "ImageReferencedByManifestList");
  auto tags = tagsOf(*repo, reference);
  for (const auto& t : tags) batch.erase(std::string(kTagKind), tagKey(repo_name, t));
  batch.erase(std::string(kImageKind), imageKey(repo_name, reference));
  BERTH_TRY(commit(batch));
  for (const auto& t : tags) repo->tag_to_digest.erase(t);
  repo->images.erase(image);
  afterDelete();
  return {};
}

Result<std::vector<std::string>> Ecr::tags(std::string_view repo_name) const {
  auto it = repos_.find(repo_name);
  if (it == repos_.end()) return repositoryNotFound(notFoundMessage(repo_name));
  std::vector<std::string> out;
  for (const auto& [tag, _] : it->second.tag_to_digest) out.push_back(tag);
  return out;
}

std::vector<std::string> Ecr::repositoryNames() const {
  std::vector<std::string> out;
  for (const auto& [name, _] : repos_) out.push_back(name);
  return out;
}

std::set<std::string, std::less<>> Ecr::referencedBlobs() const {
  std::set<std::string, std::less<>> out;
  for (const auto& [_, repo] : repos_)
    for (const auto& [__, image] : repo.images) out.insert(image.blobs.begin(), image.blobs.end());
  return out;
}

Result<registry::GcStats> Ecr::collectGarbage() { return blobs_.collectGarbage(referencedBlobs(), config_.gc_grace); }

void Ecr::afterDelete() {
  // Best effort: a failed sweep leaves garbage for the next one.
  (void)collectGarbage();
}

}  // namespace berth::ecr
