// RealAgent with the awslogs driver: the fakes of real_agent_fixture.h plus
// a real LogStore; the test writes the output.log files a monitor would.
#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gmock/gmock.h>

#include "agent/runtime/log_format.h"
#include "agent/task_record.h"
#include "logs/log_store.h"
#include "real_agent_fixture.h"

namespace berth::agent::testing {
namespace {

using namespace std::chrono_literals;

constexpr const char* kGroup = "/ecs/web";

bj::object awslogsDef(const std::string& name, bool create_group) {
  bj::object def = containerDef(name, kPlainImage);
  bj::object options{{"awslogs-group", kGroup}, {"awslogs-region", "us-east-1"}, {"awslogs-stream-prefix", "ecs"}};
  if (create_group) options["awslogs-create-group"] = "true";
  def["logConfiguration"] = bj::object{{"logDriver", "awslogs"}, {"options", std::move(options)}};
  return def;
}

std::string record(int i, std::string_view text, bool partial = false) {
  timespec ts{1795866000 + i, 0};
  return fmt::format("{} stdout {} {}\n", runtime::formatLogTime(ts), partial ? 'P' : 'F', text);
}

// A switch the store's writer thread waits on before writing (appends hang).
struct Gate {
  std::mutex mu;
  std::condition_variable cv;
  bool closed = false;
  void close() {
    std::lock_guard lock(mu);
    closed = true;
  }
  void open() {
    std::lock_guard lock(mu);
    closed = false;
    cv.notify_all();
  }
  int wait() {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return !closed; });
    return 0;
  }
};

class RealAgentLogsTest : public RealAgentTest {
 protected:
  RealAgentLogsTest() {
    agent_.reset();
    runtime_.setDataDir(data_);
    openStore();
    agent_ = makeLogsAgent();
  }
  ~RealAgentLogsTest() override {
    gate_.open();
    drain();
    agent_.reset();  // before the store
    store_.reset();
  }

  void openStore() {
    logs::LogStoreOptions o{.dir = scratch_.path() / "logs", .clock = &clock_, .sync = false};
    o.inject_fault = [this](std::string_view op) { return op == "write" ? gate_.wait() : 0; };
    store_ = std::move(logs::LogStore::open(std::move(o)).value());
  }
  std::unique_ptr<RealAgent> makeLogsAgent() {
    RealAgentConfig config;
    config.data_dir = data_;
    config.timer_period = std::chrono::milliseconds(0);
    config.awslogs.flush_interval = 5ms;
    config.awslogs.sweep_interval = 20ms;
    config.awslogs.retry_after = 10ms;
    RealAgentDeps deps{clock_, *images_, mounter_, *network_, runtime_, io_.get_executor()};
    deps.logs = store_.get();
    return std::make_unique<RealAgent>(config, deps, [this](TaskEvent e) { events_.push_back(std::move(e)); });
  }

  // Runs the agent's handlers until `f` holds (the driver calls back from
  // its own thread).
  template <typename F>
  bool until(F f) {
    auto deadline = std::chrono::steady_clock::now() + 10s;
    while (std::chrono::steady_clock::now() < deadline) {
      drain();
      if (f()) return true;
      std::this_thread::sleep_for(2ms);
    }
    return f();
  }
  void writeOutput(const std::string& task, const std::string& name, const std::string& text) {
    std::filesystem::path path = runtime_.logPath(ref(task, name));
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path, std::ios::app | std::ios::binary) << text;
  }
  std::vector<std::string> messages(const std::string& stream) {
    logs::ReadQuery q;
    q.group = kGroup;
    q.streams = {stream};
    std::vector<std::string> out;
    auto page = store_->read(q);
    if (page)
      for (const auto& e : page->events) out.push_back(e.message);
    return out;
  }
  std::string lastPhase() const { return events_.empty() ? "" : taskPhaseName(last().phase); }
  bool taskDirExists(const std::string& id) const { return std::filesystem::exists(data_ / "tasks" / id); }

  Gate gate_;
  std::unique_ptr<logs::LogStore> store_;
};

TEST_F(RealAgentLogsTest, AMissingLogGroupFailsTheTaskToStartAsOnFargate) {
  launch("t1", bj::array{awslogsDef("app", false)});
  EXPECT_EQ(lastPhase(), "STOPPED");
  EXPECT_EQ(last().stop_code, "TaskFailedToStart");
  EXPECT_EQ(last().stopped_reason,
            "ResourceInitializationError: failed to validate logger args: create stream has been retried 1 times: "
            "failed to create Cloudwatch log stream: ResourceNotFoundException: The specified log group does not "
            "exist. : exit status 1");
  EXPECT_TRUE(last().pull_started_at) << "the logger starts with the container, after the pull";
  EXPECT_EQ(runtime_.startCount(), 0);
  EXPECT_FALSE(store_->group(kGroup));
  EXPECT_TRUE(ipam_.leases().empty());
  EXPECT_FALSE(taskDirExists("t1"));
}

