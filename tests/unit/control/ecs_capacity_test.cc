// Capacity provider strategies (base and weight, the cluster default),
// Fargate Spot interruptions and the availability zone spread of service
// tasks, on a memory store, the fake agent and a fake clock.
#include <cmath>
#include <deque>
#include <map>
#include <set>
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "agent/fake_agent.h"
#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "store/store.h"

namespace berth::ecs {
namespace {

namespace bj = boost::json;

bj::array strategy(std::string_view json) { return bj::parse(json).as_array(); }

class EcsCapacityTest : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = *control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    ASSERT_EQ(network_.subnets.size(), 3u);
    start();
    ok("CreateCluster", R"({"clusterName":"c1","capacityProviders":["FARGATE","FARGATE_SPOT"]})");
    ok("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
        "cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox","essential":true}]})");
  }

  void start(EcsConfig config = {}) {
    agent_.reset();
    ecs_ = std::make_unique<Ecs>(config, *store_, clock_, network_);
    ASSERT_TRUE(ecs_->load());
    agent_ =
        std::make_unique<agent::FakeAgent>(clock_, [this](agent::TaskEvent e) { events_.push_back(std::move(e)); });
    ecs_->attachAgent(agent_.get());
  }

  void drain() {
    while (!events_.empty()) {
      auto e = std::move(events_.front());
      events_.pop_front();
      ecs_->onTaskEvent(e);
    }
  }

  Result<bj::value> call(std::string_view op, const std::string& input) {
    auto r = ecs_->invoke(op, bj::parse(input).as_object(), CallContext{"arn:aws:iam::000000000000:root", "req"});
    drain();
    return r;
  }

  bj::object ok(std::string_view op, const std::string& input) {
    auto r = call(op, input);
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r ? r->as_object() : bj::object{};
  }

  // The InvalidParameterException message of a call that must fail.
  std::string invalid(std::string_view op, const std::string& input) {
    auto r = call(op, input);
    if (r) {
      ADD_FAILURE() << op << " succeeded: " << input;
      return {};
    }
    EXPECT_EQ(r.error().aws_type, "InvalidParameterException");
    return r.error().message;
  }

  void tick() {
    ecs_->tick();
    drain();
  }

  std::string subnets(const std::vector<size_t>& which) const {
    std::string out;
    for (size_t i : which) out += (out.empty() ? "\"" : ",\"") + network_.subnets[i].id + "\"";
    return R"({"awsvpcConfiguration":{"subnets":[)" + out + "]}}";
  }

  void createService(int desired, const std::string& launch, const std::vector<size_t>& subnet_indexes = {0}) {
    ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":)" +
                            std::to_string(desired) + "," + launch + R"(,"networkConfiguration":)" +
                            subnets(subnet_indexes) + "}");
  }

  bj::object service() {
    return ok("DescribeServices", R"({"cluster":"c1","services":["svc"]})").at("services").as_array()[0].as_object();
  }

  // The service's tasks with desiredStatus RUNNING, described.
  std::vector<bj::object> tasks() {
    bj::array arns = ok("ListTasks", R"({"cluster":"c1","serviceName":"svc"})").at("taskArns").as_array();
    std::vector<bj::object> out;
    if (arns.empty()) return out;
    bj::object described = ok("DescribeTasks", R"({"cluster":"c1","tasks":)" + bj::serialize(arns) + "}");
    for (auto& t : described.at("tasks").as_array()) out.push_back(t.as_object());
    return out;
  }

  std::map<std::string, int64_t> countBy(std::string_view key) {
    std::map<std::string, int64_t> out;
    for (const auto& t : tasks()) ++out[json::stringOr(t, key)];
    return out;
  }

  bj::object describeTask(const std::string& task_arn) {
    return ok("DescribeTasks", R"({"cluster":"c1","tasks":[")" + task_arn + R"("]})")
        .at("tasks")
        .as_array()[0]
        .as_object();
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  control::NetworkInventory network_;
  FakeClock clock_;
  std::deque<agent::TaskEvent> events_;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<Ecs> ecs_;
};

