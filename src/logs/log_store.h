// LogStore: CloudWatch Logs' data — log groups, log streams and their events —
// durable on local disk (ARCHITECTURE.md, "logs").
//
// Layout under `dir`:
//   meta.db                      groups and streams (SQLite, via store::SqliteStore)
//   groups/<group id>/<seq>.seg  the group's segments, append-only (segment.h);
//                                the id is a number kept in meta.db, since a
//                                group name (up to 512 bytes) can exceed NAME_MAX
//
// Events of every stream of a group are appended to the group's active
// segment as blocks: one block per append() (one PutLogEvents batch, or one
// batch read by the awslogs driver), its events sorted by timestamp. A block
// carries its stream id, its min/max timestamp, a checksum and, for the
// driver, the source position it reached, so that the data and the driver's
// progress commit together. The in-memory index is one entry per block; it is
// rebuilt on open() by reading block headers only (a torn tail block is cut
// off). A segment rolls when it reaches `segment_bytes` or spans
// `segment_span` of ingestion time; retention drops a whole segment once the
// newest event in it is older than the group's retention, and hides older
// events of live segments from reads.
//
// Ordering: events are ordered by Position (timestamp, block sequence, index
// within the block); reads are merges of the blocks in that order, so a
// stream is time-ordered even when batches arrive out of order.
//
// Durability: append() completes once the block is on disk (fdatasync). A
// writer thread batches concurrent appends into one write + one fdatasync per
// segment (group commit). Metadata calls commit to meta.db before they
// return.
//
// Threads: every method is thread-safe. append() callbacks run on the writer
// thread and must not block.
#pragma once

#include <chrono>
#include <compare>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/clock.h"
#include "common/result.h"

namespace berth::logs {

// AWS's limits that the store enforces itself (the API checks the rest).
inline constexpr size_t kMaxEventMessageBytes = 262144 - 26;  // per event, as stored
inline constexpr size_t kEventOverheadBytes = 26;              // counted per event in batch sizes
// Events per append() (PutLogEvents allows 10,000), so that Position::index
// fits in 7 decimal digits, resume points included.
inline constexpr uint32_t kMaxEventsPerAppend = 1000000;

// The total order of events inside a group.
struct Position {
  int64_t timestamp = 0;  // event time, ms since the epoch
  uint64_t block = 0;     // block sequence number, unique per store
  uint32_t index = 0;     // event index inside the block, <= kMaxEventsPerAppend
  auto operator<=>(const Position&) const = default;
};

struct InputEvent {
  int64_t timestamp = 0;  // ms since the epoch
  std::string message;    // at most kMaxEventMessageBytes
};

// The events of one append(), packed as a stored block's body is
// (segment.h): their timestamps, the end offset of each message, and the
// messages back to back. The writer writes these buffers as they are when
// the timestamps are sorted, and adding an event allocates nothing of its
// own (the buffers grow geometrically), so a producer of many small events
// (the awslogs driver) builds a batch at the cost of one copy of each
// message. Not thread-safe; append() takes it by value.
class EventBatch {
 public:
  EventBatch() = default;
  explicit EventBatch(std::span<const InputEvent> events);  // copies them

  // Room for `events` events of `message_bytes` in all, without regrowth.
  void reserve(size_t events, size_t message_bytes);
  // Messages are checked by append() (kMaxEventMessageBytes each, 256 MiB
  // in all), not here.
  void add(int64_t timestamp, std::string_view message) {
    messages_.append(message);
    timestamps_.push_back(timestamp);
    ends_.push_back(static_cast<uint32_t>(messages_.size()));
    if (message.size() > max_message_) max_message_ = message.size();
  }
  void clear();  // keeps the buffers' capacity

  size_t size() const { return timestamps_.size(); }
  bool empty() const { return timestamps_.empty(); }
  int64_t timestamp(size_t i) const { return timestamps_[i]; }
  std::string_view message(size_t i) const {
    size_t begin = i == 0 ? 0 : ends_[i - 1];
    return std::string_view(messages_).substr(begin, ends_[i] - begin);
  }
  uint64_t messageBytes() const { return messages_.size(); }
  size_t largestMessage() const { return max_message_; }

