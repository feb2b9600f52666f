#include "control/iam/iam.h"

#include <fmt/format.h>

#include "aws/crypto.h"
#include "common/json.h"
#include "control/iam/aws_managed.h"
#include "control/iam/errors.h"
#include "control/iam/util.h"

namespace berth::iam {
namespace {

constexpr std::string_view kRoleKind = "iam.role";
constexpr std::string_view kUserKind = "iam.user";
constexpr std::string_view kPolicyKind = "iam.policy";
constexpr std::string_view kSessionKind = "sts.session";

Result<bj::object> parseRecord(const store::Record& r) {
  auto v = json::parse(r.value);
  if (!v || !v->is_object())
    return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{} in the store", r.kind, r.key));
  return std::move(v->get_object());
}

// A stable id for an AWS managed policy: "ANPA" and 17 id characters
// derived from its name.
std::string awsPolicyId(std::string_view name) {
  static constexpr std::string_view kAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
  aws::Digest d = aws::sha256(name);
  std::string id = "ANPA";
  for (size_t i = 0; i < 17; ++i) id.push_back(kAlphabet[d[i] % 32]);
  return id;
}

bj::object documentsObject(const std::map<std::string, std::string, std::less<>>& texts) {
  bj::object o;
  for (const auto& [name, text] : texts) o[name] = text;
  return o;
}

}  // namespace

Iam::Iam(IamConfig config, store::Store& store, const Clock& clock)
    : config_(std::move(config)), store_(store), clock_(clock) {}

const std::map<std::string, Iam::Handler, std::less<>>& Iam::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"CreateRole", &Iam::createRole},
      {"GetRole", &Iam::getRole},
      {"ListRoles", &Iam::listRoles},
      {"UpdateRole", &Iam::updateRole},
      {"UpdateRoleDescription", &Iam::updateRoleDescription},
      {"UpdateAssumeRolePolicy", &Iam::updateAssumeRolePolicy},
      {"DeleteRole", &Iam::deleteRole},
      {"TagRole", &Iam::tagRole},
      {"UntagRole", &Iam::untagRole},
      {"ListRoleTags", &Iam::listRoleTags},
      {"PutRolePolicy", &Iam::putRolePolicy},
      {"GetRolePolicy", &Iam::getRolePolicy},
      {"DeleteRolePolicy", &Iam::deleteRolePolicy},
      {"ListRolePolicies", &Iam::listRolePolicies},
      {"AttachRolePolicy", &Iam::attachRolePolicy},
      {"DetachRolePolicy", &Iam::detachRolePolicy},
      {"ListAttachedRolePolicies", &Iam::listAttachedRolePolicies},
      {"CreateUser", &Iam::createUser},
      {"GetUser", &Iam::getUser},
      {"ListUsers", &Iam::listUsers},
      {"DeleteUser", &Iam::deleteUser},
      {"UpdateUser", &Iam::updateUser},
      {"TagUser", &Iam::tagUser},
      {"UntagUser", &Iam::untagUser},
      {"ListUserTags", &Iam::listUserTags},
      {"PutUserPolicy", &Iam::putUserPolicy},
      {"GetUserPolicy", &Iam::getUserPolicy},
      {"DeleteUserPolicy", &Iam::deleteUserPolicy},
      {"ListUserPolicies", &Iam::listUserPolicies},
      {"AttachUserPolicy", &Iam::attachUserPolicy},
      {"DetachUserPolicy", &Iam::detachUserPolicy},
      {"ListAttachedUserPolicies", &Iam::listAttachedUserPolicies},
      {"CreateAccessKey", &Iam::createAccessKey},
      {"ListAccessKeys", &Iam::listAccessKeys},
      {"UpdateAccessKey", &Iam::updateAccessKey},
      {"DeleteAccessKey", &Iam::deleteAccessKey},
      {"GetAccessKeyLastUsed", &Iam::getAccessKeyLastUsed},
      {"CreatePolicy", &Iam::createPolicy},
      {"GetPolicy", &Iam::getPolicy},
      {"ListPolicies", &Iam::listPolicies},
      {"DeletePolicy", &Iam::deletePolicy},
      {"CreatePolicyVersion", &Iam::createPolicyVersion},
      {"GetPolicyVersion", &Iam::getPolicyVersion},
      {"ListPolicyVersions", &Iam::listPolicyVersions},
      {"DeletePolicyVersion", &Iam::deletePolicyVersion},
      {"SetDefaultPolicyVersion", &Iam::setDefaultPolicyVersion},
      {"ListEntitiesForPolicy", &Iam::listEntitiesForPolicy},
      {"TagPolicy", &Iam::tagPolicy},
      {"UntagPolicy", &Iam::untagPolicy},
      {"ListPolicyTags", &Iam::listPolicyTags},
      {"ListInstanceProfilesForRole", &Iam::listInstanceProfilesForRole},
      {"ListGroupsForUser", &Iam::listGroupsForUser},
      {"ListMFADevices", &Iam::listMfaDevices},
      {"GetLoginProfile", &Iam::getLoginProfile},
      {"ListSSHPublicKeys", &Iam::listSshPublicKeys},
      {"ListSigningCertificates", &Iam::listSigningCertificates},
      {"ListServiceSpecificCredentials", &Iam::listServiceSpecificCredentials},
      {"GetCallerIdentity", &Iam::getCallerIdentity},
      {"AssumeRole", &Iam::assumeRole},
      {"GetSessionToken", &Iam::getSessionToken},
  };
  return kHandlers;
}

