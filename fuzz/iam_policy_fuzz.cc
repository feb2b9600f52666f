// libFuzzer target for IAM policy documents (src/iam/policy.h): arbitrary
// bytes parsed as an identity, a trust and a resource policy; whatever
// parses is evaluated against fixed requests that carry the condition keys
// and policy variables policies use (single- and multivalued keys, an
// assumed-role caller, a service caller).
//
// Properties checked beyond "no crash, no sanitizer report":
// - a failed parse is a MalformedPolicyDocument with a reason;
// - evaluation is deterministic, and the free evaluate() agrees with
//   Policy::evaluate() for one policy (Deny -> kExplicitDeny, Allow ->
//   kAllow, nothing -> kImplicitDeny).
//
// Seeds in fuzz/corpus/iam_policy_fuzz/: AmazonECSTaskExecutionRolePolicy,
// an ECS tasks trust policy, the default KMS key policy, and policies with
// conditions, policy variables and wildcards.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <string_view>
#include <vector>

#include "iam/policy.h"

namespace {

using namespace berth::iam;

void check(bool ok, const char* what) {
  if (!ok) {
    fprintf(stderr, "iam_policy_fuzz: %s\n", what);
    abort();
  }
}

RequestContext base(std::string action, std::string resource) {
  RequestContext r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.principal_arn = "arn:aws:sts::000000000000:assumed-role/task-role/session-1";
  r.principal_account = "000000000000";
  r.setKey("aws:username", {"alice"});
  r.setKey("aws:PrincipalTag/team", {"red"});
  r.setKey("aws:RequestedRegion", {"us-east-1"});
  r.setKey("aws:SecureTransport", {"true"});
  r.setKey("aws:SourceIp", {"10.1.2.3"});
  r.setKey("aws:CurrentTime", {"2026-12-07T17:00:00Z"});
  r.setKey("aws:EpochTime", {"1796662800"});
  r.setKey("aws:SourceArn", {"arn:aws:ecs:us-east-1:000000000000:task/dev/abc"});
  r.setKey("aws:TagKeys", {"env", "team", "cost-center"});
  r.setKey("kms:ViaService", {"ssm.us-east-1.amazonaws.com"});
  r.setKey("ecs:count", {"3"});
  return r;
}

const std::vector<RequestContext>& requests() {
  static const std::vector<RequestContext> all = [] {
    std::vector<RequestContext> v;
    v.push_back(base("ssm:GetParameter", "arn:aws:ssm:us-east-1:000000000000:parameter/durableai/dev/db-url"));
    v.push_back(base("ecr:GetAuthorizationToken", "*"));
    v.push_back(base("ecs:RunTask", "arn:aws:ecs:us-east-1:000000000000:task-definition/web:3"));
    v.push_back(base("kms:Decrypt", "arn:aws:kms:us-east-1:000000000000:key/1234"));
    v.push_back(base("s3:GetObject", "arn:aws:s3:::bucket/home/alice/x"));
    v.push_back(base("noservice", ""));
    RequestContext service = base("sts:AssumeRole", "arn:aws:iam::000000000000:role/task-role");
    service.principal_arn.clear();
    service.principal_account.clear();
    service.principal_service = "ecs-tasks.amazonaws.com";
    v.push_back(std::move(service));
    RequestContext user = base("sts:AssumeRole", "arn:aws:iam::000000000000:role/task-role");
    user.principal_arn = "arn:aws:iam::000000000000:user/alice";
    user.keys.clear();
    v.push_back(std::move(user));
    return v;
  }();
  return all;
}

Decision expected(Effect e) {
  switch (e) {
    case Effect::kDeny:
      return Decision::kExplicitDeny;
    case Effect::kAllow:
      return Decision::kAllow;
    case Effect::kNone:
      break;
  }
  return Decision::kImplicitDeny;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view json(reinterpret_cast<const char*>(data), size);
  for (PolicyKind kind : {PolicyKind::kIdentity, PolicyKind::kTrust, PolicyKind::kResource}) {
    auto parsed = Policy::parse(json, kind);
    if (!parsed) {
      check(parsed.error().aws_type == "MalformedPolicyDocument", "an error that is not MalformedPolicyDocument");
      check(!parsed.error().message.empty(), "an error without a reason");
      continue;
    }
    const Policy& policy = **parsed;
    check(policy.kind() == kind, "kind() differs from the parsed kind");
    const Policy* one[] = {&policy};
    for (const auto& r : requests()) {
      Effect e = policy.evaluate(r);
      check(policy.evaluate(r) == e, "evaluation is not deterministic");
      check(evaluate(one, r) == expected(e), "evaluate() disagrees with Policy::evaluate()");
    }
  }
  return 0;
}
