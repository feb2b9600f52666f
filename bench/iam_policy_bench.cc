// IAM policy evaluation (src/iam/policy.h): what authorizing one API call
// costs for a principal with 10 attached policies of 20 statements each.
// Issue 8's goal: < 5 µs per evaluation.
//
//   BM_EvaluateAllowed        an Allow found in the last policy, after every
//                             Deny statement of all ten was checked
//   BM_EvaluateImplicitDeny   nothing matches: every statement is looked at
//   BM_EvaluateExplicitDeny   a conditioned Deny in the last policy matches
//   BM_ParsePolicy            Policy::parse() of one 20-statement policy
//
// Each evaluation benchmark reports allocs_per_eval, counted by the global
// operator new below: it should be 0.
//
// The statements are a realistic mix: actions with and without wildcards
// over a dozen services (several on the requests' service, so resource
// globs and conditions are reached), ARNs with wildcards and policy
// variables, a few String/Bool/IpAddress conditions, some Deny statements.
//
//   build/bin/iam_policy_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <atomic>
#include <cstdlib>
#include <new>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>

#include "iam/policy.h"

namespace {
std::atomic<uint64_t> g_allocations{0};
}  // namespace

// Counts heap allocations, so the benchmark can show that evaluation makes
// none.
void* operator new(std::size_t size) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(size ? size : 1)) return p;
  throw std::bad_alloc();
}
// GCC sees free() of what it takes for new's memory; here it is malloc's.
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"
#endif
void operator delete(void* p) noexcept { std::free(p); }
void operator delete(void* p, std::size_t) noexcept { std::free(p); }
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif

namespace {

using namespace berth::iam;

constexpr int kPolicies = 10;
constexpr int kStatements = 20;
constexpr const char* kAccount = "000000000000";

std::string statement(int policy, int i) {
  std::string acct = kAccount;
  std::string sid = "\"Sid\":\"P" + std::to_string(policy) + "S" + std::to_string(i) + "\",";
  switch (i % 10) {
    case 0:
      return "{" + sid + R"("Effect":"Allow","Action":["ecs:Describe*","ecs:List*"],"Resource":"*"})";
    case 1:
      return "{" + sid + R"("Effect":"Allow","Action":["ecs:RunTask","ecs:StartTask"],
          "Resource":"arn:aws:ecs:us-east-1:)" + acct + ":task-definition/team" + std::to_string(policy) + R"(-*",
          "Condition":{"StringEquals":{"aws:RequestedRegion":"us-east-1"}}})";
    case 2:
      return "{" + sid + R"("Effect":"Allow","Action":["ssm:GetParameter","ssm:GetParameters","ssm:GetParametersByPath"],
          "Resource":"arn:aws:ssm:us-east-1:)" + acct + ":parameter/app" + std::to_string(policy) + "/" +
             std::to_string(i) + R"(/*"})";
    case 3:
      return "{" + sid + R"("Effect":"Allow","Action":["logs:CreateLogStream","logs:PutLogEvents"],
          "Resource":"arn:aws:logs:*:)" + acct + ":log-group:/ecs/team" + std::to_string(policy) + R"(*"})";
    case 4:
      return "{" + sid + R"("Effect":"Allow","Action":"kms:Decrypt",
          "Resource":"arn:aws:kms:us-east-1:)" + acct + ":key/" + std::to_string(1000 + policy * 100 + i) + R"(",
          "Condition":{"StringEquals":{"kms:ViaService":"ssm.us-east-1.amazonaws.com"}}})";
    case 5:
      return "{" + sid + R"("Effect":"Allow","Action":["s3:GetObject","s3:PutObject"],
          "Resource":"arn:aws:s3:::bucket-)" + std::to_string(policy) + R"(/home/${aws:username}/*"})";
    case 6:
      return "{" + sid + R"("Effect":"Deny","Action":["ssm:DeleteParameter*","ssm:PutParameter"],
          "Resource":"arn:aws:ssm:*:*:parameter/prod/*",
          "Condition":{"StringNotLike":{"aws:PrincipalTag/team":"platform*"}}})";
    case 7:
      return "{" + sid + R"("Effect":"Allow","Action":["ecr:GetAuthorizationToken","ecr:BatchGetImage",
          "ecr:GetDownloadUrlForLayer"],"Resource":"*",
          "Condition":{"Bool":{"aws:SecureTransport":"true"},"IpAddress":{"aws:SourceIp":["10.0.0.0/8","172.16.0.0/12"]}}})";
    case 8:
      return "{" + sid + R"("Effect":"Allow","Action":["dynamodb:GetItem","dynamodb:Query","sqs:SendMessage",
          "sns:Publish"],"Resource":["arn:aws:dynamodb:us-east-1:)" + acct + ":table/t" + std::to_string(i) +
             R"(","arn:aws:sqs:us-east-1:)" + acct + ":q" + std::to_string(i) + R"("]})";
    default:
      return "{" + sid + R"("Effect":"Allow","Action":"ssm:Get*",
          "Resource":"arn:aws:ssm:us-east-1:)" + acct + ":parameter/shared" + std::to_string(policy) + R"(/*",
          "Condition":{"StringEquals":{"aws:PrincipalTag/team":"team)" + std::to_string(policy) + R"("}}})";
  }
}