bool Iam::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> Iam::invoke(std::string_view operation, const bj::object& input, const Caller& caller) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement {} yet.", operation));
  caller_ = &caller;
  auto result = (this->*(it->second))(input);
  caller_ = nullptr;
  return result;
}

Status Iam::load() {
  for (const AwsManagedPolicy& def : awsManagedPolicies()) {
    ManagedPolicy p;
    p.aws_managed = true;
    std::string arn = fmt::format("arn:aws:iam::aws:policy{}{}", def.path, def.name);
    p.doc = bj::object{
        {"PolicyName", def.name},   {"PolicyId", awsPolicyId(def.name)},  {"Arn", arn},
        {"Path", def.path},         {"DefaultVersionId", def.version_id}, {"PermissionsBoundaryUsageCount", 0},
        {"IsAttachable", true},     {"Description", def.description},     {"CreateDate", def.created},
        {"UpdateDate", def.updated}};
    auto parsed = Policy::parse(def.document, PolicyKind::kIdentity);
    if (!parsed)
      return fail(ErrorCode::kInternal, fmt::format("AWS managed policy {}: {}", def.name, parsed.error().message));
    p.versions.push_back(
        PolicyVersion{std::string(def.version_id), Document{std::string(def.document), *parsed}, def.updated});
    policies_[arn] = std::move(p);
  }

  auto document = [](std::string text, PolicyKind kind) {
    Document d{std::move(text), nullptr};
    if (auto parsed = Policy::parse(d.text, kind)) d.policy = *parsed;
    return d;
  };
  auto loadIdentity = [&](const bj::object& o, Identity& e) {
    if (const auto* inl = json::getObject(o, "inline"))
      for (const auto& [name, text] : *inl)
        if (text.is_string())
          e.inline_policies[std::string(name)] = document(std::string(text.as_string()), PolicyKind::kIdentity);
    e.attached = json::stringList(o, "attached");
    if (const auto* t = json::getArray(o, "tags")) e.tags = *t;
  };
  for (const auto& r : BERTH_TRY(store_.loadAll(kRoleKind))) {
    bj::object o = BERTH_TRY(parseRecord(r));
    Role role;
    if (const auto* d = json::getObject(o, "role")) role.doc = *d;
    role.trust = document(json::stringOr(o, "trust"), PolicyKind::kTrust);
    loadIdentity(o, role);
    roles_[r.key] = std::move(role);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kUserKind))) {
    bj::object o = BERTH_TRY(parseRecord(r));
    User user;
    if (const auto* d = json::getObject(o, "user")) user.doc = *d;
    loadIdentity(o, user);
    if (const auto* keys = json::getArray(o, "keys"))
      for (const auto& k : *keys) {
        if (!k.is_object()) continue;
        const bj::object& ko = k.as_object();
        AccessKey key{json::stringOr(ko, "id"), json::stringOr(ko, "secret"), json::stringOr(ko, "status", "Active"),
                      0};
        if (const auto* c = json::find(ko, "created"); c && c->is_number()) key.created = c->to_number<double>();
        user.keys.push_back(std::move(key));
      }
    users_[r.key] = std::move(user);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kPolicyKind))) {
    bj::object o = BERTH_TRY(parseRecord(r));
    ManagedPolicy p;
    if (const auto* d = json::getObject(o, "policy")) p.doc = *d;
    if (const auto* t = json::getArray(o, "tags")) p.tags = *t;
    p.next_version = json::getInt(o, "next").value_or(2);
    if (const auto* versions = json::getArray(o, "versions"))
      for (const auto& v : *versions) {
        if (!v.is_object()) continue;
        const bj::object& vo = v.as_object();
        PolicyVersion pv{json::stringOr(vo, "id"), document(json::stringOr(vo, "document"), PolicyKind::kIdentity), 0};
        if (const auto* c = json::find(vo, "created"); c && c->is_number()) pv.created = c->to_number<double>();
        p.versions.push_back(std::move(pv));
      }
    policies_[r.key] = std::move(p);
  }
  for (const auto& r : BERTH_TRY(store_.loadAll(kSessionKind))) {
    bj::object o = BERTH_TRY(parseRecord(r));
    Session s;
    s.access_key_id = r.key;
    s.secret = json::stringOr(o, "secret");
    s.token = json::stringOr(o, "token");
    if (const auto* c = json::find(o, "created"); c && c->is_number()) s.created = c->to_number<double>();
    if (const auto* e = json::find(o, "expiration"); e && e->is_number()) s.expiration = e->to_number<double>();
    s.kind = json::stringOr(o, "kind");
    s.role_arn = json::stringOr(o, "role_arn");
    s.role_id = json::stringOr(o, "role_id");
    s.session_name = json::stringOr(o, "session_name");
    s.user_name = json::stringOr(o, "user_name");
    for (const auto& text : json::stringList(o, "session_policies"))
      s.session_policies.push_back(document(text, PolicyKind::kIdentity));
    s.session_policy_arns = json::stringList(o, "session_policy_arns");
    if (const auto* t = json::getArray(o, "tags")) s.tags = *t;
    sessions_[r.key] = std::move(s);
  }
  publish();
  return {};
}

