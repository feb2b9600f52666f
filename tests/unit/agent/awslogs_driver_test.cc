// The awslogs driver against a real LogStore in a temp dir, fed hand-written
// CRI files (what berth-monitor writes).
#include "agent/logging/awslogs_driver.h"

#include <condition_variable>
#include <fstream>
#include <mutex>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "agent/runtime/log_format.h"
#include "unit/image/layer_fixture.h"

namespace berth::agent::logging {
namespace {

using image::testing::ScratchDir;
using namespace std::chrono_literals;

constexpr const char* kGroup = "/ecs/web";
constexpr const char* kStream = "ecs/app/t1";
constexpr const char* kSource = "t1/app";

// 2026-11-28T11:40:00Z plus `ms`.
constexpr int64_t kBaseMs = 1795866000000;
std::string record(int64_t ms, std::string_view stream, bool partial, std::string_view text) {
  timespec ts{static_cast<time_t>((kBaseMs + ms) / 1000), static_cast<long>((kBaseMs + ms) % 1000) * 1000000};
  return fmt::format("{} {} {} {}\n", runtime::formatLogTime(ts), stream, partial ? 'P' : 'F', text);
}

// Waits (bounded) for a condition another thread makes true.
template <typename F>
bool eventually(F f, std::chrono::milliseconds limit = 10s) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (f()) return true;
    std::this_thread::sleep_for(2ms);
  }
  return f();
}

class AwslogsDriverTest : public ::testing::Test {
 protected:
  AwslogsDriverTest() {
    file_ = scratch_.path() / "output.log";
    openStore();
    EXPECT_TRUE(store_->createGroup(logs::GroupInfo{.name = kGroup}));
    EXPECT_TRUE(store_->createStream(kGroup, kStream));
  }
  ~AwslogsDriverTest() override {
    driver_.reset();
    store_.reset();
  }

  void openStore() {
    logs::LogStoreOptions o{.dir = scratch_.path() / "logs", .clock = &clock_, .sync = false};
    o.inject_fault = [this](std::string_view op) { return fault_ ? fault_(op) : 0; };
    auto s = logs::LogStore::open(std::move(o));
    ASSERT_TRUE(s) << s.error().message;
    store_ = std::move(*s);
  }
  void startDriver(AwslogsDriverOptions o = fastOptions()) {
    auto d = AwslogsDriver::start(*store_, clock_, o);
    ASSERT_TRUE(d) << d.error().message;
    driver_ = std::move(*d);
  }
  static AwslogsDriverOptions fastOptions() {
    AwslogsDriverOptions o;
    o.flush_interval = 5ms;
    o.sweep_interval = 20ms;
    o.retry_after = 10ms;
    return o;
  }
  AwslogsConfig config(LogMode mode = LogMode::kBlocking) {
    AwslogsConfig c;
    c.group = kGroup;
    c.stream = kStream;
    c.mode = mode;
    return c;
  }
  void write(const std::string& text) {
    std::ofstream out(file_, std::ios::app | std::ios::binary);
    out << text;
  }
  std::vector<logs::Event> events(const std::string& stream = kStream) {
    std::vector<logs::Event> out;
    logs::ReadQuery q;
    q.group = kGroup;
    q.streams = {stream};
    for (;;) {
      auto page = store_->read(q);
      if (!page) return out;
      for (auto& e : page->events) out.push_back(std::move(e));
      if (page->exhausted || !page->last) return out;
      q.after = page->last;
    }
  }
  std::vector<std::string> messages() {
    std::vector<std::string> out;
    for (const auto& e : events()) out.push_back(e.message);
    return out;
  }
  bool waitForCount(size_t n) {
    bool ok = eventually([&] { return events().size() >= n; });
    std::this_thread::sleep_for(20ms);  // and nothing more arrives
    return ok && events().size() == n;
  }
  // finish() and wait for its callback.
  bool finishAndWait(const std::string& source = kSource) {
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    driver_->finish(source, [&] {
      std::lock_guard lock(mu);
      done = true;
      cv.notify_all();
    });
    std::unique_lock lock(mu);
    return cv.wait_for(lock, 10s, [&] { return done; });
  }

  ScratchDir scratch_;
  FakeClock clock_;
  std::filesystem::path file_;
  std::function<int(std::string_view)> fault_;
  std::unique_ptr<logs::LogStore> store_;
  std::unique_ptr<AwslogsDriver> driver_;
};

