// The CloudWatch Logs store: appends and merged reads, pagination, filters
// and limits, group commit under concurrent appenders, recovery (reopen, torn
// tails), retention on a fake clock, deletes, errors and failed writes.
#include "logs/log_store.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <tuple>
#include <vector>

#include <fmt/format.h>
#include <gtest/gtest.h>

namespace berth::logs {
namespace {

namespace fs = std::filesystem;
using std::chrono::hours;
using std::chrono::milliseconds;

std::string errorText(const Error& err) { return std::string(errorCodeName(err.code)) + ": " + err.message; }

#define ASSERT_OK(expr)                                                                    \
  do {                                                                                     \
    auto&& ok_result_ = (expr);                                                            \
    ASSERT_TRUE(ok_result_.has_value()) << #expr << ": " << errorText(ok_result_.error()); \
  } while (0)

constexpr int64_t kDay = 86400000;

std::vector<std::string> messagesOf(const std::vector<Event>& events) {
  std::vector<std::string> out;
  for (const Event& e : events) out.push_back(e.message);
  return out;
}

class LogStoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "berth-logs-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    reopen();
  }
  void TearDown() override {
    store_.reset();
    fs::remove_all(dir_);
  }

  void reopen() {
    store_.reset();
    LogStoreOptions o = options_;
    o.dir = dir_;
    o.clock = &clock_;
    auto s = LogStore::open(std::move(o));
    ASSERT_TRUE(s) << errorText(s.error());
    store_ = std::move(*s);
  }

  int64_t now() const { return clock_.epochMillis(); }

  void makeStream(const std::string& group, const std::string& stream) {
    if (!store_->group(group)) ASSERT_OK(store_->createGroup(GroupInfo{.name = group}));
    ASSERT_OK(store_->createStream(group, stream));
  }

  // Appends one event per timestamp, message "<prefix><timestamp>".
  Status put(const std::string& group, const std::string& stream, std::vector<int64_t> timestamps,
             const std::string& prefix = "m", std::optional<SourceMark> source = std::nullopt) {
    std::vector<InputEvent> events;
    for (int64_t ts : timestamps) events.push_back(InputEvent{ts, prefix + std::to_string(ts)});
    return store_->appendSync(group, stream, std::move(events), std::move(source));
  }

  // Every event of the query, paging with `page` events per read.
  std::vector<Event> readAll(ReadQuery q, size_t page = 10000, size_t* pages = nullptr) {
    q.limit = page;
    std::vector<Event> out;
    for (size_t n = 0;; ++n) {
      auto r = store_->read(q);
      EXPECT_TRUE(r) << errorText(r.error());
      if (!r || n > 100000) break;
      out.insert(out.end(), r->events.begin(), r->events.end());
      if (r->exhausted) {
        if (pages != nullptr) *pages = n + 1;
        break;
      }
      EXPECT_TRUE(r->last.has_value());
      q.after = r->last;
    }
    return out;
  }

  std::vector<fs::path> segmentFiles() const {
    std::vector<fs::path> out;
    for (const auto& e : fs::recursive_directory_iterator(dir_ / "groups"))
      if (e.path().extension() == ".seg") out.push_back(e.path());
    std::sort(out.begin(), out.end());
    return out;
  }

  fs::path dir_;
  FakeClock clock_;
  LogStoreOptions options_{.sync = false};
  std::unique_ptr<LogStore> store_;
};

TEST_F(LogStoreTest, AppendThenReadRoundTrip) {
  makeStream("g", "s");
  int64_t t = now();
  ASSERT_OK(put("g", "s", {t - 2, t - 1, t}));
  auto page = store_->read(ReadQuery{.group = "g"});
  ASSERT_OK(page);
  ASSERT_EQ(page->events.size(), 3u);
  EXPECT_EQ(messagesOf(page->events), (std::vector<std::string>{"m" + std::to_string(t - 2),
                                                                "m" + std::to_string(t - 1), "m" + std::to_string(t)}));
  for (const Event& e : page->events) {
    EXPECT_EQ(e.stream, "s");
    EXPECT_EQ(e.ingestion_time, t);
  }
  EXPECT_EQ(page->events[2].timestamp, t);
  EXPECT_TRUE(page->exhausted);
  ASSERT_TRUE(page->last);
  EXPECT_EQ(*page->last, page->events.back().position);

  auto streams = store_->streams("g");
  ASSERT_OK(streams);
  ASSERT_EQ(streams->size(), 1u);
  EXPECT_EQ((*streams)[0].first_event_timestamp, t - 2);
  EXPECT_EQ((*streams)[0].last_event_timestamp, t);
  EXPECT_EQ((*streams)[0].last_ingestion_time, t);
  EXPECT_GT((*streams)[0].stored_bytes, 0u);
  auto group = store_->group("g");
  ASSERT_OK(group);
  size_t message_bytes = 3 * ("m" + std::to_string(t)).size();
  EXPECT_EQ(group->ingested_bytes, message_bytes + 3 * kEventOverheadBytes);
  EXPECT_EQ(group->stored_bytes, fs::file_size(segmentFiles().at(0)));
}

TEST_F(LogStoreTest, EmptyMessagesAndLargeMessagesRoundTrip) {
  makeStream("g", "s");
  std::string big(kMaxEventMessageBytes, 'x');
  ASSERT_OK(store_->appendSync("g", "s", {{1, ""}, {2, big}, {3, ""}}));
  auto page = store_->read(ReadQuery{.group = "g"});
  ASSERT_OK(page);
  EXPECT_EQ(messagesOf(page->events), (std::vector<std::string>{"", big, ""}));
  // Over the limit: refused whole.
  auto s = store_->appendSync("g", "s", {{4, big + "y"}});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kInvalidArgument);
}

