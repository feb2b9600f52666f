// Keys: lifecycle, policies, tags, rotation settings; and the helpers the
// other KMS sources share.
#include "control/kms/kms.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/kms/errors.h"
#include "iam/policy.h"

namespace berth::kms {
namespace {

constexpr std::string_view kKeyKind = "kms.key";
constexpr std::string_view kAliasKind = "kms.alias";
constexpr size_t kMaxTags = 50;
constexpr double kDay = 86400;
// The services whose AWS managed key (alias/aws/<service>) berth creates on
// first use: the ones inside berth that encrypt with one.
constexpr std::string_view kAwsManagedServices[] = {"ssm"};

bool isUuid(std::string_view s) {
  if (s.size() != 36) return false;
  for (size_t i = 0; i < s.size(); ++i) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-') return false;
    } else if (!std::isxdigit(static_cast<unsigned char>(s[i]))) {
      return false;
    }
  }
  return true;
}

std::string sealAad(std::string_view key_id) { return "berth kms key material v1:" + std::string(key_id); }

std::shared_ptr<const iam::Policy> compile(const std::string& policy) {
  auto parsed = iam::Policy::parse(policy, iam::PolicyKind::kResource);
  return parsed ? *parsed : nullptr;
}

}  // namespace

Kms::Kms(KmsConfig config, std::string master_key, store::Store& store, const Clock& clock)
    : config_(std::move(config)), master_key_(std::move(master_key)), store_(store), clock_(clock) {}

const std::map<std::string, Kms::Handler, std::less<>>& Kms::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"CreateKey", &Kms::createKey},
      {"DescribeKey", &Kms::describeKey},
      {"ListKeys", &Kms::listKeys},
      {"EnableKey", &Kms::enableKey},
      {"DisableKey", &Kms::disableKey},
      {"ScheduleKeyDeletion", &Kms::scheduleKeyDeletion},
      {"CancelKeyDeletion", &Kms::cancelKeyDeletion},
      {"UpdateKeyDescription", &Kms::updateKeyDescription},
      {"GetKeyPolicy", &Kms::getKeyPolicy},
      {"PutKeyPolicy", &Kms::putKeyPolicy},
      {"ListKeyPolicies", &Kms::listKeyPolicies},
      {"TagResource", &Kms::tagResource},
      {"UntagResource", &Kms::untagResource},
      {"ListResourceTags", &Kms::listResourceTags},
      {"EnableKeyRotation", &Kms::enableKeyRotation},
      {"DisableKeyRotation", &Kms::disableKeyRotation},
      {"GetKeyRotationStatus", &Kms::getKeyRotationStatus},
      {"CreateAlias", &Kms::createAlias},
      {"UpdateAlias", &Kms::updateAlias},
      {"DeleteAlias", &Kms::deleteAlias},
      {"ListAliases", &Kms::listAliases},
      {"Encrypt", &Kms::encryptOp},
      {"Decrypt", &Kms::decryptOp},
      {"ReEncrypt", &Kms::reEncrypt},
      {"GenerateDataKey", &Kms::generateDataKey},
      {"GenerateDataKeyWithoutPlaintext", &Kms::generateDataKeyWithoutPlaintext},
      {"GenerateRandom", &Kms::generateRandom},
  };
  return kHandlers;
}

bool Kms::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> Kms::invoke(std::string_view operation, const bj::object& input, const iam::Caller& caller) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement KMS {} yet.", operation));
  return (this->*(it->second))(input, caller);
}