using Counts = std::map<std::string, int64_t>;

TEST(CapacityProviderSplit, BaseFirstThenWeights) {
  auto s = strategy(R"([{"capacityProvider":"FARGATE","base":1,"weight":1},
                        {"capacityProvider":"FARGATE_SPOT","base":0,"weight":3}])");
  EXPECT_EQ(capacityProviderSplit(s, 1), (Counts{{"FARGATE", 1}}));
  EXPECT_EQ(capacityProviderSplit(s, 5), (Counts{{"FARGATE", 2}, {"FARGATE_SPOT", 3}}));
  EXPECT_EQ(capacityProviderSplit(s, 9), (Counts{{"FARGATE", 3}, {"FARGATE_SPOT", 6}}));
  EXPECT_EQ(capacityProviderSplit(s, 101), (Counts{{"FARGATE", 26}, {"FARGATE_SPOT", 75}}));

  // A base on a provider of weight 0: exactly the base there, the rest by weight.
  auto b = strategy(R"([{"capacityProvider":"FARGATE","base":2,"weight":0},
                        {"capacityProvider":"FARGATE_SPOT","base":0,"weight":1}])");
  EXPECT_EQ(capacityProviderSplit(b, 1), (Counts{{"FARGATE", 1}}));
  EXPECT_EQ(capacityProviderSplit(b, 6), (Counts{{"FARGATE", 2}, {"FARGATE_SPOT", 4}}));

  // Equal weights alternate, the first item first.
  auto e = strategy(R"([{"capacityProvider":"FARGATE_SPOT","base":0,"weight":1},
                        {"capacityProvider":"FARGATE","base":0,"weight":1}])");
  EXPECT_EQ(nextCapacityProvider(e, {}), "FARGATE_SPOT");
  EXPECT_EQ(capacityProviderSplit(e, 3), (Counts{{"FARGATE", 1}, {"FARGATE_SPOT", 2}}));
  // A replacement goes to the provider below its share.
  EXPECT_EQ(nextCapacityProvider(s, {{"FARGATE", 3}, {"FARGATE_SPOT", 5}}), "FARGATE_SPOT");
  EXPECT_EQ(nextCapacityProvider(s, {{"FARGATE", 2}, {"FARGATE_SPOT", 6}}), "FARGATE");
  EXPECT_EQ(nextCapacityProvider(s, {{"FARGATE_SPOT", 6}}), "FARGATE");
}

TEST_F(EcsCapacityTest, ServiceSplitsByBaseAndWeightAndTasksSayWhichProvider) {
  createService(9, R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE","base":1,"weight":1},
                                                  {"capacityProvider":"FARGATE_SPOT","weight":3}])");
  auto svc = service();
  EXPECT_FALSE(svc.contains("launchType"));
  const auto& cps = svc.at("capacityProviderStrategy").as_array();
  ASSERT_EQ(cps.size(), 2u);
  EXPECT_EQ(cps[1].at("base"), 0);  // filled in, as ECS returns it
  const auto& dep = svc.at("deployments").as_array()[0].as_object();
  EXPECT_EQ(dep.at("capacityProviderStrategy"), svc.at("capacityProviderStrategy"));
  EXPECT_FALSE(dep.contains("launchType"));

  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 3}, {"FARGATE_SPOT", 6}}));
  EXPECT_EQ(countBy("launchType"), (Counts{{"FARGATE", 9}}));

  // Scale-in keeps the split of the new desired count.
  ok("UpdateService", R"({"cluster":"c1","service":"svc","desiredCount":5})");
  tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 2}, {"FARGATE_SPOT", 3}}));
  // Scale-out continues it.
  ok("UpdateService", R"({"cluster":"c1","service":"svc","desiredCount":9})");
  tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 3}, {"FARGATE_SPOT", 6}}));
}

