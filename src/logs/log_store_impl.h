// LogStore's implementation, shared by its source files (internal to
// src/logs/): log_store.cc opens, recovers and keeps the metadata,
// log_writer.cc is the writer thread, log_reader.cc answers read().
//
// Locks, in the order they are taken:
//   meta_mu_   serializes metadata changes (meta.db commits + the index)
//   write_mu_  held by the writer for a whole batch, and by whoever removes
//              segments (deleteGroup, enforceRetention), so that no segment
//              disappears under a write in progress
//   mu_        the in-memory index; readers share it only to pick blocks,
//              then read the files without it
// Segments are shared_ptrs: a reader keeps the ones it reads open even if
// they are dropped meanwhile.
#pragma once

#include <sys/uio.h>
#include <unistd.h>

#include <atomic>
#include <condition_variable>
#include <functional>
#include <limits>
#include <map>
#include <memory>
#include <mutex>
#include <shared_mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <unordered_set>
#include <vector>

#include "logs/log_store.h"
#include "logs/segment.h"
#include "store/store.h"

namespace berth::logs::internal {

inline constexpr std::string_view kGroupKind = "logs.group";    // key: group name
inline constexpr std::string_view kStreamKind = "logs.stream";  // key: group '\0' stream
inline constexpr std::string_view kSourceKind = "logs.source";  // key: source id
inline constexpr std::string_view kMetaKind = "logs.meta";
inline constexpr std::string_view kBlockSeqKey = "next_block_seq";
inline constexpr int64_t kDayMillis = 86400000;
inline constexpr int64_t kNoEvents = std::numeric_limits<int64_t>::min();

inline auto groupNotFound() {
  return fail(ErrorCode::kNotFound, "The specified log group does not exist.", "ResourceNotFoundException");
}
inline auto streamNotFound() {
  return fail(ErrorCode::kNotFound, "The specified log stream does not exist.", "ResourceNotFoundException");
}
inline auto earlierFailure() {
  return fail(ErrorCode::kFailedPrecondition, "logs: an earlier append of this source failed");
}

struct Segment {
  Segment(uint64_t seq, std::string path, int fd) : seq(seq), path(std::move(path)), fd(fd) {}
  ~Segment() { ::close(fd); }
  Segment(const Segment&) = delete;
  Segment& operator=(const Segment&) = delete;

  const uint64_t seq;
  const std::string path;
  const int fd;
  // Changed only by the writer (under mu_, as it publishes), or by open().
  uint64_t size = 0;  // bytes of published blocks
  int64_t first_ingestion = 0;
  int64_t max_ts = kNoEvents;
  uint64_t ingested_bytes = 0;
};

struct BlockRef {
  Segment* segment = nullptr;
  uint64_t offset = 0;
  uint64_t seq = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  int64_t ingestion_time = 0;
  uint32_t length = 0;
  uint32_t count = 0;
};

// What a block counts toward GroupInfo::ingested_bytes.
inline uint64_t ingestedBytes(const segment::BlockHeader& h) {
  return h.length - segment::blockSize(h.count, 0, h.source_len) + kEventOverheadBytes * uint64_t{h.count};
}

struct StreamState {
  std::string name;
  uint64_t id = 0;
  int64_t creation_time = 0;
  bool deleted = false;
  std::vector<BlockRef> blocks;  // ascending sequence
  std::optional<int64_t> first_ts, last_ts, last_ingestion;
  uint64_t stored_bytes = 0;

  void countStats(const BlockRef& b) {
    stored_bytes += b.length;
    if (b.count == 0) return;
    first_ts = std::min(first_ts.value_or(b.min_ts), b.min_ts);
    last_ts = std::max(last_ts.value_or(b.max_ts), b.max_ts);
    last_ingestion = std::max(last_ingestion.value_or(b.ingestion_time), b.ingestion_time);
  }
  void add(const BlockRef& b) {
    blocks.push_back(b);
    countStats(b);
  }
  // Stats are derived from the live blocks, so that they read the same
  // after a restart as before it.
  void recount() {
    first_ts = last_ts = last_ingestion = std::nullopt;
    stored_bytes = 0;
    for (const BlockRef& b : blocks) countStats(b);
  }
};

struct GroupState {
  GroupInfo info;  // the byte counts are filled in by snapshot()
  uint64_t id = 0;
  std::string dir;
  bool deleted = false;
  std::map<std::string, std::shared_ptr<StreamState>, std::less<>> streams;
  std::unordered_map<uint64_t, StreamState*> by_id;
  std::vector<std::shared_ptr<Segment>> segments;  // ascending sequence
  std::shared_ptr<Segment> active;                 // null: the next write creates one
  uint64_t next_segment = 1;
  uint64_t ingested_live = 0;  // of the blocks in `segments`, orphans included
  // Persisted in the group's record:
  uint64_t ingested_dropped = 0;   // of segments dropped by retention
  std::vector<uint64_t> dropping;  // the last drop's segments; open() finishes an interrupted one

  GroupInfo snapshot() const {
    GroupInfo g = info;
    g.stored_bytes = 0;
    for (const auto& s : segments) g.stored_bytes += s->size;
    g.ingested_bytes = ingested_live + ingested_dropped;
    return g;
  }
};

struct SourceState {
  uint64_t offset = 0;
  uint64_t seq = 0;
  Segment* segment = nullptr;  // the block's segment; null once it is persisted in meta.db
};

struct Candidate;
struct Cursor;

class LogStoreImpl final : public LogStore {
 public:
  LogStoreImpl(LogStoreOptions options, std::unique_ptr<store::Store> meta)
      : options_(std::move(options)),
        clock_(*options_.clock),
        meta_(std::move(meta)),
        groups_dir_((options_.dir / "groups").string()) {}
  ~LogStoreImpl() override;