TEST_F(RealAgentLogsTest, ShipsOutputAndDeletesTheDirectoryOnlyAfterTheLastLineIsStored) {
  launch("t1", bj::array{awslogsDef("app", true)});
  ASSERT_EQ(lastPhase(), "RUNNING");
  ASSERT_TRUE(store_->group(kGroup)) << "awslogs-create-group";
  EXPECT_EQ(store_->streams(kGroup)->at(0).name, "ecs/app/t1");
  writeOutput("t1", "app", record(0, "starting") + record(1, "listening"));
  ASSERT_TRUE(until([&] { return messages("ecs/app/t1").size() == 2; }));

  // The store stalls; the container writes its last line and exits.
  gate_.close();
  writeOutput("t1", "app", record(2, "bye"));
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  std::this_thread::sleep_for(50ms);
  drain();
  // Torn down, but not STOPPED and the log file kept until it is shipped.
  EXPECT_EQ(lastPhase(), "DEPROVISIONING");
  EXPECT_FALSE(runtime_.exists(ref("t1", "app")));
  EXPECT_TRUE(std::filesystem::exists(runtime_.logPath(ref("t1", "app"))));
  EXPECT_EQ(agent_->activeTasks(), 1u);

  gate_.open();
  ASSERT_TRUE(until([&] { return lastPhase() == "STOPPED"; }));
  EXPECT_EQ(messages("ecs/app/t1"), (std::vector<std::string>{"starting", "listening", "bye"}));
  EXPECT_EQ(last().stop_code, "EssentialContainerExited");
  EXPECT_FALSE(taskDirExists("t1"));
  EXPECT_EQ(agent_->activeTasks(), 0u);
  // The driver forgets the source only after the directory is gone.
  EXPECT_TRUE(until([&] { return !agent_->logDriver()->stats("t1/app") && !store_->sourceOffset("t1/app/stdout"); }));
}

TEST_F(RealAgentLogsTest, AStalledDrainReportsStoppedAfterTheTimeoutAndDeletesTheDirectoryLater) {
  launch("t1", bj::array{awslogsDef("app", true)});
  gate_.close();
  writeOutput("t1", "app", record(0, "stuck"));
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{3, 0, false, {}});
  drain();
  EXPECT_EQ(lastPhase(), "DEPROVISIONING");
  advance(kLogDrainTimeout);
  EXPECT_EQ(lastPhase(), "STOPPED");
  EXPECT_EQ(container(last(), "app")->exit_code, 3);
  EXPECT_FALSE(std::filesystem::exists(data_ / "tasks/t1/task.json"));
  EXPECT_TRUE(std::filesystem::exists(runtime_.logPath(ref("t1", "app")))) << "still shipping";
  gate_.open();
  ASSERT_TRUE(until([&] { return !taskDirExists("t1"); }));
  EXPECT_EQ(messages("ecs/app/t1"), std::vector<std::string>{"stuck"});
}

TEST_F(RealAgentLogsTest, ANonEssentialContainerDrainsWhileTheTaskRuns) {
  bj::object side = awslogsDef("side", true);
  side["essential"] = false;
  launch("t1", bj::array{awslogsDef("app", true), side});
  writeOutput("t1", "side", record(0, "side done"));
  runtime_.exitContainer(ref("t1", "side"), runtime::ExitStatus{0, 0, false, {}});
  ASSERT_TRUE(
      until([&] { return agent_->logDriver()->stats("t1/side") && agent_->logDriver()->stats("t1/side")->finished; }));
  EXPECT_EQ(messages("ecs/side/t1"), std::vector<std::string>{"side done"});
  EXPECT_EQ(lastPhase(), "RUNNING");
  EXPECT_TRUE(taskDirExists("t1"));
  agent_->stop(std::string(kTaskArnPrefix) + "t1", StopRequest{"UserInitiated", "bye"});
  ASSERT_TRUE(until([&] { return lastPhase() == "STOPPED"; }));
  EXPECT_FALSE(taskDirExists("t1"));
}

TEST_F(RealAgentLogsTest, WithoutAwslogsTheDirectoryGoesAtDeprovision) {
  launch("t1", bj::array{containerDef("app", kPlainImage)});
  writeOutput("t1", "app", record(0, "nobody ships me"));
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_EQ(lastPhase(), "STOPPED");
  EXPECT_FALSE(taskDirExists("t1"));
  EXPECT_TRUE(store_->groups().empty());
}