TEST_F(EcsCapacityTest, AReplacementGoesToTheProviderBelowItsShare) {
  createService(4, R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE","base":1,"weight":0},
                                                  {"capacityProvider":"FARGATE_SPOT","weight":1}])");
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 1}, {"FARGATE_SPOT", 3}}));
  std::string on_demand;
  for (const auto& t : tasks())
    if (json::stringOr(t, "capacityProviderName") == "FARGATE") on_demand = json::stringOr(t, "taskArn");
  ok("StopTask", R"({"cluster":"c1","task":")" + on_demand + R"("})");
  tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 1}, {"FARGATE_SPOT", 3}}));
}

TEST_F(EcsCapacityTest, ChangingTheStrategyNeedsANewDeploymentAndMovesTheTasks) {
  createService(2, R"("launchType":"FARGATE")");
  std::string spot = R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}])";
  EXPECT_EQ(invalid("UpdateService", R"({"cluster":"c1","service":"svc",)" + spot + "}"),
            "When switching from launch type to capacity provider strategy on an existing service, or making a "
            "change to a capacity provider strategy on a service that is already using one, you must force a new "
            "deployment.");
  auto updated = ok("UpdateService", R"({"cluster":"c1","service":"svc","forceNewDeployment":true,)" + spot + "}");
  const auto& svc = updated.at("service").as_object();
  EXPECT_FALSE(svc.contains("launchType"));
  const auto& deps = svc.at("deployments").as_array();
  ASSERT_EQ(deps.size(), 2u);
  EXPECT_TRUE(deps[0].as_object().contains("capacityProviderStrategy"));
  EXPECT_EQ(deps[1].at("launchType"), "FARGATE");
  for (int i = 0; i < 3; ++i) tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE_SPOT", 2}}));
  ASSERT_EQ(service().at("deployments").as_array().size(), 1u);

  // The same strategy again needs nothing; a different one needs the force.
  ok("UpdateService", R"({"cluster":"c1","service":"svc",)" + spot + "}");
  EXPECT_EQ(service().at("deployments").as_array().size(), 1u);
  EXPECT_FALSE(invalid("UpdateService", R"({"cluster":"c1","service":"svc",
      "capacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1}]})")
                   .empty());
  // Back to a launch type: not supported.
  EXPECT_FALSE(invalid("UpdateService", R"({"cluster":"c1","service":"svc","launchType":"FARGATE"})").empty());
}

