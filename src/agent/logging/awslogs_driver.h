// AwslogsDriver: the awslogs log driver. It ships each awslogs container's
// output.log (written by its berth-monitor in CRI format, runtime/layout.h)
// into the LogStore, as the Fargate shim logger ships a container's stdout
// and stderr to CloudWatch Logs.
//
// Sources. A source is one container's log file, id "<task-id>/<container>"
// (sourceId()). Its stdout and stderr records commit separately: each stream
// has its own mark in the store ("<source>/stdout", "<source>/stderr";
// LogStore::sourceOffset), the file offset below which every record of that
// stream is durable. A batch and its stream's mark commit in one append, so
// a crash of berthd at any point neither loses nor duplicates a line: a new
// driver re-reads from the lower mark and skips each stream's records below
// its own. (One mark per stream because a line that stdout has only partly
// written, a P record, must not hold stderr's finished lines back, and one
// offset cannot say "stdout up to here, stderr further".) A quiet stream's
// mark follows along with a mark-only append once it lags 4 MiB behind, so
// a restart re-reads little.
//
// Events. A stream's P records are joined with the records continuing them,
// up to the F record, into one line; the line's timestamp is its first
// record's time in ms. Invalid UTF-8 becomes U+FFFD (as CloudWatch does),
// then a line longer than kMaxEventMessageBytes is split into several events
// at UTF-8 boundaries (Docker's awslogs splits at 262144-26 bytes). A line
// still open after kMaxLineBytes is cut at a record boundary, since a line's
// events commit together. Empty lines are dropped (CloudWatch has no empty
// events).
//
// Batches: up to `batch_bytes` (message bytes + 26 per event) or
// `batch_events`, sent once full or once events have waited
// `flush_interval`. Up to `appends_in_flight` full batches per stream are
// in flight (the store commits them in order, and fails the later ones of
// a stream whose earlier one failed, so the marks stay exact); a partial
// batch waits until none is. Meanwhile the driver reads ahead at most one
// batch. A line of one record (most are) is copied once, from the read
// buffer into its batch, which the store writes as it is
// (logs::EventBatch). In blocking mode the log file is the buffer and
// nothing is dropped. In non-blocking mode, when the unread part of the
// file (size - parsed offset) exceeds max-buffer-size, the driver skips
// forward to the first record boundary that leaves at most max-buffer-size
// unread, counts the lines skipped (stats()) and warns once per source on
// stderr.
//
// Errors. An append the store refuses with kNotFound (group or stream
// deleted meanwhile) is dropped, counted and warned about once, as the
// shim logger does. Any other error stops the source until its in-flight
// appends end (the later ones of the failed stream fail with it, uncounted
// as failures), rewinds it to its durable marks, resumes its marks in the
// store and retries after `retry_after`; a finishing source gives up after
// kMaxFinishAttempts failures in a row.
//
// Threads. One driver thread owns every source: epoll over an inotify fd
// (IN_MODIFY on each file) and an eventfd, plus a sweep every
// `sweep_interval` that catches anything inotify missed (and files that did
// not exist yet). All public methods are thread-safe and return without
// waiting for the driver thread, except prepare(), which blocks on the
// store's metadata. Store callbacks only queue work for the driver thread.
//
// Lifetime: `store` and `clock` must outlive the driver. The destructor
// stops the thread and waits for the appends in flight; finish() callbacks
// not yet run are dropped (after a restart, the agent drains again).
#pragma once

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <thread>

#include "agent/logging/awslogs_config.h"
#include "common/clock.h"
#include "common/result.h"
#include "logs/log_store.h"

namespace berth::agent::logging {

// Four full events: the most of a line that is held back until it ends.
inline constexpr size_t kMaxLineBytes = 4 * logs::kMaxEventMessageBytes;
inline constexpr int kMaxFinishAttempts = 5;

struct AwslogsDriverOptions {
  std::chrono::milliseconds flush_interval{100};
  std::chrono::milliseconds sweep_interval{1000};
  std::chrono::milliseconds retry_after{1000};
  size_t batch_bytes = 1048576;  // PutLogEvents' limit
  size_t batch_events = 10000;
  // Full batches of one stream in flight at once, so that the store's
  // group commit can take several per fdatasync.
  int appends_in_flight = 3;
};

struct AwslogsStats {
  uint64_t events = 0;           // committed to the store
  uint64_t bytes = 0;            // message bytes committed
  uint64_t dropped_lines = 0;    // non-blocking mode: skipped, the backlog exceeded max-buffer-size
  uint64_t dropped_bytes = 0;    // file bytes skipped with them
  uint64_t lost_events = 0;      // refused by the store (kNotFound: group or stream deleted)
  uint64_t malformed_lines = 0;  // not CRI records, skipped
  uint64_t append_errors = 0;    // failed appends (retried unless kNotFound)
  uint64_t stdout_offset = 0;    // durable marks
  uint64_t stderr_offset = 0;
  bool finished = false;  // finish() completed
};

// "<task-id>/<container-name>".
std::string sourceId(std::string_view task_id, std::string_view container);

class AwslogsDriver {
 public:
  // Starts the driver thread. Fails only when epoll/inotify/eventfd cannot
  // be created (kIo).
  static Result<std::unique_ptr<AwslogsDriver>> start(logs::LogStore& store, const Clock& clock,
                                                      AwslogsDriverOptions options = {});
  ~AwslogsDriver();
  AwslogsDriver(const AwslogsDriver&) = delete;
  AwslogsDriver& operator=(const AwslogsDriver&) = delete;