void Iam::tick() {
  double cutoff = clock_.epochSeconds() - static_cast<double>(config_.session_retention.count());
  store::Batch batch;
  std::vector<std::string> gone;
  for (const auto& [id, s] : sessions_) {
    if (s.expiration < cutoff) {
      batch.erase(std::string(kSessionKind), id);
      gone.push_back(id);
    }
  }
  if (batch.empty() || !commit(batch)) return;
  for (const auto& id : gone) sessions_.erase(id);
  publish();
}

void Iam::revokeSession(std::string_view access_key_id) {
  auto it = sessions_.find(access_key_id);
  if (it == sessions_.end()) return;
  store::Batch batch;
  batch.erase(std::string(kSessionKind), it->first);
  if (!commit(batch)) return;
  sessions_.erase(it);
  publish();
}

// Lookups ---------------------------------------------------------------------

Result<Iam::Role*> Iam::findRole(std::string_view name) {
  auto it = roles_.find(util::lower(name));
  if (it == roles_.end()) return noSuchEntity(fmt::format("The role with name {} cannot be found.", name));
  return &it->second;
}

Result<Iam::User*> Iam::findUser(std::string_view name) {
  auto it = users_.find(util::lower(name));
  if (it == users_.end()) return noSuchEntity(fmt::format("The user with name {} cannot be found.", name));
  return &it->second;
}

