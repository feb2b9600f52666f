// ECS service deployments as AWS runs them: the circuit breaker and rollback,
// launch throttling, health-check replacement and service events, on a
// memory store, the fake agent (with an image that cannot be pulled) and a
// fake clock.
#include <algorithm>
#include <deque>
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

constexpr std::string_view kBadImage = "example.com/missing:latest";

class EcsServicesTest : public ::testing::Test {
 protected:
  void SetUp() override {
    network_ = *control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    start();
    ok("CreateCluster", R"({"clusterName":"c1"})");
  }

  // (Re)creates the control plane and the agent on the same store, as a
  // restart of berthd would.
  void start() {
    agent_.reset();
    ecs_ = std::make_unique<Ecs>(EcsConfig{}, *store_, clock_, network_);
    ASSERT_TRUE(ecs_->load());
    agent::FakeAgent::Options options;
    options.unpullable_images.insert(std::string(kBadImage));
    agent_ = std::make_unique<agent::FakeAgent>(
        clock_,
        [this](agent::TaskEvent e) {
          if (e.stop_code == "TaskFailedToStart") ++failed_launches_;
          if (health_never_passes_ && e.phase == agent::TaskPhase::kRunning) {
            e.health_status = "UNKNOWN";
            for (auto& c : e.containers) c.health_status = "UNKNOWN";
          }
          events_.push_back(std::move(e));
        },
        options);
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

  bj::object ok(std::string_view op, const std::string& input) {
    auto r = ecs_->invoke(op, bj::parse(input).as_object(), CallContext{"arn:aws:iam::000000000000:root", "req"});
    drain();
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r ? r->as_object() : bj::object{};
  }

  void tick() {
    ecs_->tick();
    drain();
  }

  std::string networkJson() const {
    return R"({"awsvpcConfiguration":{"subnets":[")" + network_.subnets[0].id + R"("]}})";
  }

  // Registers revision N of family "web" with `image`.
  void registerWeb(std::string_view image, bool health_check = false) {
    std::string hc = health_check ? R"(,"healthCheck":{"command":["CMD-SHELL","true"]})" : "";
    ok("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
        "cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":")" +
                                     std::string(image) + R"(","essential":true)" + hc + "}]}");
  }

  void createService(int desired, std::string_view task_definition, bool breaker, bool rollback) {
    ok("CreateService",
       R"({"cluster":"c1","serviceName":"svc","taskDefinition":")" + std::string(task_definition) +
           R"(","desiredCount":)" + std::to_string(desired) +
           R"(,"launchType":"FARGATE","deploymentConfiguration":{"deploymentCircuitBreaker":{"enable":)" +
           (breaker ? "true" : "false") + R"(,"rollback":)" + (rollback ? "true" : "false") +
           R"(}},"networkConfiguration":)" + networkJson() + "}");
  }

  bj::object service() {
    return ok("DescribeServices", R"({"cluster":"c1","services":["svc"]})").at("services").as_array()[0].as_object();
  }

  // Event messages, newest first.
  std::vector<std::string> messages() {
    std::vector<std::string> out;
    bj::object svc = service();
    for (const auto& e : svc.at("events").as_array()) out.emplace_back(e.at("message").as_string());
    return out;
  }

  std::vector<std::string> runningTaskArns() {
    std::vector<std::string> out;
    bj::object list = ok("ListTasks", R"({"cluster":"c1","serviceName":"svc"})");
    for (const auto& a : list.at("taskArns").as_array()) out.emplace_back(a.as_string());
    return out;
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  control::NetworkInventory network_;
  FakeClock clock_;
  std::deque<agent::TaskEvent> events_;
  int failed_launches_ = 0;
  // Tasks report RUNNING with their health still UNKNOWN (never HEALTHY).
  bool health_never_passes_ = false;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<Ecs> ecs_;
};

std::string str(const bj::value& v) { return v.is_string() ? std::string(v.as_string()) : bj::serialize(v); }

bool startsWith(const std::string& s, std::string_view prefix) { return s.starts_with(prefix); }

TEST(CircuitBreakerThreshold, IsHalfTheDesiredCountBetween3And200) {
  EXPECT_EQ(circuitBreakerThreshold(0), 3);
  EXPECT_EQ(circuitBreakerThreshold(1), 3);
  EXPECT_EQ(circuitBreakerThreshold(6), 3);
  EXPECT_EQ(circuitBreakerThreshold(7), 4);
  EXPECT_EQ(circuitBreakerThreshold(10), 5);
  EXPECT_EQ(circuitBreakerThreshold(399), 200);
  EXPECT_EQ(circuitBreakerThreshold(1000), 200);
}