TEST_F(AwslogsDriverTest, LinesArriveExactlyOnceInOrderAsTheyAreWritten) {
  std::string text;
  for (int i = 0; i < 50; ++i) text += record(i, i % 3 ? "stdout" : "stderr", false, fmt::format("line {}", i));
  write(text);
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(waitForCount(50));
  // Live: more lines are picked up as the monitor appends them.
  for (int i = 50; i < 60; ++i) write(record(i, "stdout", false, fmt::format("line {}", i)));
  ASSERT_TRUE(waitForCount(60));
  std::vector<logs::Event> got = events();
  for (int i = 0; i < 60; ++i) {
    EXPECT_EQ(got[i].message, fmt::format("line {}", i));
    EXPECT_EQ(got[i].timestamp, kBaseMs + i);
  }
  auto stats = driver_->stats(kSource);
  ASSERT_TRUE(stats);
  EXPECT_EQ(stats->events, 60u);
  EXPECT_EQ(stats->dropped_lines, 0u);
  EXPECT_EQ(stats->stdout_offset, std::filesystem::file_size(file_));
}

TEST_F(AwslogsDriverTest, PartialRecordsJoinWithoutHoldingTheOtherStreamBack) {
  startDriver();
  driver_->watch(kSource, file_, config());
  write(record(0, "stdout", true, "Hello, ") + record(1, "stderr", false, "an error") +
        record(2, "stdout", true, "wor"));
  // stderr's finished line ships while stdout's line is still open.
  ASSERT_TRUE(waitForCount(1));
  EXPECT_EQ(messages(), std::vector<std::string>{"an error"});
  write(record(3, "stdout", false, "ld!") + record(4, "stdout", false, ""));  // an empty line is no event
  ASSERT_TRUE(waitForCount(2));
  // Read back in time order: the joined line has its first record's time.
  std::vector<logs::Event> got = events();
  EXPECT_EQ(got[0].message, "Hello, world!");
  EXPECT_EQ(got[0].timestamp, kBaseMs);
  EXPECT_EQ(got[1].message, "an error");
}

TEST_F(AwslogsDriverTest, LongLinesSplitAtTheEventLimitOnUtf8Boundaries) {
  const size_t max = logs::kMaxEventMessageBytes;
  // One record longer than an event, and the same as 16 KiB P records (the
  // monitor's read size), and a multi-byte character straddling the limit.
  std::string big(max + 1000, 'a');
  std::string text = record(0, "stdout", false, big);
  std::string line(max + 5000, 'b');
  for (size_t pos = 0; pos < line.size(); pos += 16384) {
    size_t len = std::min<size_t>(16384, line.size() - pos);
    text += record(1, "stdout", pos + len < line.size(), line.substr(pos, len));
  }
  std::string utf8 = std::string(max - 1, 'c') + "\xC3\xA9" + "tail";  // é at the limit
  text += record(2, "stdout", false, utf8);
  write(text);
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(waitForCount(6));
  std::vector<std::string> got = messages();
  EXPECT_EQ(got[0], std::string(max, 'a'));
  EXPECT_EQ(got[1], std::string(1000, 'a'));
  EXPECT_EQ(got[2], std::string(max, 'b'));
  EXPECT_EQ(got[3], std::string(5000, 'b'));
  EXPECT_EQ(got[4], std::string(max - 1, 'c'));
  EXPECT_EQ(got[5], "\xC3\xA9tail");
}

TEST_F(AwslogsDriverTest, InvalidUtf8BecomesReplacementCharacters) {
  write(record(0, "stdout", false, "ok \xFF\xC3 end"));
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(waitForCount(1));
  EXPECT_EQ(messages()[0], "ok \xEF\xBF\xBD\xEF\xBF\xBD end");
}

TEST_F(AwslogsDriverTest, ARestartedDriverResumesFromTheStoredMarksWithoutDuplicates) {
  write(record(0, "stdout", false, "one") + record(1, "stderr", false, "two") + record(2, "stdout", true, "thr"));
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(waitForCount(2));
  // berthd goes down with stdout's line open; meanwhile the container
  // finishes it and writes more on both streams.
  driver_.reset();
  write(record(3, "stderr", false, "four") + record(4, "stdout", false, "ee") + record(5, "stdout", false, "five"));
  // The store reopens too (its marks come from disk).
  store_.reset();
  openStore();
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(waitForCount(5));
  EXPECT_EQ(messages(), (std::vector<std::string>{"one", "two", "three", "four", "five"}));
  // And once more, with nothing new: nothing is shipped twice.
  driver_.reset();
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(finishAndWait());
  EXPECT_EQ(messages().size(), 5u);
}