TEST_F(LogStoreTest, OutOfOrderBatchesMergeIntoTimeOrder) {
  makeStream("g", "a");
  makeStream("g", "b");
  ASSERT_OK(put("g", "a", {10, 30, 50}));
  ASSERT_OK(put("g", "b", {20, 40}));
  ASSERT_OK(put("g", "a", {60, 5, 35}));   // unsorted: sorted stably in the block
  ASSERT_OK(put("g", "b", {30}, "late"));  // same timestamp as an older block's event
  auto page = store_->read(ReadQuery{.group = "g"});
  ASSERT_OK(page);
  EXPECT_EQ(messagesOf(page->events),
            (std::vector<std::string>{"m5", "m10", "m20", "m30", "late30", "m35", "m40", "m50", "m60"}));
  EXPECT_TRUE(std::is_sorted(page->events.begin(), page->events.end(),
                             [](const Event& x, const Event& y) { return x.position < y.position; }));
  EXPECT_EQ(page->events[4].stream, "b");
  // One stream only.
  auto a = store_->read(ReadQuery{.group = "g", .streams = {"a"}});
  ASSERT_OK(a);
  EXPECT_EQ(messagesOf(a->events), (std::vector<std::string>{"m5", "m10", "m30", "m35", "m50", "m60"}));
  auto backward = store_->read(ReadQuery{.group = "g", .streams = {"b"}, .backward = true});
  ASSERT_OK(backward);
  EXPECT_EQ(messagesOf(backward->events), (std::vector<std::string>{"m40", "late30", "m20"}));
}

TEST_F(LogStoreTest, PaginationHasNoDuplicatesOrGaps) {
  // Overlapping batches over three streams, many equal timestamps.
  std::vector<std::string> streams = {"s1", "s2", "s3"};
  for (const auto& s : streams) makeStream("g", s);
  std::srand(7);
  for (int batch = 0; batch < 60; ++batch) {
    std::vector<InputEvent> events;
    int64_t base = std::rand() % 500;
    for (int i = 0; i < 17; ++i)
      events.push_back(InputEvent{base + std::rand() % 40, "b" + std::to_string(batch) + "-" + std::to_string(i)});
    std::stable_sort(events.begin(), events.end(), [](auto& x, auto& y) { return x.timestamp < y.timestamp; });
    ASSERT_OK(store_->appendSync("g", streams[batch % 3], events));
  }
  auto all = store_->read(ReadQuery{.group = "g"});
  ASSERT_OK(all);
  ASSERT_EQ(all->events.size(), 60u * 17);
  std::vector<std::string> expected = messagesOf(all->events);
  EXPECT_EQ(std::set<std::string>(expected.begin(), expected.end()).size(), expected.size());

  for (size_t page : {1, 7, 100}) {
    size_t pages = 0;
    EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"}, page, &pages)), expected) << page;
    EXPECT_GE(pages, expected.size() / page);
    auto back = messagesOf(readAll(ReadQuery{.group = "g", .backward = true}, page));
    std::reverse(back.begin(), back.end());
    EXPECT_EQ(back, expected) << page;
  }
  // Two of the streams, paged, with a time window.
  std::vector<std::string> window;
  for (const Event& e : all->events)
    if (e.stream != "s2" && e.timestamp >= 100 && e.timestamp < 300) window.push_back(e.message);
  ReadQuery q{.group = "g", .streams = {"s1", "s3"}, .start_time = 100, .end_time = 300};
  EXPECT_EQ(messagesOf(readAll(q, 5)), window);
}

TEST_F(LogStoreTest, TimeRangeIsInclusiveStartExclusiveEnd) {
  makeStream("g", "s");
  ASSERT_OK(put("g", "s", {100, 200, 300}));
  ASSERT_OK(put("g", "s", {250, 400}));
  auto r = store_->read(ReadQuery{.group = "g", .start_time = 200, .end_time = 300});
  ASSERT_OK(r);
  EXPECT_EQ(messagesOf(r->events), (std::vector<std::string>{"m200", "m250"}));
  EXPECT_TRUE(r->exhausted);
  r = store_->read(ReadQuery{.group = "g", .start_time = 200, .end_time = 300, .backward = true});
  ASSERT_OK(r);
  EXPECT_EQ(messagesOf(r->events), (std::vector<std::string>{"m250", "m200"}));
  r = store_->read(ReadQuery{.group = "g", .start_time = 401});
  ASSERT_OK(r);
  EXPECT_TRUE(r->events.empty());
  EXPECT_TRUE(r->exhausted);
  EXPECT_FALSE(r->last);
}

TEST_F(LogStoreTest, StreamPrefixSelectsStreams) {
  makeStream("g", "app/1");
  makeStream("g", "app/2");
  makeStream("g", "db/1");
  ASSERT_OK(put("g", "app/1", {1}, "a"));
  ASSERT_OK(put("g", "app/2", {2}, "b"));
  ASSERT_OK(put("g", "db/1", {3}, "c"));
  auto r = store_->read(ReadQuery{.group = "g", .stream_prefix = "app/"});
  ASSERT_OK(r);
  EXPECT_EQ(messagesOf(r->events), (std::vector<std::string>{"a1", "b2"}));
  r = store_->read(ReadQuery{.group = "g", .streams = {"db/1", "missing"}});
  ASSERT_OK(r);
  EXPECT_EQ(messagesOf(r->events), (std::vector<std::string>{"c3"}));
}