TEST_F(EcsCapacityTest, InvalidStrategiesFailAsEcsDoes) {
  auto svc = [](const std::string& cps) {
    return R"({"cluster":"c1","serviceName":"bad","taskDefinition":"web","desiredCount":1,)"
           R"("networkConfiguration":{"awsvpcConfiguration":{"subnets":["x"]}},"capacityProviderStrategy":)" +
           cps + "}";
  };
  auto run = [](const std::string& cps) {
    return R"({"cluster":"c1","taskDefinition":"web","capacityProviderStrategy":)" + cps + "}";
  };
  EXPECT_EQ(invalid("CreateService", svc(R"([{"capacityProvider":"FARGATE","base":1,"weight":1},
                                             {"capacityProvider":"FARGATE_SPOT","base":1,"weight":1}])")),
            "The specified capacity provider strategy cannot contain more than one capacity provider with a base "
            "value greater than zero.");
  EXPECT_EQ(invalid("RunTask", run(R"([{"capacityProvider":"FARGATE","base":1},
                                       {"capacityProvider":"FARGATE_SPOT","weight":0}])")),
            "The specified capacity provider strategy must contain at least one capacity provider with a weight "
            "value greater than zero.");
  EXPECT_EQ(invalid("RunTask", run(R"([{"capacityProvider":"FARGATE","weight":1},
                                       {"capacityProvider":"FARGATE","weight":2}])")),
            "The specified capacity provider strategy cannot contain duplicate capacity providers.");
  EXPECT_EQ(invalid("RunTask", run(R"([{"capacityProvider":"FARGATE","weight":1001}])")),
            "weight must be between 0 and 1000.");
  EXPECT_EQ(invalid("RunTask", run(R"([{"capacityProvider":"FARGATE","base":100001,"weight":1}])")),
            "base must be between 0 and 100000.");
  EXPECT_EQ(invalid("RunTask", R"({"cluster":"c1","taskDefinition":"web","launchType":"FARGATE",
                                   "capacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1}]})"),
            "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try "
            "again.");
  // Not associated with the cluster (FARGATE_SPOT included: the Fargate
  // providers too must be associated before a strategy can use them).
  ok("CreateCluster", R"({"clusterName":"bare"})");
  auto r = call("RunTask", R"({"cluster":"bare","taskDefinition":"web",
                               "capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}]})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().aws_type, "InvalidParameterException");
  EXPECT_EQ(r.error().message,
            "The specified capacity provider strategy cannot contain a capacity provider that is not associated "
            "with the cluster. Associate the capacity provider with the cluster or specify a valid capacity "
            "provider and try again.");
  EXPECT_FALSE(invalid("RunTask", run(R"([{"capacityProvider":"my-asg","weight":1}])")).empty());
}

TEST_F(EcsCapacityTest, TheClusterDefaultStrategyAppliesWithoutLaunchTypeOrStrategy) {
  ok("PutClusterCapacityProviders", R"({"cluster":"c1","capacityProviders":["FARGATE","FARGATE_SPOT"],
      "defaultCapacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}]})");
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":2,
      "networkConfiguration":)" +
                          subnets({0}) + "}");
  auto svc = service();
  EXPECT_FALSE(svc.contains("launchType"));
  EXPECT_EQ(svc.at("capacityProviderStrategy"),
            bj::parse(R"([{"capacityProvider":"FARGATE_SPOT","weight":1,"base":0}])"));
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE_SPOT", 2}}));

  auto run = ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","networkConfiguration":)" + subnets({0}) + "}");
  const auto& t = run.at("tasks").as_array()[0].as_object();
  EXPECT_EQ(t.at("capacityProviderName"), "FARGATE_SPOT");
  EXPECT_EQ(t.at("launchType"), "FARGATE");

  // No launch type, no strategy, no cluster default: EC2, as on AWS, which
  // a Fargate-only cluster has no instances for.
  ok("CreateCluster", R"({"clusterName":"bare"})");
  auto ec2 = ok("RunTask", R"({"cluster":"bare","taskDefinition":"web","networkConfiguration":)" + subnets({0}) + "}");
  EXPECT_TRUE(ec2.at("tasks").as_array().empty());
  EXPECT_EQ(ec2.at("failures").as_array()[0].at("reason"), "No Container Instances were found in your cluster.");
}

TEST_F(EcsCapacityTest, RunTaskSplitsEachCallOnItsOwn) {
  std::string cps = R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE","base":1,"weight":0},
                                                   {"capacityProvider":"FARGATE_SPOT","weight":1}])";
  for (int i = 0; i < 2; ++i) {
    auto run = ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","count":3,"networkConfiguration":)" +
                                 subnets({0}) + "," + cps + "}");
    std::vector<std::string> providers;
    for (const auto& t : run.at("tasks").as_array()) providers.emplace_back(t.at("capacityProviderName").as_string());
    EXPECT_EQ(providers, (std::vector<std::string>{"FARGATE", "FARGATE_SPOT", "FARGATE_SPOT"}));
  }
}