TEST_F(AwslogsDriverTest, ResumeIsExactForEveryCutOfAnInterleavedFile) {
  // Driver 1 sees only the first `cut` bytes; driver 2 the whole file.
  std::string text;
  std::vector<std::string> want;
  for (int i = 0; i < 40; ++i) {
    if (i % 5 == 0) {
      text += record(3 * i, "stdout", true, fmt::format("open{}-", i));
      text += record(3 * i + 1, "stderr", false, fmt::format("err{}", i));
      text += record(3 * i + 2, "stdout", false, "closed");
      want.push_back(fmt::format("open{}-closed", i));
      want.push_back(fmt::format("err{}", i));
    } else {
      text += record(3 * i, "stdout", false, fmt::format("out{}", i));
      want.push_back(fmt::format("out{}", i));
    }
  }
  for (size_t cut : {size_t{0}, text.size() / 7, text.size() / 3, text.size() / 2, text.size() - 10}) {
    SCOPED_TRACE(cut);
    std::string stream = fmt::format("cut-{}", cut);
    ASSERT_TRUE(store_->createStream(kGroup, stream));
    std::filesystem::path file = scratch_.path() / (stream + ".log");
    std::string source = "t-" + stream + "/app";
    AwslogsConfig c = config();
    c.stream = stream;
    { std::ofstream(file, std::ios::binary) << text.substr(0, cut); }
    startDriver();
    driver_->watch(source, file, c);
    // Let it ship what it can of the first part (it holds open lines back).
    std::this_thread::sleep_for(50ms);
    driver_.reset();
    { std::ofstream(file, std::ios::binary | std::ios::app) << text.substr(cut); }
    startDriver();
    driver_->watch(source, file, c);
    ASSERT_TRUE(finishAndWait(source));
    std::vector<std::string> got;
    for (const auto& e : events(stream)) got.push_back(e.message);
    EXPECT_EQ(got, want);
    driver_.reset();
  }
}

TEST_F(AwslogsDriverTest, BatchesStayWithinTheLimitsAndKeepOrder) {
  std::string text;
  for (int i = 0; i < 25000; ++i) text += record(i / 10, "stdout", false, fmt::format("line {:05}", i));
  write(text);
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(finishAndWait());
  std::vector<std::string> got = messages();
  ASSERT_EQ(got.size(), 25000u);
  for (int i = 0; i < 25000; ++i) ASSERT_EQ(got[i], fmt::format("line {:05}", i));
}

TEST_F(AwslogsDriverTest, NonBlockingModeSkipsTheOldestBacklogAndCountsIt) {
  std::string text;
  for (int i = 0; i < 100; ++i) text += record(i, "stdout", false, fmt::format("{:080}", i));
  write(text);
  size_t line = text.size() / 100;
  AwslogsConfig c = config(LogMode::kNonBlocking);
  c.max_buffer_bytes = 10 * line;
  startDriver();
  driver_->watch(kSource, file_, c);
  ASSERT_TRUE(finishAndWait());
  auto stats = driver_->stats(kSource);
  ASSERT_TRUE(stats);
  // The newest ten lines fit the buffer; the rest was dropped, and counted.
  EXPECT_EQ(stats->dropped_lines, 90u);
  EXPECT_EQ(stats->dropped_bytes, 90 * line);
  std::vector<std::string> got = messages();
  ASSERT_EQ(got.size(), 10u);
  EXPECT_EQ(got.front(), fmt::format("{:080}", 90));
  EXPECT_EQ(got.back(), fmt::format("{:080}", 99));
}

TEST_F(AwslogsDriverTest, NonBlockingModeDropsNothingWhileItKeepsUp) {
  AwslogsConfig c = config(LogMode::kNonBlocking);
  c.max_buffer_bytes = 1 << 20;
  startDriver();
  driver_->watch(kSource, file_, c);
  for (int i = 0; i < 200; ++i) write(record(i, "stdout", false, fmt::format("line {}", i)));
  ASSERT_TRUE(finishAndWait());
  EXPECT_EQ(messages().size(), 200u);
  EXPECT_EQ(driver_->stats(kSource)->dropped_lines, 0u);
}

TEST_F(AwslogsDriverTest, BlockingModeShipsEverythingOfABigBacklog) {
  std::string text;
  for (int i = 0; i < 3000; ++i) text += record(i, "stdout", false, std::string(1000, 'x'));
  write(text);
  startDriver();
  driver_->watch(kSource, file_, config(LogMode::kBlocking));
  ASSERT_TRUE(finishAndWait());
  EXPECT_EQ(messages().size(), 3000u);
  EXPECT_EQ(driver_->stats(kSource)->dropped_lines, 0u);
}

