// Live Tail sessions over a real LogStore: exactly-once delivery in
// ingestion order, stream selection, filter patterns, the per-update cap
// with sampling, the session time limit, stop(), and a client that goes away.
#include "api/logs/live_tail.h"

#include <stdlib.h>

#include <filesystem>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/json.hpp>

#include "aws/event_stream.h"
#include "common/clock.h"

namespace berth::api {
namespace {

namespace asio = boost::asio;
namespace bj = boost::json;
namespace fs = std::filesystem;

struct Message {
  std::string kind;  // ":event-type" or ":exception-type"
  bj::value payload;
};

uint32_t u32At(std::string_view s, size_t at) {
  auto b = [&](size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(s[at + i])); };
  return b(0) << 24 | b(1) << 16 | b(2) << 8 | b(3);
}

// Decodes whole messages (checking both CRCs) from what a session wrote.
std::vector<Message> decode(std::string_view data) {
  std::vector<Message> out;
  while (data.size() >= 16) {
    uint32_t total = u32At(data, 0), headers = u32At(data, 4);
    EXPECT_EQ(u32At(data, 8), aws::eventstream::crc32(data.substr(0, 8)));
    EXPECT_EQ(u32At(data, total - 4), aws::eventstream::crc32(data.substr(0, total - 4)));
    Message m;
    std::string_view h = data.substr(12, headers);
    while (!h.empty()) {
      size_t name_len = static_cast<unsigned char>(h[0]);
      std::string_view name = h.substr(1, name_len);
      size_t value_len = static_cast<size_t>(static_cast<unsigned char>(h[2 + name_len])) << 8 |
                         static_cast<unsigned char>(h[3 + name_len]);
      std::string_view value = h.substr(4 + name_len, value_len);
      if (name == ":event-type" || name == ":exception-type") m.kind = value;
      h.remove_prefix(4 + name_len + value_len);
    }
    m.payload = bj::parse(data.substr(12 + headers, total - 16 - headers));
    out.push_back(std::move(m));
    data.remove_prefix(total);
  }
  EXPECT_TRUE(data.empty());
  return out;
}

class CapturingStream : public http::ResponseStream {
 public:
  bool write(std::string data) override {
    std::lock_guard lock(mu_);
    if (finished_ || gone_) return false;
    bytes_ += data;
    return true;
  }
  void finish() override {
    std::lock_guard lock(mu_);
    finished_ = true;
  }
  std::vector<Message> messages() {
    std::lock_guard lock(mu_);
    return decode(bytes_);
  }
  bool finished() {
    std::lock_guard lock(mu_);
    return finished_;
  }
  // The client disconnects: as the HTTP layer does it.
  void disconnect() {
    std::function<void()> f;
    {
      std::lock_guard lock(mu_);
      gone_ = true;
      f = std::move(on_close_);
    }
    if (f) f();
  }
  void setOnClose(std::function<void()> f) {
    std::lock_guard lock(mu_);
    on_close_ = std::move(f);
  }