  // The packed form. ends()[i] is the end of message i in messages();
  // meaningful while messageBytes() < 4 GiB (append() refuses far less).
  std::span<const int64_t> timestamps() const { return timestamps_; }
  std::span<const uint32_t> ends() const { return ends_; }
  std::string_view messages() const { return messages_; }

 private:
  std::vector<int64_t> timestamps_;
  std::vector<uint32_t> ends_;
  std::string messages_;
  size_t max_message_ = 0;
};

struct Event {
  std::string stream;           // log stream name
  int64_t timestamp = 0;        // ms
  int64_t ingestion_time = 0;   // ms, when the store accepted the block
  std::string message;
  Position position;
};

struct GroupInfo {
  std::string name;
  int64_t creation_time = 0;           // ms
  std::optional<int> retention_days;   // nullopt: never expire
  std::string kms_key_id;
  std::string log_group_class = "STANDARD";
  std::map<std::string, std::string> tags;
  uint64_t stored_bytes = 0;    // bytes of the group's live segments on disk
  uint64_t ingested_bytes = 0;  // message bytes + 26 per event, ever accepted
};

struct StreamInfo {
  std::string name;
  int64_t creation_time = 0;                  // ms
  std::optional<int64_t> first_event_timestamp;
  std::optional<int64_t> last_event_timestamp;
  std::optional<int64_t> last_ingestion_time;
  uint64_t stored_bytes = 0;
};

// Where a driver's batch came from: an opaque source id (the awslogs driver
// uses the container's log file) and the offset in it just past the batch.
struct SourceMark {
  std::string source;
  uint64_t offset = 0;
};

struct ReadQuery {
  std::string group;
  // Which streams: all when both are empty.
  std::vector<std::string> streams;  // exact names
  std::string stream_prefix;
  std::optional<int64_t> start_time;  // inclusive, ms
  std::optional<int64_t> end_time;    // exclusive, ms
  // Resume strictly after (forward) or before (backward) this position.
  std::optional<Position> after;
  bool backward = false;  // newest first
  size_t limit = 10000;             // events
  size_t max_bytes = 1048576;       // message bytes + 26 per event
  // Events for which `match` is false are skipped. `literal`, when set, is a
  // string every matching message contains: blocks are searched for it
  // first, and only events containing it are given to `match`.
  std::function<bool(std::string_view message)> match;
  std::string literal;
  // Stop after examining this many stored bytes even if the page is not
  // full (FilterLogEvents pages by scanned volume too); 0: no budget.
  uint64_t scan_budget_bytes = 0;
};

struct ReadPage {
  std::vector<Event> events;
  // Position of the last event examined (returned or skipped): the resume
  // point for the next page. Unset when nothing was examined. After a stop
  // on scan_budget_bytes it may lie between events (everything up to it was
  // examined).
  std::optional<Position> last;
  bool exhausted = false;  // nothing further matches the query
};

// A block that has become durable, as append listeners see it (Live Tail).
struct AppendedBlock {
  std::string_view group;
  std::string_view stream;
  int64_t ingestion_time = 0;  // ms, as read() reports it
  const EventBatch& events;    // as appended
  // The events' indices in stored (read) order; empty when that is the
  // order of `events`.
  std::span<const uint32_t> order;
};
using AppendListener = std::function<void(const AppendedBlock&)>;

struct LogStoreOptions {
  std::filesystem::path dir;
  const Clock* clock = nullptr;  // required
  uint64_t segment_bytes = 64ull << 20;
  std::chrono::milliseconds segment_span = std::chrono::hours(1);
  bool sync = true;  // fdatasync before acknowledging (tests may turn off)
  // Tests: called before each segment "create", "write" and "sync"; a
  // nonzero errno fails that operation as if the kernel had.
  std::function<int(std::string_view op)> inject_fault;
};

class LogStore {
 public:
  static Result<std::unique_ptr<LogStore>> open(LogStoreOptions options);
  virtual ~LogStore() = default;