Status Kms::load() {
  if (master_key_.size() != kKeySize) return fail(ErrorCode::kInvalidArgument, "the KMS master key must be 32 bytes");
  for (const auto& r : BERTH_TRY(store_.loadAll(kKeyKind))) {
    auto v = json::parse(r.value);
    if (!v || !v->is_object()) return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{}", r.kind, r.key));
    const bj::object& o = v->as_object();
    Key k;
    if (const auto* m = json::getObject(o, "metadata")) k.meta = *m;
    auto sealed = base64Decode(json::stringOr(o, "material"));
    if (!sealed) return fail(ErrorCode::kInternal, fmt::format("corrupt key material of KMS key {}", r.key));
    auto material = open(master_key_, *sealed, sealAad(r.key));
    if (!material || material->size() != kKeySize)
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("the material of KMS key {} does not unseal: is kms-master.key the one this data "
                              "directory was created with?",
                              r.key));
    k.sealed = std::move(*sealed);
    k.material = std::move(*material);
    k.policy = json::stringOr(o, "policy");
    k.compiled = compile(k.policy);
    if (const auto* t = json::getArray(o, "tags")) k.tags = *t;
    k.rotation = json::getBool(o, "rotation").value_or(false);
    k.rotation_days = json::getInt(o, "rotation_days").value_or(365);
    if (const auto* s = json::find(o, "rotation_since"); s && s->is_number()) k.rotation_since = s->to_number<double>();
    keys_[r.key] = std::move(k);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kAliasKind))) {
    auto v = json::parse(r.value);
    if (!v || !v->is_object()) return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{}", r.kind, r.key));
    aliases_[r.key] = std::move(v->as_object());
  }
  return {};
}

void Kms::tick() {
  double now = clock_.epochSeconds();
  store::Batch batch;
  std::vector<std::string> gone_keys, gone_aliases;
  for (const auto& [id, k] : keys_) {
    if (stateOf(k) != "PendingDeletion") continue;
    const bj::value* at = json::find(k.meta, "DeletionDate");
    if (!at || !at->is_number() || at->to_number<double>() > now) continue;
    batch.erase(std::string(kKeyKind), id);
    gone_keys.push_back(id);
    for (const auto& [name, a] : aliases_)
      if (json::stringOr(a, "TargetKeyId") == id) {
        batch.erase(std::string(kAliasKind), name);
        gone_aliases.push_back(name);
      }
  }
  if (batch.empty() || !store_.commit(batch)) return;
  for (const auto& id : gone_keys) keys_.erase(id);
  for (const auto& name : gone_aliases) aliases_.erase(name);
}

// Helpers ---------------------------------------------------------------------

std::string Kms::keyArn(std::string_view key_id) const {
  return fmt::format("arn:aws:kms:{}:{}:key/{}", config_.region, config_.account_id, key_id);
}

std::string Kms::aliasArn(std::string_view alias_name) const {
  return fmt::format("arn:aws:kms:{}:{}:{}", config_.region, config_.account_id, alias_name);
}

std::string Kms::stateOf(const Key& k) { return json::stringOr(k.meta, "KeyState"); }
std::string Kms::idOf(const Key& k) { return json::stringOr(k.meta, "KeyId"); }

Result<Kms::Key*> Kms::resolve(std::string_view key_id) {
  std::string alias;
  std::string id;
  if (key_id.starts_with("arn:")) {
    // arn:aws:kms:<region>:<account>:key/<id> or ...:alias/<name>
    std::string prefix = fmt::format("arn:aws:kms:{}:{}:", config_.region, config_.account_id);
    if (!key_id.starts_with("arn:aws:kms:")) return invalidArn(fmt::format("Invalid arn {}", key_id));
    if (!key_id.starts_with(prefix)) {
      if (key_id.find(":alias/") != std::string_view::npos) return aliasNotFound(key_id);
      return keyNotFound(key_id);
    }
    std::string_view rest = key_id.substr(prefix.size());
    if (rest.starts_with("key/"))
      id = rest.substr(4);
    else if (rest.starts_with("alias/"))
      alias = rest;
    else
      return invalidArn(fmt::format("Invalid arn {}", key_id));
  } else if (key_id.starts_with("alias/")) {
    alias = key_id;
  } else {
    id = key_id;
  }
  if (!alias.empty()) {
    auto it = aliases_.find(alias);
    if (it == aliases_.end()) {
      constexpr std::string_view kAwsPrefix = "alias/aws/";
      if (alias.starts_with(kAwsPrefix) &&
          std::find(std::begin(kAwsManagedServices), std::end(kAwsManagedServices),
                    std::string_view(alias).substr(kAwsPrefix.size())) != std::end(kAwsManagedServices))
        return createAwsManagedKey(alias);
      return aliasNotFound(aliasArn(alias));
    }
    id = json::stringOr(it->second, "TargetKeyId");
  }
  auto it = keys_.find(id);
  if (it == keys_.end()) {
    if (!isUuid(id)) return notFound(fmt::format("Invalid keyId {}", id));
    return keyNotFound(keyArn(id));
  }
  return &it->second;
}

