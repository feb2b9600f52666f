// RealAgent's task lifecycle on fakes and simulated time (real_agent_fixture.h).
#include "agent/real_agent.h"

#include <algorithm>
#include <condition_variable>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/thread_pool.hpp>

#include <gmock/gmock.h>

#include "real_agent_fixture.h"

namespace berth::agent::testing {
namespace {

using ::testing::HasSubstr;

bool hasEnv(const runtime::ContainerConfig& c, const std::string& entry) {
  return std::find(c.env.begin(), c.env.end(), entry) != c.env.end();
}

TEST_F(RealAgentTest, HappyPathReachesRunningAndStopsCleanly) {
  WallTime t0 = clock_.now();
  launch("t1", bj::array{containerDef("app", kAppImage)});
  ASSERT_EQ(phases(), (std::vector<std::string>{"PROVISIONING", "PENDING", "ACTIVATING", "RUNNING"}));
  EXPECT_EQ(events_[0].private_ipv4, "172.31.0.4");
  EXPECT_EQ(events_[0].mac_address, "02:b7:ac:1f:00:04");
  EXPECT_EQ(events_[1].pull_started_at, t0);
  EXPECT_EQ(events_[2].pull_stopped_at, t0);
  const TaskEvent& running = last();
  EXPECT_EQ(running.at, t0);
  EXPECT_EQ(running.task_arn, std::string(kTaskArnPrefix) + "t1");
  EXPECT_EQ(running.health_status, "UNKNOWN");
  const ContainerState* app = container(running, "app");
  ASSERT_NE(app, nullptr);
  EXPECT_EQ(app->last_status, "RUNNING");
  EXPECT_EQ(app->runtime_id, "t1-app");
  EXPECT_EQ(app->image_digest, app_digest_);
  EXPECT_EQ(agent_->knownTasks(), std::vector<std::string>{std::string(kTaskArnPrefix) + "t1"});

  // What the runtime was asked to run.
  auto limits = runtime_.taskCgroup("t1");
  ASSERT_TRUE(limits);
  EXPECT_EQ(limits->cpu_units, 256);
  EXPECT_EQ(limits->memory_mib, 512);
  auto config = runtime_.config(ref("t1", "app"));
  ASSERT_TRUE(config);
  EXPECT_EQ(config->argv, (std::vector<std::string>{"/bin/server", "-p", "8000"}));
  EXPECT_EQ(config->cwd, "/srv");
  EXPECT_EQ(config->user, "1000:1000");
  EXPECT_EQ(config->runtime_id, "t1-app");
  EXPECT_EQ(config->netns_path, data_ / "tasks/t1/netns");
  EXPECT_EQ(config->hostname, "ip-172-31-0-4.ec2.internal");
  EXPECT_EQ(config->rootfs, data_ / "tasks/t1/rootfs/app/rootfs/merged");
  EXPECT_TRUE(hasEnv(*config, "MODE=prod"));
  EXPECT_TRUE(hasEnv(*config, "AWS_REGION=us-east-1"));
  EXPECT_TRUE(hasEnv(*config, "AWS_DEFAULT_REGION=us-east-1"));
  EXPECT_TRUE(hasEnv(*config, "AWS_EXECUTION_ENV=AWS_ECS_FARGATE"));
  EXPECT_TRUE(hasEnv(*config, "AWS_ENDPOINT_URL=http://172.31.0.1:4566"));
  EXPECT_TRUE(hasEnv(*config, "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/t1-app"));
  EXPECT_TRUE(hasEnv(*config, "ECS_CONTAINER_METADATA_URI=http://169.254.170.2/v3/t1-app"));
  ASSERT_EQ(config->mounts.size(), 3u);
  EXPECT_EQ(config->mounts[0].destination, "/etc/hosts");
  EXPECT_EQ(config->mounts[1].destination, "/etc/resolv.conf");
  EXPECT_EQ(image::testing::slurp(config->mounts[1].source), "nameserver 172.31.0.2\nsearch ec2.internal\n");
  EXPECT_THAT(image::testing::slurp(config->mounts[0].source), HasSubstr("172.31.0.4 ip-172-31-0-4.ec2.internal"));
  EXPECT_EQ(mounter_.mounted.size(), 1u);
  EXPECT_TRUE(std::filesystem::exists(data_ / "tasks/t1/task.json"));

  // StopTask: the image's STOPSIGNAL, then the container exits by itself.
  events_.clear();
  clock_.advance(std::chrono::seconds(60));
  agent_->stop(std::string(kTaskArnPrefix) + "t1", StopRequest{"UserInitiated", "Task stopped by user"});
  drain();
  EXPECT_EQ(phases(), (std::vector<std::string>{"DEACTIVATING", "STOPPING"}));
  EXPECT_EQ(runtime_.signalsSent(ref("t1", "app")), std::vector<int>{SIGQUIT});
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_EQ(phases(), (std::vector<std::string>{"DEACTIVATING", "STOPPING", "DEPROVISIONING", "STOPPED"}));
  const TaskEvent& stopped = last();
  EXPECT_EQ(stopped.stop_code, "UserInitiated");
  EXPECT_EQ(stopped.stopped_reason, "Task stopped by user");
  EXPECT_EQ(stopped.at, t0 + std::chrono::seconds(60));
  EXPECT_EQ(container(stopped, "app")->last_status, "STOPPED");
  EXPECT_EQ(container(stopped, "app")->exit_code, 0);

  // Everything released.
  EXPECT_FALSE(runtime_.exists(ref("t1", "app")));
  EXPECT_FALSE(runtime_.taskCgroup("t1"));
  EXPECT_TRUE(ipam_.leases().empty());
  EXPECT_FALSE(kernel_.pins().contains(data_ / "tasks/t1/netns"));
  EXPECT_TRUE(mounter_.mounted.empty());
  EXPECT_FALSE(std::filesystem::exists(data_ / "tasks/t1/task.json"));
  EXPECT_FALSE(std::filesystem::exists(data_ / "tasks/t1/rootfs"));
  EXPECT_EQ(agent_->activeTasks(), 0u);

  // Stop is idempotent; a stopped task is not reported again.
  agent_->stop(std::string(kTaskArnPrefix) + "t1", StopRequest{"UserInitiated", "again"});
  drain();
  EXPECT_EQ(events_.size(), 4u);
}

TEST_F(RealAgentTest, StopTimeoutEndsInSigkill) {
  bj::object def = containerDef("app", kPlainImage);
  def["stopTimeout"] = 10;
  launch("t1", bj::array{def});
  runtime_.setTerminatingSignals({SIGKILL});  // the process ignores SIGTERM
  agent_->stop(std::string(kTaskArnPrefix) + "t1", StopRequest{"UserInitiated", "bye"});
  drain();
  EXPECT_EQ(runtime_.signalsSent(ref("t1", "app")), std::vector<int>{SIGTERM});
  advance(std::chrono::seconds(9));
  EXPECT_EQ(runtime_.signalsSent(ref("t1", "app")), std::vector<int>{SIGTERM});
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPING"));
  advance(std::chrono::seconds(1));
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
  EXPECT_EQ(container(last(), "app")->exit_code, 137);
}

TEST_F(RealAgentTest, EssentialContainerExitStopsTheTask) {
  launch("t1", bj::array{containerDef("app", kPlainImage), containerDef("sidecar", kPlainImage, false)});
  ASSERT_EQ(taskPhaseName(last().phase), std::string("RUNNING"));
  // A non-essential exit is reported, the task keeps running.
  runtime_.exitContainer(ref("t1", "sidecar"), runtime::ExitStatus{1, 0, false, {}});
  drain();
  EXPECT_EQ(taskPhaseName(last().phase), std::string("RUNNING"));
  EXPECT_EQ(container(last(), "sidecar")->exit_code, 1);

  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{3, 0, false, {}});
  drain();
  const TaskEvent& stopped = last();
  EXPECT_EQ(taskPhaseName(stopped.phase), std::string("STOPPED"));
  EXPECT_EQ(stopped.stop_code, "EssentialContainerExited");
  EXPECT_EQ(stopped.stopped_reason, "Essential container in task exited");
  EXPECT_EQ(container(stopped, "app")->exit_code, 3);
  EXPECT_EQ(container(stopped, "sidecar")->exit_code, 1);
}

TEST_F(RealAgentTest, OomKillIsReportedWithAwsReason) {
  launch("t1", bj::array{containerDef("app", kPlainImage)});
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{137, 9, true, {}});
  drain();
  const ContainerState* app = container(last(), "app");
  EXPECT_EQ(app->exit_code, 137);
  EXPECT_EQ(app->reason, "OutOfMemoryError: Container killed due to memory usage");
  EXPECT_EQ(last().stop_code, "EssentialContainerExited");
}