TEST(LaunchThrottleDelay, DoublesUpTo27Minutes) {
  EXPECT_EQ(launchThrottleDelay(0), 0);
  EXPECT_EQ(launchThrottleDelay(1), 10);
  EXPECT_EQ(launchThrottleDelay(2), 20);
  EXPECT_EQ(launchThrottleDelay(8), 1280);
  EXPECT_EQ(launchThrottleDelay(9), 27 * 60);
  EXPECT_EQ(launchThrottleDelay(1000), 27 * 60);
}

TEST_F(EcsServicesTest, HealthyRolloutCompletes) {
  registerWeb("busybox");
  registerWeb("busybox:2");
  createService(2, "web:1", true, true);
  auto first = service();
  std::string first_id(first.at("deployments").as_array()[0].at("id").as_string());
  EXPECT_EQ(first.at("deployments").as_array()[0].at("rolloutState"), "COMPLETED");

  auto updated = ok("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web:2"})");
  const auto& deps = updated.at("service").at("deployments").as_array();
  ASSERT_EQ(deps.size(), 2u);
  std::string id(deps[0].at("id").as_string());
  EXPECT_EQ(deps[0].at("rolloutState"), "IN_PROGRESS");
  EXPECT_EQ(str(deps[0].at("rolloutStateReason")), "ECS deployment " + id + " in progress.");
  for (int i = 0; i < 3; ++i) tick();

  auto svc = service();
  ASSERT_EQ(svc.at("deployments").as_array().size(), 1u);
  const auto& d = svc.at("deployments").as_array()[0].as_object();
  EXPECT_EQ(str(d.at("id")), id);
  EXPECT_EQ(d.at("status"), "PRIMARY");
  EXPECT_EQ(d.at("rolloutState"), "COMPLETED");
  EXPECT_EQ(str(d.at("rolloutStateReason")), "ECS deployment " + id + " completed.");
  EXPECT_EQ(d.at("failedTasks"), 0);
  EXPECT_EQ(d.at("runningCount"), 2);
  EXPECT_EQ(svc.at("taskDefinition"), "arn:aws:ecs:us-east-1:000000000000:task-definition/web:2");
  auto m = messages();
  ASSERT_GE(m.size(), 5u);
  EXPECT_EQ(m[0], "(service svc) has reached a steady state.");
  EXPECT_EQ(m[1], "(service svc) (deployment " + id + ") deployment completed.");
  // Each new task that runs lets one old task go.
  EXPECT_TRUE(startsWith(m[2], "(service svc) has stopped 1 running tasks: (task ")) << m[2];
  EXPECT_TRUE(startsWith(m[3], "(service svc) has stopped 1 running tasks: (task ")) << m[3];
  EXPECT_TRUE(startsWith(m[4], "(service svc) has started 2 tasks: (task ")) << m[4];
  // Every event has an id and a time.
  for (const auto& e : svc.at("events").as_array()) {
    EXPECT_FALSE(e.at("id").as_string().empty());
    EXPECT_TRUE(e.at("createdAt").is_number());
  }
  EXPECT_EQ(failed_launches_, 0);
}