Result<Kms::Key*> Kms::authorized(std::string_view key_id, std::string_view action, const iam::Caller& caller) {
  Key* k = BERTH_TRY(resolve(key_id));
  BERTH_TRY(caller.check(action, json::stringOr(k->meta, "Arn")));
  BERTH_TRY(keyPolicyAllows(*k, action, caller));
  return k;
}

bool Kms::isAwsManagedKeyOf(const Key& k, std::string_view service) const {
  if (service.empty() || json::stringOr(k.meta, "KeyManager") != "AWS") return false;
  auto it = aliases_.find("alias/aws/" + std::string(service));
  return it != aliases_.end() && json::stringOr(it->second, "TargetKeyId") == idOf(k);
}

Result<Kms::Key*> Kms::usable(std::string_view key_id, std::string_view action, const iam::Caller& caller,
                              std::string_view via_service, const EncryptionContext* context) {
  Key* k = BERTH_TRY(resolve(key_id));
  if (!isAwsManagedKeyOf(*k, via_service)) {
    iam::ConditionKeys keys{{"kms:CallerAccount", caller.account_id.empty() ? config_.account_id : caller.account_id}};
    if (!via_service.empty())
      keys.emplace_back("kms:ViaService", fmt::format("{}.{}.amazonaws.com", via_service, config_.region));
    if (context)
      for (const auto& [name, value] : *context) keys.emplace_back("kms:EncryptionContext:" + name, value);
    BERTH_TRY(caller.check(action, json::stringOr(k->meta, "Arn"), keys));
    BERTH_TRY(keyPolicyAllows(*k, action, caller));
  }
  std::string state = stateOf(*k);
  if (state == "Disabled") return disabled(json::stringOr(k->meta, "Arn"));
  if (state == "PendingDeletion") return pendingDeletion(json::stringOr(k->meta, "Arn"));
  if (state != "Enabled") return invalidState(fmt::format("{} is {}.", json::stringOr(k->meta, "Arn"), state));
  return k;
}

Status Kms::keyPolicyAllows(const Key& k, std::string_view action, const iam::Caller& caller) const {
  // berth's own calls (no principal) and keys whose policy no longer parses
  // are not subject to it.
  if (caller.principal_arn.empty() || !k.compiled) return {};
  std::string arn = json::stringOr(k.meta, "Arn");
  iam::RequestContext request;
  request.action = std::string(action);
  request.resource = arn;
  request.principal_arn = caller.principal_arn;
  request.principal_account = caller.account_id.empty() ? config_.account_id : caller.account_id;
  request.setKey("kms:CallerAccount", {request.principal_account});
  request.setKey("aws:PrincipalArn", {caller.principal_arn});
  if (k.compiled->evaluate(request) != iam::Effect::kDeny) return {};
  return fail(ErrorCode::kPermissionDenied,
              fmt::format("User: {} is not authorized to perform: {} on resource: {} with an explicit deny in a "
                          "resource-based policy",
                          caller.principal_arn, action, arn),
              "AccessDeniedException");
}

Status Kms::notPendingDeletion(const Key& k) const {
  if (stateOf(k) == "PendingDeletion") return pendingDeletion(json::stringOr(k.meta, "Arn"));
  return {};
}

std::string Kms::defaultPolicy() const {
  // AWS's default key policy, as GetKeyPolicy returns it.
  return fmt::format(
      "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"key-default-1\",\n  \"Statement\" : [ {{\n"
      "    \"Sid\" : \"Enable IAM User Permissions\",\n    \"Effect\" : \"Allow\",\n"
      "    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{}:root\"\n    }},\n"
      "    \"Action\" : \"kms:*\",\n    \"Resource\" : \"*\"\n  }} ]\n}}",
      config_.account_id);
}

