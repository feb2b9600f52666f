// LogStore's append listeners (Live Tail's feed): every durable block once,
// in commit order, events in stored order, nothing of a failed append, and
// removal that waits for a running listener.
#include <stdlib.h>

#include <atomic>
#include <filesystem>
#include <mutex>
#include <thread>

#include <gtest/gtest.h>

#include "common/clock.h"
#include "logs/log_store.h"

namespace berth::logs {
namespace {

namespace fs = std::filesystem;

struct Seen {
  std::string group, stream;
  int64_t ingestion_time;
  std::vector<std::string> messages;  // in stored order
};

class AppendListenerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "berth-listener-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    open();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }
  void open() {
    LogStoreOptions o;
    o.dir = dir_;
    o.clock = &clock_;
    o.sync = false;
    o.inject_fault = [this](std::string_view op) { return op == "write" ? fail_writes_.load() : 0; };
    auto s = LogStore::open(std::move(o));
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    ASSERT_TRUE(store_->createGroup(GroupInfo{.name = "g"}));
    ASSERT_TRUE(store_->createStream("g", "a"));
    ASSERT_TRUE(store_->createStream("g", "b"));
  }
  uint64_t listen() {
    return store_->addAppendListener([this](const AppendedBlock& b) {
      Seen s{std::string(b.group), std::string(b.stream), b.ingestion_time, {}};
      for (size_t k = 0; k < b.events.size(); ++k)
        s.messages.emplace_back(b.events.message(b.order.empty() ? k : b.order[k]));
      std::lock_guard lock(mu_);
      seen_.push_back(std::move(s));
    });
  }
  std::vector<Seen> seen() {
    std::lock_guard lock(mu_);
    return seen_;
  }

  FakeClock clock_;
  fs::path dir_;
  std::unique_ptr<LogStore> store_;
  std::atomic<int> fail_writes_{0};
  std::mutex mu_;
  std::vector<Seen> seen_;
};

TEST_F(AppendListenerTest, SeesDurableBlocksInCommitOrder) {
  ASSERT_TRUE(store_->appendSync("g", "a", {{1, "before"}}));  // before listening: not seen
  listen();
  ASSERT_TRUE(store_->appendSync("g", "a", {{5, "a1"}, {6, "a2"}}));
  ASSERT_TRUE(store_->appendSync("g", "b", {{1, "b1"}}));  // older timestamp, later ingestion
  // Unsorted: seen in stored (stable timestamp) order.
  ASSERT_TRUE(store_->appendSync("g", "a", {{9, "late"}, {7, "x"}, {7, "y"}}));
  auto s = seen();
  ASSERT_EQ(s.size(), 3u);
  EXPECT_EQ(s[0].stream, "a");
  EXPECT_EQ(s[0].messages, (std::vector<std::string>{"a1", "a2"}));
  EXPECT_EQ(s[1].stream, "b");
  EXPECT_EQ(s[1].messages, (std::vector<std::string>{"b1"}));
  EXPECT_EQ(s[2].messages, (std::vector<std::string>{"x", "y", "late"}));
  EXPECT_EQ(s[0].group, "g");
  EXPECT_EQ(s[0].ingestion_time, clock_.epochMillis());
}

TEST_F(AppendListenerTest, ManyAppendsInFlightKeepTheirOrder) {
  listen();
  std::atomic<int> done{0};
  for (int i = 0; i < 200; ++i)
    store_->append("g", "a", std::vector<InputEvent>{{i, std::to_string(i)}}, std::nullopt, [&](Status) { ++done; });
  for (int i = 0; i < 1000 && done.load() < 200; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  auto s = seen();
  ASSERT_EQ(s.size(), 200u);
  for (int i = 0; i < 200; ++i) EXPECT_EQ(s[i].messages.at(0), std::to_string(i));
}

TEST_F(AppendListenerTest, FailedAndRefusedAppendsAreNotSeen) {
  listen();
  EXPECT_FALSE(store_->appendSync("g", "missing", {{1, "no stream"}}));
  fail_writes_ = EIO;
  EXPECT_FALSE(store_->appendSync("g", "a", {{1, "lost"}}));
  fail_writes_ = 0;
  ASSERT_TRUE(store_->appendSync("g", "a", {{2, "kept"}}));
  auto s = seen();
  ASSERT_EQ(s.size(), 1u);
  EXPECT_EQ(s[0].messages.at(0), "kept");
}

TEST_F(AppendListenerTest, RemovedListenerIsNotCalledAgain) {
  uint64_t id = listen();
  ASSERT_TRUE(store_->appendSync("g", "a", {{1, "one"}}));
  store_->removeAppendListener(id);
  ASSERT_TRUE(store_->appendSync("g", "a", {{2, "two"}}));
  EXPECT_EQ(seen().size(), 1u);
}

TEST_F(AppendListenerTest, RemoveWaitsForARunningListener) {
  std::atomic<bool> inside{false}, release{false}, returned{false};
  uint64_t id = store_->addAppendListener([&](const AppendedBlock&) {
    inside = true;
    while (!release) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  });
  store_->append("g", "a", std::vector<InputEvent>{{1, "x"}}, std::nullopt, [](Status) {});
  while (!inside) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  std::thread remover([&] {
    store_->removeAppendListener(id);
    returned = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(30));
  EXPECT_FALSE(returned.load());
  release = true;
  remover.join();
  EXPECT_TRUE(returned.load());
}

}  // namespace
}  // namespace berth::logs
