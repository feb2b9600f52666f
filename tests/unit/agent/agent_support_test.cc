// The agent's small pieces: the store-backed IPAM store, the timer queue on
// a FakeClock, health tracking, task records.
#include <gtest/gtest.h>

#include "agent/health_tracker.h"
#include "agent/store_ipam_store.h"
#include "agent/task_record.h"
#include "agent/timer_queue.h"
#include "unit/image/layer_fixture.h"

namespace berth::agent {
namespace {

using namespace std::chrono_literals;

net::Ipv4Prefix net4(const char* text) { return net::Ipv4Prefix::parseNetwork(text).value(); }

TEST(StoreIpamStoreTest, LeasesSurviveARestart) {
  auto store = store::makeMemoryStore();
  {
    StoreIpamStore ipam_store(*store);
    net::Ipam ipam(net4("172.31.0.0/16"), ipam_store);
    ASSERT_TRUE(ipam.recover());
    ASSERT_EQ(ipam.allocate("t1", net4("172.31.0.0/20"))->address.toString(), "172.31.0.4");
    ASSERT_EQ(ipam.allocate("t2", net4("172.31.0.0/20"))->address.toString(), "172.31.0.5");
    ASSERT_TRUE(ipam.release("t1"));
  }
  StoreIpamStore ipam_store(*store);
  auto loaded = ipam_store.load();
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  EXPECT_EQ((*loaded)[0].owner, "t2");
  EXPECT_EQ((*loaded)[0].subnet, net4("172.31.0.0/20"));
  EXPECT_EQ((*loaded)[0].mac.toString(), "02:b7:ac:1f:00:05");
  net::Ipam ipam(net4("172.31.0.0/16"), ipam_store);
  auto recovered = ipam.recover();
  ASSERT_TRUE(recovered);
  EXPECT_EQ(recovered->leases, 1u);
  EXPECT_EQ(ipam.allocate("t2", net4("172.31.0.0/20"))->address.toString(), "172.31.0.5") << "same lease";
  EXPECT_EQ(ipam.allocate("t3", net4("172.31.0.0/20"))->address.toString(), "172.31.0.6");
}

TEST(StoreIpamStoreTest, AFailedCommitFailsTheAllocation) {
  store::FaultInjectingStore store(store::makeMemoryStore());
  StoreIpamStore ipam_store(store);
  net::Ipam ipam(net4("172.31.0.0/16"), ipam_store);
  store.failCommitsFrom(1);
  EXPECT_FALSE(ipam.allocate("t1", net4("172.31.0.0/20")));
  store.clearFaults();
  EXPECT_TRUE(ipam.allocate("t1", net4("172.31.0.0/20")));
}

TEST(TimerQueueTest, RunsDueTimersInDeadlineOrderOnTheFakeClock) {
  FakeClock clock;
  TimerQueue timers(clock);
  std::vector<int> ran;
  timers.scheduleAfter(10s, [&] { ran.push_back(2); });
  timers.scheduleAfter(5s, [&] { ran.push_back(1); });
  auto cancelled = timers.scheduleAfter(7s, [&] { ran.push_back(99); });
  timers.cancel(cancelled);
  EXPECT_EQ(timers.runDue(), 0u);
  clock.advance(5s);
  EXPECT_EQ(timers.runDue(), 1u);
  clock.advance(10s);
  timers.runDue();
  EXPECT_EQ(ran, (std::vector<int>{1, 2}));
  EXPECT_EQ(timers.pending(), 0u);
  // A callback may schedule another timer.
  timers.scheduleAfter(0s, [&] { timers.scheduleAfter(1s, [&] { ran.push_back(3); }); });
  timers.runDue();
  clock.advance(1s);
  timers.runDue();
  EXPECT_EQ(ran.back(), 3);
}

TEST(HealthTrackerTest, FollowsDockersRules) {
  FakeClock clock;
  HealthCheckSpec spec;
  spec.retries = 2;
  spec.start_period = 10s;
  HealthTracker h(spec, clock.now());
  EXPECT_FALSE(h.record(false, clock.now() + 5s));  // in the start period
  EXPECT_EQ(h.consecutiveFailures(), 0);
  EXPECT_TRUE(h.record(true, clock.now() + 6s));  // a success in it counts
  EXPECT_EQ(h.status(), Health::kHealthy);
  EXPECT_FALSE(h.record(false, clock.now() + 20s));
  EXPECT_TRUE(h.record(false, clock.now() + 30s));
  EXPECT_EQ(h.status(), Health::kUnhealthy);
}

TEST(HealthTrackerTest, TaskHealthFromEssentialContainersWithChecks) {
  using C = ContainerHealth;
  EXPECT_EQ(taskHealth({}), Health::kUnknown);
  EXPECT_EQ(taskHealth({C{true, false, Health::kUnknown}}), Health::kUnknown);
  EXPECT_EQ(taskHealth({C{true, true, Health::kHealthy}, C{false, true, Health::kUnhealthy}}), Health::kHealthy);
  EXPECT_EQ(taskHealth({C{true, true, Health::kHealthy}, C{true, true, Health::kUnknown}}), Health::kUnknown);
  EXPECT_EQ(taskHealth({C{true, true, Health::kHealthy}, C{true, true, Health::kUnhealthy}}), Health::kUnhealthy);
}

TEST(TaskRecordTest, RoundTripsAndIsRemovedWithItsEtcFiles) {
  image::testing::ScratchDir d;
  TaskRecord r;
  r.launch.task_id = "abc";
  r.launch.task_arn = "arn:aws:ecs:us-east-1:123456789012:task/default/abc";
  r.launch.task_definition = boost::json::object{{"family", "web"}};
  r.launch.subnet_cidr = "172.31.0.0/20";
  r.phase = TaskPhase::kRunning;
  r.running_at = FakeClock().now();
  r.containers.push_back(ContainerRecord{"app", "sha256:1", 3, true, 137, "OutOfMemoryError"});
  ASSERT_TRUE(writeTaskRecord(d.path(), r));
  ASSERT_TRUE(writeTaskEtcFiles(d.path(), "abc", "172.31.0.4", "ip-172-31-0-4.ec2.internal", "172.31.0.2"));
  auto loaded = loadTaskRecords(d.path());
  ASSERT_TRUE(loaded);
  ASSERT_EQ(loaded->size(), 1u);
  const TaskRecord& l = (*loaded)[0];
  EXPECT_EQ(l.launch.task_arn, r.launch.task_arn);
  EXPECT_EQ(l.launch.task_definition, r.launch.task_definition);
  EXPECT_EQ(l.phase, TaskPhase::kRunning);
  EXPECT_EQ(l.running_at, r.running_at);
  ASSERT_EQ(l.containers.size(), 1u);
  EXPECT_EQ(l.containers[0].stop_signal, 3);
  EXPECT_EQ(l.containers[0].exit_code, 137);
  ASSERT_TRUE(removeTaskRecord(d.path(), "abc"));
  ASSERT_TRUE(removeTaskRecord(d.path(), "abc"));
  EXPECT_FALSE(std::filesystem::exists(taskDir(d.path(), "abc")));
}

}  // namespace
}  // namespace berth::agent