TEST_F(LogStoreTest, LiteralAndMatchFilter) {
  makeStream("g", "s");
  ASSERT_OK(store_->appendSync("g", "s",
                               {{1, "INFO ok"},
                                {2, "ERROR code=5"},
                                {3, "ERR"},  // with the next: "ERROR" only across the boundary
                                {4, "OR code=5"},
                                {5, "ERROR code=7 ERROR"},
                                {6, "x ERROR code=5"}}));
  ReadQuery q{.group = "g", .literal = "ERROR"};
  auto r = store_->read(q);
  ASSERT_OK(r);
  EXPECT_EQ(messagesOf(r->events), (std::vector<std::string>{"ERROR code=5", "ERROR code=7 ERROR", "x ERROR code=5"}));
  q.match = [](std::string_view m) { return m.find("code=5") != std::string_view::npos; };
  r = store_->read(q);
  ASSERT_OK(r);
  EXPECT_EQ(messagesOf(r->events), (std::vector<std::string>{"ERROR code=5", "x ERROR code=5"}));
  EXPECT_TRUE(r->exhausted);
  // Match alone.
  r = store_->read(ReadQuery{.group = "g", .match = q.match});
  ASSERT_OK(r);
  EXPECT_EQ(messagesOf(r->events), (std::vector<std::string>{"ERROR code=5", "OR code=5", "x ERROR code=5"}));
  // A page of one: the skipped events do not come back on the next page.
  EXPECT_EQ(messagesOf(readAll(q, 1)), (std::vector<std::string>{"ERROR code=5", "x ERROR code=5"}));
  q.backward = true;
  EXPECT_EQ(messagesOf(readAll(q, 1)), (std::vector<std::string>{"x ERROR code=5", "ERROR code=5"}));
}

TEST_F(LogStoreTest, LiteralSearchAgreesWithFind) {
  // A two-letter alphabet: hits and near-misses everywhere, also across the
  // boundaries of messages and of the 32-byte steps of the vector search.
  makeStream("g", "s");
  std::srand(11);
  std::vector<InputEvent> events;
  for (int i = 0; i < 300; ++i) {
    std::string m(static_cast<size_t>(std::rand() % 70), 'a');
    for (char& c : m) c = std::rand() % 3 == 0 ? 'b' : 'a';
    events.push_back(InputEvent{i, m});
  }
  ASSERT_OK(store_->appendSync("g", "s", events));
  for (const std::string& needle :
       std::vector<std::string>{"b", "ab", "bab", "bbbb", "abbab", std::string(40, 'a'), std::string(33, 'a') + "b"}) {
    std::vector<std::string> expected;
    for (const auto& e : events)
      if (e.message.find(needle) != std::string::npos) expected.push_back(e.message);
    auto r = store_->read(ReadQuery{.group = "g", .literal = needle});
    ASSERT_OK(r);
    EXPECT_EQ(messagesOf(r->events), expected) << needle;
  }
}

TEST_F(LogStoreTest, LimitsStopThePage) {
  makeStream("g", "s");
  for (int b = 0; b < 10; ++b) {
    std::vector<InputEvent> events;
    for (int i = 0; i < 10; ++i) events.push_back(InputEvent{b * 10 + i, std::string(100, 'a' + b)});
    ASSERT_OK(store_->appendSync("g", "s", events));
  }
  auto r = store_->read(ReadQuery{.group = "g", .limit = 15});
  ASSERT_OK(r);
  EXPECT_EQ(r->events.size(), 15u);
  EXPECT_FALSE(r->exhausted);
  EXPECT_EQ(r->last, r->events.back().position);

  r = store_->read(ReadQuery{.group = "g", .max_bytes = 3 * (100 + kEventOverheadBytes)});
  ASSERT_OK(r);
  EXPECT_EQ(r->events.size(), 3u);
  EXPECT_FALSE(r->exhausted);
  r = store_->read(ReadQuery{.group = "g", .max_bytes = 1});  // one event at least
  ASSERT_OK(r);
  EXPECT_EQ(r->events.size(), 1u);

  // The scan budget ends pages early, yet paging makes progress and finds
  // everything: with a one-byte budget each page opens one block.
  ReadQuery q{.group = "g", .literal = std::string(100, 'c'), .scan_budget_bytes = 1};
  size_t pages = 0;
  auto found = readAll(q, 100, &pages);
  EXPECT_EQ(found.size(), 10u);
  EXPECT_GE(pages, 10u);
  q.literal = "nowhere";
  found = readAll(q, 100, &pages);
  EXPECT_TRUE(found.empty());
  EXPECT_GE(pages, 10u);
  q.backward = true;
  q.literal = std::string(100, 'e');
  EXPECT_EQ(readAll(q, 100, &pages).size(), 10u);
  EXPECT_GE(pages, 10u);
}

TEST_F(LogStoreTest, ScanBudgetWithOverlappingBlocksMakesProgress) {
  makeStream("g", "a");
  makeStream("g", "b");
  // Blocks that all overlap in time, so that a resume point falls inside them.
  for (int b = 0; b < 8; ++b) {
    std::vector<InputEvent> events;
    for (int i = 0; i < 20; ++i)
      events.push_back(InputEvent{i * 10 + b, "e" + std::to_string(b) + "." + std::to_string(i)});
    ASSERT_OK(store_->appendSync("g", b % 2 ? "a" : "b", events));
  }
  auto all = store_->read(ReadQuery{.group = "g"});
  ASSERT_OK(all);
  ReadQuery q{.group = "g", .scan_budget_bytes = 1};
  for (size_t page : {1, 3, 50}) {
    EXPECT_EQ(messagesOf(readAll(q, page)), messagesOf(all->events)) << page;
    q.backward = true;
    auto back = messagesOf(readAll(q, page));
    std::reverse(back.begin(), back.end());
    EXPECT_EQ(back, messagesOf(all->events)) << page;
    q.backward = false;
  }
}

