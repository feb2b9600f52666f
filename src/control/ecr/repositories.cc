// ECR repositories: CreateRepository, DescribeRepositories, DeleteRepository,
// the settings calls, lifecycle policies and resource tags.
#include <algorithm>

#include <fmt/format.h>

#include "common/json.h"
#include "control/ecr/ecr.h"
#include "control/ecr/errors.h"

namespace berth::ecr {
namespace {

Status validateTags(const bj::array& tags) {
  if (tags.size() > 50)
    return fail(ErrorCode::kInvalidArgument, "A resource can have at most 50 tags.", "TooManyTagsException");
  for (const auto& t : tags) {
    if (!t.is_object()) continue;
    std::string key = json::stringOr(t.as_object(), "Key");
    if (key.empty() || key.size() > 128 || key.starts_with("aws:"))
      return fail(ErrorCode::kInvalidArgument, fmt::format("Tag key '{}' is not valid.", key),
                  "InvalidTagParameterException");
    if (json::stringOr(t.as_object(), "Value").size() > 256)
      return fail(ErrorCode::kInvalidArgument, "Tag values are at most 256 characters.", "InvalidTagParameterException");
  }
  return {};
}

// Merges `updates` into `tags` by Key.
void mergeTags(bj::array& tags, const bj::array& updates) {
  for (const auto& u : updates) {
    std::string key = json::stringOr(u.as_object(), "Key");
    auto it = std::find_if(tags.begin(), tags.end(),
                           [&](const bj::value& t) { return json::stringOr(t.as_object(), "Key") == key; });
    if (it != tags.end()) *it = u;
    else tags.push_back(u);
  }
}

Status validateMutability(std::string_view m) {
  if (m != "MUTABLE" && m != "IMMUTABLE" && m != "IMMUTABLE_WITH_EXCLUSION" && m != "MUTABLE_WITH_EXCLUSION")
    return invalidParameter(fmt::format(
        "Invalid parameter at 'imageTagMutability' failed to satisfy constraint: 'Member must satisfy enum value set: "
        "[MUTABLE, IMMUTABLE, IMMUTABLE_WITH_EXCLUSION, MUTABLE_WITH_EXCLUSION]'"));
  return {};
}

}  // namespace

Ecr::Repository Ecr::makeRepository(std::string_view name, const bj::object& in) const {
  Repository repo;
  repo.doc = {
      {"repositoryArn", fmt::format("arn:aws:ecr:{}:{}:repository/{}", config_.region, config_.account_id, name)},
      {"registryId", config_.account_id},
      {"repositoryName", name},
      {"repositoryUri", fmt::format("{}.dkr.ecr.{}.amazonaws.com/{}", config_.account_id, config_.region, name)},
      {"createdAt", clock_.epochSeconds()},
      {"imageTagMutability", json::stringOr(in, "imageTagMutability", "MUTABLE")},
      {"imageScanningConfiguration", bj::object{{"scanOnPush", false}}},
      {"encryptionConfiguration", bj::object{{"encryptionType", "AES256"}}},
  };
  if (const auto* f = json::getArray(in, "imageTagMutabilityExclusionFilters"))
    repo.doc["imageTagMutabilityExclusionFilters"] = *f;
  if (const auto* s = json::getObject(in, "imageScanningConfiguration"))
    repo.doc["imageScanningConfiguration"] = bj::object{{"scanOnPush", json::getBool(*s, "scanOnPush").value_or(false)}};
  if (const auto* e = json::getObject(in, "encryptionConfiguration")) repo.doc["encryptionConfiguration"] = *e;
  if (const auto* t = json::getArray(in, "tags")) repo.tags = *t;
  return repo;
}

Result<bj::value> Ecr::createRepository(const bj::object& in) {
  BERTH_TRY(checkRegistryId(in));
  std::string name = json::stringOr(in, "repositoryName");
  if (!validRepositoryName(name))
    return invalidParameter(fmt::format(
        "Invalid parameter at 'repositoryName' failed to satisfy constraint: 'must satisfy regular expression "
        "'(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*'' and have length between 2 and 256"));
  if (repos_.contains(name))
    return fail(ErrorCode::kAlreadyExists,
                fmt::format("The repository with name '{}' already exists in the registry with id '{}'", name,
                            config_.account_id),
                "RepositoryAlreadyExistsException");
  BERTH_TRY(validateMutability(json::stringOr(in, "imageTagMutability", "MUTABLE")));
  if (const auto* t = json::getArray(in, "tags")) BERTH_TRY(validateTags(*t));
  if (const auto* e = json::getObject(in, "encryptionConfiguration")) {
    std::string type = json::stringOr(*e, "encryptionType");
    if (type != "AES256" && type != "KMS" && type != "KMS_DSSE")
      return invalidParameter("Invalid parameter at 'encryptionType': must be AES256, KMS or KMS_DSSE");
    if (type == "AES256" && json::getString(*e, "kmsKey"))
      return invalidParameter("Invalid parameter: a KMS key can only be given with encryptionType KMS");
  }
  Repository repo = makeRepository(name, in);
  store::Batch batch;
  persist(batch, repo);
  BERTH_TRY(commit(batch));
  auto& stored = repos_[name] = std::move(repo);
  return bj::object{{"repository", stored.doc}};
}

Result<bj::value> Ecr::describeRepositories(const bj::object& in) {
  BERTH_TRY(checkRegistryId(in));
  auto names = json::stringList(in, "repositoryNames");
  bj::array out;
  if (!names.empty()) {
    if (json::getString(in, "nextToken") || json::getInt(in, "maxResults"))
      return invalidParameter("Cannot specify nextToken or maxResults together with repositoryNames");
    for (const auto& name : names) {
      Repository* repo = BERTH_TRY(repositoryByName(name));
      out.push_back(repo->doc);
    }
    return bj::object{{"repositories", std::move(out)}};
  }
  int64_t limit = BERTH_TRY(maxResults(in, 1000));
  std::string after = BERTH_TRY(decodeToken("DescribeRepositories", in));
  auto it = after.empty() ? repos_.begin() : repos_.upper_bound(after);
  std::string last;
  for (; it != repos_.end() && static_cast<int64_t>(out.size()) < limit; ++it) {
    out.push_back(it->second.doc);
    last = it->first;
  }
  bj::object reply{{"repositories", std::move(out)}};
  if (it != repos_.end()) reply["nextToken"] = encodeToken("DescribeRepositories", last);
  return reply;
}

Result<bj::value> Ecr::deleteRepository(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  std::string name = json::stringOr(repo->doc, "repositoryName");
  if (!repo->images.empty() && !json::getBool(in, "force").value_or(false))
    return fail(ErrorCode::kFailedPrecondition,
                fmt::format("The repository with name '{}' in registry with id '{}' cannot be deleted because it still "
                            "contains images",
                            name, config_.account_id),
                "RepositoryNotEmptyException");
  store::Batch batch;
  batch.erase("ecr.repository", name);
  for (const auto& [digest, _] : repo->images) batch.erase("ecr.image", name + "@" + digest);
  for (const auto& [tag, _] : repo->tag_to_digest) batch.erase("ecr.tag", name + ":" + tag);
  BERTH_TRY(commit(batch));
  bj::object doc = repo->doc;
  repos_.erase(name);
  afterDelete();
  return bj::object{{"repository", std::move(doc)}};
}

Result<bj::value> Ecr::putImageTagMutability(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  std::string m = json::stringOr(in, "imageTagMutability");
  BERTH_TRY(validateMutability(m));
  Repository updated = *repo;
  updated.doc["imageTagMutability"] = m;
  if (const auto* f = json::getArray(in, "imageTagMutabilityExclusionFilters"))
    updated.doc["imageTagMutabilityExclusionFilters"] = *f;
  else updated.doc.erase("imageTagMutabilityExclusionFilters");
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  repo->doc = std::move(updated.doc);
  bj::object reply{{"registryId", config_.account_id},
                   {"repositoryName", repo->doc["repositoryName"]},
                   {"imageTagMutability", m}};
  if (const auto* f = json::getArray(repo->doc, "imageTagMutabilityExclusionFilters"))
    reply["imageTagMutabilityExclusionFilters"] = *f;
  return reply;
}

Result<bj::value> Ecr::putImageScanningConfiguration(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  bool scan = false;
  if (const auto* s = json::getObject(in, "imageScanningConfiguration"))
    scan = json::getBool(*s, "scanOnPush").value_or(false);
  Repository updated = *repo;
  updated.doc["imageScanningConfiguration"] = bj::object{{"scanOnPush", scan}};
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  repo->doc = std::move(updated.doc);
  return bj::object{{"registryId", config_.account_id},
                    {"repositoryName", repo->doc["repositoryName"]},
                    {"imageScanningConfiguration", repo->doc["imageScanningConfiguration"]}};
}

Result<bj::value> Ecr::putLifecyclePolicy(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  std::string text = json::stringOr(in, "lifecyclePolicyText");
  auto policy = json::parse(text);
  if (!policy || !policy->is_object() || !policy->as_object().contains("rules") ||
      !policy->as_object().at("rules").is_array())
    return invalidParameter("Invalid parameter at 'LifecyclePolicyText' failed to satisfy constraint: 'Lifecycle "
                            "policy validation failure: the policy must be a JSON object with a rules array'");
  Repository updated = *repo;
  updated.lifecycle_policy = text;
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  repo->lifecycle_policy = text;
  return bj::object{{"registryId", config_.account_id},
                    {"repositoryName", repo->doc["repositoryName"]},
                    {"lifecyclePolicyText", text}};
}

Result<bj::value> Ecr::getLifecyclePolicy(const bj::object& in) {
  Repository* repo = BERTH_TRY(repository(in));
  std::string name = json::stringOr(repo->doc, "repositoryName");
  if (!repo->lifecycle_policy)
    return fail(ErrorCode::kNotFound,
                fmt::format("Lifecycle policy does not exist for the repository with name '{}' in the registry with "
                            "id '{}'",
                            name, config_.account_id),
                "LifecyclePolicyNotFoundException");
  return bj::object{{"registryId", config_.account_id},
                    {"repositoryName", name},
                    {"lifecyclePolicyText", *repo->lifecycle_policy}};
}

Result<bj::value> Ecr::deleteLifecyclePolicy(const bj::object& in) {
  bj::object reply = BERTH_TRY(getLifecyclePolicy(in)).as_object();
  Repository* repo = BERTH_TRY(repository(in));
  Repository updated = *repo;
  updated.lifecycle_policy.reset();
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  repo->lifecycle_policy.reset();
  return reply;
}

Result<Ecr::Repository*> Ecr::repositoryByArn(std::string_view arn) {
  std::string prefix = fmt::format("arn:aws:ecr:{}:{}:repository/", config_.region, config_.account_id);
  if (!arn.starts_with(prefix))
    return invalidParameter(fmt::format("Invalid parameter at 'resourceArn' failed to satisfy constraint: 'Invalid "
                                        "ARN {}'",
                                        arn));
  return repositoryByName(arn.substr(prefix.size()));
}

Result<bj::value> Ecr::tagResource(const bj::object& in) {
  Repository* repo = BERTH_TRY(repositoryByArn(json::stringOr(in, "resourceArn")));
  const bj::array* updates = json::getArray(in, "tags");
  bj::array tags = repo->tags;
  if (updates) {
    BERTH_TRY(validateTags(*updates));
    mergeTags(tags, *updates);
    BERTH_TRY(validateTags(tags));
  }
  Repository updated = *repo;
  updated.tags = tags;
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  repo->tags = std::move(tags);
  return bj::object{};
}

Result<bj::value> Ecr::untagResource(const bj::object& in) {
  Repository* repo = BERTH_TRY(repositoryByArn(json::stringOr(in, "resourceArn")));
  auto keys = json::stringList(in, "tagKeys");
  bj::array tags;
  for (const auto& t : repo->tags)
    if (std::find(keys.begin(), keys.end(), json::stringOr(t.as_object(), "Key")) == keys.end()) tags.push_back(t);
  Repository updated = *repo;
  updated.tags = tags;
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(commit(batch));
  repo->tags = std::move(tags);
  return bj::object{};
}

Result<bj::value> Ecr::listTagsForResource(const bj::object& in) {
  Repository* repo = BERTH_TRY(repositoryByArn(json::stringOr(in, "resourceArn")));
  return bj::object{{"tags", repo->tags}};
}

}  // namespace berth::ecr