 private:
  std::mutex mu_;
  std::string bytes_;
  bool finished_ = false;
  bool gone_ = false;
  std::function<void()> on_close_;
};

class LiveTailTest : public ::testing::Test {
 protected:
  void SetUp() override {
    std::string tmpl = (fs::temp_directory_path() / "berth-livetail-XXXXXX").string();
    ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
    dir_ = tmpl;
    auto s = logs::LogStore::open(logs::LogStoreOptions{.dir = dir_, .clock = &clock_, .sync = false});
    ASSERT_TRUE(s);
    store_ = std::move(*s);
    ASSERT_TRUE(store_->createGroup(logs::GroupInfo{.name = "g"}));
    ASSERT_TRUE(store_->createGroup(logs::GroupInfo{.name = "other"}));
    for (const char* s : {"app/1", "app/2", "sidecar"}) ASSERT_TRUE(store_->createStream("g", s));
    ASSERT_TRUE(store_->createStream("other", "x"));
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    if (tail_) tail_->stop();
    // Let the sessions' last steps run before the LiveTail goes.
    for (int i = 0; i < 200 && tail_ && tail_->sessionCount() > 0; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    guard_.reset();
    thread_.join();
    tail_.reset();
    store_.reset();
    fs::remove_all(dir_);
  }

  void makeTail(LiveTailOptions options = {}) {
    options.update_interval = std::chrono::milliseconds(20);
    tail_ = std::make_unique<LiveTail>(*store_, io_.get_executor(), options);
  }

  std::shared_ptr<CapturingStream> start(LiveTailSpec spec) {
    auto out = std::make_shared<CapturingStream>();
    tail_->start(std::move(spec), "req-1", [out](std::function<void()> on_close) {
      out->setOnClose(std::move(on_close));
      return out;
    });
    // Subscribed once sessionStart is out.
    for (int i = 0; i < 400 && out->messages().size() < 2; ++i)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    return out;
  }

  static LiveTailSpec spec(std::string pattern = "") {
    LiveTailSpec s;
    s.groups = {{"g", "arn:aws:logs:us-east-1:000000000000:log-group:g"}};
    s.pattern = *logs::FilterPattern::parse(pattern);
    return s;
  }

  void put(const std::string& group, const std::string& stream, std::vector<std::string> messages) {
    std::vector<logs::InputEvent> events;
    for (auto& m : messages) events.push_back({clock_.epochMillis(), std::move(m)});
    ASSERT_TRUE(store_->appendSync(group, stream, events));
  }

  // "stream:message" of every delivered event, once `n` arrived (or time ran out).
  static std::vector<std::string> waitFor(CapturingStream& out, size_t n) {
    std::vector<std::string> got;
    for (int i = 0; i < 400; ++i) {
      got.clear();
      for (const auto& m : out.messages())
        if (m.kind == "sessionUpdate")
          for (const auto& e : m.payload.at("sessionResults").as_array())
            got.push_back(std::string(e.at("logStreamName").as_string()) + ":" +
                          std::string(e.at("message").as_string()));
      if (got.size() >= n) break;
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    return got;
  }

  FakeClock clock_;
  fs::path dir_;
  std::unique_ptr<logs::LogStore> store_;
  asio::io_context io_;
  asio::executor_work_guard<asio::io_context::executor_type> guard_ = asio::make_work_guard(io_);
  std::thread thread_;
  std::unique_ptr<LiveTail> tail_;
};

TEST_F(LiveTailTest, StartsWithInitialResponseAndSessionStart) {
  makeTail();
  auto s = spec("ERROR");
  s.stream_prefixes = {"app/"};
  auto out = start(std::move(s));
  auto m = out->messages();
  ASSERT_GE(m.size(), 2u);
  EXPECT_EQ(m[0].kind, "initial-response");
  EXPECT_EQ(m[1].kind, "sessionStart");
  const auto& start = m[1].payload.as_object();
  EXPECT_EQ(start.at("requestId"), "req-1");
  EXPECT_EQ(start.at("logGroupIdentifiers").as_array().at(0), "arn:aws:logs:us-east-1:000000000000:log-group:g");
  EXPECT_EQ(start.at("logStreamNamePrefixes").as_array().at(0), "app/");
  EXPECT_EQ(start.at("logEventFilterPattern"), "ERROR");
  EXPECT_FALSE(start.contains("logStreamNames"));
  EXPECT_EQ(tail_->sessionCount(), 1u);
}

TEST_F(LiveTailTest, DeliversSelectedMatchingEventsOnceInOrder) {
  makeTail();
  auto s = spec("-DEBUG");
  s.stream_prefixes = {"app/"};
  auto out = start(std::move(s));
  put("g", "app/1", {"a1", "DEBUG a2", "a3"});
  put("g", "sidecar", {"not selected"});
  put("other", "x", {"other group"});
  put("g", "app/2", {"b1"});
  put("g", "app/1", {"a4"});
  auto got = waitFor(*out, 4);
  std::this_thread::sleep_for(std::chrono::milliseconds(100));  // a few more updates
  got = waitFor(*out, 4);
  EXPECT_EQ(got, (std::vector<std::string>{"app/1:a1", "app/1:a3", "app/2:b1", "app/1:a4"}));
  for (const auto& m : out->messages())
    if (m.kind == "sessionUpdate") {
      EXPECT_EQ(m.payload.at("sessionMetadata").at("sampled"), false);
      for (const auto& e : m.payload.at("sessionResults").as_array()) {
        EXPECT_EQ(e.at("logGroupIdentifier"), "arn:aws:logs:us-east-1:000000000000:log-group:g");
        EXPECT_EQ(e.at("timestamp").to_number<int64_t>(), clock_.epochMillis());
        EXPECT_TRUE(e.as_object().contains("ingestionTime"));
      }
    }
}

TEST_F(LiveTailTest, EventsBeforeTheSessionAreNotReplayed) {
  put("g", "app/1", {"old"});
  makeTail();
  auto out = start(spec());
  put("g", "app/1", {"new"});
  EXPECT_EQ(waitFor(*out, 1), std::vector<std::string>{"app/1:new"});
}

TEST_F(LiveTailTest, UpdatesAreCappedAndMarkedSampled) {
  LiveTailOptions options;
  options.max_events_per_update = 3;
  makeTail(options);
  auto out = start(spec());
  std::vector<std::string> many;
  for (int i = 0; i < 10; ++i) many.push_back("m" + std::to_string(i));
  put("g", "app/1", many);
  auto got = waitFor(*out, 3);
  EXPECT_EQ(got, (std::vector<std::string>{"app/1:m0", "app/1:m3", "app/1:m6"}));  // evenly spaced
  bool sampled = false;
  for (const auto& m : out->messages())
    if (m.kind == "sessionUpdate" && m.payload.at("sessionMetadata").at("sampled") == true) sampled = true;
  EXPECT_TRUE(sampled);
}

TEST_F(LiveTailTest, EmptyUpdatesKeepComing) {
  makeTail();
  auto out = start(spec());
  size_t updates = 0;
  for (int i = 0; i < 400 && updates < 3; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    updates = 0;
    for (const auto& m : out->messages()) updates += m.kind == "sessionUpdate";
  }
  EXPECT_GE(updates, 3u);
}

TEST_F(LiveTailTest, TimesOutWithSessionTimeoutException) {
  LiveTailOptions options;
  options.session_limit = std::chrono::milliseconds(50);
  makeTail(options);
  auto out = start(spec());
  for (int i = 0; i < 400 && !out->finished(); ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  ASSERT_TRUE(out->finished());
  auto m = out->messages();
  EXPECT_EQ(m.back().kind, "SessionTimeoutException");
  EXPECT_TRUE(m.back().payload.as_object().contains("message"));
  for (int i = 0; i < 200 && tail_->sessionCount() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(tail_->sessionCount(), 0u);
}

TEST_F(LiveTailTest, ClientDisconnectEndsTheSession) {
  makeTail();
  auto out = start(spec());
  std::weak_ptr<CapturingStream> weak = out;
  out->disconnect();
  for (int i = 0; i < 200 && tail_->sessionCount() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(tail_->sessionCount(), 0u);
  EXPECT_FALSE(out->finished());  // nothing to finish: the client is gone
  out.reset();
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  EXPECT_TRUE(weak.expired());   // the session let go of it
  put("g", "app/1", {"after"});  // no listener left to call
}

TEST_F(LiveTailTest, StopEndsEverySessionCleanly) {
  makeTail();
  auto a = start(spec());
  auto b = start(spec());
  EXPECT_EQ(tail_->sessionCount(), 2u);
  tail_->stop();
  for (int i = 0; i < 200 && tail_->sessionCount() > 0; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(tail_->sessionCount(), 0u);
  EXPECT_TRUE(a->finished());
  EXPECT_TRUE(b->finished());
}

}  // namespace
}  // namespace berth::api
