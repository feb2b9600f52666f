// IdentityView: the read side of IAM and STS for authentication and
// authorization on the API's I/O threads.
//
// Iam (iam.h) owns users, roles, policies, access keys and STS sessions and
// publishes, after every change that can alter who a key is or what it may
// do, one immutable IdentitySnapshot:
//
//   auto snap = view.snapshot();                    // one atomic load
//   std::optional<aws::Credential> c = snap->credential(key_id);   // SigV4
//   std::shared_ptr<const PrincipalInfo> p = snap->principalForKey(key_id);
//   Decision d = p->decide(request);                // identity policies
//
// Contract
// - Keys in a snapshot: access keys of users whose status is Active, and STS
//   sessions until they are pruned (a day after they expire): an expired
//   session still resolves, with its expiration, so that SigV4 answers
//   ExpiredToken rather than "invalid". Inactive and deleted keys are absent
//   (the front door answers InvalidClientTokenId / UnrecognizedClientException).
//   Root's key is not here: berthd resolves it first.
// - A PrincipalInfo says who signed and what applies to them: a user's
//   inline and attached policies; for an assumed-role session the role's,
//   plus the session policy (which intersects: both must allow); for a
//   GetSessionToken session the user's. Policies are the parsed documents
//   current when the snapshot was made.
// - principal(arn) finds users and roles by ARN (a role's entry carries the
//   role's policies and tags, no session policy); sessions of the same role
//   and name share an ARN but not a session policy, so authorize a request
//   by principalForKey(), which is exact.
//
// Threads: snapshot() from any thread, at any rate; publish() is for Iam on
// the control executor.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "aws/sigv4.h"
#include "common/clock.h"
#include "iam/policy.h"

namespace berth::iam {

struct PrincipalInfo {
  // kRoot: a GetSessionToken session of the account's root user (may do anything).
  enum class Kind { kUser, kRole, kAssumedRole, kUserSession, kRoot };
  Kind kind = Kind::kUser;
  std::string arn;         // user or role ARN; "arn:aws:sts::<acct>:assumed-role/<role>/<session>"
  std::string user_id;     // AIDA..., AROA..., or "AROA...:<session>" for an assumed role
  std::string account_id;  // the account the principal belongs to
  std::string name;        // user or role name
  std::string role_arn;    // the role (kRole, kAssumedRole), else empty: aws:PrincipalArn is the role's ARN
  std::string session_name;
  std::vector<std::shared_ptr<const Policy>> policies;  // identity policies: inline and attached
  // AssumeRole's Policy and PolicyArns: when any is present, a request must
  // also be allowed by one of them (and denied by none).
  std::vector<std::shared_ptr<const Policy>> session_policies;
  std::map<std::string, std::string, std::less<>> tags;  // principal tags (session tags win over role tags)

  // Identity-based decision for `request`: an explicit Deny in any policy
  // (session policies included) wins; otherwise the policies must allow it
  // and, when there are session policies, so must one of them. kRoot: kAllow.
  Decision decide(const RequestContext& request) const;
};

struct KeyEntry {
  std::string secret_access_key;
  std::optional<std::string> session_token;  // STS sessions
  std::optional<WallTime> expiration;        // STS sessions
  std::shared_ptr<const PrincipalInfo> principal;
};

class IdentitySnapshot {
 public:
  uint64_t revision = 0;
  std::map<std::string, KeyEntry, std::less<>> keys;                                    // by access key id
  std::map<std::string, std::shared_ptr<const PrincipalInfo>, std::less<>> principals;  // users and roles by ARN

  // For aws::CredentialLookup: nullopt when the key is unknown here.
  std::optional<aws::Credential> credential(std::string_view access_key_id) const;
  std::shared_ptr<const PrincipalInfo> principalForKey(std::string_view access_key_id) const;
  std::shared_ptr<const PrincipalInfo> principal(std::string_view arn) const;
};

class IdentityView {
 public:
  IdentityView() : current_(std::make_shared<const IdentitySnapshot>()) {}
  // The current snapshot; never null. Any thread.
  std::shared_ptr<const IdentitySnapshot> snapshot() const { return current_.load(std::memory_order_acquire); }
  uint64_t revision() const { return revision_.load(std::memory_order_acquire); }
  void publish(std::shared_ptr<const IdentitySnapshot> next) {
    uint64_t rev = next->revision;
    current_.store(std::move(next), std::memory_order_release);
    revision_.store(rev, std::memory_order_release);
  }

 private:
  std::atomic<std::shared_ptr<const IdentitySnapshot>> current_;
  std::atomic<uint64_t> revision_{0};
};

}  // namespace berth::iam
