// The ECS control plane on a memory store, the fake agent and a fake clock.
#include "control/ecs/ecs.h"

#include <deque>

#include <gtest/gtest.h>

#include "agent/fake_agent.h"
#include "common/json.h"
#include "control/network.h"
#include "store/store.h"

namespace berth::ecs {
namespace {

namespace bj = boost::json;

bj::object parseObject(std::string_view text) { return bj::parse(text).as_object(); }

class EcsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    faulty_ = std::make_unique<store::FaultInjectingStore>(*store_);
    network_ = *control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    start();
  }

  // (Re)creates the control plane on the same store, as a restart would.
  void start() {
    agent_.reset();
    ecs_ = std::make_unique<Ecs>(EcsConfig{}, *faulty_, clock_, network_);
    ASSERT_TRUE(ecs_->load());
    agent_ =
        std::make_unique<agent::FakeAgent>(clock_, [this](agent::TaskEvent e) { events_.push_back(std::move(e)); });
    ecs_->attachAgent(agent_.get());
  }

  // Delivers queued agent events, as the control executor would.
  void drain() {
    while (!events_.empty()) {
      auto e = std::move(events_.front());
      events_.pop_front();
      ecs_->onTaskEvent(e);
    }
  }

  Result<bj::value> call(std::string_view op, std::string_view input) {
    auto r = ecs_->invoke(op, parseObject(input), CallContext{"arn:aws:iam::000000000000:root", "req"});
    drain();
    return r;
  }

  bj::object ok(std::string_view op, std::string_view input) {
    auto r = call(op, input);
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r ? r->as_object() : bj::object{};
  }

  std::string networkJson() const {
    return R"({"awsvpcConfiguration":{"subnets":[")" + network_.subnets[0].id + R"("],"securityGroups":[")" +
           network_.security_group_id + R"("]}})";
  }

  void registerBackend() {
    ok("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
        "cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox","essential":true,
        "portMappings":[{"containerPort":8000}]}]})");
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  std::unique_ptr<store::FaultInjectingStore> faulty_;
  control::NetworkInventory network_;
  FakeClock clock_;
  std::deque<agent::TaskEvent> events_;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<Ecs> ecs_;
};

TEST_F(EcsTest, CreateClusterIsIdempotentAndDescribeReportsMissing) {
  auto first = ok("CreateCluster", R"({"clusterName":"c1"})");
  auto second = ok("CreateCluster", R"({"clusterName":"c1"})");
  EXPECT_EQ(first.at("cluster").at("clusterArn"), "arn:aws:ecs:us-east-1:000000000000:cluster/c1");
  EXPECT_EQ(first.at("cluster").at("clusterArn"), second.at("cluster").at("clusterArn"));

  auto described = ok("DescribeClusters", R"({"clusters":["c1","nope"]})");
  ASSERT_EQ(described.at("clusters").as_array().size(), 1u);
  ASSERT_EQ(described.at("failures").as_array().size(), 1u);
  EXPECT_EQ(described.at("failures").as_array()[0].at("reason"), "MISSING");
  EXPECT_EQ(described.at("failures").as_array()[0].at("arn"), "arn:aws:ecs:us-east-1:000000000000:cluster/nope");
}

TEST_F(EcsTest, ClusterNameIsValidated) {
  auto r = call("CreateCluster", R"({"clusterName":"bad name!"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().aws_type, "InvalidParameterException");
}

TEST_F(EcsTest, TaskDefinitionRevisionsAndPagination) {
  registerBackend();
  registerBackend();
  auto latest = ok("DescribeTaskDefinition", R"({"taskDefinition":"web"})");
  EXPECT_EQ(latest.at("taskDefinition").at("revision"), 2);

  auto page1 = ok("ListTaskDefinitions", R"({"familyPrefix":"web","maxResults":1})");
  ASSERT_EQ(page1.at("taskDefinitionArns").as_array().size(), 1u);
  ASSERT_TRUE(page1.contains("nextToken"));
  auto page2 = ok("ListTaskDefinitions", R"({"familyPrefix":"web","maxResults":1,"nextToken":")" +
                                             std::string(page1.at("nextToken").as_string()) + R"("})");
  ASSERT_EQ(page2.at("taskDefinitionArns").as_array().size(), 1u);
  EXPECT_FALSE(page2.contains("nextToken"));
  EXPECT_EQ(page2.at("taskDefinitionArns").as_array()[0], "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2");

  auto bad = call("ListTaskDefinitions", R"({"nextToken":"garbage"})");
  ASSERT_FALSE(bad);
  EXPECT_EQ(bad.error().aws_type, "InvalidParameterException");

  ok("DeregisterTaskDefinition", R"({"taskDefinition":"web:2"})");
  latest = ok("DescribeTaskDefinition", R"({"taskDefinition":"web"})");
  EXPECT_EQ(latest.at("taskDefinition").at("revision"), 1);
}