TEST_F(EcsCapacityTest, SpotInterruptionStopsTheTaskAndTheServiceReplacesItOnSpot) {
  createService(2, R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}],
                      "deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":true,"rollback":true}})");
  tick();
  auto before = tasks();
  ASSERT_EQ(before.size(), 2u);
  SpotInterruption what;
  what.cluster = "c1";
  what.service = "svc";
  what.count = 1;
  auto interrupted = ecs_->interruptSpotTasks(what);
  ASSERT_TRUE(interrupted) << interrupted.error().message;
  ASSERT_EQ(interrupted->size(), 1u);
  drain();
  auto t = describeTask((*interrupted)[0]);
  EXPECT_EQ(t.at("lastStatus"), "STOPPED");
  EXPECT_EQ(t.at("stopCode"), "SpotInterruption");
  EXPECT_EQ(t.at("stoppedReason"), "Your Spot Task was interrupted.");
  EXPECT_EQ(t.at("capacityProviderName"), "FARGATE_SPOT");

  // Replaced at once, on Spot again; no failure counted against the deployment.
  auto after = tasks();
  ASSERT_EQ(after.size(), 2u);
  for (const auto& task : after) {
    EXPECT_EQ(task.at("capacityProviderName"), "FARGATE_SPOT");
    EXPECT_NE(task.at("taskArn"), t.at("taskArn"));
  }
  tick();
  auto svc = service();
  EXPECT_EQ(svc.at("runningCount"), 2);
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("failedTasks"), 0);
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("rolloutState"), "COMPLETED");
  bool started = false;
  for (const auto& e : svc.at("events").as_array())
    started |= std::string(e.at("message").as_string()).starts_with("(service svc) has started 1 tasks: (task ");
  EXPECT_TRUE(started);
}

TEST_F(EcsCapacityTest, OnlyLiveFargateSpotTasksCanBeInterrupted) {
  auto run = ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","networkConfiguration":)" + subnets({0}) +
                               R"(,"capacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1}]})");
  std::string on_demand(run.at("tasks").as_array()[0].at("taskArn").as_string());
  SpotInterruption what;
  what.cluster = "c1";
  what.tasks = {on_demand};
  auto refused = ecs_->interruptSpotTasks(what);
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().aws_type, "InvalidParameterException");
  EXPECT_EQ(describeTask(on_demand).at("lastStatus"), "RUNNING");

  what.tasks = {};  // every Spot task of the cluster: there is none
  auto none = ecs_->interruptSpotTasks(what);
  ASSERT_TRUE(none);
  EXPECT_TRUE(none->empty());
  what.cluster = "nope";
  EXPECT_FALSE(ecs_->interruptSpotTasks(what));

  // A standalone Spot task, by id: stopped, nothing replaces it.
  auto spot = ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","networkConfiguration":)" + subnets({0}) +
                                R"(,"capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}]})");
  std::string spot_arn(spot.at("tasks").as_array()[0].at("taskArn").as_string());
  what.cluster = "c1";
  what.tasks = {spot_arn.substr(spot_arn.rfind('/') + 1)};
  ASSERT_TRUE(ecs_->interruptSpotTasks(what));
  drain();
  EXPECT_EQ(describeTask(spot_arn).at("stopCode"), "SpotInterruption");
  // Twice is an error: it is no longer a live Spot task.
  EXPECT_FALSE(ecs_->interruptSpotTasks(what));
}

TEST_F(EcsCapacityTest, SpotInterruptAfterInterruptsEverySpotTaskThatRanThatLong) {
  EcsConfig config;
  config.spot_interrupt_after = std::chrono::seconds(60);
  start(config);
  createService(1, R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}])");
  auto first = tasks();
  ASSERT_EQ(first.size(), 1u);
  clock_.advance(std::chrono::seconds(59));
  tick();
  EXPECT_EQ(tasks()[0].at("taskArn"), first[0].at("taskArn"));
  clock_.advance(std::chrono::seconds(2));
  tick();
  auto t = describeTask(json::stringOr(first[0], "taskArn"));
  EXPECT_EQ(t.at("stopCode"), "SpotInterruption");
  auto now = tasks();
  ASSERT_EQ(now.size(), 1u);
  EXPECT_NE(now[0].at("taskArn"), first[0].at("taskArn"));
}