TEST_F(LogStoreTest, ConcurrentAppendersAreAllAcknowledgedAndVisibleOnce) {
  options_.sync = true;  // group commit with real fdatasyncs
  reopen();
  makeStream("g", "a");
  makeStream("g", "b");
  ASSERT_OK(store_->createGroup(GroupInfo{.name = "h"}));
  ASSERT_OK(store_->createStream("h", "c"));
  constexpr int kThreads = 6, kAppends = 100;
  std::atomic<int> ok{0}, failed{0};
  std::vector<std::thread> threads;
  for (int t = 0; t < kThreads; ++t) {
    threads.emplace_back([&, t] {
      const char* group = t % 3 == 2 ? "h" : "g";
      const char* stream = t % 3 == 0 ? "a" : t % 3 == 1 ? "b" : "c";
      for (int i = 0; i < kAppends; ++i) {
        std::vector<InputEvent> events{{i, "t" + std::to_string(t) + "-" + std::to_string(i)},
                                       {i, "t" + std::to_string(t) + "-" + std::to_string(i) + "b"}};
        auto s = store_->appendSync(group, stream, std::move(events));
        (s ? ok : failed)++;
      }
    });
  }
  for (auto& t : threads) t.join();
  EXPECT_EQ(ok.load(), kThreads * kAppends);
  EXPECT_EQ(failed.load(), 0);
  std::multiset<std::string> seen;
  for (const char* g : {"g", "h"})
    for (const Event& e : readAll(ReadQuery{.group = g}, 333)) seen.insert(e.message);
  EXPECT_EQ(seen.size(), size_t{kThreads * kAppends * 2});
  for (int t = 0; t < kThreads; ++t)
    for (int i = 0; i < kAppends; ++i) EXPECT_EQ(seen.count("t" + std::to_string(t) + "-" + std::to_string(i)), 1u);
}

TEST_F(LogStoreTest, ConcurrentReadersDuringAppendsSeeOrderedPrefixes) {
  makeStream("g", "s");
  std::atomic<bool> done{false};
  std::thread writer([&] {
    for (int i = 0; i < 300; ++i) ASSERT_OK(put("g", "s", {i}));
    done = true;
  });
  size_t last_count = 0;
  while (!done) {
    auto r = store_->read(ReadQuery{.group = "g"});
    ASSERT_OK(r);
    ASSERT_GE(r->events.size(), last_count);
    for (size_t i = 0; i < r->events.size(); ++i) ASSERT_EQ(r->events[i].timestamp, int64_t(i));
    last_count = r->events.size();
  }
  writer.join();
}

TEST_F(LogStoreTest, ReopenKeepsEventsStatsAndSourceMarks) {
  options_.segment_bytes = 2048;  // several segments
  reopen();
  makeStream("g", "s");
  makeStream("g", "t");
  ASSERT_OK(store_->setRetention("g", 30));
  ASSERT_OK(store_->tagGroup("g", {{"team", "a"}, {"env", "dev"}}));
  ASSERT_OK(store_->untagGroup("g", {"env"}));
  int64_t t0 = now();
  for (int i = 0; i < 40; ++i) {
    ASSERT_OK(put("g", i % 2 ? "s" : "t", {t0 + i, t0 + i}, std::string(50, 'p'),
                  SourceMark{i % 2 ? "/logs/a" : "/logs/b", uint64_t(100 * (i + 1))}));
    clock_.advance(milliseconds(10));
  }
  ASSERT_OK(store_->appendSync("g", "s", EventBatch{}, SourceMark{"/logs/c", 7}));  // progress without events
  EXPECT_GT(segmentFiles().size(), 3u);
  auto before = readAll(ReadQuery{.group = "g"});
  auto streams_before = store_->streams("g");
  auto group_before = store_->group("g");
  ASSERT_OK(streams_before);
  ASSERT_OK(group_before);
  EXPECT_EQ(store_->sourceOffset("/logs/a"), 4000u);
  EXPECT_EQ(store_->sourceOffset("/logs/b"), 3900u);
  EXPECT_EQ(store_->sourceOffset("/logs/c"), 7u);

  reopen();
  auto after = readAll(ReadQuery{.group = "g"});
  ASSERT_EQ(after.size(), before.size());
  for (size_t i = 0; i < after.size(); ++i) {
    EXPECT_EQ(after[i].message, before[i].message);
    EXPECT_EQ(after[i].position, before[i].position);
    EXPECT_EQ(after[i].ingestion_time, before[i].ingestion_time);
    EXPECT_EQ(after[i].stream, before[i].stream);
  }
  auto streams_after = store_->streams("g");
  ASSERT_OK(streams_after);
  ASSERT_EQ(streams_after->size(), 2u);
  for (size_t i = 0; i < 2; ++i) {
    EXPECT_EQ((*streams_after)[i].name, (*streams_before)[i].name);
    EXPECT_EQ((*streams_after)[i].creation_time, (*streams_before)[i].creation_time);
    EXPECT_EQ((*streams_after)[i].first_event_timestamp, (*streams_before)[i].first_event_timestamp);
    EXPECT_EQ((*streams_after)[i].last_event_timestamp, (*streams_before)[i].last_event_timestamp);
    EXPECT_EQ((*streams_after)[i].last_ingestion_time, (*streams_before)[i].last_ingestion_time);
    EXPECT_EQ((*streams_after)[i].stored_bytes, (*streams_before)[i].stored_bytes);
  }
  auto group_after = store_->group("g");
  ASSERT_OK(group_after);
  EXPECT_EQ(group_after->stored_bytes, group_before->stored_bytes);
  EXPECT_EQ(group_after->ingested_bytes, group_before->ingested_bytes);
  EXPECT_EQ(group_after->creation_time, group_before->creation_time);
  EXPECT_EQ(group_after->retention_days, 30);
  EXPECT_EQ(group_after->tags, (std::map<std::string, std::string>{{"team", "a"}}));
  EXPECT_EQ(store_->sourceOffset("/logs/a"), 4000u);
  EXPECT_EQ(store_->sourceOffset("/logs/b"), 3900u);
  EXPECT_EQ(store_->sourceOffset("/logs/c"), 7u);
  EXPECT_EQ(store_->sourceOffset("/logs/none"), std::nullopt);

  // New blocks sort after the old ones, and forgetting a source lasts.
  ASSERT_OK(put("g", "s", {t0}, "new"));
  auto again = store_->read(ReadQuery{.group = "g", .start_time = t0, .end_time = t0 + 1});
  ASSERT_OK(again);
  EXPECT_EQ(again->events.back().message, "new" + std::to_string(t0));
  store_->forgetSource("/logs/a");
  EXPECT_EQ(store_->sourceOffset("/logs/a"), std::nullopt);
  reopen();
  EXPECT_EQ(store_->sourceOffset("/logs/a"), std::nullopt);
  EXPECT_EQ(store_->sourceOffset("/logs/b"), 3900u);
  ASSERT_OK(put("g", "s", {t0}, "x", SourceMark{"/logs/a", 5}));
  EXPECT_EQ(store_->sourceOffset("/logs/a"), 5u);
  reopen();
  EXPECT_EQ(store_->sourceOffset("/logs/a"), 5u);
}