TEST_F(EcsTest, ServiceReachesSteadyStateWithFakeAgent) {
  ok("CreateCluster", R"({"clusterName":"c1","capacityProviders":["FARGATE","FARGATE_SPOT"]})");
  registerBackend();
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":2,
      "capacityProviderStrategy":[{"capacityProvider":"FARGATE_SPOT","weight":1}],
      "networkConfiguration":)" +
                          networkJson() + "}");
  // Launched tasks report RUNNING; the next pass completes the deployment.
  ecs_->tick();
  auto described = ok("DescribeServices", R"({"cluster":"c1","services":["svc"]})");
  const auto& svc = described.at("services").as_array()[0].as_object();
  EXPECT_EQ(svc.at("runningCount"), 2);
  const auto& deployments = svc.at("deployments").as_array();
  ASSERT_EQ(deployments.size(), 1u);
  EXPECT_EQ(deployments[0].at("status"), "PRIMARY");
  EXPECT_EQ(deployments[0].at("rolloutState"), "COMPLETED");
  EXPECT_EQ(svc.at("events").as_array()[0].at("message"), "(service svc) has reached a steady state.");

  auto tasks = ok("ListTasks", R"({"cluster":"c1","serviceName":"svc"})");
  ASSERT_EQ(tasks.at("taskArns").as_array().size(), 2u);
  auto task =
      ok("DescribeTasks", R"({"cluster":"c1","tasks":[)" + bj::serialize(tasks.at("taskArns").as_array()[0]) + "]}");
  const auto& t = task.at("tasks").as_array()[0].as_object();
  EXPECT_EQ(t.at("lastStatus"), "RUNNING");
  EXPECT_EQ(t.at("capacityProviderName"), "FARGATE_SPOT");
  EXPECT_EQ(t.at("group"), "service:svc");
  EXPECT_TRUE(std::string(t.at("startedBy").as_string()).starts_with("ecs-svc/"));

  auto refused = call("DeleteCluster", R"({"cluster":"c1"})");
  ASSERT_FALSE(refused);
  EXPECT_EQ(refused.error().aws_type, "ClusterContainsServicesException");
}

TEST_F(EcsTest, CapacityProviderWeightsSplitOneBatch) {
  ok("CreateCluster", R"({"clusterName":"c1","capacityProviders":["FARGATE","FARGATE_SPOT"]})");
  registerBackend();
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":4,
      "capacityProviderStrategy":[{"capacityProvider":"FARGATE","base":1,"weight":1},
                                  {"capacityProvider":"FARGATE_SPOT","weight":1}],
      "networkConfiguration":)" +
                          networkJson() + "}");
  auto arns = ok("ListTasks", R"({"cluster":"c1","serviceName":"svc"})").at("taskArns").as_array();
  ASSERT_EQ(arns.size(), 4u);
  auto tasks = ok("DescribeTasks", R"({"cluster":"c1","tasks":)" + bj::serialize(arns) + "}").at("tasks").as_array();
  std::map<std::string, int> by_provider;
  for (const auto& t : tasks) ++by_provider[std::string(t.at("capacityProviderName").as_string())];
  // base 1 on FARGATE, then the other three split 1:1 by weight.
  EXPECT_GE(by_provider["FARGATE"], 2);
  EXPECT_GE(by_provider["FARGATE_SPOT"], 1);
  EXPECT_EQ(by_provider["FARGATE"] + by_provider["FARGATE_SPOT"], 4);
}

TEST_F(EcsTest, ForceNewDeploymentReplacesTasks) {
  ok("CreateCluster", R"({"clusterName":"c1"})");
  registerBackend();
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":1,
      "launchType":"FARGATE","networkConfiguration":)" +
                          networkJson() + "}");
  ecs_->tick();
  auto before = ok("ListTasks", R"({"cluster":"c1","serviceName":"svc"})").at("taskArns").as_array();
  ASSERT_EQ(before.size(), 1u);
  auto updated = ok("UpdateService", R"({"cluster":"c1","service":"svc","forceNewDeployment":true})");
  EXPECT_EQ(updated.at("service").at("deployments").as_array().size(), 2u);
  for (int i = 0; i < 3; ++i) ecs_->tick();
  auto after = ok("ListTasks", R"({"cluster":"c1","serviceName":"svc"})").at("taskArns").as_array();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], before[0]);
  auto svc = ok("DescribeServices", R"({"cluster":"c1","services":["svc"]})").at("services").as_array()[0].as_object();
  EXPECT_EQ(svc.at("deployments").as_array().size(), 1u);
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("rolloutState"), "COMPLETED");
  auto old = ok("DescribeTasks", R"({"cluster":"c1","tasks":[)" + bj::serialize(before[0]) + "]}");
  EXPECT_EQ(old.at("tasks").as_array()[0].at("lastStatus"), "STOPPED");
  EXPECT_EQ(old.at("tasks").as_array()[0].at("stopCode"), "ServiceSchedulerInitiated");
}