TEST_F(EcsServicesTest, FailingDeploymentTripsBreakerAndRollsBack) {
  registerWeb("busybox");
  registerWeb(kBadImage);
  createService(1, "web:1", true, true);
  std::string good_id(service().at("deployments").as_array()[0].at("id").as_string());
  auto good_tasks = runningTaskArns();
  ASSERT_EQ(good_tasks.size(), 1u);

  auto updated = ok("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web:2"})");
  std::string bad_id(updated.at("service").at("deployments").as_array()[0].at("id").as_string());
  // First failed launch: counted, and the next launch waits 10 s.
  EXPECT_EQ(failed_launches_, 1);
  auto svc = service();
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("failedTasks"), 1);
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("rolloutState"), "IN_PROGRESS");
  tick();
  EXPECT_EQ(failed_launches_, 1);
  clock_.advance(std::chrono::seconds(10));
  tick();
  EXPECT_EQ(failed_launches_, 2);
  svc = service();
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("failedTasks"), 2);
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("rolloutState"), "IN_PROGRESS");

  // The third (threshold for desired 1: 3) trips the breaker.
  clock_.advance(std::chrono::seconds(20));
  ecs_->tick();
  ASSERT_EQ(events_.size(), 1u);
  ecs_->onTaskEvent(events_.front());  // the third failed launch only
  events_.pop_front();
  EXPECT_EQ(failed_launches_, 3);
  svc = service();
  const auto& deps = svc.at("deployments").as_array();
  ASSERT_EQ(deps.size(), 3u);
  EXPECT_EQ(deps[0].at("status"), "PRIMARY");
  EXPECT_EQ(deps[0].at("taskDefinition"), "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1");
  EXPECT_EQ(deps[0].at("rolloutState"), "IN_PROGRESS");
  std::string rollback_id(deps[0].at("id").as_string());
  EXPECT_NE(rollback_id, good_id);
  EXPECT_EQ(str(deps[1].at("id")), bad_id);
  EXPECT_EQ(deps[1].at("status"), "ACTIVE");
  EXPECT_EQ(deps[1].at("rolloutState"), "FAILED");
  EXPECT_EQ(deps[1].at("rolloutStateReason"), "ECS deployment circuit breaker: tasks failed to start.");
  EXPECT_EQ(deps[1].at("failedTasks"), 3);
  EXPECT_EQ(str(deps[2].at("id")), good_id);
  EXPECT_EQ(svc.at("taskDefinition"), "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1");

  // The rollback deployment replaces the service's tasks and completes.
  drain();
  for (int i = 0; i < 3; ++i) tick();
  EXPECT_EQ(failed_launches_, 3);
  svc = service();
  ASSERT_EQ(svc.at("deployments").as_array().size(), 1u);
  EXPECT_EQ(str(svc.at("deployments").as_array()[0].at("id")), rollback_id);
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("rolloutState"), "COMPLETED");
  EXPECT_EQ(svc.at("runningCount"), 1);
  auto now_tasks = runningTaskArns();
  ASSERT_EQ(now_tasks.size(), 1u);
  EXPECT_NE(now_tasks[0], good_tasks[0]);

  std::vector<std::string> expected_prefixes = {
      "(service svc) has reached a steady state.",
      "(service svc) (deployment " + rollback_id + ") deployment completed.",
      "(service svc) has stopped 1 running tasks: (task ",
      "(service svc) has started 1 tasks: (task ",
      "(service svc) rolling back to deployment " + good_id + ".",
      "(service svc) (deployment " + bad_id + ") deployment failed: tasks failed to start.",
      "(service svc) has started 1 tasks: (task ",
      "(service svc) is unable to consistently start tasks successfully.",
      "(service svc) has started 1 tasks: (task ",
      "(service svc) has started 1 tasks: (task ",
      "(service svc) has reached a steady state.",
      "(service svc) (deployment " + good_id + ") deployment completed.",
      "(service svc) has started 1 tasks: (task ",
  };
  auto m = messages();
  ASSERT_EQ(m.size(), expected_prefixes.size());
  for (size_t i = 0; i < m.size(); ++i) EXPECT_TRUE(startsWith(m[i], expected_prefixes[i])) << i << ": " << m[i];
}

TEST_F(EcsServicesTest, FailingDeploymentWithoutRollbackEndsFailed) {
  registerWeb(kBadImage);
  createService(2, "web:1", true, false);
  // Two tasks launch at once and fail: 2 of the threshold 3.
  EXPECT_EQ(failed_launches_, 2);
  auto d = service().at("deployments").as_array()[0].as_object();
  EXPECT_EQ(d.at("failedTasks"), 2);
  EXPECT_EQ(d.at("rolloutState"), "IN_PROGRESS");
  clock_.advance(std::chrono::seconds(20));
  tick();
  // Both relaunched tasks fail; the first trips the breaker, the second is
  // not counted against a deployment that already failed.
  EXPECT_EQ(failed_launches_, 4);
  auto svc = service();
  ASSERT_EQ(svc.at("deployments").as_array().size(), 1u);
  d = svc.at("deployments").as_array()[0].as_object();
  std::string id(d.at("id").as_string());
  EXPECT_EQ(d.at("status"), "PRIMARY");
  EXPECT_EQ(d.at("rolloutState"), "FAILED");
  EXPECT_EQ(d.at("rolloutStateReason"), "ECS deployment circuit breaker: tasks failed to start.");
  EXPECT_EQ(d.at("failedTasks"), 3);
  auto m = messages();
  ASSERT_GE(m.size(), 1u);
  EXPECT_EQ(m[0], "(service svc) (deployment " + id + ") deployment failed: tasks failed to start.");
  for (const auto& msg : m) EXPECT_EQ(msg.find("rolling back"), std::string::npos);

  // A failed deployment launches nothing more.
  clock_.advance(std::chrono::hours(1));
  tick();
  EXPECT_EQ(failed_launches_, 4);
  EXPECT_EQ(service().at("runningCount"), 0);
}