TEST_F(AwslogsDriverTest, FinishShipsAnOpenLineAndATornLastRecord) {
  std::string torn = record(2, "stderr", false, "torn");
  torn.pop_back();  // the monitor died mid-write
  write(record(0, "stdout", false, "first") + record(1, "stdout", true, "no newline yet") + torn);
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(waitForCount(1));
  ASSERT_TRUE(finishAndWait());
  EXPECT_EQ(messages(), (std::vector<std::string>{"first", "no newline yet", "torn"}));
  auto stats = driver_->stats(kSource);
  ASSERT_TRUE(stats);
  EXPECT_TRUE(stats->finished);
  // Its marks go with forget() (the agent deletes the file first).
  driver_->forget(kSource);
  EXPECT_TRUE(eventually([&] { return !store_->sourceOffset("t1/app/stdout"); }));
  EXPECT_FALSE(driver_->stats(kSource));
}

TEST_F(AwslogsDriverTest, FinishOfAFileThatNeverAppearedOrAnUnknownSourceIsImmediate) {
  startDriver();
  driver_->watch(kSource, scratch_.path() / "never.log", config());
  EXPECT_TRUE(finishAndWait());
  EXPECT_TRUE(finishAndWait("nobody/here"));
}

TEST_F(AwslogsDriverTest, AFileCreatedAfterTheWatchIsPickedUp) {
  startDriver();
  driver_->watch(kSource, file_, config());
  std::this_thread::sleep_for(30ms);
  write(record(0, "stdout", false, "late"));
  ASSERT_TRUE(waitForCount(1));
}

TEST_F(AwslogsDriverTest, AFailedAppendIsRetriedFromTheDurableMark) {
  std::atomic<int> failures{2};
  fault_ = [&](std::string_view op) { return op == "write" && failures.fetch_sub(1) > 0 ? EIO : 0; };
  std::string text;
  for (int i = 0; i < 20; ++i) text += record(i, i % 2 ? "stderr" : "stdout", false, fmt::format("line {}", i));
  write(text);
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(finishAndWait());
  std::vector<std::string> got = messages();
  ASSERT_EQ(got.size(), 20u);
  for (int i = 0; i < 20; ++i) EXPECT_EQ(got[i], fmt::format("line {}", i));
  EXPECT_GE(driver_->stats(kSource)->append_errors, 1u);
}

TEST_F(AwslogsDriverTest, AFailureAmongSeveralAppendsInFlightLosesAndRepeatsNothing) {
  // Small batches, several in flight per stream; two writes fail along the way.
  std::atomic<int> writes{0};
  fault_ = [&](std::string_view op) {
    if (op != "write") return 0;
    int n = ++writes;
    return n == 3 || n == 9 ? EIO : 0;
  };
  std::string text;
  for (int i = 0; i < 400; ++i) text += record(i, i % 5 ? "stdout" : "stderr", false, fmt::format("line {}", i));
  write(text);
  AwslogsDriverOptions o = fastOptions();
  o.batch_bytes = 400;
  o.appends_in_flight = 3;
  startDriver(o);
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(finishAndWait());
  std::vector<std::string> got = messages();
  ASSERT_EQ(got.size(), 400u);
  for (int i = 0; i < 400; ++i) EXPECT_EQ(got[i], fmt::format("line {}", i));
  auto stats = driver_->stats(kSource);
  EXPECT_GE(stats->append_errors, 2u);
  EXPECT_EQ(stats->events, 400u);
  EXPECT_EQ(stats->stdout_offset, std::filesystem::file_size(file_));
}

TEST_F(AwslogsDriverTest, FinishGivesUpAfterRepeatedFailures) {
  fault_ = [](std::string_view op) { return op == "write" ? EIO : 0; };
  write(record(0, "stdout", false, "doomed"));
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(finishAndWait());
  EXPECT_GE(driver_->stats(kSource)->append_errors, static_cast<uint64_t>(kMaxFinishAttempts));
}

TEST_F(AwslogsDriverTest, AStreamDeletedUnderTheDriverLosesItsEventsAndCountsThem) {
  startDriver();
  driver_->watch(kSource, file_, config());
  write(record(0, "stdout", false, "kept"));
  ASSERT_TRUE(waitForCount(1));
  ASSERT_TRUE(store_->deleteStream(kGroup, kStream));
  write(record(1, "stdout", false, "lost"));
  ASSERT_TRUE(finishAndWait());
  auto stats = driver_->stats(kSource);
  EXPECT_EQ(stats->lost_events, 1u);
  EXPECT_EQ(stats->events, 1u);
}