TEST_F(EcsTest, AwsvpcNeedsAKnownSubnet) {
  ok("CreateCluster", R"({"clusterName":"c1"})");
  registerBackend();
  auto missing = call("RunTask", R"({"cluster":"c1","taskDefinition":"web","launchType":"FARGATE"})");
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().message, "Network Configuration must be provided when networkMode 'awsvpc' is specified.");
  auto unknown = call("RunTask", R"({"cluster":"c1","taskDefinition":"web","launchType":"FARGATE",
      "networkConfiguration":{"awsvpcConfiguration":{"subnets":["subnet-0000"]}}})");
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("InvalidSubnetID.NotFound"), std::string::npos);
}

TEST_F(EcsTest, FailedCommitChangesNothing) {
  ok("CreateCluster", R"({"clusterName":"c1"})");
  faulty_->failCommitsFrom(faulty_->commitCalls() + 1);
  auto r = call("CreateCluster", R"({"clusterName":"c2"})");
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().aws_type, "ServerException");
  faulty_->clearFaults();
  auto described = ok("DescribeClusters", R"({"clusters":["c2"]})");
  EXPECT_EQ(described.at("failures").as_array().size(), 1u);
}

TEST_F(EcsTest, StateSurvivesARestart) {
  ok("CreateCluster", R"({"clusterName":"c1"})");
  registerBackend();
  ok("RunTask",
     R"({"cluster":"c1","taskDefinition":"web","launchType":"FARGATE","networkConfiguration":)" + networkJson() + "}");
  start();  // a new control plane on the same store; the fake agent forgot its tasks
  EXPECT_EQ(ok("DescribeClusters", R"({"clusters":["c1"]})").at("clusters").as_array().size(), 1u);
  EXPECT_EQ(ok("DescribeTaskDefinition", R"({"taskDefinition":"web:1"})").at("taskDefinition").at("revision"), 1);
  auto stopped = ok("ListTasks", R"({"cluster":"c1","desiredStatus":"STOPPED"})");
  EXPECT_EQ(stopped.at("taskArns").as_array().size(), 1u);
  // Revisions are not reused after a restart.
  registerBackend();
  EXPECT_EQ(ok("DescribeTaskDefinition", R"({"taskDefinition":"web"})").at("taskDefinition").at("revision"), 2);
}

TEST_F(EcsTest, StopTaskReportsUserInitiated) {
  ok("CreateCluster", R"({"clusterName":"c1"})");
  registerBackend();
  auto run = ok("RunTask", R"({"cluster":"c1","taskDefinition":"web","launchType":"FARGATE","count":2,
      "networkConfiguration":)" +
                               networkJson() + "}");
  ASSERT_EQ(run.at("tasks").as_array().size(), 2u);
  std::string arn(run.at("tasks").as_array()[0].at("taskArn").as_string());
  ok("StopTask", R"({"cluster":"c1","task":")" + arn + R"(","reason":"done"})");
  auto t = ok("DescribeTasks", R"({"cluster":"c1","tasks":[")" + arn + R"("]})").at("tasks").as_array()[0].as_object();
  EXPECT_EQ(t.at("lastStatus"), "STOPPED");
  EXPECT_EQ(t.at("stopCode"), "UserInitiated");
  EXPECT_EQ(t.at("stoppedReason"), "done");
  EXPECT_EQ(ok("ListTasks", R"({"cluster":"c1"})").at("taskArns").as_array().size(), 1u);
  // Forgotten after the retention period.
  clock_.advance(std::chrono::hours(2));
  ecs_->tick();
  auto gone = ok("DescribeTasks", R"({"cluster":"c1","tasks":[")" + arn + R"("]})");
  EXPECT_EQ(gone.at("failures").as_array().size(), 1u);
}

}  // namespace
}  // namespace berth::ecs