TEST_F(EcsServicesTest, WithoutBreakerFailuresAreCountedButDeploymentStaysInProgress) {
  registerWeb(kBadImage);
  createService(1, "web:1", false, false);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(std::chrono::seconds(static_cast<int64_t>(launchThrottleDelay(i + 1))));
    tick();
  }
  auto d = service().at("deployments").as_array()[0].as_object();
  EXPECT_EQ(d.at("rolloutState"), "IN_PROGRESS");
  EXPECT_EQ(d.at("failedTasks"), 6);
}

TEST_F(EcsServicesTest, LaunchThrottleGrowsAndANewDeploymentResetsIt) {
  registerWeb(kBadImage);
  registerWeb("busybox");
  createService(1, "web:1", false, false);
  ASSERT_EQ(failed_launches_, 1);
  for (int n = 1; n <= 10; ++n) {
    auto delay = std::chrono::seconds(static_cast<int64_t>(launchThrottleDelay(n)));
    clock_.advance(delay - std::chrono::seconds(1));
    tick();
    ASSERT_EQ(failed_launches_, n) << "launched before the " << delay.count() << " s delay after failure " << n;
    clock_.advance(std::chrono::seconds(1));
    tick();
    ASSERT_EQ(failed_launches_, n + 1) << "no launch " << delay.count() << " s after failure " << n;
  }
  // The throttle event is said once, when throttling begins.
  int throttled = 0;
  for (const auto& m : messages())
    throttled += m == "(service svc) is unable to consistently start tasks successfully.";
  EXPECT_EQ(throttled, 1);

  // A new task definition launches at once.
  ok("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web:2"})");
  EXPECT_EQ(service().at("runningCount"), 1);
  EXPECT_EQ(messages()[0], "(service svc) has reached a steady state.");
}

TEST_F(EcsServicesTest, ThrottleAndLastCompletedDeploymentSurviveARestart) {
  registerWeb("busybox");
  registerWeb(kBadImage);
  createService(0, "web:1", true, true);
  std::string good_id(service().at("deployments").as_array()[0].at("id").as_string());
  ok("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web:2","desiredCount":1})");
  ASSERT_EQ(failed_launches_, 1);

  start();
  tick();
  EXPECT_EQ(failed_launches_, 1) << "the 10 s launch delay was forgotten";
  clock_.advance(std::chrono::seconds(10));
  tick();
  EXPECT_EQ(failed_launches_, 2);
  clock_.advance(std::chrono::seconds(20));
  tick();
  EXPECT_EQ(failed_launches_, 3);
  // The breaker rolled back to the deployment completed before the restart.
  auto m = messages();
  EXPECT_NE(std::find(m.begin(), m.end(), "(service svc) rolling back to deployment " + good_id + "."), m.end());
  auto svc = service();
  EXPECT_EQ(svc.at("taskDefinition"), "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1");
  EXPECT_EQ(svc.at("runningCount"), 1);
}

TEST_F(EcsServicesTest, SteadyStateIsRepeatedAtMostEverySixHours) {
  registerWeb("busybox");
  createService(1, "web:1", false, false);
  auto count = [this] {
    int n = 0;
    for (const auto& m : messages()) n += m == "(service svc) has reached a steady state.";
    return n;
  };
  EXPECT_EQ(count(), 1);
  for (int i = 0; i < 5; ++i) {
    clock_.advance(std::chrono::hours(1));
    tick();
  }
  EXPECT_EQ(count(), 1);
  clock_.advance(std::chrono::hours(1));
  tick();
  EXPECT_EQ(count(), 2);
}

