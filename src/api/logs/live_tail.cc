#include "api/logs/live_tail.h"

#include <algorithm>

#include <fmt/format.h>
#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/json.hpp>

#include "aws/event_stream.h"
#include "common/json.h"
#include "common/random.h"

namespace berth::api {

namespace asio = boost::asio;
namespace bj = boost::json;
namespace es = aws::eventstream;

namespace {

// Room left in an event-stream message for its headers and framing.
constexpr size_t kMaxUpdatePayload = es::kMaxMessageBytes - 64 * 1024;

bj::array stringArray(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

}  // namespace

class LiveTailSession : public std::enable_shared_from_this<LiveTailSession> {
 public:
  LiveTailSession(LiveTail& owner, std::string id, LiveTailSpec spec)
      : owner_(owner),
        id_(std::move(id)),
        spec_(std::move(spec)),
        literal_(spec_.pattern.requiredLiteral()),
        strand_(asio::make_strand(owner.executor_)),
        timer_(strand_) {}

  const std::string& id() const { return id_; }

  // Subscribes, opens the stream and sends the first events; on the strand.
  void begin(const std::string& request_id, const LiveTail::OpenStream& open) {
    std::weak_ptr<LiveTailSession> weak = weak_from_this();
    listener_ = owner_.store_.addAppendListener([weak](const logs::AppendedBlock& b) {
      if (auto self = weak.lock()) self->onBlock(b);
    });
    out_ = open([weak] {
      if (auto self = weak.lock()) asio::post(self->strand_, [self] { self->end("the client disconnected", false); });
    });
    // botocore reads the JSON protocol's initial response from the stream
    // before the modeled events.
    out_->write(es::encodeEvent("initial-response", "{}"));
    bj::object start;
    start["requestId"] = request_id;
    start["sessionId"] = id_;
    bj::array groups;
    for (const auto& g : spec_.groups) groups.emplace_back(g.identifier);
    start["logGroupIdentifiers"] = std::move(groups);
    if (!spec_.stream_names.empty()) start["logStreamNames"] = stringArray(spec_.stream_names);
    if (!spec_.stream_prefixes.empty()) start["logStreamNamePrefixes"] = stringArray(spec_.stream_prefixes);
    start["logEventFilterPattern"] = spec_.pattern.text();
    out_->write(es::encodeEvent("sessionStart", json::serialize(start)));
    deadline_ = std::chrono::steady_clock::now() + owner_.options_.session_limit;
    schedule();
  }

  // Ends the session: on its strand, once. `finish` ends the HTTP body
  // cleanly (the connection is still there).
  void end(std::string_view why, bool finish) {
    if (ended_) return;
    ended_ = true;
    timer_.cancel();
    owner_.store_.removeAppendListener(listener_);
    {
      std::lock_guard lock(mu_);
      ended_flag_ = true;
      queue_.clear();
    }
    if (finish) out_->finish();
    out_.reset();
    fmt::print(stderr, "berthd: logs: live tail session {} ended: {}\n", id_, why);
    owner_.forget(id_);
  }

  asio::strand<asio::any_io_executor>& strand() { return strand_; }

 private:
  struct Queued {
    const LiveTailSpec::Group* group;
    std::string stream;
    int64_t timestamp;
    int64_t ingestion_time;
    std::string message;
  };

  bool wantsStream(std::string_view stream) const {
    if (!spec_.stream_names.empty())
      return std::find(spec_.stream_names.begin(), spec_.stream_names.end(), stream) != spec_.stream_names.end();
    if (!spec_.stream_prefixes.empty())
      return std::any_of(spec_.stream_prefixes.begin(), spec_.stream_prefixes.end(),
                         [&](const std::string& p) { return stream.starts_with(p); });
    return true;
  }

  // On the store's writer thread: copy what may match, quickly.
  void onBlock(const logs::AppendedBlock& b) {
    const LiveTailSpec::Group* group = nullptr;
    for (const auto& g : spec_.groups)
      if (g.name == b.group) group = &g;
    if (group == nullptr || !wantsStream(b.stream)) return;
    const auto& limits = owner_.options_;
    std::lock_guard lock(mu_);
    if (ended_flag_) return;
    for (size_t k = 0; k < b.events.size(); ++k) {
      uint32_t i = b.order.empty() ? static_cast<uint32_t>(k) : b.order[k];
      std::string_view message = b.events.message(i);
      if (!literal_.empty() && message.find(literal_) == std::string_view::npos) continue;
      if (queue_.size() >= limits.max_queued_events || queued_bytes_ + message.size() > limits.max_queued_bytes) {
        dropped_ = true;
        continue;
      }
      queued_bytes_ += message.size();
      queue_.push_back(
          Queued{group, std::string(b.stream), b.events.timestamp(i), b.ingestion_time, std::string(message)});
    }
  }