Result<Kms::Key> Kms::newKey(std::string description, std::string key_manager, std::string policy) {
  Key k;
  std::string id = randomUuid();
  k.material = randomBytes(kKeySize);
  k.sealed = BERTH_TRY(seal(master_key_, k.material, sealAad(id)));
  k.policy = std::move(policy);
  k.compiled = compile(k.policy);
  k.meta = bj::object{{"AWSAccountId", config_.account_id},
                      {"KeyId", id},
                      {"Arn", keyArn(id)},
                      {"CreationDate", clock_.epochSeconds()},
                      {"Enabled", true},
                      {"Description", std::move(description)},
                      {"KeyUsage", "ENCRYPT_DECRYPT"},
                      {"KeyState", "Enabled"},
                      {"Origin", "AWS_KMS"},
                      {"KeyManager", std::move(key_manager)},
                      {"CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"},
                      {"KeySpec", "SYMMETRIC_DEFAULT"},
                      {"EncryptionAlgorithms", bj::array{"SYMMETRIC_DEFAULT"}},
                      {"MultiRegion", false}};
  return k;
}

Result<Kms::Key*> Kms::createAwsManagedKey(std::string_view alias_name) {
  std::string service(alias_name.substr(std::string_view("alias/aws/").size()));
  std::string description =
      service == "ssm" ? "Default key that protects my SSM parameters when no other key is defined"
                       : fmt::format("Default key that protects my {} data when no other key is defined", service);
  // AWS managed keys allow use through their service by any principal of the
  // account that IAM allows, and the account to read them.
  std::string policy = fmt::format(
      "{{\n  \"Version\" : \"2012-10-17\",\n  \"Id\" : \"auto-{0}\",\n  \"Statement\" : [ {{\n"
      "    \"Sid\" : \"Allow access through {0} for all principals in the account that are authorized to use {0}\",\n"
      "    \"Effect\" : \"Allow\",\n    \"Principal\" : {{\n      \"AWS\" : \"*\"\n    }},\n"
      "    \"Action\" : [ \"kms:Encrypt\", \"kms:Decrypt\", \"kms:ReEncrypt*\", \"kms:GenerateDataKey*\", "
      "\"kms:CreateGrant\", \"kms:DescribeKey\" ],\n    \"Resource\" : \"*\",\n"
      "    \"Condition\" : {{\n      \"StringEquals\" : {{\n        \"kms:CallerAccount\" : \"{1}\",\n"
      "        \"kms:ViaService\" : \"{0}.{2}.amazonaws.com\"\n      }}\n    }}\n  }}, {{\n"
      "    \"Sid\" : \"Allow direct access to key metadata to the account\",\n    \"Effect\" : \"Allow\",\n"
      "    \"Principal\" : {{\n      \"AWS\" : \"arn:aws:iam::{1}:root\"\n    }},\n"
      "    \"Action\" : [ \"kms:Describe*\", \"kms:Get*\", \"kms:List*\" ],\n    \"Resource\" : \"*\"\n  }} ]\n}}",
      service, config_.account_id, config_.region);
  Key k = BERTH_TRY(newKey(description, "AWS", std::move(policy)));
  k.rotation = true;
  k.rotation_since = clock_.epochSeconds();
  std::string id = idOf(k);
  double now = clock_.epochSeconds();
  bj::object alias{{"AliasName", alias_name},
                   {"AliasArn", aliasArn(alias_name)},
                   {"TargetKeyId", id},
                   {"CreationDate", now},
                   {"LastUpdatedDate", now}};
  store::Batch batch;
  persist(batch, k);
  persistAlias(batch, alias);
  BERTH_TRY(store_.commit(batch));
  aliases_[std::string(alias_name)] = std::move(alias);
  return &(keys_[id] = std::move(k));
}

void Kms::persist(store::Batch& batch, const Key& k) const {
  bj::object o{{"metadata", k.meta},
               {"material", base64Encode(k.sealed)},
               {"policy", k.policy},
               {"tags", k.tags},
               {"rotation", k.rotation},
               {"rotation_days", k.rotation_days},
               {"rotation_since", k.rotation_since}};
  batch.put(std::string(kKeyKind), idOf(k), json::serialize(o));
}

