// Issue 6's remaining service tests, on a memory store, the fake agent and a
// fake clock:
//  - a rolling update between two good task definitions never has fewer
//    healthy tasks than minimumHealthyPercent allows nor more tasks than
//    maximumPercent allows, checked after every agent event and every
//    scheduler pass (the fake agent's events are delivered one at a time);
//  - bad input to CreateService and UpdateService (strategies, providers,
//    percentages) fails with InvalidParameterException and changes nothing.
#include <algorithm>
#include <cmath>
#include <deque>
#include <string>
#include <vector>

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include "agent/fake_agent.h"
#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "store/store.h"

namespace berth::ecs {
namespace {

namespace bj = boost::json;

class EcsRollingUpdateTest : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = *control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    ecs_ = std::make_unique<Ecs>(EcsConfig{}, *store_, clock_, network_);
    ASSERT_TRUE(ecs_->load());
    agent_ =
        std::make_unique<agent::FakeAgent>(clock_, [this](agent::TaskEvent e) { events_.push_back(std::move(e)); });
    ecs_->attachAgent(agent_.get());
    ok("CreateCluster", R"({"clusterName":"c1","capacityProviders":["FARGATE","FARGATE_SPOT"]})");
  }

  // Runs one operation; the agent events it causes stay queued.
  Result<bj::value> call(std::string_view op, const std::string& input) {
    return ecs_->invoke(op, bj::parse(input).as_object(), CallContext{"arn:aws:iam::000000000000:root", "req"});
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
    EXPECT_EQ(r.error().aws_type, "InvalidParameterException") << r.error().message;
    return r.error().message;
  }

  void drain() {
    while (!events_.empty()) deliverOne();
  }

  void deliverOne() {
    auto e = std::move(events_.front());
    events_.pop_front();
    ecs_->onTaskEvent(e);
  }

  // Registers the next revision of "web"; with a container health check the
  // fake agent reports the task HEALTHY when it runs.
  void registerWeb(std::string_view image, bool health_check) {
    std::string hc = health_check ? R"(,"healthCheck":{"command":["CMD-SHELL","true"]})" : "";
    ok("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
        "cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":")" +
                                     std::string(image) + R"(","essential":true)" + hc + "}]}");
  }

  std::string networkJson() const {
    return R"({"awsvpcConfiguration":{"subnets":[")" + network_.subnets[0].id + R"("]}})";
  }

  bj::object service(std::string_view name = "svc") {
    return ok("DescribeServices", R"({"cluster":"c1","services":[")" + std::string(name) + R"("]})")
        .at("services")
        .as_array()[0]
        .as_object();
  }

  // Every task of the service, whatever its state, described.
  std::vector<bj::object> allTasks() {
    bj::array arns;
    for (const char* desired : {"RUNNING", "STOPPED"}) {
      auto list =
          ok("ListTasks", R"({"cluster":"c1","serviceName":"svc","desiredStatus":")" + std::string(desired) + R"("})");
      for (const auto& a : list.at("taskArns").as_array()) arns.push_back(a);
    }
    std::vector<bj::object> out;
    for (size_t i = 0; i < arns.size(); i += 100) {
      bj::array chunk(arns.begin() + static_cast<std::ptrdiff_t>(i),
                      arns.begin() + static_cast<std::ptrdiff_t>(std::min(arns.size(), i + 100)));
      auto described = ok("DescribeTasks", R"({"cluster":"c1","tasks":)" + bj::serialize(chunk) + "}");
      for (auto& t : described.at("tasks").as_array()) out.push_back(t.as_object());
    }
    return out;
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  control::NetworkInventory network_;
  FakeClock clock_;
  std::deque<agent::TaskEvent> events_;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<Ecs> ecs_;
};

struct Rollout {
  int desired;
  int min_percent;
  int max_percent;
  bool health_check;
};

class EcsRollingUpdateWithinPercentages : public EcsRollingUpdateTest, public ::testing::WithParamInterface<Rollout> {};