  void schedule() {
    if (ended_) return;
    timer_.expires_after(owner_.options_.update_interval);
    timer_.async_wait([self = shared_from_this()](boost::system::error_code ec) {
      if (ec || self->ended_) return;
      self->update();
    });
  }

  void update() {
    if (std::chrono::steady_clock::now() >= deadline_) {
      out_->write(es::encodeException(
          "SessionTimeoutException",
          json::serialize(bj::object{{"message", "Session timed out after being open for 3 hours."}})));
      return end("timed out", true);
    }
    std::vector<Queued> taken;
    bool sampled = false;
    {
      std::lock_guard lock(mu_);
      taken.swap(queue_);
      queued_bytes_ = 0;
      sampled = dropped_;
      dropped_ = false;
    }
    std::vector<const Queued*> matched;
    for (const auto& q : taken)
      if (spec_.pattern.matchesEverything() || spec_.pattern.matches(q.message)) matched.push_back(&q);
    size_t cap = owner_.options_.max_events_per_update;
    if (matched.size() > cap) {
      // Evenly spaced, so the sample keeps ingestion order and spans the second.
      std::vector<const Queued*> sample;
      sample.reserve(cap);
      for (size_t j = 0; j < cap; ++j) sample.push_back(matched[j * matched.size() / cap]);
      matched.swap(sample);
      sampled = true;
    }
    // One sessionUpdate normally; several if the events would overflow one
    // event-stream message.
    size_t next = 0;
    do {
      bj::array results;
      size_t bytes = 0;
      for (; next < matched.size(); ++next) {
        const Queued& q = *matched[next];
        size_t cost = q.message.size() + q.stream.size() + q.group->identifier.size() + 128;
        if (!results.empty() && bytes + cost > kMaxUpdatePayload) break;
        bytes += cost;
        results.push_back(bj::object{{"logStreamName", q.stream},
                                     {"logGroupIdentifier", q.group->identifier},
                                     {"message", q.message},
                                     {"timestamp", q.timestamp},
                                     {"ingestionTime", q.ingestion_time}});
      }
      bj::object update{{"sessionMetadata", bj::object{{"sampled", sampled}}}, {"sessionResults", std::move(results)}};
      if (!out_->write(es::encodeEvent("sessionUpdate", json::serialize(update))))
        return end("the client is gone or too slow", false);
    } while (next < matched.size());
    schedule();
  }

  LiveTail& owner_;
  const std::string id_;
  const LiveTailSpec spec_;
  const std::string literal_;
  asio::strand<asio::any_io_executor> strand_;
  asio::steady_timer timer_;
  // The strand's.
  uint64_t listener_ = 0;
  std::shared_ptr<http::ResponseStream> out_;
  std::chrono::steady_clock::time_point deadline_;
  bool ended_ = false;
  // Filled by the writer thread.
  std::mutex mu_;
  std::vector<Queued> queue_;
  size_t queued_bytes_ = 0;
  bool dropped_ = false;
  bool ended_flag_ = false;  // ended_, for the writer thread
};

LiveTail::LiveTail(logs::LogStore& store, asio::any_io_executor executor, LiveTailOptions options)
    : store_(store), executor_(std::move(executor)), options_(options) {}

LiveTail::~LiveTail() { stop(); }

std::string LiveTail::start(LiveTailSpec spec, const std::string& request_id, const OpenStream& open) {
  std::string id = randomUuid();
  auto session = std::make_shared<LiveTailSession>(*this, id, std::move(spec));
  {
    std::lock_guard lock(mu_);
    if (!stopped_) sessions_.emplace(id, session);
  }
  asio::post(session->strand(), [this, session, request_id, open] {
    session->begin(request_id, open);
    fmt::print(stderr, "berthd: logs: live tail session {} started\n", session->id());
    bool stopped;
    {
      std::lock_guard lock(mu_);
      stopped = stopped_;
    }
    if (stopped) session->end("berthd is stopping", true);
  });
  return id;
}

void LiveTail::stop() {
  std::map<std::string, std::shared_ptr<LiveTailSession>> sessions;
  {
    std::lock_guard lock(mu_);
    stopped_ = true;
    sessions = sessions_;
  }
  for (auto& [id, s] : sessions) asio::post(s->strand(), [s] { s->end("berthd is stopping", true); });
}

size_t LiveTail::sessionCount() const {
  std::lock_guard lock(mu_);
  return sessions_.size();
}

void LiveTail::forget(const std::string& id) {
  std::lock_guard lock(mu_);
  sessions_.erase(id);
}

}  // namespace berth::api