TEST_F(EcsServicesTest, UnhealthyTaskIsReplacedAndCountsAsStageTwoFailure) {
  registerWeb("busybox", /*health_check=*/true);
  registerWeb("busybox:2", /*health_check=*/true);
  createService(1, "web:1", true, true);
  ok("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web:2"})");
  // web:2's task runs and is healthy; its replacement of web:1 is done.
  for (int i = 0; i < 2; ++i) tick();
  auto arns = runningTaskArns();
  ASSERT_EQ(arns.size(), 1u);

  // The task turns unhealthy: ECS stops and replaces it.
  agent::TaskEvent unhealthy;
  unhealthy.task_arn = arns[0];
  unhealthy.phase = agent::TaskPhase::kRunning;
  unhealthy.at = clock_.now();
  unhealthy.health_status = "UNHEALTHY";
  ecs_->onTaskEvent(unhealthy);
  drain();
  std::string id = arns[0].substr(arns[0].rfind('/') + 1);
  auto task = ok("DescribeTasks", R"({"cluster":"c1","tasks":[")" + arns[0] + R"("]})").at("tasks").as_array()[0];
  EXPECT_EQ(task.at("lastStatus"), "STOPPED");
  EXPECT_EQ(task.at("stopCode"), "ServiceSchedulerInitiated");
  EXPECT_EQ(task.at("stoppedReason"), "Task failed container health checks");
  bool said = false;
  for (const auto& m : messages()) said |= m == "(service svc) (task " + id + ") failed container health checks.";
  EXPECT_TRUE(said);
  auto after = runningTaskArns();
  ASSERT_EQ(after.size(), 1u);
  EXPECT_NE(after[0], arns[0]);
}

TEST_F(EcsServicesTest, TasksFailingHealthChecksTripTheBreakerInStageTwo) {
  registerWeb("busybox", /*health_check=*/true);
  registerWeb("busybox:2", /*health_check=*/true);
  createService(1, "web:1", true, true);
  std::string good_id(service().at("deployments").as_array()[0].at("id").as_string());
  health_never_passes_ = true;
  auto updated = ok("UpdateService", R"({"cluster":"c1","service":"svc","taskDefinition":"web:2"})");
  std::string bad_id(updated.at("service").at("deployments").as_array()[0].at("id").as_string());

  for (int failure = 1; failure <= 3; ++failure) {
    auto list = ok("ListTasks", R"({"cluster":"c1","startedBy":")" + bad_id + R"("})");
    ASSERT_EQ(list.at("taskArns").as_array().size(), 1u) << "failure " << failure;
    if (failure == 3) health_never_passes_ = false;  // the rollback's tasks are healthy
    agent::TaskEvent unhealthy;
    unhealthy.task_arn = std::string(list.at("taskArns").as_array()[0].as_string());
    unhealthy.phase = agent::TaskPhase::kRunning;
    unhealthy.at = clock_.now();
    unhealthy.health_status = "UNHEALTHY";
    ecs_->onTaskEvent(unhealthy);
    if (failure == 3) break;  // looked at below, before the rollback runs
    drain();
    {
      auto d = service().at("deployments").as_array()[0].as_object();
      EXPECT_EQ(str(d.at("id")), bad_id);
      EXPECT_EQ(d.at("failedTasks"), failure);
      EXPECT_EQ(d.at("rolloutState"), "IN_PROGRESS");
    }
  }
  auto svc = service();
  const auto& deps = svc.at("deployments").as_array();
  ASSERT_GE(deps.size(), 2u);
  EXPECT_EQ(deps[0].at("taskDefinition"), "arn:aws:ecs:us-east-1:000000000000:task-definition/web:1");
  EXPECT_EQ(str(deps[1].at("id")), bad_id);
  EXPECT_EQ(deps[1].at("rolloutState"), "FAILED");
  EXPECT_EQ(deps[1].at("rolloutStateReason"), "ECS deployment circuit breaker: tasks failed health checks.");
  EXPECT_EQ(deps[1].at("failedTasks"), 3);
  auto m = messages();
  EXPECT_NE(std::find(m.begin(), m.end(),
                      "(service svc) (deployment " + bad_id + ") deployment failed: tasks failed health checks."),
            m.end());
  EXPECT_NE(std::find(m.begin(), m.end(), "(service svc) rolling back to deployment " + good_id + "."), m.end());
  drain();
  for (int i = 0; i < 2; ++i) tick();
  svc = service();
  ASSERT_EQ(svc.at("deployments").as_array().size(), 1u);
  EXPECT_EQ(svc.at("deployments").as_array()[0].at("rolloutState"), "COMPLETED");
  EXPECT_EQ(svc.at("runningCount"), 1);
}

TEST_F(EcsServicesTest, EventsKeepTheNewestHundred) {
  registerWeb("busybox");
  createService(1, "web:1", false, false);
  for (int i = 0; i < 40; ++i) {
    ok("UpdateService", R"({"cluster":"c1","service":"svc","forceNewDeployment":true})");
    for (int j = 0; j < 2; ++j) tick();
  }
  auto m = messages();
  EXPECT_EQ(m.size(), 100u);
  EXPECT_EQ(m[0], "(service svc) has reached a steady state.");
}

}  // namespace
}  // namespace berth::ecs