Result<Iam::ManagedPolicy*> Iam::findPolicy(std::string_view arn) {
  auto it = policies_.find(arn);
  if (it == policies_.end()) return noSuchEntity(fmt::format("Policy {} was not found.", arn));
  return &it->second;
}

const Iam::ManagedPolicy* Iam::policyByArn(std::string_view arn) const {
  auto it = policies_.find(arn);
  return it == policies_.end() ? nullptr : &it->second;
}

Iam::Role* Iam::roleByArn(std::string_view arn) {
  // arn:aws:iam::<account>:role<path><name>
  std::string prefix = fmt::format("arn:aws:iam::{}:role/", config_.account_id);
  if (!arn.starts_with(prefix)) return nullptr;
  auto slash = arn.rfind('/');
  auto it = roles_.find(util::lower(arn.substr(slash + 1)));
  if (it == roles_.end() || json::stringOr(it->second.doc, "Arn") != arn) return nullptr;
  return &it->second;
}

int64_t Iam::attachmentCount(std::string_view policy_arn) const {
  int64_t n = 0;
  for (const auto& [_, r] : roles_) n += std::count(r.attached.begin(), r.attached.end(), policy_arn);
  for (const auto& [_, u] : users_) n += std::count(u.attached.begin(), u.attached.end(), policy_arn);
  return n;
}

// Views -------------------------------------------------------------------------

bj::object Iam::roleView(const Role& r, bool full) const {
  bj::object out = r.doc;
  out["AssumeRolePolicyDocument"] = util::urlEncode(r.trust.text);
  if (full) {
    if (!r.tags.empty()) out["Tags"] = r.tags;
    bj::object last_used;
    if (auto it = role_last_used_.find(json::stringOr(r.doc, "RoleId")); it != role_last_used_.end())
      last_used["LastUsedDate"] = it->second;
    out["RoleLastUsed"] = std::move(last_used);
  } else {
    out.erase("PermissionsBoundary");
  }
  return out;
}

bj::object Iam::userView(const User& u, bool full) const {
  bj::object out = u.doc;
  if (full) {
    if (!u.tags.empty()) out["Tags"] = u.tags;
  } else {
    out.erase("PermissionsBoundary");
  }
  return out;
}

bj::object Iam::policyView(const ManagedPolicy& p, bool full) const {
  bj::object out = p.doc;
  out["AttachmentCount"] = attachmentCount(json::stringOr(p.doc, "Arn"));
  if (full) {
    if (!p.tags.empty()) out["Tags"] = p.tags;
  } else {
    out.erase("Description");
  }
  return out;
}

// Persistence -------------------------------------------------------------------

Status Iam::commit(store::Batch& batch) { return store_.commit(batch); }

namespace {
bj::object identityRecord(const bj::object& doc, std::string_view doc_key,
                          const std::map<std::string, std::string, std::less<>>& inline_texts,
                          const std::vector<std::string>& attached, const bj::array& tags) {
  bj::array att;
  for (const auto& a : attached) att.push_back(bj::string(a));
  return bj::object{{doc_key, doc}, {"inline", documentsObject(inline_texts)}, {"attached", att}, {"tags", tags}};
}
}  // namespace

void Iam::persist(store::Batch& batch, const Role& r) const {
  std::map<std::string, std::string, std::less<>> texts;
  for (const auto& [name, d] : r.inline_policies) texts[name] = d.text;
  bj::object o = identityRecord(r.doc, "role", texts, r.attached, r.tags);
  o["trust"] = r.trust.text;
  batch.put(std::string(kRoleKind), util::lower(json::stringOr(r.doc, "RoleName")), json::serialize(o));
}