TEST_F(AwslogsDriverTest, MalformedLinesAreSkippedAndCounted) {
  write("garbage without a header\n" + record(0, "stdout", false, "good"));
  startDriver();
  driver_->watch(kSource, file_, config());
  ASSERT_TRUE(finishAndWait());
  EXPECT_EQ(messages(), std::vector<std::string>{"good"});
  EXPECT_EQ(driver_->stats(kSource)->malformed_lines, 1u);
}

// --- prepare(): the group and the stream before the container starts ---

TEST_F(AwslogsDriverTest, AMissingGroupFailsWithFargatesMessage) {
  startDriver();
  AwslogsConfig c = config();
  c.group = "/ecs/missing";
  auto s = driver_->prepare(c);
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(s.error().message,
            "failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log "
            "stream: ResourceNotFoundException: The specified log group does not exist. : exit status 1");
  EXPECT_FALSE(store_->group("/ecs/missing"));
}

TEST_F(AwslogsDriverTest, CreateGroupMakesTheGroupAndExistingOnesAreFine) {
  startDriver();
  AwslogsConfig c = config();
  c.group = "/ecs/new";
  c.stream = "ecs/app/t2";
  c.create_group = true;
  ASSERT_TRUE(driver_->prepare(c));
  auto group = store_->group("/ecs/new");
  ASSERT_TRUE(group);
  EXPECT_EQ(group->creation_time, clock_.epochMillis());
  auto streams = store_->streams("/ecs/new");
  ASSERT_TRUE(streams);
  ASSERT_EQ(streams->size(), 1u);
  EXPECT_EQ((*streams)[0].name, "ecs/app/t2");
  // Again (another container of the task, or a retried start): no error.
  ASSERT_TRUE(driver_->prepare(c));
  c.create_group = false;
  ASSERT_TRUE(driver_->prepare(c));
}

// --- options ---

TEST(AwslogsConfigTest, BufferSizesParseAsDockerDoes) {
  EXPECT_EQ(parseBufferSize("25m").value(), 25ull << 20);
  EXPECT_EQ(parseBufferSize("10M").value(), 10ull << 20);
  EXPECT_EQ(parseBufferSize("1.5k").value(), 1536u);
  EXPECT_EQ(parseBufferSize("2 GiB").value(), 2ull << 30);
  EXPECT_EQ(parseBufferSize("512kb").value(), 512ull << 10);
  EXPECT_EQ(parseBufferSize("4096").value(), 4096u);
  EXPECT_EQ(parseBufferSize("100b").value(), 100u);
  for (const char* bad : {"", "m", "-1m", "1.2.3m", "10x", "10mm", "1.m", " 10m"}) {
    auto r = parseBufferSize(bad);
    EXPECT_FALSE(r) << bad;
    if (!r) {
      EXPECT_EQ(r.error().message, fmt::format("invalid size: '{}'", bad));
    }
  }
}

TEST(AwslogsConfigTest, OptionsWithDefaultsAndErrors) {
  std::map<std::string, std::string> o{
      {"awslogs-group", "/ecs/web"}, {"awslogs-region", "eu-west-1"}, {"awslogs-stream-prefix", "ecs"}};
  auto c = parseAwslogsOptions(o, "0123abcd", "app", "fallback");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->group, "/ecs/web");
  EXPECT_EQ(c->stream, "ecs/app/0123abcd");
  EXPECT_FALSE(c->create_group);
  EXPECT_EQ(c->mode, LogMode::kNonBlocking);
  EXPECT_EQ(c->max_buffer_bytes, 10ull << 20);

  o["awslogs-create-group"] = "true";
  o["mode"] = "non-blocking";
  o["max-buffer-size"] = "25m";
  c = parseAwslogsOptions(o, "0123abcd", "app", "fallback");
  ASSERT_TRUE(c);
  EXPECT_TRUE(c->create_group);
  EXPECT_EQ(c->max_buffer_bytes, 25ull << 20);

  o["mode"] = "blocking";
  c = parseAwslogsOptions(o, "0123abcd", "app", "fallback");
  ASSERT_TRUE(c);
  EXPECT_EQ(c->mode, LogMode::kBlocking);

  o.erase("awslogs-stream-prefix");
  EXPECT_EQ(parseAwslogsOptions(o, "0123abcd", "app", "fallback")->stream, "fallback");

  o["mode"] = "fast";
  EXPECT_EQ(parseAwslogsOptions(o, "t", "app", "f").error().message, "unknown mode type: fast");
  o["mode"] = "non-blocking";
  o["max-buffer-size"] = "lots";
  EXPECT_EQ(parseAwslogsOptions(o, "t", "app", "f").error().message,
            "unable to parse buffer size to bytes: invalid size: 'lots'");
}

}  // namespace
}  // namespace berth::agent::logging