void Kms::persistAlias(store::Batch& batch, const bj::object& alias) const {
  batch.put(std::string(kAliasKind), json::stringOr(alias, "AliasName"), json::serialize(alias));
}

Result<bj::value> Kms::editKey(Key& k, const std::function<Status(Key&)>& edit, bj::value reply) {
  Key updated = k;
  BERTH_TRY(edit(updated));
  store::Batch batch;
  persist(batch, updated);
  BERTH_TRY(store_.commit(batch));
  k = std::move(updated);
  return reply;
}

// Key operations --------------------------------------------------------------

Result<bj::value> Kms::createKey(const bj::object& in, const iam::Caller&) {
  std::string spec = json::stringOr(in, "KeySpec", json::stringOr(in, "CustomerMasterKeySpec", "SYMMETRIC_DEFAULT"));
  if (spec != "SYMMETRIC_DEFAULT")
    return unsupported(fmt::format("berth supports only SYMMETRIC_DEFAULT keys, not {}.", spec));
  std::string usage = json::stringOr(in, "KeyUsage", "ENCRYPT_DECRYPT");
  if (usage != "ENCRYPT_DECRYPT")
    return validation(fmt::format("KeyUsage {} is not compatible with KeySpec SYMMETRIC_DEFAULT", usage));
  std::string origin = json::stringOr(in, "Origin", "AWS_KMS");
  if (origin != "AWS_KMS") return unsupported(fmt::format("berth supports only Origin AWS_KMS, not {}.", origin));
  if (json::getBool(in, "MultiRegion").value_or(false)) return unsupported("berth does not support multi-Region keys.");
  if (json::find(in, "CustomKeyStoreId")) return unsupported("berth has no custom key stores.");
  std::string policy = json::stringOr(in, "Policy");
  if (!policy.empty()) {
    auto parsed = iam::Policy::parse(policy, iam::PolicyKind::kResource);
    if (!parsed) return fail(ErrorCode::kInvalidArgument, parsed.error().message, "MalformedPolicyDocumentException");
  } else {
    policy = defaultPolicy();
  }
  bj::array tags;
  if (const auto* t = json::getArray(in, "Tags")) tags = *t;
  if (tags.size() > kMaxTags) return tagError(fmt::format("A key can have at most {} tags.", kMaxTags));
  for (const auto& t : tags)
    if (json::stringOr(t.as_object(), "TagKey").starts_with("aws:"))
      return tagError("Tags beginning with aws: are reserved.");
  Key k = BERTH_TRY(newKey(json::stringOr(in, "Description"), "CUSTOMER", std::move(policy)));
  k.tags = std::move(tags);
  store::Batch batch;
  persist(batch, k);
  BERTH_TRY(store_.commit(batch));
  bj::object meta = k.meta;
  keys_[idOf(k)] = std::move(k);
  return bj::object{{"KeyMetadata", std::move(meta)}};
}

Result<bj::value> Kms::describeKey(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:DescribeKey", caller));
  return bj::object{{"KeyMetadata", k->meta}};
}

Result<bj::value> Kms::listKeys(const bj::object& in, const iam::Caller&) {
  int64_t limit = json::getInt(in, "Limit").value_or(1000);
  std::string marker = json::stringOr(in, "Marker");
  if (!marker.empty() && !keys_.contains(marker)) return invalidMarker();
  bj::array out;
  bool truncated = false;
  std::string last;
  for (auto it = marker.empty() ? keys_.begin() : keys_.upper_bound(marker); it != keys_.end(); ++it) {
    if (static_cast<int64_t>(out.size()) == limit) {
      truncated = true;
      break;
    }
    out.push_back(bj::object{{"KeyId", it->first}, {"KeyArn", keyArn(it->first)}});
    last = it->first;
  }
  bj::object result{{"Keys", std::move(out)}, {"Truncated", truncated}};
  if (truncated) result["NextMarker"] = last;
  return result;
}