void Iam::persist(store::Batch& batch, const User& u) const {
  std::map<std::string, std::string, std::less<>> texts;
  for (const auto& [name, d] : u.inline_policies) texts[name] = d.text;
  bj::object o = identityRecord(u.doc, "user", texts, u.attached, u.tags);
  bj::array keys;
  for (const auto& k : u.keys)
    keys.push_back(bj::object{{"id", k.id}, {"secret", k.secret}, {"status", k.status}, {"created", k.created}});
  o["keys"] = std::move(keys);
  batch.put(std::string(kUserKind), util::lower(json::stringOr(u.doc, "UserName")), json::serialize(o));
}

void Iam::persist(store::Batch& batch, const ManagedPolicy& p) const {
  bj::array versions;
  for (const auto& v : p.versions)
    versions.push_back(bj::object{{"id", v.id}, {"document", v.document.text}, {"created", v.created}});
  bj::object o{{"policy", p.doc}, {"versions", std::move(versions)}, {"next", p.next_version}, {"tags", p.tags}};
  batch.put(std::string(kPolicyKind), json::stringOr(p.doc, "Arn"), json::serialize(o));
}

void Iam::persist(store::Batch& batch, const Session& s) const {
  bj::array policies;
  for (const auto& d : s.session_policies) policies.push_back(bj::string(d.text));
  bj::array arns;
  for (const auto& a : s.session_policy_arns) arns.push_back(bj::string(a));
  bj::object o{{"secret", s.secret},
               {"token", s.token},
               {"created", s.created},
               {"expiration", s.expiration},
               {"kind", s.kind},
               {"role_arn", s.role_arn},
               {"role_id", s.role_id},
               {"session_name", s.session_name},
               {"user_name", s.user_name},
               {"session_policies", std::move(policies)},
               {"session_policy_arns", std::move(arns)},
               {"tags", s.tags}};
  batch.put(std::string(kSessionKind), s.access_key_id, json::serialize(o));
}

Status Iam::commitIdentity(const Identity& entity, bool is_role) {
  store::Batch batch;
  if (is_role)
    persist(batch, static_cast<const Role&>(entity));
  else
    persist(batch, static_cast<const User&>(entity));
  BERTH_TRY(commit(batch));
  std::string key = util::lower(json::stringOr(entity.doc, is_role ? "RoleName" : "UserName"));
  if (is_role)
    roles_[key] = static_cast<const Role&>(entity);
  else
    users_[key] = static_cast<const User&>(entity);
  publish();
  return {};
}

Status Iam::commitPolicy(ManagedPolicy next) {
  store::Batch batch;
  persist(batch, next);
  BERTH_TRY(commit(batch));
  std::string arn = json::stringOr(next.doc, "Arn");
  policies_[arn] = std::move(next);
  publish();
  return {};
}

Result<Iam::Document> Iam::parseDocument(std::string_view text, PolicyKind kind) const {
  auto parsed = Policy::parse(text, kind);
  if (!parsed) {
    Error e = std::move(parsed).error();
    if (e.aws_type.empty() || e.aws_type == "MalformedPolicyDocument") e.aws_type = "MalformedPolicyDocumentException";
    return std::unexpected(std::move(e));
  }
  return Document{std::string(text), *parsed};
}

std::vector<std::shared_ptr<const Policy>> Iam::policiesOf(const Identity& entity) const {
  std::vector<std::shared_ptr<const Policy>> out;
  for (const auto& [_, d] : entity.inline_policies)
    if (d.policy) out.push_back(d.policy);
  for (const auto& arn : entity.attached) {
    const ManagedPolicy* p = policyByArn(arn);
    if (!p) continue;
    std::string def = json::stringOr(p->doc, "DefaultVersionId");
    for (const auto& v : p->versions)
      if (v.id == def && v.document.policy) out.push_back(v.document.policy);
  }
  return out;
}

bool Iam::callerIsRoot() const {
  return caller_ && (caller_->principal_arn.empty() || caller_->principal_arn.ends_with(":root"));
}

// The identity snapshot ----------------------------------------------------------

