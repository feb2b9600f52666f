// LogStore: open and recovery, metadata (groups, streams, source marks) and
// retention. The rest of the implementation: log_store_impl.h.
#include "logs/log_store.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <future>
#include <set>

#include "common/json.h"
#include "logs/log_store_impl.h"

namespace berth::logs {
namespace internal {
namespace {

namespace fs = std::filesystem;
namespace bj = boost::json;

std::string streamKey(std::string_view group, std::string_view stream) {
  std::string key(group);
  key.push_back('\0');
  key.append(stream);
  return key;
}

std::string groupJson(const GroupState& g) {
  bj::object o;
  o["id"] = g.id;
  o["creation_time"] = g.info.creation_time;
  if (g.info.retention_days) o["retention_days"] = *g.info.retention_days;
  o["kms_key_id"] = g.info.kms_key_id;
  o["class"] = g.info.log_group_class;
  bj::object tags;
  for (const auto& [k, v] : g.info.tags) tags[k] = v;
  o["tags"] = std::move(tags);
  o["ingested_dropped"] = g.ingested_dropped;
  bj::array dropping;
  for (uint64_t s : g.dropping) dropping.push_back(s);
  o["dropping"] = std::move(dropping);
  o["next_segment"] = g.next_segment;
  return json::serialize(o);
}

Result<bj::object> parseObject(const store::Record& r) {
  auto v = json::parse(r.value);
  if (!v || !v->is_object()) return fail(ErrorCode::kInternal, "logs: bad record " + r.kind + "/" + r.key);
  return std::move(v->get_object());
}

}  // namespace

LogStoreImpl::~LogStoreImpl() {
  {
    std::lock_guard lock(queue_mu_);
    stopping_ = true;
  }
  queue_cv_.notify_one();
  if (writer_.joinable()) writer_.join();
}

std::shared_ptr<GroupState> LogStoreImpl::findGroupLocked(std::string_view name) const {
  auto it = groups_.find(name);
  return it == groups_.end() ? nullptr : it->second;
}

// ---------------------------------------------------------------- open

Status LogStoreImpl::load() {
  for (const store::Record& r : BERTH_TRY(meta_->loadAll(kGroupKind))) {
    bj::object o = BERTH_TRY(parseObject(r));
    auto g = std::make_shared<GroupState>();
    g->info.name = r.key;
    g->id = static_cast<uint64_t>(json::getInt(o, "id").value_or(0));
    g->dir = groups_dir_ + "/" + std::to_string(g->id);
    g->info.creation_time = json::getInt(o, "creation_time").value_or(0);
    if (auto days = json::getInt(o, "retention_days")) g->info.retention_days = static_cast<int>(*days);
    g->info.kms_key_id = json::stringOr(o, "kms_key_id");
    g->info.log_group_class = json::stringOr(o, "class", "STANDARD");
    if (const bj::object* tags = json::getObject(o, "tags"))
      for (const auto& [k, v] : *tags)
        if (v.is_string()) g->info.tags[std::string(k)] = std::string(v.get_string());
    g->ingested_dropped = static_cast<uint64_t>(json::getInt(o, "ingested_dropped").value_or(0));
    if (const bj::array* a = json::getArray(o, "dropping"))
      for (const auto& v : *a)
        if (v.is_int64() || v.is_uint64()) g->dropping.push_back(v.to_number<uint64_t>());
    g->next_segment = static_cast<uint64_t>(json::getInt(o, "next_segment").value_or(1));
    groups_[r.key] = std::move(g);
  }
  for (const store::Record& r : BERTH_TRY(meta_->loadAll(kStreamKind))) {
    size_t nul = r.key.find('\0');
    auto g = nul == std::string::npos ? nullptr : findGroupLocked(std::string_view(r.key).substr(0, nul));
    if (!g) continue;  // cannot happen: a group's streams are erased with it
    bj::object o = BERTH_TRY(parseObject(r));
    auto s = std::make_shared<StreamState>();
    s->name = r.key.substr(nul + 1);
    s->id = static_cast<uint64_t>(json::getInt(o, "id").value_or(0));
    s->creation_time = json::getInt(o, "creation_time").value_or(0);
    g->by_id[s->id] = s.get();
    g->streams[s->name] = std::move(s);
  }
  // Marks whose blocks were dropped, and the sources forgotten since.
  std::unordered_map<std::string, uint64_t> forgotten;
  for (const store::Record& r : BERTH_TRY(meta_->loadAll(kSourceKind))) {
    bj::object o = BERTH_TRY(parseObject(r));
    if (auto through = json::getInt(o, "forgotten_through")) {
      forgotten[r.key] = static_cast<uint64_t>(*through);
    } else {
      sources_[r.key] = SourceState{static_cast<uint64_t>(json::getInt(o, "offset").value_or(0)),
                                    static_cast<uint64_t>(json::getInt(o, "seq").value_or(0)), nullptr};
    }
  }
  uint64_t next_seq = 1;
  if (auto v = BERTH_TRY(meta_->get(kMetaKind, kBlockSeqKey))) next_seq = std::strtoull(v->c_str(), nullptr, 10);
  next_block_seq_ = std::max<uint64_t>(next_seq, 1);

  // Directories of groups deleted just before a crash.
  std::unordered_set<std::string> dirs;
  for (const auto& [name, g] : groups_) dirs.insert(g->dir);
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(groups_dir_, ec))
    if (!dirs.contains(entry.path().string())) fs::remove_all(entry.path(), ec);
  if (ec) return failErrno("list " + groups_dir_, ec.value());

