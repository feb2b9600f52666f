// LogStore's writer thread: group commit of appended blocks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "logs/log_store_impl.h"

namespace berth::logs::internal {

void LogStoreImpl::append(std::string_view group, std::string_view stream, EventBatch events,
                          std::optional<SourceMark> source, AppendDone done) {
  Pending p;
  p.done = std::move(done);
  uint64_t message_bytes = events.messageBytes();
  size_t source_len = source ? source->source.size() : 0;
  uint64_t size = segment::blockSize(events.size(), message_bytes, source_len);
  if (events.largestMessage() > kMaxEventMessageBytes) {
    p.status = fail(ErrorCode::kInvalidArgument, "logs: event message too large");
  } else if (events.size() > kMaxEventsPerAppend) {
    p.status = fail(ErrorCode::kInvalidArgument, "logs: too many events in one append");
  } else if (source_len > segment::kMaxSourceBytes) {
    p.status = fail(ErrorCode::kInvalidArgument, "logs: source id too long");
  } else if (size > segment::kMaxBlockBytes) {
    p.status = fail(ErrorCode::kInvalidArgument, "logs: batch too large");
  } else {
    std::shared_lock lock(mu_);
    p.group = findGroupLocked(group);
    if (!p.group) {
      p.status = groupNotFound();
    } else if (auto it = p.group->streams.find(stream); it == p.group->streams.end()) {
      p.status = streamNotFound();
    } else {
      p.stream = it->second;
    }
  }
  if (p.status && (!events.empty() || source)) {
    p.size = size;
    p.ingested = message_bytes + kEventOverheadBytes * events.size();
    p.events = std::move(events);
    p.source = std::move(source);
  }
  {
    std::lock_guard lock(queue_mu_);
    queue_.push_back(std::move(p));
  }
  queue_cv_.notify_one();
}

void LogStoreImpl::writerLoop() {
  std::vector<Pending> batch;
  for (;;) {
    {
      std::unique_lock lock(queue_mu_);
      queue_cv_.wait(lock, [&] { return stopping_ || !queue_.empty(); });
      if (queue_.empty()) return;  // stopping, and everything is done
      std::swap(batch, queue_);
    }
    writeBatch(batch);
    if (has_listeners_.load(std::memory_order_acquire)) notifyListeners(batch);
    for (Pending& p : batch) p.done(std::move(p.status));
    batch.clear();
    // Do not keep the memory of one huge batch around.
    if (wbuf_capacity_ > (64u << 20)) {
      wbuf_.reset();
      wbuf_capacity_ = 0;
    }
  }
}

uint64_t LogStoreImpl::addAppendListener(AppendListener listener) {
  std::lock_guard lock(listeners_mu_);
  uint64_t id = next_listener_++;
  listeners_.emplace(id, std::move(listener));
  has_listeners_.store(true, std::memory_order_release);
  return id;
}

void LogStoreImpl::removeAppendListener(uint64_t id) {
  std::lock_guard lock(listeners_mu_);
  listeners_.erase(id);
  has_listeners_.store(!listeners_.empty(), std::memory_order_release);
}

// The blocks of `batch` that were written, in commit order (the order of the
// appends: writeBatch groups them by group with a stable sort, and a
// stream's appends all go to its group). Runs after writeBatch published
// them, so that a listener that reads the store finds them there.
void LogStoreImpl::notifyListeners(const std::vector<Pending>& batch) {
  std::lock_guard lock(listeners_mu_);
  if (listeners_.empty()) return;
  for (const Pending& p : batch) {
    if (!p.status || p.size == 0 || p.events.empty() || !p.group) continue;
    std::span<const uint32_t> order;
    if (!p.sorted) {  // stored in stable timestamp order (writeGroup)
      listener_order_.resize(p.events.size());
      for (uint32_t i = 0; i < listener_order_.size(); ++i) listener_order_[i] = i;
      std::stable_sort(listener_order_.begin(), listener_order_.end(),
                       [&](uint32_t a, uint32_t b) { return p.events.timestamp(a) < p.events.timestamp(b); });
      order = listener_order_;
    }
    AppendedBlock block{p.group->info.name, p.stream->name, p.ref.ingestion_time, p.events, order};
    for (const auto& [id, listener] : listeners_) listener(block);
  }
}

char* LogStoreImpl::writeBuffer(size_t size) {
  if (size > wbuf_capacity_) {
    wbuf_ = std::make_unique_for_overwrite<char[]>(size);
    wbuf_capacity_ = size;
  }
  return wbuf_.get();
}

void LogStoreImpl::writeBatch(std::vector<Pending>& batch) {
  std::lock_guard write_lock(write_mu_);
  std::vector<Pending*> work;
  failed_in_batch_.clear();
  {
    // deleteGroup waits for write_mu_, so a group alive here stays so until
    // the batch is published.
    std::shared_lock lock(mu_);
    for (Pending& p : batch) {
      if (p.status && p.source && (failed_sources_.contains(p.source->source) || sourceFailed(p)))
        p.status = earlierFailure();
      if (!p.status) {
        noteFailure(p);
      } else if (p.size == 0) {
        continue;
      } else if (p.group->deleted) {
        p.status = groupNotFound();
      } else if (p.stream->deleted) {
        p.status = streamNotFound();
      } else {
        work.push_back(&p);
      }
    }
  }
  if (work.empty() && failed_in_batch_.empty()) return;
  iov_.clear();
  int64_t now = clock_.epochMillis();
  std::stable_sort(work.begin(), work.end(), [](const Pending* a, const Pending* b) { return a->group < b->group; });

  std::vector<Run> runs;
  for (size_t i = 0; i < work.size();) {
    size_t j = i;
    while (j < work.size() && work[j]->group == work[i]->group) ++j;
    writeGroup(*work[i]->group, std::span(work).subspan(i, j - i), now, runs);
    i = j;
  }
  // One fdatasync per segment. A new segment is only created after the
  // previous one's run is synced (writeGroup), so that only a group's newest
  // segment can ever hold unsynced blocks, which is all open() checks fully.
  // (A source's later appends that this batch holds are in the same run as
  // its failed one: see failPending().)
  for (Run& run : runs) {
    if (run.failed || run.synced) continue;
    if (auto ok = syncRun(run); !ok) failRun(run, ok.error());
  }

  std::unique_lock lock(mu_);
  for (std::string_view source : failed_in_batch_) failed_sources_.emplace(source);
  for (Pending* p : work) {
    if (!p->status) continue;
    Segment& seg = *p->ref.segment;
    seg.size = std::max(seg.size, p->ref.offset + p->ref.length);
    if (p->ref.offset == 0) seg.first_ingestion = now;
    if (p->ref.count > 0) seg.max_ts = std::max(seg.max_ts, p->ref.max_ts);
    seg.ingested_bytes += p->ingested;
    p->group->ingested_live += p->ingested;
    // A stream deleted since the check above: the block is orphaned.
    if (!p->stream->deleted) p->stream->add(p->ref);
    if (p->source) {
      SourceState& m = sources_[p->source->source];
      if (p->ref.seq >= m.seq) m = SourceState{p->source->offset, p->ref.seq, p->ref.segment};
    }
  }
}

// The later appends of a source that failed in this batch fail as they come:
// in the first pass, or here as the group is written. Within one group they
// cannot commit past the failed one: a run ends (synced) before the next
// segment's starts, so a failure found at a roll is known before anything
// after it is written, and a failure found at the final sync fails the
// whole last run, which holds everything of the group after it.
void LogStoreImpl::failPending(Pending& p, Error err) {
  p.status = std::unexpected(std::move(err));
  noteFailure(p);
}

void LogStoreImpl::noteFailure(const Pending& p) {
  if (p.source && p.status.error().code != ErrorCode::kNotFound && !sourceFailed(p))
    failed_in_batch_.push_back(p.source->source);
}

bool LogStoreImpl::sourceFailed(const Pending& p) const {
  return p.source &&
         std::find(failed_in_batch_.begin(), failed_in_batch_.end(), p.source->source) != failed_in_batch_.end();
}

void LogStoreImpl::writeGroup(GroupState& g, std::span<Pending*> pendings, int64_t now, std::vector<Run>& runs) {
  uint64_t staged = 0;
  for (Pending* p : pendings) {
    std::span<const int64_t> ts = p->events.timestamps();
    p->sorted = std::is_sorted(ts.begin(), ts.end());
    staged += p->sorted ? segment::blockHeadSize(p->source ? p->source->source.size() : 0) : p->size;
  }
  char* buf = writeBuffer(staged);
  size_t pos = 0;
  Run* run = nullptr;
  auto finish = [&](bool sync) {
    if (run == nullptr || run->failed) return;
    auto ok = writeRun(*run);
    if (ok && sync) {
      ok = syncRun(*run);
      run->synced = true;
    }
    if (!ok) failRun(*run, ok.error());
  };
  auto piece = [&](const void* data, size_t size) {
    iov_.push_back(iovec{const_cast<void*>(data), size});  // NOLINT: pwritev only reads
  };

  for (size_t k = 0; k < pendings.size(); ++k) {
    Pending* p = pendings[k];
    if (sourceFailed(*p)) {
      failPending(*p, earlierFailure().error());
      continue;
    }
    std::shared_ptr<Segment> seg = run != nullptr ? run->segment : g.active;
    uint64_t end = run != nullptr ? run->start + run->bytes : seg ? seg->size : 0;
    bool roll = !seg || (end > 0 && end + p->size > options_.segment_bytes) ||
                (seg->size > 0 && now - seg->first_ingestion >= options_.segment_span.count());
    if (roll) {
      finish(/*sync=*/true);  // before the next segment exists (see writeBatch)
      run = nullptr;
      auto created = createSegment(g);
      if (!created) {
        // Fail the rest of the group too: their offsets would be computed
        // from segment sizes this batch has not published yet.
        for (Pending* rest : pendings.subspan(k)) failPending(*rest, created.error());
        return;
      }
      seg = std::move(*created);
      end = 0;
    }
    if (run == nullptr) {
      runs.push_back(Run{seg, end, 0, iov_.size(), iov_.size(), {}, false, false});
      run = &runs.back();
    }
    const EventBatch& events = p->events;
    segment::BlockHeader h;
    h.stream_id = p->stream->id;
    h.seq = next_block_seq_.fetch_add(1);
    h.ingestion_time = now;
    h.source_offset = p->source ? p->source->offset : 0;
    std::string_view source = p->source ? std::string_view(p->source->source) : std::string_view();
    int64_t min_ts = 0, max_ts = 0;
    if (p->sorted) {
      // Written from the batch as it is: no copy of the events.
      size_t head = segment::blockHeadSize(source.size());
      segment::encodeHead(buf + pos, h, events, source);
      piece(buf + pos, head);
      piece(events.timestamps().data(), events.timestamps().size_bytes());
      piece(events.ends().data(), events.ends().size_bytes());
      piece(events.messages().data(), events.messages().size());
      pos += head;
      if (!events.empty()) {
        min_ts = events.timestamps().front();
        max_ts = events.timestamps().back();
      }
    } else {
      // A stable timestamp order, encoded into the buffer.
      order_.resize(events.size());
      for (uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
      std::stable_sort(order_.begin(), order_.end(),
                       [&](uint32_t a, uint32_t b) { return events.timestamp(a) < events.timestamp(b); });
      segment::encodeBlock(buf + pos, h, events, order_, source);
      piece(buf + pos, p->size);
      pos += p->size;
      min_ts = events.timestamp(order_.front());
      max_ts = events.timestamp(order_.back());
    }
    p->ref = BlockRef{seg.get(),
                      end,
                      h.seq,
                      min_ts,
                      max_ts,
                      now,
                      static_cast<uint32_t>(p->size),
                      static_cast<uint32_t>(events.size())};
    run->bytes += p->size;
    run->iov_end = iov_.size();
    run->members.push_back(p);
  }
  finish(/*sync=*/false);
}

Result<std::shared_ptr<Segment>> LogStoreImpl::createSegment(GroupState& g) {
  if (::mkdir(g.dir.c_str(), 0750) == 0) {
    if (options_.sync) BERTH_TRY(segment::syncDir(groups_dir_));
  } else if (errno != EEXIST) {
    return failErrno("mkdir " + g.dir, errno);
  }
  uint64_t seq = g.next_segment++;
  std::string path = fmt::format("{}/{:020}.seg", g.dir, seq);
  if (int err = injected("create")) return failErrno("create " + path, err);
  int fd = ::open(path.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
  if (fd < 0) return failErrno("create " + path, errno);
  auto seg = std::make_shared<Segment>(seq, path, fd);
  if (options_.sync) {
    if (::fsync(fd) != 0) return failErrno("fsync " + path, errno);
    BERTH_TRY(segment::syncDir(g.dir));
  }
  std::unique_lock lock(mu_);
  g.segments.push_back(seg);
  g.active = seg;
  return seg;
}

Status LogStoreImpl::writeRun(const Run& run) {
  if (int err = injected("write")) return failErrno("write " + run.segment->path, err);
  return segment::writeAt(run.segment->fd, std::span(iov_).subspan(run.iov_begin, run.iov_end - run.iov_begin),
                          run.start, run.segment->path);
}

Status LogStoreImpl::syncRun(const Run& run) {
  if (!options_.sync) return {};
  if (int err = injected("sync")) return failErrno("fdatasync " + run.segment->path, err);
  if (::fdatasync(run.segment->fd) != 0) return failErrno("fdatasync " + run.segment->path, errno);
  return {};
}

// Cuts the segment back to where the batch started, so that nothing of the
// run survives a restart either. If even that fails, the blocks may come
// back after one; the next run overwrites them in place.
void LogStoreImpl::failRun(Run& run, const Error& err) {
  run.failed = true;
  static_cast<void>(::ftruncate(run.segment->fd, static_cast<off_t>(run.start)));
  for (Pending* p : run.members) failPending(*p, err);
}

}  // namespace berth::logs::internal
