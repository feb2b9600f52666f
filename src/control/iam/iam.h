// IAM (2010-05-08) and STS (2011-06-15): roles, users and their access
// keys, inline and managed policies with versions, tags, and the temporary
// credentials of STS sessions, as botocore's iam and sts models define them.
//
// The model is kept in memory as AWS-shaped JSON plus the parsed policy
// documents, and written through to the Store (kinds "iam.role",
// "iam.user" (with its access keys), "iam.policy" (customer managed) and
// "sts.session"): a mutating call commits before it returns, and nothing
// changes in memory when the commit fails. AWS managed policies
// (aws_managed.cc) exist from the start and cannot be changed or deleted.
//
// After every change that can alter who a key is or what it may do, a new
// IdentitySnapshot is published on identityView() (identity_view.h), for the
// front door's credential lookup and for authorization.
//
// Documents are stored as sent and returned URL-encoded, as IAM does
// (GetRolePolicy, GetPolicyVersion, GetRole's AssumeRolePolicyDocument).
//
// STS: AssumeRole needs the caller's identity policies to allow
// sts:AssumeRole on the role (root needs none) and the role's trust policy
// to allow the caller; session credentials are ASIA keys with a session
// token and an expiration, kept durably (a restart keeps them valid) and
// pruned by tick() a day after they expire.
//
// Threads: single writer. Every method except identityView() must be called
// on the control executor.
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "control/iam/identity_view.h"
#include "iam/caller.h"
#include "iam/policy.h"
#include "store/store.h"

namespace berth::iam {

namespace bj = boost::json;

struct IamConfig {
  std::string account_id = "000000000000";
  // Expired sessions are forgotten this long after they expired (until then
  // their keys answer ExpiredToken instead of "invalid").
  std::chrono::seconds session_retention{std::chrono::hours(24)};
};

// Temporary credentials for berthd's own use (task roles).
struct SessionCredentials {
  std::string access_key_id;
  std::string secret_access_key;
  std::string session_token;
  WallTime expiration;
  std::string role_arn;
  std::string assumed_role_arn;
};

class Iam {
 public:
  Iam(IamConfig config, store::Store& store, const Clock& clock);

  // Loads the model from the store and publishes the first snapshot. Call
  // once, before anything else.
  Status load();

  // Runs one IAM or STS operation for `caller`; `input` is type-checked
  // against the model by the protocol layer. Unknown operations:
  // kUnimplemented.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input, const Caller& caller);
  bool supports(std::string_view operation) const;

  // Assumes `role_arn` for an AWS service principal (berthd's task
  // credentials): the role's trust policy must allow `service` to call
  // sts:AssumeRole. `duration` is clamped to 900 s .. the role's
  // MaxSessionDuration. `source_arn` (the task, for ECS) is what the trust
  // policy's conditions see as aws:SourceArn, and its account as
  // aws:SourceAccount (the confused-deputy guard AWS recommends). Fails
  // with AccessDenied otherwise.
  Result<SessionCredentials> assumeRoleForService(std::string_view role_arn,
                                                  std::string_view service = "ecs-tasks.amazonaws.com",
                                                  std::string_view session_name = "berth",
                                                  std::chrono::seconds duration = std::chrono::hours(1),
                                                  std::string_view source_arn = {});
  // Ends a session before it expires (a task stopped); its key becomes
  // unknown. No-op for unknown keys.
  void revokeSession(std::string_view access_key_id);

  // Periodic work: forgets sessions past their retention.
  void tick();

  // Authentication and authorization's view. Any thread.
  const IdentityView& identityView() const { return identity_view_; }

  size_t roleCount() const { return roles_.size(); }
  size_t sessionCount() const { return sessions_.size(); }