TEST_F(EcsCapacityTest, ServiceTasksSpreadEvenlyOverTheZonesOfTheirSubnets) {
  createService(6, R"("launchType":"FARGATE")", {0, 1, 2});
  Counts zones = countBy("availabilityZone");
  EXPECT_EQ(zones, (Counts{{"us-east-1a", 2}, {"us-east-1b", 2}, {"us-east-1c", 2}}));
  // Each task's ENI is in a subnet of its zone.
  for (const auto& t : tasks()) {
    const auto& details = t.at("attachments").as_array()[0].at("details").as_array();
    std::string subnet;
    for (const auto& d : details)
      if (d.at("name") == "subnetId") subnet = std::string(d.at("value").as_string());
    const control::Subnet* s = network_.findSubnet(subnet);
    ASSERT_NE(s, nullptr);
    EXPECT_EQ(s->availability_zone, json::stringOr(t, "availabilityZone"));
  }

  // Both tasks in zone a stop: their replacements go to zone a.
  for (const auto& t : tasks())
    if (t.at("availabilityZone") == "us-east-1a")
      ok("StopTask", R"({"cluster":"c1","task":")" + json::stringOr(t, "taskArn") + R"("})");
  tick();
  EXPECT_EQ(countBy("availabilityZone"), zones);

  // Scale-in keeps the spread.
  ok("UpdateService", R"({"cluster":"c1","service":"svc","desiredCount":3})");
  tick();
  EXPECT_EQ(countBy("availabilityZone"), (Counts{{"us-east-1a", 1}, {"us-east-1b", 1}, {"us-east-1c", 1}}));
}

TEST_F(EcsCapacityTest, ZoneTiesGoToTheEarlierSubnet) {
  createService(2, R"("launchType":"FARGATE")", {2, 0});
  Counts counts = countBy("availabilityZone");
  EXPECT_EQ(counts, (Counts{{"us-east-1a", 1}, {"us-east-1c", 1}}));
  ok("UpdateService", R"({"cluster":"c1","service":"svc","desiredCount":1})");
  tick();
  ok("UpdateService", R"({"cluster":"c1","service":"svc","desiredCount":0})");
  tick();
  ok("UpdateService", R"({"cluster":"c1","service":"svc","desiredCount":1})");
  tick();
  EXPECT_EQ(countBy("availabilityZone"), (Counts{{"us-east-1c", 1}}));
}

// --- Spot capacity controls (spot.cc): capacity off/on, the fallback
// extension, random interruptions.

constexpr std::string_view kUnavailable =
    "Capacity is unavailable at this time. Please try again later or in a different availability zone";

int64_t eventsStartingWith(const bj::object& svc, std::string_view prefix) {
  int64_t n = 0;
  for (const auto& e : svc.at("events").as_array()) n += std::string(e.at("message").as_string()).starts_with(prefix);
  return n;
}

TEST_F(EcsCapacityTest, RunTaskFailsSpotPlacementsWhileCapacityIsOff) {
  ASSERT_TRUE(ecs_->setSpotCapacity(false));
  EXPECT_FALSE(ecs_->spotCapacityAvailable());
  auto run =
      ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","count":2,"networkConfiguration":)" + subnets({0}) +
                        R"(,"capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}]})");
  EXPECT_TRUE(run.at("tasks").as_array().empty());
  ASSERT_EQ(run.at("failures").as_array().size(), 2u);
  const auto& failure = run.at("failures").as_array()[0].as_object();
  EXPECT_EQ(failure.at("reason"), std::string(kUnavailable).c_str());
  EXPECT_EQ(failure.at("arn"), "arn:aws:ecs:us-east-1:000000000000:cluster/c1");

  // The FARGATE share of a mixed strategy still runs: base 1 on FARGATE,
  // then 1:1, so of 3 tasks one more goes to each provider.
  run = ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","count":3,"networkConfiguration":)" + subnets({0}) +
                          R"(,"capacityProviderStrategy":[{"capacityProvider":"FARGATE","base":1,"weight":1},
                              {"capacityProvider":"FARGATE_SPOT","weight":1}]})");
  ASSERT_EQ(run.at("tasks").as_array().size(), 2u);
  for (const auto& t : run.at("tasks").as_array()) EXPECT_EQ(t.at("capacityProviderName"), "FARGATE");
  EXPECT_EQ(run.at("failures").as_array().size(), 1u);

  ASSERT_TRUE(ecs_->setSpotCapacity(true));
  run = ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","networkConfiguration":)" + subnets({0}) +
                          R"(,"capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}]})");
  ASSERT_EQ(run.at("tasks").as_array().size(), 1u);
  EXPECT_TRUE(run.at("failures").as_array().empty());
}

