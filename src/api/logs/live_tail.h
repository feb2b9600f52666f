// CloudWatch Logs Live Tail (StartLiveTail): sessions that stream the events
// of up to 10 log groups, as they are ingested, to a client over an HTTP
// event stream.
//
// How a session follows new events: it registers an append listener with
// the store (LogStore::addAppendListener) before it sends sessionStart, and
// the store's writer hands it every block as the block commits. That gives
// exactly-once delivery in ingestion order per stream for free. Polling the
// store would not: read() orders by event timestamp, so an event ingested
// late with an old timestamp lands behind a read position already passed,
// and finding "ingested since" would need a scan of every selected stream
// each second. The listener only copies the selected streams' events (minus
// those that lack the pattern's required literal) into a bounded queue; the
// pattern is matched and the update encoded on the session's strand, off
// the writer thread.
//
// Every update_interval a session sends a sessionUpdate, with an empty
// sessionResults if nothing matched. Like AWS it sends at most
// max_events_per_update events per update, sampling evenly down to that
// when more matched, and buffers at most max_queued_events (then drops and
// marks the update sampled). After session_limit (3 hours) it sends a
// SessionTimeoutException and ends the stream. A client that disconnects
// ends its session (the HTTP layer's on_close), which frees everything.
//
// Threads: start(), stop() and sessionCount() from any thread. Each session
// runs on a strand of `executor`; stop() ends them all there, so the
// executor's pool may join afterwards (nothing re-arms).
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <boost/asio/any_io_executor.hpp>

#include "http/server.h"
#include "logs/filter_pattern.h"
#include "logs/log_store.h"

namespace berth::api {

struct LiveTailOptions {
  std::chrono::milliseconds update_interval{1000};
  std::chrono::milliseconds session_limit = std::chrono::hours(3);
  size_t max_events_per_update = 500;
  size_t max_queued_events = 10000;
  size_t max_queued_bytes = 16 * 1024 * 1024;
};

// A validated StartLiveTail request.
struct LiveTailSpec {
  struct Group {
    std::string name;        // in the store
    std::string identifier;  // as the caller named it (name or ARN), echoed back
  };
  std::vector<Group> groups;  // 1..10
  std::vector<std::string> stream_names;
  std::vector<std::string> stream_prefixes;  // at most one of the two is set
  logs::FilterPattern pattern;
};

class LiveTailSession;

class LiveTail {
 public:
  using OpenStream = std::function<std::shared_ptr<http::ResponseStream>(std::function<void()> on_close)>;

  LiveTail(logs::LogStore& store, boost::asio::any_io_executor executor, LiveTailOptions options = {});
  ~LiveTail();  // stop(); the executor must still run the sessions' last steps

  // Starts a session: opens the response through `open`, sends the
  // initial-response and sessionStart events, then updates. Returns the
  // session id. After stop(), the stream is opened and ended at once.
  std::string start(LiveTailSpec spec, const std::string& request_id, const OpenStream& open);
  // Ends every session (their streams end cleanly) and refuses new ones.
  void stop();
  size_t sessionCount() const;

 private:
  friend class LiveTailSession;
  void forget(const std::string& id);

  logs::LogStore& store_;
  boost::asio::any_io_executor executor_;
  const LiveTailOptions options_;
  mutable std::mutex mu_;
  bool stopped_ = false;
  std::map<std::string, std::shared_ptr<LiveTailSession>> sessions_;
};

}  // namespace berth::api