  std::unordered_set<std::string> seen_sources;
  for (auto& [name, g] : groups_) BERTH_TRY(loadSegments(*g, forgotten, seen_sources));

  // A forgotten source none of whose blocks is left needs no record.
  store::Batch cleanup;
  for (const auto& [source, through] : forgotten)
    if (!seen_sources.contains(source)) cleanup.erase(std::string(kSourceKind), source);
  BERTH_TRY(meta_->commit(cleanup));
  return {};
}

Status LogStoreImpl::loadSegments(GroupState& g, const std::unordered_map<std::string, uint64_t>& forgotten,
                                  std::unordered_set<std::string>& seen_sources) {
  std::vector<std::pair<uint64_t, std::string>> files;
  std::error_code ec;
  bool removed = false;
  for (const auto& entry : fs::directory_iterator(g.dir, ec)) {
    std::string name = entry.path().filename().string();
    if (!name.ends_with(".seg")) continue;
    uint64_t seq = std::strtoull(name.c_str(), nullptr, 10);
    if (std::find(g.dropping.begin(), g.dropping.end(), seq) != g.dropping.end()) {
      fs::remove(entry.path(), ec);
      removed = true;
      continue;
    }
    files.emplace_back(seq, entry.path().string());
  }
  if (ec && ec != std::errc::no_such_file_or_directory) return failErrno("list " + g.dir, ec.value());
  if (removed && options_.sync) BERTH_TRY(segment::syncDir(g.dir));
  std::sort(files.begin(), files.end());

  for (size_t i = 0; i < files.size(); ++i) {
    const auto& [seq, path] = files[i];
    int fd = ::open(path.c_str(), O_RDWR | O_CLOEXEC);
    if (fd < 0) return failErrno("open " + path, errno);
    auto seg = std::make_shared<Segment>(seq, path, fd);
    // Only the newest segment can hold blocks that were never synced.
    auto scan = BERTH_TRY(segment::scanSegment(fd, i + 1 == files.size(), path));
    seg->size = scan.valid_bytes;
    for (const segment::ScannedBlock& b : scan.blocks) {
      const segment::BlockHeader& h = b.header;
      BlockRef ref{seg.get(), b.offset, h.seq, h.min_ts, h.max_ts, h.ingestion_time, h.length, h.count};
      if (b.offset == 0) seg->first_ingestion = h.ingestion_time;
      if (h.count > 0) seg->max_ts = std::max(seg->max_ts, h.max_ts);
      uint64_t ingested = ingestedBytes(h);
      seg->ingested_bytes += ingested;
      g.ingested_live += ingested;
      if (auto it = g.by_id.find(h.stream_id); it != g.by_id.end()) it->second->add(ref);
      next_block_seq_ = std::max<uint64_t>(next_block_seq_, h.seq + 1);
      if (!b.source.empty()) {
        seen_sources.insert(b.source);
        auto f = forgotten.find(b.source);
        if (f != forgotten.end() && h.seq <= f->second) continue;
        SourceState& m = sources_[b.source];
        if (h.seq >= m.seq) m = SourceState{h.source_offset, h.seq, seg.get()};
      }
    }
    g.segments.push_back(std::move(seg));
  }
  if (!g.segments.empty()) {
    g.active = g.segments.back();
    g.next_segment = std::max(g.next_segment, g.segments.back()->seq + 1);
  }
  return {};
}

// ---------------------------------------------------------------- groups

Status LogStoreImpl::createGroup(const GroupInfo& info) {
  std::lock_guard meta_lock(meta_mu_);
  {
    std::shared_lock lock(mu_);
    if (groups_.contains(info.name))
      return fail(ErrorCode::kAlreadyExists, "The specified log group already exists",
                  "ResourceAlreadyExistsException");
  }
  auto g = std::make_shared<GroupState>();
  g->info = info;
  g->info.stored_bytes = g->info.ingested_bytes = 0;
  if (g->info.creation_time == 0) g->info.creation_time = clock_.epochMillis();
  g->id = static_cast<uint64_t>(BERTH_TRY(meta_->nextSequence("logs.group")));
  g->dir = groups_dir_ + "/" + std::to_string(g->id);
  store::Batch batch;
  batch.put(std::string(kGroupKind), info.name, groupJson(*g));
  BERTH_TRY(meta_->commit(batch));
  std::unique_lock lock(mu_);
  groups_[info.name] = std::move(g);
  return {};
}

void LogStoreImpl::persistMarksLocked(const std::unordered_set<Segment*>& dropped, store::Batch& batch) const {
  for (const auto& [source, m] : sources_) {
    if (m.segment == nullptr || !dropped.contains(m.segment)) continue;
    bj::object o;
    o["offset"] = m.offset;
    o["seq"] = m.seq;
    batch.put(std::string(kSourceKind), source, json::serialize(o));
  }
}

Status LogStoreImpl::deleteGroup(std::string_view name) {
  std::lock_guard meta_lock(meta_mu_);
  std::lock_guard write_lock(write_mu_);
  std::shared_ptr<GroupState> g;
  std::unordered_set<Segment*> segments;
  store::Batch batch;
  {
    std::shared_lock lock(mu_);
    g = findGroupLocked(name);
    if (!g) return groupNotFound();
    batch.erase(std::string(kGroupKind), std::string(name));
    for (const auto& [stream, s] : g->streams) batch.erase(std::string(kStreamKind), streamKey(name, stream));
    for (const auto& seg : g->segments) segments.insert(seg.get());
    // The drivers' progress outlives the group.
    persistMarksLocked(segments, batch);
  }
  batch.put(std::string(kMetaKind), std::string(kBlockSeqKey), std::to_string(next_block_seq_.load()));
  BERTH_TRY(meta_->commit(batch));
  {
    std::unique_lock lock(mu_);
    g->deleted = true;
    for (auto& [stream, s] : g->streams) s->deleted = true;
    for (auto& [source, m] : sources_)
      if (segments.contains(m.segment)) m.segment = nullptr;
    groups_.erase(g->info.name);
  }
  // Readers may still hold the segments open. A directory left behind by a
  // failure here is removed by the next open().
  std::error_code ec;
  fs::remove_all(g->dir, ec);
  return {};
}

Result<GroupInfo> LogStoreImpl::group(std::string_view name) const {
  std::shared_lock lock(mu_);
  auto g = findGroupLocked(name);
  if (!g) return groupNotFound();
  return g->snapshot();
}

std::vector<GroupInfo> LogStoreImpl::groups() const {
  std::shared_lock lock(mu_);
  std::vector<GroupInfo> out;
  out.reserve(groups_.size());
  for (const auto& [name, g] : groups_) out.push_back(g->snapshot());
  return out;
}

Status LogStoreImpl::updateGroup(std::string_view name, const std::function<void(GroupInfo&)>& change) {
  std::lock_guard meta_lock(meta_mu_);
  std::shared_ptr<GroupState> g;
  GroupState copy;
  {
    std::shared_lock lock(mu_);
    g = findGroupLocked(name);
    if (!g) return groupNotFound();
    copy.info = g->info;
    copy.id = g->id;
    copy.ingested_dropped = g->ingested_dropped;
    copy.dropping = g->dropping;
    copy.next_segment = g->next_segment;
  }
  change(copy.info);
  store::Batch batch;
  batch.put(std::string(kGroupKind), std::string(name), groupJson(copy));
  BERTH_TRY(meta_->commit(batch));
  std::unique_lock lock(mu_);
  g->info = std::move(copy.info);
  return {};
}

Status LogStoreImpl::setRetention(std::string_view group, std::optional<int> days) {
  return updateGroup(group, [&](GroupInfo& g) { g.retention_days = days; });
}

Status LogStoreImpl::tagGroup(std::string_view group, const std::map<std::string, std::string>& tags) {
  return updateGroup(group, [&](GroupInfo& g) {
    for (const auto& [k, v] : tags) g.tags[k] = v;
  });
}

Status LogStoreImpl::untagGroup(std::string_view group, const std::vector<std::string>& keys) {
  return updateGroup(group, [&](GroupInfo& g) {
    for (const auto& k : keys) g.tags.erase(k);
  });
}

// ---------------------------------------------------------------- streams

Status LogStoreImpl::createStream(std::string_view group, std::string_view stream) {
  std::lock_guard meta_lock(meta_mu_);
  std::shared_ptr<GroupState> g;
  {
    std::shared_lock lock(mu_);
    g = findGroupLocked(group);
    if (!g) return groupNotFound();
    if (g->streams.contains(stream))
      return fail(ErrorCode::kAlreadyExists, "The specified log stream already exists",
                  "ResourceAlreadyExistsException");
  }
  auto s = std::make_shared<StreamState>();
  s->name = std::string(stream);
  s->creation_time = clock_.epochMillis();
  s->id = static_cast<uint64_t>(BERTH_TRY(meta_->nextSequence("logs.stream")));
  bj::object o;
  o["id"] = s->id;
  o["creation_time"] = s->creation_time;
  store::Batch batch;
  batch.put(std::string(kStreamKind), streamKey(group, stream), json::serialize(o));
  BERTH_TRY(meta_->commit(batch));
  std::unique_lock lock(mu_);
  g->by_id[s->id] = s.get();
  g->streams[s->name] = std::move(s);
  return {};
}

// The stream's blocks stay in the group's segments, unreachable (no stream
// id maps to them), until retention drops those segments or the group goes.
Status LogStoreImpl::deleteStream(std::string_view group, std::string_view stream) {
  std::lock_guard meta_lock(meta_mu_);
  std::shared_ptr<GroupState> g;
  {
    std::shared_lock lock(mu_);
    g = findGroupLocked(group);
    if (!g) return groupNotFound();
    if (!g->streams.contains(stream)) return streamNotFound();
  }
  store::Batch batch;
  batch.erase(std::string(kStreamKind), streamKey(group, stream));
  BERTH_TRY(meta_->commit(batch));
  std::unique_lock lock(mu_);
  auto it = g->streams.find(stream);
  it->second->deleted = true;
  g->by_id.erase(it->second->id);
  g->streams.erase(it);
  return {};
}

Result<std::vector<StreamInfo>> LogStoreImpl::streams(std::string_view group) const {
  std::shared_lock lock(mu_);
  auto g = findGroupLocked(group);
  if (!g) return groupNotFound();
  std::vector<StreamInfo> out;
  out.reserve(g->streams.size());
  for (const auto& [name, s] : g->streams)
    out.push_back(StreamInfo{s->name, s->creation_time, s->first_ts, s->last_ts, s->last_ingestion, s->stored_bytes});
  return out;
}

Result<StreamInfo> LogStoreImpl::stream(std::string_view group, std::string_view stream) const {
  std::shared_lock lock(mu_);
  auto g = findGroupLocked(group);
  if (!g) return groupNotFound();
  auto it = g->streams.find(stream);
  if (it == g->streams.end()) return streamNotFound();
  const auto& s = *it->second;
  return StreamInfo{s.name, s.creation_time, s.first_ts, s.last_ts, s.last_ingestion, s.stored_bytes};
}

// ---------------------------------------------------------------- sources

std::optional<uint64_t> LogStoreImpl::sourceOffset(std::string_view source) const {
  std::shared_lock lock(mu_);
  auto it = sources_.find(std::string(source));
  if (it == sources_.end()) return std::nullopt;
  return it->second.offset;
}

void LogStoreImpl::resumeSource(std::string_view source) {
  std::unique_lock lock(mu_);
  failed_sources_.erase(std::string(source));
}

void LogStoreImpl::forgetSource(std::string_view source) {
  std::lock_guard meta_lock(meta_mu_);
  {
    std::unique_lock lock(mu_);
    failed_sources_.erase(std::string(source));
    if (!sources_.contains(std::string(source))) return;
  }
  // Blocks up to here keep the source in their headers; the record tells
  // open() to ignore them. Best effort: the caller has no use for an error.
  bj::object o;
  o["forgotten_through"] = next_block_seq_.load() - 1;
  store::Batch batch;
  batch.put(std::string(kSourceKind), std::string(source), json::serialize(o));
  static_cast<void>(meta_->commit(batch));
  std::unique_lock lock(mu_);
  sources_.erase(std::string(source));
}

// ---------------------------------------------------------------- retention

uint64_t LogStoreImpl::enforceRetention() {
  std::lock_guard meta_lock(meta_mu_);
  std::lock_guard write_lock(write_mu_);
  // With both locks held nobody else changes the index: read it bare.
  int64_t now = clock_.epochMillis();
  struct Drop {
    GroupState* group;
    std::vector<std::shared_ptr<Segment>> segments;
    uint64_t ingested = 0;
  };
  std::vector<Drop> drops;
  std::unordered_set<Segment*> dropped;
  store::Batch batch;
  for (const auto& [name, g] : groups_) {
    if (!g->info.retention_days) continue;
    int64_t cutoff = now - int64_t{*g->info.retention_days} * kDayMillis;
    Drop d{g.get(), {}, 0};
    for (const auto& seg : g->segments) {
      // An empty segment goes too, unless it is the one being filled.
      bool expired = seg->max_ts == kNoEvents ? seg != g->active : seg->max_ts < cutoff;
      if (!expired) continue;
      d.segments.push_back(seg);
      d.ingested += seg->ingested_bytes;
      dropped.insert(seg.get());
    }
    if (d.segments.empty()) continue;
    GroupState copy;
    copy.info = g->info;
    copy.id = g->id;
    copy.ingested_dropped = g->ingested_dropped + d.ingested;
    for (const auto& seg : d.segments) copy.dropping.push_back(seg->seq);
    copy.next_segment = g->next_segment;
    batch.put(std::string(kGroupKind), name, groupJson(copy));
    drops.push_back(std::move(d));
  }
  if (drops.empty()) return 0;
  persistMarksLocked(dropped, batch);
  batch.put(std::string(kMetaKind), std::string(kBlockSeqKey), std::to_string(next_block_seq_.load()));
  if (!meta_->commit(batch)) return 0;  // nothing dropped; the next run tries again

  uint64_t freed = 0;
  {
    std::unique_lock lock(mu_);
    for (Drop& d : drops) {
      GroupState& g = *d.group;
      g.ingested_dropped += d.ingested;
      g.ingested_live -= d.ingested;
      g.dropping.clear();
      for (const auto& seg : d.segments) g.dropping.push_back(seg->seq);
      std::erase_if(g.segments, [&](const auto& seg) { return dropped.contains(seg.get()); });
      // The active segment expired too: the next write starts a new one.
      if (g.active && dropped.contains(g.active.get())) g.active = nullptr;
      for (auto& [name, s] : g.streams) {
        size_t n = std::erase_if(s->blocks, [&](const BlockRef& b) { return dropped.contains(b.segment); });
        if (n > 0) s->recount();
      }
    }
    for (auto& [source, m] : sources_)
      if (dropped.contains(m.segment)) m.segment = nullptr;
  }
  for (const Drop& d : drops) {
    for (const auto& seg : d.segments) {
      freed += seg->size;
      ::unlink(seg->path.c_str());
    }
    // Best effort: open() finishes a drop whose unlinks were lost.
    if (options_.sync) static_cast<void>(segment::syncDir(d.group->dir));
  }
  return freed;
}

}  // namespace internal