 private:
  struct Document {
    std::string text;
    std::shared_ptr<const Policy> policy;  // null if a stored text no longer parses
  };
  struct AccessKey {
    std::string id;
    std::string secret;
    std::string status;  // Active | Inactive
    double created = 0;
  };
  // A role or a user: the parts both have.
  struct Identity {
    bj::object doc;                                                // Role / User shape (no Tags, no documents)
    std::map<std::string, Document, std::less<>> inline_policies;  // by name
    std::vector<std::string> attached;                             // managed policy ARNs, in attach order
    bj::array tags;
  };
  struct Role : Identity {
    Document trust;
  };
  struct User : Identity {
    std::vector<AccessKey> keys;
  };
  struct PolicyVersion {
    std::string id;  // "v1"
    Document document;
    double created = 0;
  };
  struct ManagedPolicy {
    bj::object doc;  // Policy shape without AttachmentCount and Tags
    std::vector<PolicyVersion> versions;
    int64_t next_version = 2;
    bool aws_managed = false;
    bj::array tags;
  };
  struct Session {
    std::string access_key_id;
    std::string secret;
    std::string token;
    double created = 0;
    double expiration = 0;
    std::string kind;  // "role" | "user" | "root"
    std::string role_arn;
    std::string role_id;
    std::string session_name;
    std::string user_name;  // kind "user"
    std::vector<Document> session_policies;
    std::vector<std::string> session_policy_arns;  // PolicyArns (managed)
    bj::array tags;
  };