std::string policyDocument(int policy) {
  std::string doc = R"({"Version":"2012-10-17","Statement":[)";
  for (int i = 0; i < kStatements; ++i) {
    if (i) doc += ",";
    // The last policy holds what the allowed and the explicitly denied
    // requests match, so both go through every other statement first.
    if (policy == kPolicies - 1 && i == kStatements - 1) {
      doc += R"({"Effect":"Allow","Action":"ssm:GetParameter*",
          "Resource":"arn:aws:ssm:us-east-1:000000000000:parameter/durableai/dev/*"})";
    } else if (policy == kPolicies - 1 && i == kStatements - 2) {
      doc += R"({"Effect":"Deny","Action":"ssm:GetParameter*","Resource":"arn:aws:ssm:*:*:parameter/durableai/prod/*",
          "Condition":{"StringNotEquals":{"aws:PrincipalTag/team":"platform"}}})";
    } else {
      doc += statement(policy, i);
    }
  }
  return doc + "]}";
}

struct Fixture {
  std::vector<std::shared_ptr<const Policy>> owned;
  std::vector<const Policy*> policies;

  Fixture() {
    for (int p = 0; p < kPolicies; ++p) {
      auto parsed = Policy::parse(policyDocument(p), PolicyKind::kIdentity);
      if (!parsed) {
        fprintf(stderr, "iam_policy_bench: policy %d: %s\n", p, parsed.error().message.c_str());
        abort();
      }
      owned.push_back(*parsed);
      policies.push_back(owned.back().get());
    }
  }
};

const Fixture& fixture() {
  static const Fixture f;
  return f;
}

RequestContext request(std::string action, std::string resource) {
  RequestContext r;
  r.action = std::move(action);
  r.resource = std::move(resource);
  r.principal_arn = "arn:aws:sts::000000000000:assumed-role/task-role/abc123";
  r.principal_account = kAccount;
  r.setKey("aws:RequestedRegion", {"us-east-1"});
  r.setKey("aws:SecureTransport", {"true"});
  r.setKey("aws:SourceIp", {"10.1.2.3"});
  r.setKey("aws:PrincipalTag/team", {"payments"});
  r.setKey("aws:username", {"task-role"});
  return r;
}

void run(benchmark::State& state, const RequestContext& r, Decision expected) {
  const auto& f = fixture();
  if (evaluate(f.policies, r) != expected) {
    state.SkipWithError("unexpected decision");
    return;
  }
  uint64_t before = g_allocations.load(std::memory_order_relaxed);
  for (auto _ : state) {
    benchmark::DoNotOptimize(evaluate(f.policies, r));
  }
  uint64_t allocations = g_allocations.load(std::memory_order_relaxed) - before;
  state.SetItemsProcessed(state.iterations());
  state.counters["allocs_per_eval"] =
      static_cast<double>(allocations) / static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
}

void BM_EvaluateAllowed(benchmark::State& state) {
  run(state, request("ssm:GetParameter", "arn:aws:ssm:us-east-1:000000000000:parameter/durableai/dev/db-url"),
      Decision::kAllow);
}
BENCHMARK(BM_EvaluateAllowed);

void BM_EvaluateImplicitDeny(benchmark::State& state) {
  run(state, request("ecs:RunTask", "arn:aws:ecs:us-east-1:000000000000:task-definition/other:3"),
      Decision::kImplicitDeny);
}
BENCHMARK(BM_EvaluateImplicitDeny);

void BM_EvaluateExplicitDeny(benchmark::State& state) {
  run(state, request("ssm:GetParameter", "arn:aws:ssm:us-east-1:000000000000:parameter/durableai/prod/db-url"),
      Decision::kExplicitDeny);
}
BENCHMARK(BM_EvaluateExplicitDeny);

void BM_ParsePolicy(benchmark::State& state) {
  std::string doc = policyDocument(3);
  for (auto _ : state) {
    auto p = Policy::parse(doc, PolicyKind::kIdentity);
    benchmark::DoNotOptimize(p);
  }
  state.SetBytesProcessed(static_cast<int64_t>(state.iterations() * doc.size()));
}
BENCHMARK(BM_ParsePolicy);

}  // namespace

BENCHMARK_MAIN();