  // Before the container starts: creates the group when it is missing and
  // `create_group` is set (an existing group is fine), then the stream (an
  // existing one is fine). A missing group otherwise fails with Fargate's
  // message (kNotFound): "failed to validate logger args: create stream has
  // been retried 1 times: failed to create Cloudwatch log stream:
  // ResourceNotFoundException: The specified log group does not exist. :
  // exit status 1" — the agent prefixes "ResourceInitializationError: ".
  // Blocks on the store's metadata (call it from a worker).
  Status prepare(const AwslogsConfig& config);

  // Starts shipping `file` (it may not exist yet) from the source's marks in
  // the store. Watching a watched source again is a no-op.
  void watch(const std::string& source, const std::filesystem::path& file, const AwslogsConfig& config);

  // The container has exited and its monitor is gone, so the file is final:
  // ships it to EOF (a partial last line included), waits for the appends,
  // stops watching and then calls `done` on the driver thread (it must not
  // block; post elsewhere). An unknown source is done at once.
  void finish(const std::string& source, std::function<void()> done);

  // The file is gone (the agent deleted the task's directory): forgets the
  // source's marks and stats, and stops watching it if it still was.
  void forget(const std::string& source);

  // The source's counters; nullopt for a source never watched or forgotten.
  std::optional<AwslogsStats> stats(const std::string& source) const;

 private:
  struct Batch;
  struct Stream;
  struct Source;

  AwslogsDriver(logs::LogStore& store, const Clock& clock, AwslogsDriverOptions options);
  Status open();
  void post(std::function<void()> fn);
  void run();
  void handleInotify();
  int waitMillis(std::chrono::steady_clock::time_point now) const;
  std::optional<std::chrono::steady_clock::time_point> nextDeadline(const Source& s) const;
  // Driver thread only.
  void startSource(const std::string& id, const std::filesystem::path& file, const AwslogsConfig& config);
  void pump(Source& s, std::chrono::steady_clock::time_point now);
  bool openFile(Source& s);
  bool readChunk(Source& s);
  void consumeLine(Source& s, uint64_t start, uint64_t end, std::string_view line);
  void closeLine(Stream& st);
  void addLine(Stream& st, int64_t time, std::string_view text, uint64_t end);
  void skipBacklog(Source& s);
  void flushReady(Source& s, std::chrono::steady_clock::time_point now);
  void submit(Source& s, int stream);
  void onAppended(const std::string& id, int stream, uint64_t mark, size_t events, uint64_t bytes, Status status);
  void rewind(Source& s);
  bool maybeComplete(Source& s);
  void updateStats(const Source& s);

  logs::LogStore& store_;
  const Clock& clock_;
  const AwslogsDriverOptions options_;
  int epoll_fd_ = -1;
  int inotify_fd_ = -1;
  int event_fd_ = -1;
  std::thread thread_;

  mutable std::mutex mu_;
  std::deque<std::function<void()>> queue_;  // guarded by mu_
  bool stop_ = false;                        // guarded by mu_
  int appends_in_flight_ = 0;                // guarded by mu_
  std::condition_variable appends_cv_;
  std::map<std::string, AwslogsStats> stats_;  // guarded by mu_

  // Driver thread only.
  std::map<std::string, std::unique_ptr<Source>> sources_;
  std::map<int, std::string> by_watch_;  // inotify wd → source id
  std::set<std::string> runnable_;
  std::set<std::string> forgetting_;  // forgotten with an append in flight
  std::string read_buf_;
  std::string utf8_scratch_;
  std::chrono::steady_clock::time_point next_sweep_;
};

}  // namespace berth::agent::logging