TEST_F(LogStoreTest, TornTailIsCutOffAtOpen) {
  options_.sync = true;
  reopen();
  makeStream("g", "s");
  ASSERT_OK(put("g", "s", {1, 2}));
  ASSERT_OK(put("g", "s", {3, 4}));
  auto seg = segmentFiles().at(0);
  uint64_t two_blocks = fs::file_size(seg);
  ASSERT_OK(put("g", "s", {5, 6}));
  uint64_t three_blocks = fs::file_size(seg);
  store_.reset();

  // Half of the last block.
  fs::resize_file(seg, two_blocks + (three_blocks - two_blocks) / 2);
  reopen();
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));
  EXPECT_EQ(fs::file_size(seg), two_blocks);
  EXPECT_EQ(store_->group("g")->stored_bytes, two_blocks);

  // Garbage after the last block, then a block with a bad checksum.
  store_.reset();
  {
    std::ofstream f(seg, std::ios::binary | std::ios::app);
    f << std::string(100, '\x42');
  }
  reopen();
  EXPECT_EQ(fs::file_size(seg), two_blocks);
  ASSERT_OK(put("g", "s", {5, 6}));
  EXPECT_EQ(fs::file_size(seg), three_blocks);
  store_.reset();
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(three_blocks - 1));
    f.put('Z');  // the last byte of "m6"
  }
  reopen();
  EXPECT_EQ(fs::file_size(seg), two_blocks);
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), (std::vector<std::string>{"m1", "m2", "m3", "m4"}));

  // Appends continue after the cut, and survive the next open.
  ASSERT_OK(put("g", "s", {7}));
  reopen();
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), (std::vector<std::string>{"m1", "m2", "m3", "m4", "m7"}));
}

TEST_F(LogStoreTest, CorruptBlockInTheNewestSegmentCutsFromThere) {
  // Blocks of the last batch before a crash may reach the disk in any order,
  // so every block of the newest segment is checked, not only the last.
  makeStream("g", "s");
  ASSERT_OK(put("g", "s", {1}, std::string(100, 'a')));
  auto seg = segmentFiles().at(0);
  uint64_t one = fs::file_size(seg);
  ASSERT_OK(put("g", "s", {2}, std::string(100, 'b')));
  ASSERT_OK(put("g", "s", {3}, std::string(100, 'c')));
  store_.reset();
  {
    std::fstream f(seg, std::ios::binary | std::ios::in | std::ios::out);
    f.seekp(static_cast<std::streamoff>(one + 150));  // inside the second block's message
    f.put('X');
  }
  reopen();
  EXPECT_EQ(fs::file_size(seg), one);
  auto r = readAll(ReadQuery{.group = "g"});
  ASSERT_EQ(r.size(), 1u);
  EXPECT_EQ(r[0].timestamp, 1);
}

TEST_F(LogStoreTest, OpenRemovesLeftoversOfDeletedGroups) {
  makeStream("g", "s");
  ASSERT_OK(put("g", "s", {1}));
  store_.reset();
  fs::create_directories(dir_ / "groups" / "999");
  std::ofstream(dir_ / "groups" / "999" / "00000000000000000001.seg") << "stale";
  reopen();
  EXPECT_FALSE(fs::exists(dir_ / "groups" / "999"));
  EXPECT_EQ(readAll(ReadQuery{.group = "g"}).size(), 1u);
}