// Live: in the service (desiredStatus RUNNING) and not yet STOPPED, as
// maximumPercent counts them (RUNNING or PENDING). Healthy: RUNNING and, with
// a container health check, HEALTHY, as minimumHealthyPercent counts them.
TEST_P(EcsRollingUpdateWithinPercentages, NeverBelowTheMinimumNorAboveTheMaximum) {
  const Rollout r = GetParam();
  registerWeb("busybox:1.36", r.health_check);
  registerWeb("busybox:1.37", r.health_check);
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web:1","desiredCount":)" +
                          std::to_string(r.desired) + R"(,"launchType":"FARGATE","deploymentConfiguration":)" +
                          R"({"minimumHealthyPercent":)" + std::to_string(r.min_percent) + R"(,"maximumPercent":)" +
                          std::to_string(r.max_percent) + R"(},"networkConfiguration":)" + networkJson() + "}");
  drain();
  for (int i = 0; i < 3; ++i) {
    ecs_->tick();
    drain();
  }
  std::string first = std::string(service().at("deployments").as_array()[0].at("id").as_string());
  ASSERT_EQ(service().at("deployments").as_array()[0].at("rolloutState"), "COMPLETED");
  std::vector<std::string> old_tasks;
  for (const auto& t : allTasks())
    if (t.at("desiredStatus") == "RUNNING") old_tasks.emplace_back(t.at("taskArn").as_string());
  ASSERT_EQ(old_tasks.size(), static_cast<size_t>(r.desired));

  const int64_t max_live = r.desired * r.max_percent / 100;                                     // rounded down
  const auto min_healthy = static_cast<int64_t>(std::ceil(r.desired * r.min_percent / 100.0));  // rounded up
  int64_t peak_live = 0, trough_healthy = r.desired;
  int steps = 0;
  auto check = [&](const std::string& when) {
    int64_t live = 0, healthy = 0;
    for (const auto& t : allTasks()) {
      if (t.at("desiredStatus") != "RUNNING" || t.at("lastStatus") == "STOPPED") continue;
      ++live;
      if (t.at("lastStatus") == "RUNNING" && (!r.health_check || json::stringOr(t, "healthStatus") == "HEALTHY"))
        ++healthy;
    }
    peak_live = std::max(peak_live, live);
    trough_healthy = std::min(trough_healthy, healthy);
    EXPECT_LE(live, max_live) << when;
    EXPECT_GE(healthy, min_healthy) << when;
  };

  auto updated = ok("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web:2"})");
  std::string second = std::string(updated.at("service").at("deployments").as_array()[0].at("id").as_string());
  check("after UpdateService");
  auto done = [&] {
    auto s = service();
    const auto& deps = s.at("deployments").as_array();
    return deps.size() == 1 && json::stringOr(deps[0].as_object(), "id") == second &&
           deps[0].at("rolloutState") == "COMPLETED" && s.at("runningCount") == r.desired;
  };
  while (!done() && steps < 500) {
    ++steps;
    if (!events_.empty()) {
      deliverOne();
      check("after agent event " + std::to_string(steps));
    } else {
      clock_.advance(std::chrono::seconds(1));
      ecs_->tick();  // its events are delivered one by one on the next steps
      check("after scheduler pass " + std::to_string(steps));
    }
  }
  drain();
  ecs_->tick();
  ASSERT_TRUE(done()) << "the rolling update did not complete in " << steps << " steps";
  // The rollout used the room it had: above the desired count when
  // maximumPercent allows, below it when minimumHealthyPercent allows.
  if (max_live > r.desired) {
    EXPECT_GT(peak_live, r.desired);
  }
  if (min_healthy < r.desired) {
    EXPECT_LT(trough_healthy, r.desired);
  }

  auto s = service();
  EXPECT_EQ(s.at("taskDefinition"), "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2");
  EXPECT_EQ(s.at("deployments").as_array()[0].at("failedTasks"), 0);
  const auto& events = s.at("events").as_array();
  ASSERT_GE(events.size(), 2u);
  EXPECT_EQ(events[0].at("message"), "(service svc) has reached a steady state.");
  EXPECT_EQ(json::stringOr(events[1].as_object(), "message"),
            "(service svc) (deployment " + second + ") deployment completed.");
  // Every old task was stopped by the scheduler for the new deployment.
  for (const auto& t : allTasks()) {
    std::string task_arn(t.at("taskArn").as_string());
    if (std::find(old_tasks.begin(), old_tasks.end(), task_arn) != old_tasks.end()) {
      EXPECT_EQ(t.at("lastStatus"), "STOPPED") << task_arn;
      EXPECT_EQ(t.at("stopCode"), "ServiceSchedulerInitiated") << task_arn;
      EXPECT_EQ(json::stringOr(t, "stoppedReason"), "Scaling activity initiated by (deployment " + second + ")")
          << task_arn;
      EXPECT_EQ(json::stringOr(t, "startedBy"), first);
    } else {
      EXPECT_EQ(t.at("lastStatus"), "RUNNING") << task_arn;
      EXPECT_EQ(json::stringOr(t, "startedBy"), second);
    }
  }
}