  Status load();
  void start() {
    writer_ = std::thread([this] { writerLoop(); });
  }

  Status createGroup(const GroupInfo& group) override;
  Status deleteGroup(std::string_view name) override;
  Result<GroupInfo> group(std::string_view name) const override;
  std::vector<GroupInfo> groups() const override;
  Status setRetention(std::string_view group, std::optional<int> days) override;
  Status tagGroup(std::string_view group, const std::map<std::string, std::string>& tags) override;
  Status untagGroup(std::string_view group, const std::vector<std::string>& keys) override;

  Status createStream(std::string_view group, std::string_view stream) override;
  Status deleteStream(std::string_view group, std::string_view stream) override;
  Result<std::vector<StreamInfo>> streams(std::string_view group) const override;
  Result<StreamInfo> stream(std::string_view group, std::string_view stream) const override;

  using LogStore::append;
  void append(std::string_view group, std::string_view stream, EventBatch events, std::optional<SourceMark> source,
              AppendDone done) override;
  Result<ReadPage> read(const ReadQuery& query) const override;
  uint64_t addAppendListener(AppendListener listener) override;
  void removeAppendListener(uint64_t id) override;
  std::optional<uint64_t> sourceOffset(std::string_view source) const override;
  void forgetSource(std::string_view source) override;
  void resumeSource(std::string_view source) override;
  uint64_t enforceRetention() override;

 private:
  // One append() on its way through the writer.
  struct Pending {
    std::shared_ptr<GroupState> group;
    std::shared_ptr<StreamState> stream;
    EventBatch events;
    std::optional<SourceMark> source;
    AppendDone done;
    Status status;
    uint64_t size = 0;  // of the encoded block; 0: nothing to write
    uint64_t ingested = 0;
    bool sorted = false;  // the events' timestamps are (the writer's)
    BlockRef ref;         // where the writer put it
  };
  // A stretch of one segment written by one batch.
  struct Run {
    std::shared_ptr<Segment> segment;
    uint64_t start = 0;                 // the segment's size before the batch
    uint64_t bytes = 0;                 // of the run's blocks
    size_t iov_begin = 0, iov_end = 0;  // its pieces in iov_
    std::vector<Pending*> members;
    bool synced = false;
    bool failed = false;
  };

  std::shared_ptr<GroupState> findGroupLocked(std::string_view name) const;
  Status loadSegments(GroupState& g, const std::unordered_map<std::string, uint64_t>& forgotten,
                      std::unordered_set<std::string>& seen_sources);
  // Commits `g`'s record with `change` applied, then applies it in memory.
  Status updateGroup(std::string_view name, const std::function<void(GroupInfo&)>& change);
  // Puts the marks whose blocks live in `dropped` into `batch`.
  void persistMarksLocked(const std::unordered_set<Segment*>& dropped, store::Batch& batch) const;
  int injected(std::string_view op) const { return options_.inject_fault ? options_.inject_fault(op) : 0; }

  void writerLoop();
  void writeBatch(std::vector<Pending>& batch);
  void writeGroup(GroupState& g, std::span<Pending*> pendings, int64_t now, std::vector<Run>& runs);
  Result<std::shared_ptr<Segment>> createSegment(GroupState& g);
  Status writeRun(const Run& run);
  Status syncRun(const Run& run);
  void failRun(Run& run, const Error& err);
  // Sets p's error, and stops its source (see append()) unless it is
  // kNotFound; noteFailure() does the latter for an error p already has.
  void failPending(Pending& p, Error err);
  void noteFailure(const Pending& p);
  // p's source failed earlier in this batch.
  bool sourceFailed(const Pending& p) const;
  char* writeBuffer(size_t size);

  // read(): loads a candidate block into `cur` and selects its events.
  Status openBlock(const Candidate& c, Cursor& cur, const ReadQuery& q, int64_t start, int64_t end) const;

  const LogStoreOptions options_;
  const Clock& clock_;
  const std::unique_ptr<store::Store> meta_;
  const std::string groups_dir_;

  std::mutex meta_mu_;
  std::mutex write_mu_;
  mutable std::shared_mutex mu_;
  std::map<std::string, std::shared_ptr<GroupState>, std::less<>> groups_;
  std::unordered_map<std::string, SourceState> sources_;
  std::unordered_set<std::string> failed_sources_;  // until resumeSource()
  std::atomic<uint64_t> next_block_seq_{1};

  std::mutex queue_mu_;
  std::condition_variable queue_cv_;
  std::vector<Pending> queue_;
  bool stopping_ = false;
  std::thread writer_;
  // The writer's own. A batch's blocks are written as pieces (iov_): their
  // heads, and whole blocks of unsorted batches, from wbuf_; the bodies of
  // sorted ones straight from their EventBatch.
  std::unique_ptr<char[]> wbuf_;
  size_t wbuf_capacity_ = 0;
  std::vector<iovec> iov_;
  std::vector<std::string_view> failed_in_batch_;  // sources, until published to failed_sources_
  std::vector<uint32_t> order_;

  // Append listeners (Live Tail). listeners_mu_ is held while they run, so
  // that removeAppendListener() waits for a running one.
  void notifyListeners(const std::vector<Pending>& batch);
  std::mutex listeners_mu_;
  std::map<uint64_t, AppendListener> listeners_;
  uint64_t next_listener_ = 1;
  std::atomic<bool> has_listeners_{false};
  std::vector<uint32_t> listener_order_;  // the writer's
};

}  // namespace berth::logs::internal
