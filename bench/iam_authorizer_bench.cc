// What IAM adds to one API call at the front door, end to end: the
// authorizer's per-call check (IdentitySnapshot lookup, the request's
// global condition keys) plus the call's action and resources
// (api/authorization.h) plus policy evaluation, for an IAM user with 10
// attached managed policies of 20 statements each. bench/iam.sh runs it next
// to the evaluator alone (iam_policy_bench) and the API under wrk.
//
//   build/bin/iam_authorizer_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
#include <string>

#include <benchmark/benchmark.h>
#include <fmt/format.h>
#include <boost/json.hpp>

#include "api/authorization.h"
#include "aws/model.h"
#include "control/iam/iam.h"
#include "daemon/iam_authorizer.h"
#include "store/store.h"

namespace {

namespace bj = boost::json;
using namespace berth;

constexpr int kPolicies = 10;
constexpr int kStatements = 20;

// The same mix as bench/iam_bench.py: service wildcards, resource ARNs,
// conditions, denies on what is never asked for; the last statement of the
// last policy allows the measured calls.
std::string policyDocument(int index) {
  static const char* kServices[] = {"ecs", "logs", "ssm",        "kms", "ecr", "servicediscovery",
                                    "iam", "sts",  "cloudwatch", "ec2"};
  bj::array statements;
  for (int s = 0; s < kStatements; ++s) {
    std::string svc = kServices[(index + s) % 10];
    bj::object st{
        {"Sid", fmt::format("P{}S{}", index, s)},
        {"Effect", s % 5 == 2 ? "Deny" : "Allow"},
        {"Action", s % 5 == 2 ? bj::array{bj::string(svc + ":Delete*")}
                              : bj::array{bj::string(svc + ":Get*"), bj::string(fmt::format("{}:Put{}*", svc, s)),
                                          bj::string(svc + ":Tag*")}},
        {"Resource", bj::array{bj::string(fmt::format("arn:aws:{}:*:*:thing-{}-{}/*", svc, index, s)),
                               bj::string(fmt::format("arn:aws:{}:us-east-1:*:other/{}", svc, s))}}};
    if (s % 4 == 1)
      st["Condition"] =
          bj::object{{"StringEquals", bj::object{{"aws:RequestedRegion", bj::array{"us-east-1", "eu-west-1"}}}},
                     {"StringLike", bj::object{{"aws:PrincipalTag/team", "team-*"}}}};
    statements.push_back(std::move(st));
  }
  if (index == kPolicies - 1)
    statements.back() =
        bj::object{{"Sid", "Measured"},
                   {"Effect", "Allow"},
                   {"Action", bj::array{"ecs:Describe*", "ecs:List*"}},
                   {"Resource", "*"},
                   {"Condition", bj::object{{"StringEquals", bj::object{{"aws:RequestedRegion", "us-east-1"}}}}}};
  return bj::serialize(bj::object{{"Version", "2012-10-17"}, {"Statement", std::move(statements)}});
}

struct Setup {
  std::unique_ptr<store::Store> store = store::makeMemoryStore();
  FakeClock clock;
  iam::Iam iam{iam::IamConfig{"000000000000"}, *store, clock};
  daemon::IamAuthorizer authorizer{iam.identityView(), "AKIAROOT", clock};
  aws::VerifiedIdentity user;

  Setup() {
    if (!iam.load()) std::abort();
    iam::Caller root{"arn:aws:iam::000000000000:root", "000000000000", "AKIAROOT", {}};
    auto call = [&](std::string_view op, const bj::object& in) {
      auto out = iam.invoke(op, in, root);
      if (!out) {
        fmt::print(stderr, "{}: {}\n", op, out.error().message);
        std::abort();
      }
      return out->as_object();
    };
    call("CreateUser", {{"UserName", "bench"}, {"Tags", bj::array{bj::object{{"Key", "team"}, {"Value", "team-b"}}}}});
    for (int i = 0; i < kPolicies; ++i) {
      bj::object created =
          call("CreatePolicy", {{"PolicyName", fmt::format("bench-{}", i)}, {"PolicyDocument", policyDocument(i)}});
      call("AttachUserPolicy",
           {{"UserName", "bench"}, {"PolicyArn", created.at("Policy").as_object().at("Arn").as_string()}});
    }
    bj::object key = call("CreateAccessKey", {{"UserName", "bench"}});
    user = {std::string(key.at("AccessKey").as_object().at("AccessKeyId").as_string()), "000000000000",
            "arn:aws:iam::000000000000:user/bench", "us-east-1", "ecs"};
  }
};

void authorize(benchmark::State& state, std::string_view operation, const char* input_json) {
  static Setup setup;
  const aws::ServiceModel* ecs = aws::ServiceModel::byId("ecs");
  const aws::OperationModel* op = ecs->operation(operation);
  bj::object input = bj::parse(input_json).as_object();
  for (auto _ : state) {
    api::PermissionCheck check = setup.authorizer.forCaller(setup.user, "us-east-1").check;
    api::IamRequest wants = api::describeIamRequest(*ecs, *op, input, "us-east-1", "000000000000");
    bool ok = true;
    for (const std::string& resource : wants.resources)
      ok = ok && check(wants.action, resource, wants.keys).has_value();
    if (!ok) state.SkipWithError("refused");
    benchmark::DoNotOptimize(ok);
  }
  state.SetItemsProcessed(state.iterations());
}

void BM_AuthorizeDescribeServices(benchmark::State& state) {
  authorize(state, "DescribeServices", R"({"cluster":"bench","services":["web"]})");
}
void BM_AuthorizeListTasks(benchmark::State& state) { authorize(state, "ListTasks", R"({"cluster":"bench"})"); }

BENCHMARK(BM_AuthorizeDescribeServices);
BENCHMARK(BM_AuthorizeListTasks);

}  // namespace

BENCHMARK_MAIN();
