// LogStore's writer thread: group commit of appended blocks.
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>

#include <fmt/format.h>

#include "logs/log_store_impl.h"

namespace berth::logs::internal {

void LogStoreImpl::append(std::string_view group, std::string_view stream, std::vector<InputEvent> events,
                          std::optional<SourceMark> source, AppendDone done) {
  Pending p;
  p.done = std::move(done);
  uint64_t message_bytes = 0;
  for (const InputEvent& e : events) message_bytes += e.message.size();
  size_t source_len = source ? source->source.size() : 0;
  uint64_t size = segment::blockSize(events.size(), message_bytes, source_len);
  if (std::any_of(events.begin(), events.end(),
                  [](const InputEvent& e) { return e.message.size() > kMaxEventMessageBytes; })) {
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
    for (Pending& p : batch) p.done(std::move(p.status));
    batch.clear();
    // Do not keep the memory of one huge batch around.
    if (wbuf_capacity_ > (64u << 20)) {
      wbuf_.reset();
      wbuf_capacity_ = 0;
    }
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
  {
    // deleteGroup waits for write_mu_, so a group alive here stays so until
    // the batch is published.
    std::shared_lock lock(mu_);
    for (Pending& p : batch) {
      if (!p.status || p.size == 0) continue;
      if (p.group->deleted) {
        p.status = groupNotFound();
      } else if (p.stream->deleted) {
        p.status = streamNotFound();
      } else {
        work.push_back(&p);
      }
    }
  }
  if (work.empty()) return;
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
  for (Run& run : runs) {
    if (run.failed || run.synced) continue;
    if (auto ok = syncRun(run); !ok) failRun(run, ok.error());
  }

  std::unique_lock lock(mu_);
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

void LogStoreImpl::writeGroup(GroupState& g, std::span<Pending*> pendings, int64_t now, std::vector<Run>& runs) {
  uint64_t total = 0;
  for (const Pending* p : pendings) total += p->size;
  char* buf = writeBuffer(total);
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

  for (size_t k = 0; k < pendings.size(); ++k) {
    Pending* p = pendings[k];
    std::shared_ptr<Segment> seg = run != nullptr ? run->segment : g.active;
    uint64_t end = run != nullptr ? run->start + (run->buf_end - run->buf_begin) : seg ? seg->size : 0;
    bool roll = !seg || (end > 0 && end + p->size > options_.segment_bytes) ||
                (seg->size > 0 && now - seg->first_ingestion >= options_.segment_span.count());
    if (roll) {
      finish(/*sync=*/true);  // before the next segment exists (see writeBatch)
      run = nullptr;
      auto created = createSegment(g);
      if (!created) {
        // Fail the rest of the group too: their offsets would be computed
        // from segment sizes this batch has not published yet.
        for (Pending* rest : pendings.subspan(k)) rest->status = std::unexpected(created.error());
        return;
      }
      seg = std::move(*created);
      end = 0;
    }
    if (run == nullptr) {
      runs.push_back(Run{seg, end, pos, pos, {}, false, false});
      run = &runs.back();
    }
    // Events arrive sorted; a batch that is not gets a stable order.
    std::span<const InputEvent> events(p->events);
    order_.clear();
    if (!std::is_sorted(events.begin(), events.end(),
                        [](const InputEvent& a, const InputEvent& b) { return a.timestamp < b.timestamp; })) {
      order_.resize(events.size());
      for (uint32_t i = 0; i < order_.size(); ++i) order_[i] = i;
      std::stable_sort(order_.begin(), order_.end(),
                       [&](uint32_t a, uint32_t b) { return events[a].timestamp < events[b].timestamp; });
    }
    segment::BlockHeader h;
    h.stream_id = p->stream->id;
    h.seq = next_block_seq_.fetch_add(1);
    h.ingestion_time = now;
    h.source_offset = p->source ? p->source->offset : 0;
    std::string_view source = p->source ? std::string_view(p->source->source) : std::string_view();
    segment::encodeBlock(buf + pos, h, events, order_, source);
    int64_t min_ts = events.empty() ? 0 : events[order_.empty() ? 0 : order_.front()].timestamp;
    int64_t max_ts = events.empty() ? 0 : events[order_.empty() ? events.size() - 1 : order_.back()].timestamp;
    p->ref = BlockRef{seg.get(),
                      end,
                      h.seq,
                      min_ts,
                      max_ts,
                      now,
                      static_cast<uint32_t>(p->size),
                      static_cast<uint32_t>(events.size())};
    pos += p->size;
    run->buf_end = pos;
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
  return segment::writeAt(run.segment->fd, std::string_view(wbuf_.get() + run.buf_begin, run.buf_end - run.buf_begin),
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
  for (Pending* p : run.members) p->status = std::unexpected(err);
}

}  // namespace berth::logs::internal