TEST_F(LogStoreTest, RetentionDropsExpiredSegmentsAndHidesOldEvents) {
  options_.segment_span = hours(1);
  reopen();
  makeStream("g", "s");
  makeStream("keep", "s");  // no retention
  ASSERT_OK(store_->setRetention("g", 1));
  int64_t t0 = now();
  // Segment 1: old events only. Segment 2: old and new. Segment 3: new.
  ASSERT_OK(put("g", "s", {t0 - 3 * kDay, t0 - 3 * kDay + 1}, "old"));
  ASSERT_OK(put("keep", "s", {t0 - 3 * kDay}, "kept"));
  clock_.advance(hours(1));
  ASSERT_OK(put("g", "s", {t0 - 2 * kDay, now()}, "mixed"));
  clock_.advance(hours(1));
  ASSERT_OK(put("g", "s", {now()}, "new"));
  ASSERT_EQ(segmentFiles().size(), 4u);  // three of g, one of keep

  // Reads hide what is past retention, even in live segments.
  auto visible = messagesOf(readAll(ReadQuery{.group = "g"}));
  EXPECT_EQ(visible,
            (std::vector<std::string>{"mixed" + std::to_string(t0 + 3600000), "new" + std::to_string(t0 + 7200000)}));
  auto before = store_->group("g");
  ASSERT_OK(before);
  uint64_t freed = store_->enforceRetention();
  EXPECT_GT(freed, 0u);
  auto after = store_->group("g");
  ASSERT_OK(after);
  EXPECT_EQ(after->stored_bytes, before->stored_bytes - freed);
  EXPECT_EQ(after->ingested_bytes, before->ingested_bytes);  // ingested stays ingested
  EXPECT_EQ(segmentFiles().size(), 3u);
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), visible);
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "keep"})),
            (std::vector<std::string>{"kept" + std::to_string(t0 - 3 * kDay)}));
  auto streams = store_->streams("g");
  ASSERT_OK(streams);
  EXPECT_EQ((*streams)[0].first_event_timestamp, t0 - 2 * kDay);
  EXPECT_EQ(store_->enforceRetention(), 0u);

  // Everything expires, the active segment too; appends start a new one.
  clock_.advance(hours(48));
  EXPECT_GT(store_->enforceRetention(), 0u);
  EXPECT_EQ(segmentFiles().size(), 1u);
  EXPECT_EQ(store_->group("g")->stored_bytes, 0u);
  EXPECT_TRUE(readAll(ReadQuery{.group = "g"}).empty());
  ASSERT_OK(put("g", "s", {now()}, "fresh"));
  EXPECT_EQ(segmentFiles().size(), 2u);

  // The counters and the drops survive a restart.
  auto live = store_->group("g");
  reopen();
  auto reopened = store_->group("g");
  ASSERT_OK(reopened);
  EXPECT_EQ(reopened->stored_bytes, live->stored_bytes);
  EXPECT_EQ(reopened->ingested_bytes, live->ingested_bytes);
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), (std::vector<std::string>{"fresh" + std::to_string(now())}));
}

TEST_F(LogStoreTest, RetentionKeepsSourceMarksOfDroppedSegments) {
  makeStream("g", "s");
  ASSERT_OK(store_->setRetention("g", 1));
  ASSERT_OK(put("g", "s", {now() - 2 * kDay}, "old", SourceMark{"/f", 42}));
  EXPECT_GT(store_->enforceRetention(), 0u);
  EXPECT_TRUE(segmentFiles().empty());
  EXPECT_EQ(store_->sourceOffset("/f"), 42u);
  reopen();
  EXPECT_EQ(store_->sourceOffset("/f"), 42u);
  // Block sequences keep growing after a restart that found no blocks.
  ASSERT_OK(put("g", "s", {now()}, "new"));
  auto r = store_->read(ReadQuery{.group = "g"});
  ASSERT_OK(r);
  ASSERT_EQ(r->events.size(), 1u);
  EXPECT_GT(r->events[0].position.block, 1u);
}

TEST_F(LogStoreTest, SegmentsRollBySize) {
  options_.segment_bytes = 1000;
  reopen();
  makeStream("g", "s");
  for (int i = 0; i < 20; ++i) ASSERT_OK(put("g", "s", {i}, std::string(300, 'r')));
  auto files = segmentFiles();
  EXPECT_GE(files.size(), 6u);
  for (const auto& f : files) EXPECT_LE(fs::file_size(f), 1000u);
  EXPECT_EQ(readAll(ReadQuery{.group = "g"}, 3).size(), 20u);
  reopen();
  EXPECT_EQ(readAll(ReadQuery{.group = "g"}, 3).size(), 20u);
}

TEST_F(LogStoreTest, DeleteStreamAndGroup) {
  makeStream("g", "a");
  makeStream("g", "b");
  ASSERT_OK(put("g", "a", {1, 2}));
  ASSERT_OK(put("g", "b", {3}));
  ASSERT_OK(store_->deleteStream("g", "a"));
  auto streams = store_->streams("g");
  ASSERT_OK(streams);
  ASSERT_EQ(streams->size(), 1u);
  EXPECT_EQ((*streams)[0].name, "b");
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), (std::vector<std::string>{"m3"}));
  auto s = put("g", "a", {4});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kNotFound);
  // A new stream of the same name starts empty, before and after a restart.
  ASSERT_OK(store_->createStream("g", "a"));
  EXPECT_TRUE(readAll(ReadQuery{.group = "g", .streams = {"a"}}).empty());
  reopen();
  EXPECT_TRUE(readAll(ReadQuery{.group = "g", .streams = {"a"}}).empty());
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), (std::vector<std::string>{"m3"}));

  auto dirs_before = std::distance(fs::directory_iterator(dir_ / "groups"), fs::directory_iterator());
  ASSERT_OK(store_->deleteGroup("g"));
  EXPECT_EQ(std::distance(fs::directory_iterator(dir_ / "groups"), fs::directory_iterator()), dirs_before - 1);
  EXPECT_EQ(store_->group("g").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->read(ReadQuery{.group = "g"}).error().code, ErrorCode::kNotFound);
  EXPECT_TRUE(store_->groups().empty());
  makeStream("g", "b");
  EXPECT_TRUE(readAll(ReadQuery{.group = "g"}).empty());
  reopen();
  EXPECT_TRUE(readAll(ReadQuery{.group = "g"}).empty());
  EXPECT_EQ(store_->groups().size(), 1u);
}

TEST_F(LogStoreTest, GroupsAreSortedAndKeepTheirSettings) {
  ASSERT_OK(store_->createGroup(GroupInfo{.name = "b",
                                          .creation_time = 5,
                                          .kms_key_id = "k",
                                          .log_group_class = "INFREQUENT_ACCESS",
                                          .tags = {{"x", "1"}}}));
  ASSERT_OK(store_->createGroup(GroupInfo{.name = "a"}));
  std::string long_name(512, 'n');  // longer than a file name can be
  makeStream(long_name, "s");
  ASSERT_OK(put(long_name, "s", {1}));
  reopen();
  auto groups = store_->groups();
  ASSERT_EQ(groups.size(), 3u);
  EXPECT_EQ(groups[0].name, "a");
  EXPECT_EQ(groups[0].creation_time, now());
  EXPECT_EQ(groups[1].name, "b");
  EXPECT_EQ(groups[1].creation_time, 5);
  EXPECT_EQ(groups[1].kms_key_id, "k");
  EXPECT_EQ(groups[1].log_group_class, "INFREQUENT_ACCESS");
  EXPECT_EQ(groups[1].tags.at("x"), "1");
  EXPECT_EQ(groups[2].name, long_name);
  EXPECT_EQ(readAll(ReadQuery{.group = long_name}).size(), 1u);
}