namespace fs = std::filesystem;

EventBatch::EventBatch(std::span<const InputEvent> events) {
  size_t bytes = 0;
  for (const InputEvent& e : events) bytes += e.message.size();
  reserve(events.size(), bytes);
  for (const InputEvent& e : events) add(e.timestamp, e.message);
}

void EventBatch::reserve(size_t events, size_t message_bytes) {
  timestamps_.reserve(events);
  ends_.reserve(events);
  messages_.reserve(message_bytes);
}

void EventBatch::clear() {
  timestamps_.clear();
  ends_.clear();
  messages_.clear();
  max_message_ = 0;
}

void LogStore::append(std::string_view group, std::string_view stream, const std::vector<InputEvent>& events,
                      std::optional<SourceMark> source, AppendDone done) {
  append(group, stream, EventBatch(events), std::move(source), std::move(done));
}

Status LogStore::appendSync(std::string_view group, std::string_view stream, EventBatch events,
                            std::optional<SourceMark> source) {
  std::promise<Status> done;
  auto result = done.get_future();
  append(group, stream, std::move(events), std::move(source), [&done](Status s) { done.set_value(std::move(s)); });
  return result.get();
}

Status LogStore::appendSync(std::string_view group, std::string_view stream, const std::vector<InputEvent>& events,
                            std::optional<SourceMark> source) {
  return appendSync(group, stream, EventBatch(events), std::move(source));
}

Result<std::unique_ptr<LogStore>> LogStore::open(LogStoreOptions options) {
  if (options.clock == nullptr) return fail(ErrorCode::kInvalidArgument, "logs: LogStoreOptions.clock is required");
  std::error_code ec;
  fs::create_directories(options.dir / "groups", ec);
  if (ec) return failErrno("create " + (options.dir / "groups").string(), ec.value());
  auto meta = BERTH_TRY(store::openSqliteStore(options.dir / "meta.db", {.synchronous_full = options.sync}));
  auto impl = std::make_unique<internal::LogStoreImpl>(std::move(options), std::move(meta));
  BERTH_TRY(impl->load());
  impl->start();
  return std::unique_ptr<LogStore>(std::move(impl));
}

}  // namespace berth::logs
