#include "agent/runtime/fake_runtime.h"

#include <csignal>

#include <gtest/gtest.h>

namespace berth::agent::runtime {
namespace {

ContainerConfig cfg(const std::string& task, const std::string& name) {
  ContainerConfig c;
  c.task_id = task;
  c.name = name;
  c.runtime_id = task + "-" + name;
  c.rootfs = "/r";
  c.argv = {"sleep", "1"};
  return c;
}

TEST(FakeRuntimeTest, LifecycleAndExitCallback) {
  FakeClock clock;
  FakeContainerRuntime rt(clock);
  std::vector<std::pair<ContainerRef, ExitStatus>> exits;
  rt.setExitCallback([&](const ContainerRef& r, const ExitStatus& s) { exits.emplace_back(r, s); });

  EXPECT_EQ(rt.start(cfg("t", "a")).error().code, ErrorCode::kFailedPrecondition);  // no cgroup
  ASSERT_TRUE(rt.createTaskCgroup({"t", 256, 512, 0}).has_value());
  ASSERT_TRUE(rt.start(cfg("t", "a")).has_value());
  EXPECT_EQ(rt.start(cfg("t", "a")).error().code, ErrorCode::kAlreadyExists);
  EXPECT_TRUE(rt.running({"t", "a"}));
  EXPECT_EQ(rt.removeTaskCgroup("t").error().code, ErrorCode::kFailedPrecondition);

  rt.setExecResult({"check"}, 1);
  EXPECT_EQ(rt.exec({"t", "a"}, {"check"}, std::chrono::seconds(1)).value(), 1);
  EXPECT_EQ(rt.exec({"t", "a"}, {"other"}, std::chrono::seconds(1)).value(), 0);
  rt.setExecResult({"hang"}, -1);
  EXPECT_EQ(rt.exec({"t", "a"}, {"hang"}, std::chrono::seconds(1)).error().code, ErrorCode::kResourceExhausted);

  rt.setTerminatingSignals({SIGKILL});
  ASSERT_TRUE(rt.signal({"t", "a"}, SIGTERM).has_value());
  EXPECT_TRUE(rt.running({"t", "a"}));
  ASSERT_TRUE(rt.signal({"t", "a"}, SIGKILL).has_value());
  EXPECT_FALSE(rt.running({"t", "a"}));
  ASSERT_EQ(exits.size(), 1u);
  EXPECT_EQ(exits[0].second.exit_code, 137);
  EXPECT_EQ(exits[0].second.exited_at, clock.now());
  EXPECT_EQ(rt.signalsSent({"t", "a"}), (std::vector<int>{SIGTERM, SIGKILL}));

  ASSERT_TRUE(rt.remove({"t", "a"}).has_value());
  EXPECT_FALSE(rt.exists({"t", "a"}));
  ASSERT_TRUE(rt.removeTaskCgroup("t").has_value());
}

TEST(FakeRuntimeTest, ScriptedExitsFailuresAndRecovery) {
  FakeClock clock;
  FakeContainerRuntime rt(clock);
  int calls = 0;
  rt.setExitCallback([&](const ContainerRef&, const ExitStatus& s) {
    ++calls;
    EXPECT_TRUE(s.oom_killed);
  });
  ASSERT_TRUE(rt.createTaskCgroup({"t", 0, 0, 0}).has_value());
  rt.failNext("start", Error{ErrorCode::kFailedPrecondition, "boom", "CannotStartContainerError"});
  EXPECT_EQ(rt.start(cfg("t", "a")).error().aws_type, "CannotStartContainerError");
  ASSERT_TRUE(rt.start(cfg("t", "a")).has_value());
  rt.exitContainer({"t", "a"}, ExitStatus{137, 9, true, {}});
  rt.exitContainer({"t", "a"}, ExitStatus{0, 0, true, {}});  // already exited: ignored
  EXPECT_EQ(calls, 1);

  RecoveredContainer running{{"u", "x"}, "u-x", ContainerState::kRunning, std::nullopt, 42};
  rt.setRecoverable({running});
  auto found = rt.recover().value();
  ASSERT_EQ(found.size(), 1u);
  EXPECT_TRUE(rt.running({"u", "x"}));
}

}  // namespace
}  // namespace berth::agent::runtime