TEST_F(LogStoreTest, Errors) {
  ASSERT_OK(store_->createGroup(GroupInfo{.name = "g"}));
  auto s = store_->createGroup(GroupInfo{.name = "g"});
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(s.error().aws_type, "ResourceAlreadyExistsException");
  EXPECT_EQ(store_->createStream("nope", "s").error().code, ErrorCode::kNotFound);
  ASSERT_OK(store_->createStream("g", "s"));
  EXPECT_EQ(store_->createStream("g", "s").error().code, ErrorCode::kAlreadyExists);
  EXPECT_EQ(store_->deleteStream("g", "nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteStream("nope", "s").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->deleteGroup("nope").error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->streams("nope").error().code, ErrorCode::kNotFound);
  auto one = store_->stream("g", "s");
  ASSERT_TRUE(one) << one.error().message;
  EXPECT_EQ(one->name, "s");
  EXPECT_EQ(store_->stream("g", "nope").error().message, "The specified log stream does not exist.");
  EXPECT_EQ(store_->stream("nope", "s").error().message, "The specified log group does not exist.");
  EXPECT_EQ(store_->setRetention("nope", 1).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->tagGroup("nope", {}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->untagGroup("nope", {}).error().code, ErrorCode::kNotFound);
  EXPECT_EQ(store_->read(ReadQuery{.group = "nope"}).error().code, ErrorCode::kNotFound);
  auto missing_group = put("nope", "s", {1});
  EXPECT_EQ(missing_group.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(missing_group.error().aws_type, "ResourceNotFoundException");
  EXPECT_EQ(put("g", "nope", {1}).error().code, ErrorCode::kNotFound);
  EXPECT_FALSE(LogStore::open(LogStoreOptions{.dir = dir_ / "x"}));  // no clock
}

TEST_F(LogStoreTest, FailedWritesLeaveNothingVisible) {
  std::atomic<int> fail_errno{0};
  std::string fail_op;
  std::mutex mu;
  options_.sync = true;
  options_.inject_fault = [&](std::string_view op) {
    std::lock_guard lock(mu);
    return op == fail_op ? fail_errno.load() : 0;
  };
  reopen();
  makeStream("g", "s");
  ASSERT_OK(put("g", "s", {1}, "ok"));
  uint64_t size = store_->group("g")->stored_bytes;
  for (const char* op : {"write", "sync"}) {
    {
      std::lock_guard lock(mu);
      fail_op = op;
      fail_errno = EIO;
    }
    std::vector<std::string> before = messagesOf(readAll(ReadQuery{.group = "g"}));
    auto s = put("g", "s", {2}, op, SourceMark{"/src", 9});
    ASSERT_FALSE(s) << op;
    EXPECT_EQ(s.error().code, ErrorCode::kIo);
    EXPECT_EQ(s.error().sys_errno, EIO);
    EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), before);
    EXPECT_EQ(store_->group("g")->stored_bytes, size);
    EXPECT_EQ(fs::file_size(segmentFiles().at(0)), size);
    EXPECT_EQ(store_->sourceOffset("/src"), std::nullopt);
    // The source's later appends fail too, without a fault, until it is
    // resumed; other sources go on.
    {
      std::lock_guard lock(mu);
      fail_errno = 0;
    }
    auto later = put("g", "s", {2}, "later", SourceMark{"/src", 10});
    ASSERT_FALSE(later) << op;
    EXPECT_EQ(later.error().code, ErrorCode::kFailedPrecondition);
    EXPECT_EQ(store_->group("g")->stored_bytes, size);
    ASSERT_OK(put("g", "s", {2}, "other", SourceMark{"/other", 1}));
    store_->resumeSource("/src");
    ASSERT_OK(put("g", "s", {2}, "resumed", SourceMark{"/src", 11}));
    EXPECT_EQ(store_->sourceOffset("/src"), 11u);
    before.push_back("other2");
    before.push_back("resumed2");
    EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), before);
    reopen();
    EXPECT_EQ(store_->sourceOffset("/src"), 11u);
    store_->forgetSource("/src");
    store_->forgetSource("/other");
    size = store_->group("g")->stored_bytes;
  }
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})),
            (std::vector<std::string>{"ok1", "other2", "resumed2", "other2", "resumed2"}));
  // A segment that cannot be created: the append fails, the next one works.
  options_.segment_bytes = 1;
  {
    std::lock_guard lock(mu);
    fail_op = "create";
    fail_errno = EIO;
  }
  reopen();
  EXPECT_EQ(put("g", "s", {3}, "c").error().code, ErrorCode::kIo);
  fail_errno = 0;
  ASSERT_OK(put("g", "s", {4}, "ok"));
  reopen();
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})),
            (std::vector<std::string>{"ok1", "other2", "resumed2", "other2", "resumed2", "ok4"}));
  EXPECT_EQ(store_->sourceOffset("/src"), std::nullopt);
}