INSTANTIATE_TEST_SUITE_P(Percentages, EcsRollingUpdateWithinPercentages,
                         ::testing::Values(Rollout{3, 100, 200, false},  // the defaults: all new first
                                           Rollout{4, 50, 150, false},   // both limits bind
                                           Rollout{4, 100, 125, true},   // one at a time, on health checks
                                           Rollout{5, 60, 100, false},   // stop first, then start
                                           Rollout{2, 0, 100, true}),    // everything may stop
                         [](const auto& info) {
                           const Rollout& r = info.param;
                           return "Desired" + std::to_string(r.desired) + "Min" + std::to_string(r.min_percent) +
                                  "Max" + std::to_string(r.max_percent) + (r.health_check ? "HealthChecked" : "");
                         });

// tick() skips a service that is steady and had nothing to do (work per pass
// grows with what changed); a task stopped by hand still gets its
// replacement on the next pass, before the agent reports the task STOPPED.
TEST_F(EcsRollingUpdateTest, ASteadyServiceReplacesATaskStoppedByHandOnTheNextPass) {
  registerWeb("busybox", false);
  ok("CreateService", R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":2,)"
                      R"("launchType":"FARGATE","networkConfiguration":)" +
                          networkJson() + "}");
  drain();
  for (int i = 0; i < 3; ++i) {
    clock_.advance(std::chrono::seconds(1));
    ecs_->tick();
    drain();
  }
  bj::value events_before = service().at("events");
  size_t tasks_before = ecs_->taskCount();
  clock_.advance(std::chrono::seconds(1));
  ecs_->tick();
  EXPECT_TRUE(events_.empty());
  EXPECT_EQ(service().at("events"), events_before);
  EXPECT_EQ(ecs_->taskCount(), tasks_before);

  auto arns = ok("ListTasks", R"({"cluster":"c1","serviceName":"svc"})").at("taskArns").as_array();
  ASSERT_EQ(arns.size(), 2u);
  ok("StopTask", R"({"cluster":"c1","task":)" + bj::serialize(arns[0]) + "}");
  events_.clear();  // the agent's STOPPED report is lost: only the pass can notice
  clock_.advance(std::chrono::seconds(1));
  ecs_->tick();
  drain();
  auto s = service();
  EXPECT_EQ(s.at("runningCount"), 2);
  EXPECT_EQ(ecs_->taskCount(), tasks_before + 1);
  std::string newest(s.at("events").as_array()[0].at("message").as_string());
  EXPECT_THAT(newest, ::testing::AnyOf(::testing::StartsWith("(service svc) has started 1 tasks:"),
                                       ::testing::Eq("(service svc) has reached a steady state.")));
}

TEST_F(EcsRollingUpdateTest, BadStrategiesAndProvidersCreateNoService) {
  registerWeb("busybox", false);
  auto create = [&](const std::string& placement) {
    return R"({"cluster":"c1","serviceName":"bad","taskDefinition":"web","desiredCount":1,"networkConfiguration":)" +
           networkJson() + "," + placement + "}";
  };
  EXPECT_EQ(invalid("CreateService", create(R"("capacityProviderStrategy":[
                {"capacityProvider":"FARGATE","base":1,"weight":1},{"capacityProvider":"FARGATE_SPOT","base":2,"weight":1}])")),
            "The specified capacity provider strategy cannot contain more than one capacity provider with a base "
            "value greater than zero.");
  EXPECT_EQ(invalid("CreateService", create(R"("capacityProviderStrategy":[
                {"capacityProvider":"FARGATE","weight":0},{"capacityProvider":"FARGATE_SPOT","weight":0}])")),
            "The specified capacity provider strategy must contain at least one capacity provider with a weight "
            "value greater than zero.");
  EXPECT_EQ(
      invalid(
          "CreateService",
          create(R"("launchType":"FARGATE","capacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1}])")),
      "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try "
      "again.");
  EXPECT_EQ(
      invalid("CreateService", create(R"("capacityProviderStrategy":[{"capacityProvider":"my-asg","weight":1}])")),
      "The specified capacity provider strategy cannot contain a capacity provider that is not associated "
      "with the cluster. Associate the capacity provider with the cluster or specify a valid capacity "
      "provider and try again.");
  auto described = ok("DescribeServices", R"({"cluster":"c1","services":["bad"]})");
  EXPECT_TRUE(described.at("services").as_array().empty());
  EXPECT_EQ(described.at("failures").as_array().size(), 1u);
  EXPECT_EQ(ecs_->taskCount(), 0u);
}