TEST_F(RealAgentTest, PullFailureStopsWithCannotPullContainerErrorAndCleansUp) {
  launch("t1", bj::array{containerDef("app", "123456789012.dkr.ecr.us-east-1.amazonaws.com/app:nope")});
  const TaskEvent& stopped = last();
  EXPECT_EQ(taskPhaseName(stopped.phase), std::string("STOPPED"));
  EXPECT_EQ(stopped.stop_code, "TaskFailedToStart");
  EXPECT_THAT(stopped.stopped_reason, HasSubstr("CannotPullContainerError: "));
  EXPECT_THAT(stopped.stopped_reason, HasSubstr("app:nope"));
  EXPECT_TRUE(stopped.pull_started_at.has_value());
  EXPECT_TRUE(stopped.pull_stopped_at.has_value());
  EXPECT_EQ(container(stopped, "app")->last_status, "STOPPED");
  EXPECT_EQ(runtime_.startCount(), 0);
  EXPECT_FALSE(runtime_.taskCgroup("t1"));
  EXPECT_TRUE(ipam_.leases().empty());
  EXPECT_EQ(agent_->activeTasks(), 0u);
}

TEST_F(RealAgentTest, StartFailureStopsWithCannotStartContainerError) {
  runtime_.failNext("start", Error{ErrorCode::kIo, "runc create failed: exec: \"/bin/nope\": not found", "", 0});
  launch("t1", bj::array{containerDef("app", kPlainImage)});
  EXPECT_EQ(last().stop_code, "TaskFailedToStart");
  EXPECT_EQ(last().stopped_reason, "CannotStartContainerError: runc create failed: exec: \"/bin/nope\": not found");
  EXPECT_TRUE(mounter_.mounted.empty());
  EXPECT_TRUE(ipam_.leases().empty());
}