  using Handler = Result<bj::value> (Iam::*)(const bj::object&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  // Roles (roles.cc).
  Result<bj::value> createRole(const bj::object& in);
  Result<bj::value> getRole(const bj::object& in);
  Result<bj::value> listRoles(const bj::object& in);
  Result<bj::value> updateRole(const bj::object& in);
  Result<bj::value> updateRoleDescription(const bj::object& in);
  Result<bj::value> updateAssumeRolePolicy(const bj::object& in);
  Result<bj::value> deleteRole(const bj::object& in);
  Result<bj::value> tagRole(const bj::object& in);
  Result<bj::value> untagRole(const bj::object& in);
  // What ListRoleTags/ListUserTags, Get*Policy and List*Policies answer
  // for a role or a user (`kind` is "Role" or "User").
  static bj::object listTagsOf(const Identity& e, const bj::object& in);
  static Result<bj::value> getInlineOf(const Identity& e, std::string_view kind, const bj::object& in);
  static bj::object listInlineNamesOf(const Identity& e, const bj::object& in);
  Result<bj::value> listRoleTags(const bj::object& in);
  Result<bj::value> putRolePolicy(const bj::object& in);
  Result<bj::value> getRolePolicy(const bj::object& in);
  Result<bj::value> deleteRolePolicy(const bj::object& in);
  Result<bj::value> listRolePolicies(const bj::object& in);
  Result<bj::value> attachRolePolicy(const bj::object& in);
  Result<bj::value> detachRolePolicy(const bj::object& in);
  Result<bj::value> listAttachedRolePolicies(const bj::object& in);
  // Users and access keys (users.cc).
  Result<bj::value> createUser(const bj::object& in);
  Result<bj::value> getUser(const bj::object& in);
  Result<bj::value> listUsers(const bj::object& in);
  Result<bj::value> deleteUser(const bj::object& in);
  Result<bj::value> updateUser(const bj::object& in);
  Result<bj::value> tagUser(const bj::object& in);
  Result<bj::value> untagUser(const bj::object& in);
  Result<bj::value> listUserTags(const bj::object& in);
  Result<bj::value> putUserPolicy(const bj::object& in);
  Result<bj::value> getUserPolicy(const bj::object& in);
  Result<bj::value> deleteUserPolicy(const bj::object& in);
  Result<bj::value> listUserPolicies(const bj::object& in);
  Result<bj::value> attachUserPolicy(const bj::object& in);
  Result<bj::value> detachUserPolicy(const bj::object& in);
  Result<bj::value> listAttachedUserPolicies(const bj::object& in);
  Result<bj::value> createAccessKey(const bj::object& in);
  Result<bj::value> listAccessKeys(const bj::object& in);
  Result<bj::value> updateAccessKey(const bj::object& in);
  Result<bj::value> deleteAccessKey(const bj::object& in);
  Result<bj::value> getAccessKeyLastUsed(const bj::object& in);
  // Managed policies (policies.cc).
  Result<bj::value> createPolicy(const bj::object& in);
  Result<bj::value> getPolicy(const bj::object& in);
  Result<bj::value> listPolicies(const bj::object& in);
  Result<bj::value> deletePolicy(const bj::object& in);
  Result<bj::value> createPolicyVersion(const bj::object& in);
  Result<bj::value> getPolicyVersion(const bj::object& in);
  Result<bj::value> listPolicyVersions(const bj::object& in);
  Result<bj::value> deletePolicyVersion(const bj::object& in);
  Result<bj::value> setDefaultPolicyVersion(const bj::object& in);
  Result<bj::value> listEntitiesForPolicy(const bj::object& in);
  Result<bj::value> tagPolicy(const bj::object& in);
  Result<bj::value> untagPolicy(const bj::object& in);
  Result<bj::value> listPolicyTags(const bj::object& in);
  // What berth does not have (instance profiles, groups, MFA, login
  // profiles, SSH keys, certificates): empty answers for existing entities,
  // so that tools which look before deleting (Terraform) work (absent.cc).
  Result<bj::value> listInstanceProfilesForRole(const bj::object& in);
  Result<bj::value> listGroupsForUser(const bj::object& in);
  Result<bj::value> listMfaDevices(const bj::object& in);
  Result<bj::value> getLoginProfile(const bj::object& in);
  Result<bj::value> listSshPublicKeys(const bj::object& in);
  Result<bj::value> listSigningCertificates(const bj::object& in);
  Result<bj::value> listServiceSpecificCredentials(const bj::object& in);
  // STS (sts.cc).
  Result<bj::value> getCallerIdentity(const bj::object& in);
  Result<bj::value> assumeRole(const bj::object& in);
  Result<bj::value> getSessionToken(const bj::object& in);

  // Shared helpers (iam.cc).
  Result<Role*> findRole(std::string_view name);
  Result<User*> findUser(std::string_view name);
  Result<ManagedPolicy*> findPolicy(std::string_view arn);
  const ManagedPolicy* policyByArn(std::string_view arn) const;
  Role* roleByArn(std::string_view arn);
  int64_t attachmentCount(std::string_view policy_arn) const;
  bj::object roleView(const Role& r, bool full) const;
  bj::object userView(const User& u, bool full) const;
  bj::object policyView(const ManagedPolicy& p, bool full) const;
  // Inline and attached policy operations shared by roles and users.
  Result<bj::value> putInline(Identity& entity, bool is_role, const bj::object& in);
  Result<bj::value> deleteInline(Identity& entity, bool is_role, const bj::object& in);
  Result<bj::value> attach(Identity& entity, bool is_role, const bj::object& in);
  Result<bj::value> detach(Identity& entity, bool is_role, const bj::object& in);
  Result<bj::value> editTags(Identity& entity, bool is_role, const bj::array* add, const bj::array* remove_keys);
  // Persists the role or user `entity` (a copy being changed) and, when the
  // commit succeeds, replaces the stored one with it and publishes.
  Status commitIdentity(const Identity& entity, bool is_role);
  Status commitPolicy(ManagedPolicy next);
  Status commit(store::Batch& batch);
  void persist(store::Batch& batch, const Role& r) const;
  void persist(store::Batch& batch, const User& u) const;
  void persist(store::Batch& batch, const ManagedPolicy& p) const;
  void persist(store::Batch& batch, const Session& s) const;
  // Parses `text` as a `kind` policy (size limits are the caller's).
  Result<Document> parseDocument(std::string_view text, PolicyKind kind) const;
  // IAM refuses a trust policy naming a user or role of this account that
  // does not exist (MalformedPolicyDocument "Invalid principal in policy").
  Status checkTrustPrincipals(std::string_view text) const;
  // The policies attached to or inline in `entity`, parsed.
  std::vector<std::shared_ptr<const Policy>> policiesOf(const Identity& entity) const;
  // Issues a session (not yet committed); fills the id, secret and token.
  Session newSession(std::string kind, double duration_seconds) const;
  bj::object credentialsView(const Session& s) const;
  // The caller of the running invoke() (set for its duration).
  const Caller& caller() const { return *caller_; }
  bool callerIsRoot() const;
  // Rebuilds and publishes the identity snapshot.
  void publish();

  IamConfig config_;
  store::Store& store_;
  const Clock& clock_;
  std::map<std::string, Role, std::less<>> roles_;              // by lower-cased name
  std::map<std::string, User, std::less<>> users_;              // by lower-cased name
  std::map<std::string, ManagedPolicy, std::less<>> policies_;  // by ARN
  std::map<std::string, Session, std::less<>> sessions_;        // by access key id
  // When each role (by RoleId) was last assumed: GetRole's RoleLastUsed.
  // Kept in memory only, as the approximate figure AWS says it is.
  std::map<std::string, double, std::less<>> role_last_used_;
  IdentityView identity_view_;
  uint64_t revision_ = 0;
  const Caller* caller_ = nullptr;
};

}  // namespace berth::iam
