// IAM policy documents: parsed once, with IAM's validation and wording, then
// evaluated on every call by a non-root principal.
//
// Three kinds share one grammar: identity policies (inline and managed; no
// Principal), trust policies (a role's AssumeRolePolicyDocument: Principal
// required, Resource forbidden) and resource policies (KMS key policies:
// Principal and Resource required).
//
// Evaluation follows AWS's order for one account: an explicit Deny in any
// policy wins; otherwise any Allow allows; otherwise the request is
// implicitly denied. Action, NotAction, Resource and NotResource match with
// `*` and `?` wildcards (actions case-insensitively, ARNs case-sensitively
// as whole-string globs, policy variables like ${aws:username} substituted
// under Version 2012-10-17 only; a variable the request lacks makes its
// pattern match nothing); conditions support the String*, Arn*, Numeric*,
// Date*, Bool, BinaryEquals, Null and IpAddress operators, the
// ForAllValues:/ForAnyValue: set prefixes and the IfExists suffix
// (iam/condition.h has the semantics). Principal matching for trust and
// resource policies is described in iam/principal.h; identity policies
// ignore the request's principal fields.
//
// Parsing compiles the document (pre-split, pre-lowered action patterns,
// tokenized resource globs, condition operators as enums with pre-parsed
// values), so evaluate() allocates nothing: about 2 µs for ten policies of
// twenty statements (bench/iam_policy_bench.cc).
//
// Threads: a Policy is immutable after parse() and may be shared and
// evaluated on any number of threads at once.
#pragma once

#include <map>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::iam {

enum class PolicyKind { kIdentity, kTrust, kResource };

// What a request asks for, as policies see it. Condition keys are
// case-insensitive: setKey() lowers them.
struct RequestContext {
  std::string action;    // "ecs:RunTask"
  std::string resource;  // one ARN, or "*" for actions without a resource
  // The caller, for Principal matching in trust and resource policies.
  std::string principal_arn;      // "arn:aws:iam::000000000000:user/alice", an assumed-role ARN, ...
  std::string principal_account;  // "000000000000"
  std::string principal_service;  // "ecs-tasks.amazonaws.com" when a service asks, else empty
  // Condition keys and policy variables: lower-cased key -> values ("aws:sourceip" -> {"10.0.0.1"}).
  // aws:PrincipalArn, aws:PrincipalAccount and aws:PrincipalServiceName
  // default to the fields above when not set here.
  std::map<std::string, std::vector<std::string>, std::less<>> keys;
  // Keys not set here are looked up there (not owned): the keys every check
  // of one call shares, built once per call.
  const RequestContext* parent = nullptr;

  void setKey(std::string_view key, std::vector<std::string> values);
  const std::vector<std::string>* key(std::string_view lower_key) const;
};

enum class Effect { kNone, kAllow, kDeny };
enum class Decision { kAllow, kExplicitDeny, kImplicitDeny };

class Policy {
 public:
  // Parses and validates a policy document. A bad one fails with
  // ErrorCode::kInvalidArgument, aws_type "MalformedPolicyDocument" and the
  // reason IAM gives ("Syntax errors in policy.", "Policy document should
  // not specify a principal.", ...). Size limits are the caller's: they
  // differ by where the document goes.
  static Result<std::shared_ptr<const Policy>> parse(std::string_view json, PolicyKind kind);

  // The strongest effect among this policy's statements that match
  // `request` (kDeny beats kAllow; kNone when none match).
  Effect evaluate(const RequestContext& request) const;

  PolicyKind kind() const;
  // Whether the document mentions aws:ResourceTag/ keys: a request must then
  // carry the resource's tags (RequestContext keys) to be judged right.
  bool usesResourceTags() const;
  // Whether it mentions aws:CurrentTime or aws:EpochTime (which a caller
  // then computes per request).
  bool usesTime() const;
  ~Policy();

  struct Compiled;  // policy.cc
  explicit Policy(std::unique_ptr<const Compiled> compiled);

 private:
  std::unique_ptr<const Compiled> compiled_;
};

// Identity-policy evaluation over every policy that applies to a principal.
Decision evaluate(std::span<const Policy* const> policies, const RequestContext& request);

}  // namespace berth::iam