TEST_F(EcsCapacityTest, AServiceWaitsForSpotCapacityAndSaysSoWithoutRepeatingItself) {
  createService(2, R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}])");
  tick();
  ASSERT_EQ(tasks().size(), 2u);
  ASSERT_TRUE(ecs_->setSpotCapacity(false));
  SpotInterruption all;
  all.cluster = "c1";
  ASSERT_EQ(ecs_->interruptSpotTasks(all)->size(), 2u);
  drain();
  std::string unable = "(service svc) was unable to place a task. Reason: " + std::string(kUnavailable) + ".";
  auto svc = service();
  EXPECT_TRUE(tasks().empty());
  EXPECT_EQ(svc.at("events").as_array()[0].at("message"), unable.c_str());
  EXPECT_EQ(eventsStartingWith(svc, unable), 1);

  // Retried every tick, said again only after 15 minutes.
  for (int i = 0; i < 60; ++i) {
    clock_.advance(std::chrono::seconds(10));
    tick();
  }
  svc = service();
  EXPECT_TRUE(tasks().empty());
  EXPECT_EQ(svc.at("runningCount"), 0);
  EXPECT_EQ(eventsStartingWith(svc, unable), 1);
  clock_.advance(std::chrono::minutes(6));
  tick();
  EXPECT_EQ(eventsStartingWith(service(), unable), 2);

  // Capacity back: placed on Spot at once (no fallback without the tag).
  ASSERT_TRUE(ecs_->setSpotCapacity(true));
  drain();
  tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE_SPOT", 2}}));
  svc = service();
  EXPECT_EQ(svc.at("runningCount"), 2);
  EXPECT_EQ(svc.at("events").as_array()[0].at("message"), "(service svc) has reached a steady state.");
}

TEST_F(EcsCapacityTest, TheFallbackTagPlacesOnFargateAndMovesBackToSpotWithinThePercentages) {
  ASSERT_TRUE(ecs_->setSpotCapacity(false));
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":2,
      "capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}],
      "tags":[{"key":"berth:spot-fallback","value":"FARGATE"}],
      "networkConfiguration":)" +
                          subnets({0}) + "}");
  tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 2}}));
  auto svc = service();
  EXPECT_EQ(svc.at("runningCount"), 2);
  EXPECT_EQ(eventsStartingWith(svc, "(service svc) was unable to place a task."), 0);
  std::set<std::string> stand_ins;
  for (const auto& t : tasks()) stand_ins.insert(std::string(t.at("taskArn").as_string()));

  // Capacity back: Spot replacements start first (maximumPercent 200 leaves
  // room for both), the FARGATE stand-ins stop once they run (minimum 100%).
  ASSERT_TRUE(ecs_->setSpotCapacity(true));
  auto during = countBy("capacityProviderName");
  EXPECT_EQ(during, (Counts{{"FARGATE", 2}, {"FARGATE_SPOT", 2}}));
  drain();
  for (int i = 0; i < 3; ++i) tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE_SPOT", 2}}));
  for (const auto& arn : stand_ins) {
    auto t = describeTask(arn);
    EXPECT_EQ(t.at("lastStatus"), "STOPPED");
    EXPECT_EQ(t.at("stopCode"), "ServiceSchedulerInitiated");
  }
  svc = service();
  EXPECT_EQ(svc.at("runningCount"), 2);
  EXPECT_EQ(svc.at("events").as_array()[0].at("message"), "(service svc) has reached a steady state.");
}