// Several appends of one source in flight, the first of which fails: none
// after it commits (in its write batch or a later one), so the source's
// mark never passes a lost block.
TEST_F(LogStoreTest, AppendsInFlightAfterAFailedOneOfTheirSourceFailToo) {
  std::atomic<int> writes_to_fail{1};
  options_.inject_fault = [&](std::string_view op) {
    return op == "write" && writes_to_fail.fetch_sub(1) > 0 ? EIO : 0;
  };
  reopen();
  makeStream("g", "s");
  constexpr int kAppends = 50;
  std::mutex mu;
  std::condition_variable cv;
  std::vector<Status> results(kAppends);
  int pending = kAppends;
  for (int i = 0; i < kAppends; ++i) {
    store_->append("g", "s", std::vector<InputEvent>{{i, fmt::format("e{}", i)}}, SourceMark{"/src", uint64_t(i + 1)},
                   [&, i](Status s) {
                     std::lock_guard lock(mu);
                     results[i] = std::move(s);
                     if (--pending == 0) cv.notify_one();
                   });
  }
  {
    std::unique_lock lock(mu);
    cv.wait(lock, [&] { return pending == 0; });
  }
  for (int i = 0; i < kAppends; ++i) {
    ASSERT_FALSE(results[i]) << i;
    // The first write batch fails with the write; the batches after it
    // are refused.
    ErrorCode code = results[i].error().code;
    EXPECT_TRUE(code == ErrorCode::kIo || code == ErrorCode::kFailedPrecondition) << i;
  }
  EXPECT_EQ(results[0].error().code, ErrorCode::kIo);
  EXPECT_TRUE(readAll(ReadQuery{.group = "g"}).empty());
  EXPECT_EQ(store_->sourceOffset("/src"), std::nullopt);

  // A missing stream (kNotFound) does not stop the source.
  store_->resumeSource("/src");
  auto missing = store_->appendSync("g", "missing", std::vector<InputEvent>{{1, "x"}}, SourceMark{"/src", 100});
  ASSERT_FALSE(missing);
  EXPECT_EQ(missing.error().code, ErrorCode::kNotFound);
  ASSERT_OK(store_->appendSync("g", "s", std::vector<InputEvent>{{1, "y"}}, SourceMark{"/src", 101}));
  EXPECT_EQ(store_->sourceOffset("/src"), 101u);
  reopen();
  EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), std::vector<std::string>{"y"});
  EXPECT_EQ(store_->sourceOffset("/src"), 101u);
}

TEST(EventBatchTest, PacksEventsAsABlockBody) {
  EventBatch b;
  EXPECT_TRUE(b.empty());
  b.reserve(3, 10);
  b.add(5, "ab");
  b.add(7, "");
  b.add(6, "cde");
  ASSERT_EQ(b.size(), 3u);
  EXPECT_EQ(b.message(0), "ab");
  EXPECT_EQ(b.message(1), "");
  EXPECT_EQ(b.message(2), "cde");
  EXPECT_EQ(b.timestamp(2), 6);
  EXPECT_EQ(b.messageBytes(), 5u);
  EXPECT_EQ(b.largestMessage(), 3u);
  EXPECT_EQ(b.messages(), "abcde");
  EXPECT_EQ(std::vector<uint32_t>(b.ends().begin(), b.ends().end()), (std::vector<uint32_t>{2, 2, 5}));
  EXPECT_EQ(std::vector<int64_t>(b.timestamps().begin(), b.timestamps().end()), (std::vector<int64_t>{5, 7, 6}));
  EventBatch copy(std::vector<InputEvent>{{1, "x"}, {2, "yz"}});
  EXPECT_EQ(copy.messages(), "xyz");
  EXPECT_EQ(copy.message(1), "yz");
  b.clear();
  EXPECT_TRUE(b.empty());
  EXPECT_EQ(b.messageBytes(), 0u);
  EXPECT_EQ(b.largestMessage(), 0u);
}

TEST_F(LogStoreTest, EventBatchesRoundTripSortedOrNot) {
  makeStream("g", "s");
  EventBatch sorted;
  for (int i = 0; i < 100; ++i) sorted.add(10 + i, fmt::format("s{}", i));
  ASSERT_OK(store_->appendSync("g", "s", std::move(sorted), SourceMark{"/a", 1}));
  // Unsorted: stored in stable timestamp order.
  EventBatch unsorted;
  unsorted.add(300, "u0");
  unsorted.add(200, "u1");
  unsorted.add(300, "u2");
  unsorted.add(200, "u3");
  ASSERT_OK(store_->appendSync("g", "s", std::move(unsorted)));
  EventBatch too_big;
  too_big.add(1, std::string(kMaxEventMessageBytes + 1, 'x'));
  EXPECT_EQ(store_->appendSync("g", "s", std::move(too_big)).error().code, ErrorCode::kInvalidArgument);
  for (int pass = 0; pass < 2; ++pass) {
    std::vector<std::string> want;
    for (int i = 0; i < 100; ++i) want.push_back(fmt::format("s{}", i));
    for (const char* m : {"u1", "u3", "u0", "u2"}) want.push_back(m);
    EXPECT_EQ(messagesOf(readAll(ReadQuery{.group = "g"})), want);
    EXPECT_EQ(store_->sourceOffset("/a"), 1u);
    reopen();  // the checksums of both kinds of block hold
  }
}

TEST_F(LogStoreTest, AsyncAppendCallbacksRunOnceEach) {
  makeStream("g", "s");
  std::atomic<int> ok{0}, not_found{0};
  std::mutex mu;
  std::condition_variable cv;
  int pending = 200;
  for (int i = 0; i < 200; ++i) {
    store_->append("g", i % 10 == 0 ? "missing" : "s", {{i, "x"}}, std::nullopt, [&](Status s) {
      (s ? ok : not_found)++;
      std::lock_guard lock(mu);
      if (--pending == 0) cv.notify_one();
    });
  }
  std::unique_lock lock(mu);
  cv.wait(lock, [&] { return pending == 0; });
  EXPECT_EQ(ok.load(), 180);
  EXPECT_EQ(not_found.load(), 20);
  lock.unlock();
  EXPECT_EQ(readAll(ReadQuery{.group = "g"}).size(), 180u);
}

}  // namespace
}  // namespace berth::logs