TEST_F(EcsRollingUpdateTest, BadStrategiesOnUpdateChangeNothing) {
  registerWeb("busybox", false);
  ok("CreateService",
     R"({"cluster":"c1","serviceName":"svc","taskDefinition":"web","desiredCount":2,)"
     R"("capacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1}],"networkConfiguration":)" +
         networkJson() + "}");
  drain();
  bj::object before = service();
  auto update = [](const std::string& cps) {
    return R"({"cluster":"c1","service":"svc","forceNewDeployment":true,"capacityProviderStrategy":)" + cps + "}";
  };
  EXPECT_EQ(invalid("UpdateService", update(R"([{"capacityProvider":"FARGATE","base":1,"weight":1},
                                                {"capacityProvider":"FARGATE_SPOT","base":1,"weight":1}])")),
            "The specified capacity provider strategy cannot contain more than one capacity provider with a base "
            "value greater than zero.");
  EXPECT_EQ(invalid("UpdateService", update(R"([{"capacityProvider":"FARGATE_SPOT","weight":0}])")),
            "The specified capacity provider strategy must contain at least one capacity provider with a weight "
            "value greater than zero.");
  EXPECT_THAT(invalid("UpdateService", update(R"([{"capacityProvider":"nope","weight":1}])")),
              ::testing::StartsWith("The specified capacity provider strategy cannot contain a capacity provider that "
                                    "is not associated with the cluster."));
  EXPECT_EQ(invalid("UpdateService", R"({"cluster":"c1","service":"svc","forceNewDeployment":true,
      "launchType":"FARGATE","capacityProviderStrategy":[{"capacityProvider":"FARGATE","weight":1}]})"),
            "Specifying both a launch type and capacity provider strategy is not supported. Remove one and try "
            "again.");
  bj::object after = service();
  EXPECT_EQ(after.at("deployments"), before.at("deployments"));
  EXPECT_EQ(after.at("capacityProviderStrategy"), before.at("capacityProviderStrategy"));
  EXPECT_EQ(after.at("events"), before.at("events"));
}

// Percentages no rolling update can keep. The messages are berth's (the
// ECS API reference documents the ranges, not the texts); the checks are on
// the error type, the parameter named, and that nothing changed.
TEST_F(EcsRollingUpdateTest, ImpossiblePercentagesAreRejected) {
  registerWeb("busybox", false);
  auto create = [&](const std::string& name, const std::string& dc) {
    return R"({"cluster":"c1","serviceName":")" + name +
           R"(","taskDefinition":"web","desiredCount":2,"launchType":"FARGATE","networkConfiguration":)" +
           networkJson() + R"(,"deploymentConfiguration":)" + dc + "}";
  };
  using ::testing::HasSubstr;
  // maximumPercent below 100 (here below minimumHealthyPercent as well).
  EXPECT_THAT(invalid("CreateService", create("a", R"({"minimumHealthyPercent":100,"maximumPercent":50})")),
              HasSubstr("Maximum Percent"));
  EXPECT_THAT(invalid("CreateService", create("b", R"({"maximumPercent":99})")), HasSubstr("Maximum Percent"));
  EXPECT_THAT(invalid("CreateService", create("c", R"({"maximumPercent":2001})")), HasSubstr("Maximum Percent"));
  // minimumHealthyPercent above 100, or above maximumPercent.
  EXPECT_THAT(invalid("CreateService", create("d", R"({"minimumHealthyPercent":150,"maximumPercent":120})")),
              HasSubstr("Minimum Healthy Percent"));
  EXPECT_THAT(invalid("CreateService", create("e", R"({"minimumHealthyPercent":-1})")),
              HasSubstr("Minimum Healthy Percent"));
  EXPECT_EQ(ecs_->taskCount(), 0u);
  EXPECT_TRUE(ok("ListServices", R"({"cluster":"c1"})").at("serviceArns").as_array().empty());

  ok("CreateService", create("svc", R"({"minimumHealthyPercent":50,"maximumPercent":150})"));
  drain();
  bj::object before = service();
  EXPECT_THAT(invalid("UpdateService", R"({"cluster":"c1","service":"svc",
                  "deploymentConfiguration":{"maximumPercent":80}})"),
              HasSubstr("Maximum Percent"));
  // Merged with what the service has (max 150): 160 > 150.
  EXPECT_THAT(invalid("UpdateService", R"({"cluster":"c1","service":"svc",
                  "deploymentConfiguration":{"minimumHealthyPercent":160}})"),
              HasSubstr("Minimum Healthy Percent"));
  EXPECT_THAT(invalid("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web",
                  "forceNewDeployment":true,"deploymentConfiguration":{"minimumHealthyPercent":100,"maximumPercent":90}})"),
              HasSubstr("Maximum Percent"));
  bj::object after = service();
  EXPECT_EQ(after.at("deploymentConfiguration"), before.at("deploymentConfiguration"));
  EXPECT_EQ(after.at("deployments"), before.at("deployments"));
}

}  // namespace
}  // namespace berth::ecs