TEST_F(EcsCapacityTest, TheFallbackMovesOneTaskAtATimeWhenThePercentagesSaySo) {
  ASSERT_TRUE(ecs_->setSpotCapacity(false));
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":2,
      "capacityProviderStrategy":[{"capacityProvider":"FARGATE","base":1,"weight":0},
                                  {"capacityProvider":"FARGATE_SPOT","weight":1}],
      "deploymentConfiguration":{"maximumPercent":100,"minimumHealthyPercent":50},
      "tags":[{"key":"berth:spot-fallback","value":"FARGATE"}],
      "networkConfiguration":)" +
                          subnets({0}) + "}");
  tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 2}}));
  ASSERT_TRUE(ecs_->setSpotCapacity(true));
  // At most 2 live tasks (maximumPercent 100): the stand-in stops first, then
  // its Spot replacement starts; the base FARGATE task stays.
  EXPECT_LE(tasks().size(), 2u);
  drain();
  tick();
  EXPECT_EQ(countBy("capacityProviderName"), (Counts{{"FARGATE", 1}, {"FARGATE_SPOT", 1}}));
  tick();
  EXPECT_EQ(service().at("runningCount"), 2);
}

TEST_F(EcsCapacityTest, RandomInterruptionsFollowTheRateOnTheInjectedClock) {
  EXPECT_FALSE(ecs_->setSpotInterruptionRate(-1));
  EXPECT_FALSE(ecs_->setSpotInterruptionRate(std::nan("")));
  createService(4, R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}])");
  tick();
  auto interrupted = [&] {
    int64_t n = 0;
    bj::array arns =
        ok("ListTasks", R"({"cluster":"c1","serviceName":"svc","desiredStatus":"STOPPED"})").at("taskArns").as_array();
    for (const auto& a : arns) n += describeTask(std::string(a.as_string())).at("stopCode") == "SpotInterruption";
    return n;
  };
  // Off: an hour passes, nothing happens.
  for (int i = 0; i < 60; ++i) {
    clock_.advance(std::chrono::minutes(1));
    tick();
  }
  EXPECT_EQ(interrupted(), 0);

  // 6 per task-hour over 4 tasks for 30 minutes: about 12 interruptions; the
  // seed makes the count reproducible, the service keeps 4 running.
  ASSERT_TRUE(ecs_->setSpotInterruptionRate(6, 42));
  EXPECT_EQ(ecs_->spotInterruptionRate(), 6);
  for (int i = 0; i < 30; ++i) {
    clock_.advance(std::chrono::minutes(1));
    tick();
  }
  int64_t n = interrupted();
  EXPECT_GE(n, 4);
  EXPECT_LE(n, 25);
  EXPECT_EQ(tasks().size(), 4u);
  EXPECT_EQ(service().at("runningCount"), 4);

  ASSERT_TRUE(ecs_->setSpotInterruptionRate(0));
  for (int i = 0; i < 30; ++i) {
    clock_.advance(std::chrono::minutes(1));
    tick();
  }
  EXPECT_EQ(interrupted(), n);
}

TEST_F(EcsCapacityTest, SpotSettingsSurviveARestart) {
  ASSERT_TRUE(ecs_->setSpotCapacity(false));
  ASSERT_TRUE(ecs_->setSpotInterruptionRate(6, 42));
  start();  // berthd restarted on the same store
  EXPECT_FALSE(ecs_->spotCapacityAvailable());
  EXPECT_EQ(ecs_->spotInterruptionRate(), 6);
  ASSERT_TRUE(ecs_->setSpotCapacity(true));
  ASSERT_TRUE(ecs_->setSpotInterruptionRate(0));
  start();
  EXPECT_TRUE(ecs_->spotCapacityAvailable());
  EXPECT_EQ(ecs_->spotInterruptionRate(), 0);
}

}  // namespace
}  // namespace berth::ecs