  // --- groups (errors: kAlreadyExists, kNotFound) ---
  virtual Status createGroup(const GroupInfo& group) = 0;  // stored_/ingested_bytes ignored
  virtual Status deleteGroup(std::string_view name) = 0;    // its streams and segments too
  virtual Result<GroupInfo> group(std::string_view name) const = 0;
  virtual std::vector<GroupInfo> groups() const = 0;        // sorted by name
  virtual Status setRetention(std::string_view group, std::optional<int> days) = 0;
  virtual Status tagGroup(std::string_view group, const std::map<std::string, std::string>& tags) = 0;
  virtual Status untagGroup(std::string_view group, const std::vector<std::string>& keys) = 0;

  // --- streams (errors: kAlreadyExists, kNotFound for group or stream) ---
  virtual Status createStream(std::string_view group, std::string_view stream) = 0;
  // The stream's events stay on disk, unreachable, until their segments
  // expire or the group is deleted.
  virtual Status deleteStream(std::string_view group, std::string_view stream) = 0;
  virtual Result<std::vector<StreamInfo>> streams(std::string_view group) const = 0;  // sorted by name
  // One stream, without copying the others (kNotFound for group or stream).
  virtual Result<StreamInfo> stream(std::string_view group, std::string_view stream) const = 0;

  // --- events ---
  using AppendDone = std::function<void(Status)>;
  // Appends `events` (each message within kMaxEventMessageBytes; sorted by
  // timestamp, else stored in stable timestamp order at the cost of a copy)
  // to an existing stream as one block. `done` runs exactly once: with
  // success when the block is durable, else with the error (kNotFound for a
  // missing group or stream, kInvalidArgument for a batch over the limits,
  // kIo). Nothing of a failed append is visible, before or after a restart.
  //
  // Appends are written in the order of the calls. A caller may keep
  // several appends of one source in flight: once an append that carries a
  // source fails with any error but kNotFound, every later one carrying the
  // same source fails too (kFailedPrecondition, nothing written) until
  // resumeSource(), so that no mark commits past a block that was lost. The
  // appends of one source must go to one group.
  virtual void append(std::string_view group, std::string_view stream, EventBatch events,
                      std::optional<SourceMark> source, AppendDone done) = 0;
  // The same with the events one by one (packed into an EventBatch here).
  void append(std::string_view group, std::string_view stream, const std::vector<InputEvent>& events,
              std::optional<SourceMark> source, AppendDone done);
  // append() and wait.
  Status appendSync(std::string_view group, std::string_view stream, EventBatch events,
                    std::optional<SourceMark> source = std::nullopt);
  Status appendSync(std::string_view group, std::string_view stream, const std::vector<InputEvent>& events,
                    std::optional<SourceMark> source = std::nullopt);

  // One page of events in Position order (kNotFound: no such group).
  virtual Result<ReadPage> read(const ReadQuery& query) const = 0;

  // Calls `listener` on the writer thread for each block that becomes
  // durable from now on, in the order they commit (so a stream's blocks in
  // the order of its appends), before the append's `done`. It must be
  // quick and must not block, append, or add or remove listeners. Returns an
  // id for removeAppendListener(). With no listener the writer pays one
  // atomic load per batch.
  virtual uint64_t addAppendListener(AppendListener listener) = 0;
  // Once this returns, the listener is not running and will not run again.
  virtual void removeAppendListener(uint64_t id) = 0;

  // The offset recorded with the last durable block of `source`, if any.
  virtual std::optional<uint64_t> sourceOffset(std::string_view source) const = 0;
  // Forgets a source's mark (its file is gone), and its failure.
  virtual void forgetSource(std::string_view source) = 0;
  // Accepts appends of `source` again after one failed (see append()). Call
  // it once none of its appends is in flight.
  virtual void resumeSource(std::string_view source) = 0;

  // Drops segments whose newest event is past the group's retention on the
  // clock; returns the bytes freed.
  virtual uint64_t enforceRetention() = 0;
};

}  // namespace berth::logs