Result<bj::value> Kms::enableKey(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:EnableKey", caller));
  BERTH_TRY(notPendingDeletion(*k));
  if (json::stringOr(k->meta, "KeyManager") == "AWS")
    return unsupported(fmt::format("{} is an AWS managed key.", json::stringOr(k->meta, "Arn")));
  return editKey(*k, [](Key& u) -> Status {
    u.meta["KeyState"] = "Enabled";
    u.meta["Enabled"] = true;
    return {};
  });
}

Result<bj::value> Kms::disableKey(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:DisableKey", caller));
  BERTH_TRY(notPendingDeletion(*k));
  if (json::stringOr(k->meta, "KeyManager") == "AWS")
    return unsupported(fmt::format("{} is an AWS managed key.", json::stringOr(k->meta, "Arn")));
  return editKey(*k, [](Key& u) -> Status {
    u.meta["KeyState"] = "Disabled";
    u.meta["Enabled"] = false;
    return {};
  });
}

Result<bj::value> Kms::scheduleKeyDeletion(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:ScheduleKeyDeletion", caller));
  std::string arn = json::stringOr(k->meta, "Arn");
  if (json::stringOr(k->meta, "KeyManager") == "AWS") return unsupported(fmt::format("{} is an AWS managed key.", arn));
  BERTH_TRY(notPendingDeletion(*k));
  int64_t days = json::getInt(in, "PendingWindowInDays").value_or(30);
  if (days < 7 || days > 30)
    return validation(fmt::format(
        "1 validation error detected: Value '{}' at 'pendingWindowInDays' failed to satisfy constraint: Member must "
        "have value between 7 and 30",
        days));
  double when = clock_.epochSeconds() + static_cast<double>(days) * kDay;
  bj::object reply{
      {"KeyId", arn}, {"DeletionDate", when}, {"KeyState", "PendingDeletion"}, {"PendingWindowInDays", days}};
  return editKey(
      *k,
      [&](Key& u) -> Status {
        u.meta["KeyState"] = "PendingDeletion";
        u.meta["Enabled"] = false;
        u.meta["DeletionDate"] = when;
        u.meta["PendingDeletionWindowInDays"] = days;
        return {};
      },
      std::move(reply));
}

Result<bj::value> Kms::cancelKeyDeletion(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:CancelKeyDeletion", caller));
  std::string arn = json::stringOr(k->meta, "Arn");
  if (stateOf(*k) != "PendingDeletion") return invalidState(fmt::format("{} is not pending deletion.", arn));
  return editKey(
      *k,
      [](Key& u) -> Status {
        u.meta["KeyState"] = "Disabled";
        u.meta.erase("DeletionDate");
        u.meta.erase("PendingDeletionWindowInDays");
        return {};
      },
      bj::object{{"KeyId", arn}});
}

Result<bj::value> Kms::updateKeyDescription(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:UpdateKeyDescription", caller));
  BERTH_TRY(notPendingDeletion(*k));
  std::string description = json::stringOr(in, "Description");
  return editKey(*k, [&](Key& u) -> Status {
    u.meta["Description"] = description;
    return {};
  });
}

Result<bj::value> Kms::getKeyPolicy(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:GetKeyPolicy", caller));
  std::string name = json::stringOr(in, "PolicyName", "default");
  if (name != "default") return notFound("No such policy exists");
  return bj::object{{"Policy", k->policy}, {"PolicyName", "default"}};
}

Result<bj::value> Kms::putKeyPolicy(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:PutKeyPolicy", caller));
  if (json::stringOr(k->meta, "KeyManager") == "AWS")
    return unsupported(fmt::format("{} is an AWS managed key.", json::stringOr(k->meta, "Arn")));
  BERTH_TRY(notPendingDeletion(*k));
  std::string name = json::stringOr(in, "PolicyName", "default");
  if (name != "default") return validation("PolicyName must be default");
  std::string policy = json::stringOr(in, "Policy");
  auto parsed = iam::Policy::parse(policy, iam::PolicyKind::kResource);
  if (!parsed) return fail(ErrorCode::kInvalidArgument, parsed.error().message, "MalformedPolicyDocumentException");
  return editKey(*k, [&](Key& u) -> Status {
    u.policy = policy;
    u.compiled = *parsed;
    return {};
  });
}