TEST_F(RealAgentTest, WithoutALogStoreAwslogsIsIgnored) {
  bj::object def = containerDef("app", kPlainImage);
  def["logConfiguration"] =
      bj::object{{"logDriver", "awslogs"},
                 {"options", bj::object{{"awslogs-group", "/ecs/none"}, {"awslogs-stream-prefix", "ecs"}}}};
  launch("t1", bj::array{def});
  EXPECT_EQ(taskPhaseName(last().phase), std::string("RUNNING"));
  EXPECT_EQ(agent_->logDriver(), nullptr);
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{0, 0, false, {}});
  drain();
  EXPECT_EQ(taskPhaseName(last().phase), std::string("STOPPED"));
  EXPECT_FALSE(std::filesystem::exists(data_ / "tasks/t1"));
}

TEST_F(RealAgentLogsTest, RecoverDrainsAContainerThatExitedWhileBerthdWasDown) {
  launch("t1", bj::array{awslogsDef("app", true)});
  writeOutput("t1", "app", record(0, "before"));
  ASSERT_TRUE(until([&] { return messages("ecs/app/t1").size() == 1; }));
  // berthd dies; the container writes more and exits meanwhile.
  drain();
  agent_.reset();
  writeOutput("t1", "app", record(1, "during") + record(2, "last words, no newline", true));
  events_.clear();
  runtime_.setRecoverable({runtime::RecoveredContainer{ref("t1", "app"), "t1-app", runtime::ContainerState::kExited,
                                                       runtime::ExitStatus{1, 0, false, clock_.now()}, 0}});
  agent_ = makeLogsAgent();
  ASSERT_TRUE(agent_->recover());
  ASSERT_TRUE(until([&] { return lastPhase() == "STOPPED"; }));
  EXPECT_EQ(messages("ecs/app/t1"), (std::vector<std::string>{"before", "during", "last words, no newline"}));
  EXPECT_EQ(container(last(), "app")->exit_code, 1);
  EXPECT_FALSE(taskDirExists("t1"));
}

TEST_F(RealAgentLogsTest, RecoverWatchesAReadoptedContainerAgain) {
  launch("t1", bj::array{awslogsDef("app", true)});
  writeOutput("t1", "app", record(0, "one"));
  ASSERT_TRUE(until([&] { return messages("ecs/app/t1").size() == 1; }));
  drain();
  agent_.reset();
  writeOutput("t1", "app", record(1, "two"));
  runtime_.setRecoverable(
      {runtime::RecoveredContainer{ref("t1", "app"), "t1-app", runtime::ContainerState::kRunning, std::nullopt, 1000}});
  agent_ = makeLogsAgent();
  ASSERT_TRUE(agent_->recover());
  ASSERT_TRUE(until([&] { return messages("ecs/app/t1").size() == 2; }));
  writeOutput("t1", "app", record(2, "three"));
  ASSERT_TRUE(until([&] { return messages("ecs/app/t1").size() == 3; }));
  runtime_.exitContainer(ref("t1", "app"), runtime::ExitStatus{0, 0, false, {}});
  ASSERT_TRUE(until([&] { return lastPhase() == "STOPPED"; }));
  EXPECT_EQ(messages("ecs/app/t1"), (std::vector<std::string>{"one", "two", "three"}));
  EXPECT_FALSE(taskDirExists("t1"));
}

TEST_F(RealAgentLogsTest, RecoverShipsAndDeletesDirectoriesOfTasksAlreadyStopped) {
  // t9 was reported STOPPED (no task.json) before its log was shipped; t8
  // left only files nobody ships.
  ASSERT_TRUE(store_->createGroup(logs::GroupInfo{.name = kGroup}));
  ASSERT_TRUE(store_->createStream(kGroup, "ecs/app/t9"));
  logging::AwslogsConfig c;
  c.group = kGroup;
  c.stream = "ecs/app/t9";
  ASSERT_TRUE(writeAwslogsRecords(data_, "t9", {AwslogsRecord{"app", c}}));
  writeOutput("t9", "app", record(0, "orphaned line"));
  writeOutput("t8", "app", record(0, "not shipped"));
  agent_.reset();
  agent_ = makeLogsAgent();
  ASSERT_TRUE(agent_->recover());
  EXPECT_FALSE(taskDirExists("t8"));
  ASSERT_TRUE(until([&] { return !taskDirExists("t9"); }));
  EXPECT_EQ(messages("ecs/app/t9"), std::vector<std::string>{"orphaned line"});
  EXPECT_TRUE(events_.empty()) << "nothing to report: those tasks were STOPPED already";
}

}  // namespace
}  // namespace berth::agent::testing