TEST_F(RealAgentTest, NetworkFailureIsAResourceInitializationError) {
  kernel_.failNext("createVeth", EPERM);
  launch("t1", bj::array{containerDef("app", kPlainImage)});
  EXPECT_EQ(last().stop_code, "TaskFailedToStart");
  EXPECT_THAT(last().stopped_reason, HasSubstr("ResourceInitializationError: "));
  EXPECT_TRUE(ipam_.leases().empty());
  EXPECT_FALSE(runtime_.taskCgroup("t1"));
}

TEST_F(RealAgentTest, DependsOnSuccessWaitsForTheInitContainer) {
  bj::object init = containerDef("init", kPlainImage, false);
  bj::object app = containerDef("app", kAppImage);
  app["dependsOn"] = bj::array{bj::object{{"containerName", "init"}, {"condition", "SUCCESS"}}};
  launch("t1", bj::array{app, init});
  EXPECT_TRUE(runtime_.running(ref("t1", "init")));
  EXPECT_FALSE(runtime_.exists(ref("t1", "app")));
  EXPECT_EQ(taskPhaseName(last().phase), std::string("ACTIVATING"));
  runtime_.exitContainer(ref("t1", "init"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_TRUE(runtime_.running(ref("t1", "app")));
  EXPECT_EQ(taskPhaseName(last().phase), std::string("RUNNING"));
  EXPECT_EQ(container(last(), "init")->exit_code, 0);
}

TEST_F(RealAgentTest, DependsOnSuccessFailsTheTaskWhenTheInitContainerFails) {
  bj::object init = containerDef("init", kPlainImage, false);
  bj::object app = containerDef("app", kAppImage);
  app["dependsOn"] = bj::array{bj::object{{"containerName", "init"}, {"condition", "SUCCESS"}}};
  launch("t1", bj::array{app, init});
  runtime_.exitContainer(ref("t1", "init"), runtime::ExitStatus{2, 0, false, {}});
  drain();
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
  EXPECT_EQ(last().stop_code, "TaskFailedToStart");
  EXPECT_THAT(last().stopped_reason, HasSubstr("CannotStartContainerError"));
  EXPECT_EQ(runtime_.startCount(), 1);
}

TEST_F(RealAgentTest, DependsOnHealthyAndShutdownInReverseOrder) {
  bj::object db = containerDef("db", kPlainImage);
  db["healthCheck"] = bj::object{{"command", bj::array{"CMD-SHELL", "pg_isready"}}, {"interval", 5}, {"retries", 3}};
  bj::object web = containerDef("web", kPlainImage);
  web["dependsOn"] = bj::array{bj::object{{"containerName", "db"}, {"condition", "HEALTHY"}}};
  launch("t1", bj::array{web, db});
  EXPECT_FALSE(runtime_.exists(ref("t1", "web")));
  EXPECT_EQ(taskPhaseName(last().phase), std::string("ACTIVATING"));
  advance(std::chrono::seconds(5));  // first check passes (exec default 0)
  EXPECT_EQ(runtime_.execs(ref("t1", "db")), (std::vector<std::vector<std::string>>{{"/bin/sh", "-c", "pg_isready"}}));
  EXPECT_TRUE(runtime_.running(ref("t1", "web")));
  EXPECT_EQ(taskPhaseName(last().phase), std::string("RUNNING"));
  EXPECT_EQ(container(last(), "db")->health_status, "HEALTHY");
  EXPECT_EQ(last().health_status, "HEALTHY");

  // Stop: web (the dependent) first; db only once web has exited.
  runtime_.setTerminatingSignals({SIGKILL});
  agent_->stop(std::string(kTaskArnPrefix) + "t1", StopRequest{"UserInitiated", "bye"});
  drain();
  EXPECT_EQ(runtime_.signalsSent(ref("t1", "web")), std::vector<int>{SIGTERM});
  EXPECT_TRUE(runtime_.signalsSent(ref("t1", "db")).empty());
  runtime_.exitContainer(ref("t1", "web"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_EQ(runtime_.signalsSent(ref("t1", "db")), std::vector<int>{SIGTERM});
  runtime_.exitContainer(ref("t1", "db"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
}

TEST_F(RealAgentTest, StartTimeoutGivesUpOnADependency) {
  bj::object db = containerDef("db", kPlainImage);
  db["healthCheck"] = bj::object{{"command", bj::array{"CMD", "/bin/check"}}, {"interval", 30}};
  db["startTimeout"] = 10;
  bj::object web = containerDef("web", kPlainImage);
  web["dependsOn"] = bj::array{bj::object{{"containerName", "db"}, {"condition", "HEALTHY"}}};
  launch("t1", bj::array{web, db});
  advance(std::chrono::seconds(9));
  EXPECT_EQ(taskPhaseName(last().phase), std::string("ACTIVATING"));
  advance(std::chrono::seconds(1));
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
  EXPECT_EQ(last().stop_code, "TaskFailedToStart");
  EXPECT_THAT(last().stopped_reason, HasSubstr("timed out"));
  EXPECT_FALSE(runtime_.exists(ref("t1", "web")));
}

TEST_F(RealAgentTest, FailingHealthCheckTurnsUnhealthyAfterRetries) {
  bj::object app = containerDef("app", kPlainImage);
  app["healthCheck"] =
      bj::object{{"command", bj::array{"CMD", "/bin/check"}}, {"interval", 10}, {"retries", 2}, {"startPeriod", 15}};
  launch("t1", bj::array{app});
  runtime_.setExecResult({"/bin/check"}, 1);
  EXPECT_EQ(last().health_status, "UNKNOWN");
  advance(std::chrono::seconds(10));  // inside the start period: does not count
  EXPECT_EQ(runtime_.execs(ref("t1", "app")).size(), 1u);
  EXPECT_EQ(container(last(), "app")->health_status, "UNKNOWN");
  advance(std::chrono::seconds(10));  // first failure that counts
  EXPECT_EQ(container(last(), "app")->health_status, "UNKNOWN");
  advance(std::chrono::seconds(10));  // second: UNHEALTHY
  EXPECT_EQ(container(last(), "app")->health_status, "UNHEALTHY");
  EXPECT_EQ(last().health_status, "UNHEALTHY");
  EXPECT_EQ(taskPhaseName(last().phase), std::string("RUNNING"));
  EXPECT_EQ(last().at, events_[3].at) << "updates keep RUNNING's time (startedAt)";
  // A timeout counts as a failure too; a success recovers.
  runtime_.setExecResult({"/bin/check"}, 0);
  advance(std::chrono::seconds(10));
  EXPECT_EQ(last().health_status, "HEALTHY");
}

TEST_F(RealAgentTest, StopWhileProvisioningStopsBeforeAnyContainerStarts) {
  agent_->launch(launchOf("t1", bj::array{containerDef("app", kPlainImage)}));
  agent_->stop(std::string(kTaskArnPrefix) + "t1", StopRequest{"UserInitiated", "changed my mind"});
  drain();
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
  EXPECT_EQ(last().stop_code, "UserInitiated");
  EXPECT_EQ(runtime_.startCount(), 0);
  EXPECT_TRUE(ipam_.leases().empty());
}

TEST_F(RealAgentTest, RecoverReadoptsRunningTasksAndStopsThoseWhoseContainersExited) {
  launch("t1", bj::array{containerDef("app", kPlainImage)});
  launch("t2", bj::array{containerDef("app", kPlainImage)});
  ASSERT_EQ(agent_->activeTasks(), 2u);
  // berthd dies: the agent goes away without stopping anything.
  agent_.reset();
  events_.clear();
  runtime_.setRecoverable({
      runtime::RecoveredContainer{ref("t1", "app"), "t1-app", runtime::ContainerState::kRunning, std::nullopt, 1000},
      runtime::RecoveredContainer{ref("t2", "app"), "t2-app", runtime::ContainerState::kExited,
                                  runtime::ExitStatus{2, 0, false, clock_.now()}, 0},
  });
  agent_ = makeAgent();
  ASSERT_TRUE(agent_->recover());
  std::vector<std::string> known = agent_->knownTasks();
  EXPECT_EQ(known, (std::vector<std::string>{std::string(kTaskArnPrefix) + "t1", std::string(kTaskArnPrefix) + "t2"}));
  drain();
  // t2 is reported STOPPED with its real exit code; t1 keeps running.
  const TaskEvent* t2_stopped = nullptr;
  for (const auto& e : events_)
    if (e.task_arn == std::string(kTaskArnPrefix) + "t2" && e.phase == TaskPhase::kStopped) t2_stopped = &e;
  ASSERT_NE(t2_stopped, nullptr);
  EXPECT_EQ(t2_stopped->stop_code, "EssentialContainerExited");
  EXPECT_EQ(container(*t2_stopped, "app")->exit_code, 2);
  EXPECT_EQ(agent_->activeTasks(), 1u);
  EXPECT_EQ(ipam_.leases().size(), 1u);
  // The re-adopted task is watched: its exit stops it.
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_EQ(last().task_arn, std::string(kTaskArnPrefix) + "t1");
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
  EXPECT_EQ(container(last(), "app")->exit_code, 0);
  EXPECT_TRUE(ipam_.leases().empty());
  EXPECT_TRUE(mounter_.mounted.empty());
}

TEST_F(RealAgentTest, RegistersTaskMetadataAndKeepsItsEndpointIdsAcrossARestart) {
  const std::string arn = std::string(kTaskArnPrefix) + "t1";
  endpoints::TaskMetadataRegistry metadata;
  agent_ = makeAgent(&metadata);
  launch("t1", bj::array{containerDef("app", kPlainImage)});
  auto doc = metadata.task(arn);
  ASSERT_TRUE(doc);
  EXPECT_EQ(doc->known_status, "RUNNING");
  ASSERT_EQ(doc->containers.size(), 1u);
  std::string endpoint_id = doc->containers[0].endpoint_id;
  std::string docker_id = doc->containers[0].docker_id;
  EXPECT_EQ(doc->containers[0].image_id, plain_digest_);
  auto config = runtime_.config(ref("t1", "app"));
  ASSERT_TRUE(config);
  EXPECT_TRUE(hasEnv(*config, "ECS_CONTAINER_METADATA_URI_V4=http://169.254.170.2/v4/" + endpoint_id));
  EXPECT_TRUE(metadata.lookup(endpoint_id));

  // berthd restarts with an empty registry: the task is registered again
  // under the ids its containers already have in their environment.
  drain();
  agent_.reset();
  endpoints::TaskMetadataRegistry after_restart;
  runtime_.setRecoverable(
      {runtime::RecoveredContainer{ref("t1", "app"), "t1-app", runtime::ContainerState::kRunning, std::nullopt, 1000}});
  agent_ = makeAgent(&after_restart);
  ASSERT_TRUE(agent_->recover());
  drain();
  auto again = after_restart.task(arn);
  ASSERT_TRUE(again);
  EXPECT_EQ(again->containers[0].endpoint_id, endpoint_id);
  EXPECT_EQ(again->containers[0].docker_id, docker_id);
  EXPECT_EQ(again->known_status, "RUNNING");

  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
  EXPECT_FALSE(after_restart.task(arn)) << "unregistered once STOPPED";
  agent_.reset();  // before the registries go away
}

TEST_F(RealAgentTest, ManyCyclesLeaveNothingBehind) {
  size_t namespaces = kernel_.namespaceCount();
  for (int i = 0; i < 50; ++i) {
    std::string id = fmt::format("c{:02}", i);
    bj::object app = containerDef("app", kPlainImage);
    app["healthCheck"] = bj::object{{"command", bj::array{"CMD", "/bin/check"}}, {"interval", 5}};
    launch(id, bj::array{app, containerDef("side", kAppImage, false)});
    ASSERT_EQ(taskPhaseName(last().phase), std::string("RUNNING")) << id;
    advance(std::chrono::seconds(5));
    agent_->stop(std::string(kTaskArnPrefix) + id, StopRequest{"UserInitiated", "cycle"});
    drain();
    advance(std::chrono::seconds(30));  // `side` ignores its SIGQUIT: SIGKILL
    ASSERT_EQ(taskPhaseName(last().phase), std::string("STOPPED")) << id;
  }
  EXPECT_EQ(agent_->activeTasks(), 0u);
  EXPECT_EQ(agent_->pendingTimers(), 0u);
  EXPECT_EQ(kernel_.namespaceCount(), namespaces);
  EXPECT_TRUE(kernel_.pins().empty());
  EXPECT_TRUE(ipam_.leases().empty());
  EXPECT_TRUE(mounter_.mounted.empty());
  EXPECT_TRUE(std::filesystem::is_empty(data_ / "tasks"));
}

TEST_F(RealAgentTest, RunsOnAThreadPoolWithItsOwnTimerPoll) {
  agent_.reset();
  boost::asio::thread_pool pool(2);
  std::mutex mu;
  std::condition_variable cv;
  std::vector<TaskEvent> seen;
  RealAgentConfig config;
  config.data_dir = data_;
  config.timer_period = std::chrono::milliseconds(5);
  RealAgentDeps deps{clock_, *images_, mounter_, *network_, runtime_, pool.get_executor()};
  auto agent = std::make_unique<RealAgent>(config, deps, [&](TaskEvent e) {
    std::lock_guard lock(mu);
    seen.push_back(std::move(e));
    cv.notify_all();
  });
  auto waitFor = [&](TaskPhase phase) {
    std::unique_lock lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(20), [&] { return !seen.empty() && seen.back().phase == phase; });
  };
  bj::object app = containerDef("app", kPlainImage);
  app["stopTimeout"] = 5;
  agent->launch(launchOf("t1", bj::array{app}));
  ASSERT_TRUE(waitFor(TaskPhase::kRunning));
  runtime_.setTerminatingSignals({SIGKILL});
  agent->stop(std::string(kTaskArnPrefix) + "t1", StopRequest{"UserInitiated", "bye"});
  ASSERT_TRUE(waitFor(TaskPhase::kStopping));
  // The kill deadline is set just before SIGTERM goes out: wait for that.
  for (int i = 0; i < 10000 && runtime_.signalsSent(ref("t1", "app")).empty(); ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(1));
  ASSERT_EQ(runtime_.signalsSent(ref("t1", "app")), std::vector<int>{SIGTERM});
  clock_.advance(std::chrono::seconds(5));  // the poll runs the deadline on the fake clock
  ASSERT_TRUE(waitFor(TaskPhase::kStopped));
  {
    std::lock_guard lock(mu);
    EXPECT_EQ(container(seen.back(), "app")->exit_code, 137);
  }
  pool.stop();
  pool.join();
  agent.reset();
}

TEST_F(RealAgentTest, TimersRunOnTheInjectedClockOnly) {
  bj::object app = containerDef("app", kPlainImage);
  app["healthCheck"] = bj::object{{"command", bj::array{"CMD", "/bin/check"}}, {"interval", 30}};
  launch("t1", bj::array{app});
  agent_->runTimers();
  drain();
  EXPECT_TRUE(runtime_.execs(ref("t1", "app")).empty());
  advance(std::chrono::seconds(30));
  EXPECT_EQ(runtime_.execs(ref("t1", "app")).size(), 1u);
}

}  // namespace
}  // namespace berth::agent::testing