void Iam::publish() {
  auto snap = std::make_shared<IdentitySnapshot>();
  snap->revision = ++revision_;
  auto tagMap = [](const bj::array& tags, std::map<std::string, std::string, std::less<>>& out) {
    for (const auto& t : tags)
      if (t.is_object()) out[json::stringOr(t.as_object(), "Key")] = json::stringOr(t.as_object(), "Value");
  };
  std::map<std::string, std::shared_ptr<const PrincipalInfo>, std::less<>> user_infos;  // by lower name
  for (const auto& [key, u] : users_) {
    auto info = std::make_shared<PrincipalInfo>();
    info->kind = PrincipalInfo::Kind::kUser;
    info->arn = json::stringOr(u.doc, "Arn");
    info->user_id = json::stringOr(u.doc, "UserId");
    info->account_id = config_.account_id;
    info->name = json::stringOr(u.doc, "UserName");
    info->policies = policiesOf(u);
    tagMap(u.tags, info->tags);
    snap->principals[info->arn] = info;
    user_infos[key] = info;
    for (const auto& k : u.keys)
      if (k.status == "Active") snap->keys[k.id] = KeyEntry{k.secret, std::nullopt, std::nullopt, info};
  }
  std::map<std::string, std::shared_ptr<const PrincipalInfo>, std::less<>> role_infos;  // by ARN
  for (const auto& [_, r] : roles_) {
    auto info = std::make_shared<PrincipalInfo>();
    info->kind = PrincipalInfo::Kind::kRole;
    info->arn = json::stringOr(r.doc, "Arn");
    info->role_arn = info->arn;
    info->user_id = json::stringOr(r.doc, "RoleId");
    info->account_id = config_.account_id;
    info->name = json::stringOr(r.doc, "RoleName");
    info->policies = policiesOf(r);
    tagMap(r.tags, info->tags);
    snap->principals[info->arn] = info;
    role_infos[info->arn] = info;
  }
  for (const auto& [id, s] : sessions_) {
    auto info = std::make_shared<PrincipalInfo>();
    info->account_id = config_.account_id;
    if (s.kind == "role") {
      std::string role_name = s.role_arn.substr(s.role_arn.rfind('/') + 1);
      info->kind = PrincipalInfo::Kind::kAssumedRole;
      info->arn = fmt::format("arn:aws:sts::{}:assumed-role/{}/{}", config_.account_id, role_name, s.session_name);
      info->user_id = s.role_id + ":" + s.session_name;
      info->name = role_name;
      info->role_arn = s.role_arn;
      info->session_name = s.session_name;
      // The role as it is now: a deleted role's sessions keep their keys
      // but no longer have any permission.
      if (auto it = role_infos.find(s.role_arn); it != role_infos.end() && it->second->user_id == s.role_id) {
        info->policies = it->second->policies;
        info->tags = it->second->tags;
      }
      for (const auto& d : s.session_policies) info->session_policies.push_back(d.policy);
      for (const auto& arn : s.session_policy_arns) {
        const ManagedPolicy* p = policyByArn(arn);
        if (!p) continue;
        std::string def = json::stringOr(p->doc, "DefaultVersionId");
        for (const auto& v : p->versions)
          if (v.id == def) info->session_policies.push_back(v.document.policy);
      }
      tagMap(s.tags, info->tags);
    } else if (s.kind == "user") {
      auto it = user_infos.find(util::lower(s.user_name));
      if (it == user_infos.end()) continue;  // the user is gone, and with it the session
      *info = *it->second;
      info->kind = PrincipalInfo::Kind::kUserSession;
    } else {
      info->kind = PrincipalInfo::Kind::kRoot;
      info->arn = fmt::format("arn:aws:iam::{}:root", config_.account_id);
      info->user_id = config_.account_id;
    }
    auto expires = WallTime(std::chrono::microseconds(static_cast<int64_t>(s.expiration * 1e6)));
    snap->keys[id] = KeyEntry{s.secret, s.token, expires, std::move(info)};
  }
  identity_view_.publish(std::move(snap));
}

}  // namespace berth::iam