Result<bj::value> Kms::listKeyPolicies(const bj::object& in, const iam::Caller& caller) {
  BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:ListKeyPolicies", caller));
  return bj::object{{"PolicyNames", bj::array{"default"}}, {"Truncated", false}};
}

Result<bj::value> Kms::tagResource(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:TagResource", caller));
  BERTH_TRY(notPendingDeletion(*k));
  if (json::stringOr(k->meta, "KeyManager") == "AWS")
    return unsupported(fmt::format("{} is an AWS managed key.", json::stringOr(k->meta, "Arn")));
  const bj::array* add = json::getArray(in, "Tags");
  return editKey(*k, [&](Key& u) -> Status {
    if (!add) return {};
    for (const auto& t : *add) {
      std::string key = json::stringOr(t.as_object(), "TagKey");
      if (key.starts_with("aws:")) return tagError("Tags beginning with aws: are reserved.");
      auto it = std::find_if(u.tags.begin(), u.tags.end(),
                             [&](const bj::value& x) { return json::stringOr(x.as_object(), "TagKey") == key; });
      if (it != u.tags.end())
        *it = t;
      else
        u.tags.push_back(t);
    }
    if (u.tags.size() > kMaxTags) return limitExceeded(fmt::format("A key can have at most {} tags.", kMaxTags));
    return {};
  });
}

Result<bj::value> Kms::untagResource(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:UntagResource", caller));
  BERTH_TRY(notPendingDeletion(*k));
  std::vector<std::string> keys = json::stringList(in, "TagKeys");
  return editKey(*k, [&](Key& u) -> Status {
    bj::array kept;
    for (auto& t : u.tags)
      if (std::find(keys.begin(), keys.end(), json::stringOr(t.as_object(), "TagKey")) == keys.end())
        kept.push_back(std::move(t));
    u.tags = std::move(kept);
    return {};
  });
}

Result<bj::value> Kms::listResourceTags(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:ListResourceTags", caller));
  return bj::object{{"Tags", k->tags}, {"Truncated", false}};
}

Result<bj::value> Kms::enableKeyRotation(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:EnableKeyRotation", caller));
  std::string arn = json::stringOr(k->meta, "Arn");
  if (stateOf(*k) == "Disabled") return disabled(arn);
  BERTH_TRY(notPendingDeletion(*k));
  if (json::stringOr(k->meta, "KeyManager") == "AWS") return unsupported(fmt::format("{} is an AWS managed key.", arn));
  int64_t days = json::getInt(in, "RotationPeriodInDays").value_or(365);
  double now = clock_.epochSeconds();
  return editKey(*k, [&](Key& u) -> Status {
    if (!u.rotation) u.rotation_since = now;
    u.rotation = true;
    u.rotation_days = days;
    return {};
  });
}

Result<bj::value> Kms::disableKeyRotation(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:DisableKeyRotation", caller));
  std::string arn = json::stringOr(k->meta, "Arn");
  if (stateOf(*k) == "Disabled") return disabled(arn);
  BERTH_TRY(notPendingDeletion(*k));
  if (json::stringOr(k->meta, "KeyManager") == "AWS") return unsupported(fmt::format("{} is an AWS managed key.", arn));
  return editKey(*k, [](Key& u) -> Status {
    u.rotation = false;
    return {};
  });
}

Result<bj::value> Kms::getKeyRotationStatus(const bj::object& in, const iam::Caller& caller) {
  Key* k = BERTH_TRY(authorized(json::stringOr(in, "KeyId"), "kms:GetKeyRotationStatus", caller));
  bj::object out{{"KeyRotationEnabled", k->rotation}, {"KeyId", json::stringOr(k->meta, "Arn")}};
  if (k->rotation) {
    out["RotationPeriodInDays"] = k->rotation_days;
    out["NextRotationDate"] = k->rotation_since + static_cast<double>(k->rotation_days) * kDay;
  }
  return out;
}

}  // namespace berth::kms
