// LogStore::read(): a lazy merge of the selected streams' blocks in
// Position order.
#include <algorithm>
#include <cstring>
#include <limits>
#include <set>

#include <fmt/format.h>

#include "logs/log_store_impl.h"

#if defined(__x86_64__)
#include <immintrin.h>
#endif

namespace berth::logs::internal {
namespace {

#if defined(__x86_64__)
// Muła's "generic SIMD" substring search: 32 positions at a time, keep those
// where the needle's first and last bytes both match, then compare the
// middle. glibc's memmem runs at ~2 GB/s for short needles like "ERROR" on
// log text; this at ~5-7 GB/s (measured on these machines), which is what a
// FilterLogEvents over 1 GB in under a second needs. `k` >= 2.
__attribute__((target("avx2"))) const char* findAvx2(const char* s, size_t n, const char* needle, size_t k) {
  const __m256i first = _mm256_set1_epi8(needle[0]);
  const __m256i last = _mm256_set1_epi8(needle[k - 1]);
  size_t i = 0;
  for (; i + k - 1 + 32 <= n; i += 32) {
    __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i));
    __m256i b = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(s + i + k - 1));
    auto mask = static_cast<uint32_t>(
        _mm256_movemask_epi8(_mm256_and_si256(_mm256_cmpeq_epi8(a, first), _mm256_cmpeq_epi8(b, last))));
    while (mask != 0) {
      unsigned bit = static_cast<unsigned>(__builtin_ctz(mask));
      if (std::memcmp(s + i + bit + 1, needle + 1, k - 2) == 0) return s + i + bit;
      mask &= mask - 1;
    }
  }
  return static_cast<const char*>(::memmem(s + i, n - i, needle, k));
}
#endif

// The first occurrence of `needle` (not empty) in [s, s + n), or null.
const char* findLiteral(const char* s, size_t n, std::string_view needle) {
  if (needle.size() == 1) return static_cast<const char*>(std::memchr(s, needle[0], n));
#if defined(__x86_64__)
  static const bool avx2 = __builtin_cpu_supports("avx2");
  if (avx2) return findAvx2(s, n, needle.data(), needle.size());
#endif
  return static_cast<const char*>(::memmem(s, n, needle.data(), needle.size()));
}

// The positions just before / after p, as resume points between events. No
// event has index kMaxEventsPerAppend, so it stands for "after every event
// of the block" and keeps the index within the digits of a token.
Position before(Position p) {
  if (p.index > 0) return {p.timestamp, p.block, p.index - 1};
  if (p.block > 0) return {p.timestamp, p.block - 1, kMaxEventsPerAppend};
  if (p.timestamp == kNoEvents) return p;
  return {p.timestamp - 1, std::numeric_limits<uint64_t>::max(), kMaxEventsPerAppend};
}
Position after(Position p) {
  if (p.index < kMaxEventsPerAppend) return {p.timestamp, p.block, p.index + 1};
  if (p.block < std::numeric_limits<uint64_t>::max()) return {p.timestamp, p.block + 1, 0};
  return {p.timestamp + 1, 0, 0};
}

// The first i in [0, n) for which pred(i) holds (pred is false, then true).
template <typename Pred>
uint32_t firstWhere(uint32_t n, Pred pred) {
  uint32_t lo = 0, hi = n;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (pred(mid))
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

}  // namespace

// A block picked by read(), and then, once opened, a cursor over the events
// of it that the query wants, in read order.
struct Candidate {
  BlockRef block;
  uint32_t stream;  // index into the read's stream names
  Position bound;   // no event of the block the read wants comes before it
};

struct Cursor {
  std::unique_ptr<char[]> bytes;  // reused from block to block
  size_t capacity = 0;
  std::vector<uint32_t> hits;  // events holding the literal
  segment::BlockView view;
  uint32_t stream = 0;
  uint64_t seq = 0;
  int64_t ingestion_time = 0;
  const uint32_t* list = nullptr;  // `hits`, or null: the range [base, base + n)
  uint32_t base = 0, n = 0, k = 0;
  bool backward = false;

  uint32_t index() const {
    uint32_t j = backward ? n - 1 - k : k;
    return list != nullptr ? list[j] : base + j;
  }
  Position position() const {
    uint32_t i = index();
    return {view.timestamp(i), seq, i};
  }
};

Status LogStoreImpl::openBlock(const Candidate& c, Cursor& cur, const ReadQuery& q, int64_t start, int64_t end) const {
  const BlockRef& b = c.block;
  if (b.length > cur.capacity) {
    cur.bytes = std::make_unique_for_overwrite<char[]>(b.length);
    cur.capacity = b.length;
  }
  BERTH_TRY(segment::readAt(b.segment->fd, cur.bytes.get(), b.length, b.offset, b.segment->path));
  cur.view = segment::BlockView(cur.bytes.get(), b.length);
  if (!cur.view.valid() || cur.view.header().seq != b.seq || cur.view.count() != b.count)
    return fail(ErrorCode::kIo, fmt::format("logs: corrupt block in {} at offset {}", b.segment->path, b.offset));
  const segment::BlockView& v = cur.view;
  cur.stream = c.stream;
  cur.seq = b.seq;
  cur.ingestion_time = b.ingestion_time;
  cur.backward = q.backward;
  cur.k = 0;

  uint32_t n = v.count();
  uint32_t lo = start == kNoEvents ? 0 : firstWhere(n, [&](uint32_t i) { return v.timestamp(i) >= start; });
  uint32_t hi =
      end == std::numeric_limits<int64_t>::max() ? n : firstWhere(n, [&](uint32_t i) { return v.timestamp(i) >= end; });
  if (q.after) {
    auto pos = [&](uint32_t i) { return Position{v.timestamp(i), b.seq, i}; };
    if (q.backward)
      hi = std::min(hi, firstWhere(n, [&](uint32_t i) { return pos(i) >= *q.after; }));
    else
      lo = std::max(lo, firstWhere(n, [&](uint32_t i) { return pos(i) > *q.after; }));
  }
  if (lo >= hi) {
    cur.n = 0;
    return {};
  }
  if (q.literal.empty()) {
    cur.list = nullptr;
    cur.base = lo;
    cur.n = hi - lo;
    return {};
  }
  // One search over the messages; a hit that straddles two messages is none.
  cur.hits.clear();
  std::string_view all = v.messages();
  const std::string& lit = q.literal;
  uint32_t from = v.messageBegin(lo), to = v.messageEnd(hi - 1);
  while (to - from >= lit.size()) {
    const char* hit = findLiteral(all.data() + from, to - from, lit);
    if (hit == nullptr) break;
    uint32_t at = static_cast<uint32_t>(hit - all.data());
    uint32_t i = v.eventAt(at);
    if (at + lit.size() <= v.messageEnd(i)) {
      cur.hits.push_back(i);
      from = v.messageEnd(i);
    } else {
      from = at + 1;
    }
  }
  cur.list = cur.hits.data();
  cur.n = static_cast<uint32_t>(cur.hits.size());
  return {};
}

Result<ReadPage> LogStoreImpl::read(const ReadQuery& q) const {
  ReadPage page;
  int64_t start = q.start_time.value_or(kNoEvents);
  int64_t end = q.end_time.value_or(std::numeric_limits<int64_t>::max());
  std::vector<Candidate> cands;
  std::vector<std::string> names;
  std::vector<std::shared_ptr<Segment>> keep;
  {
    std::shared_lock lock(mu_);
    auto g = findGroupLocked(q.group);
    if (!g) return groupNotFound();
    if (g->info.retention_days)
      start = std::max(start, clock_.epochMillis() - int64_t{*g->info.retention_days} * kDayMillis);
    keep = g->segments;
    auto consider = [&](const StreamState& s) {
      uint32_t index = static_cast<uint32_t>(names.size());
      names.push_back(s.name);
      for (const BlockRef& b : s.blocks) {
        if (b.count == 0 || b.max_ts < start || b.min_ts >= end) continue;
        Position bound;
        if (q.backward) {
          bound = Position{b.max_ts, b.seq, b.count - 1};
          if (q.after) {
            if (Position{b.min_ts, b.seq, 0} >= *q.after) continue;
            bound = std::min(bound, before(*q.after));
          }
        } else {
          bound = Position{b.min_ts, b.seq, 0};
          if (q.after) {
            if (Position{b.max_ts, b.seq, b.count - 1} <= *q.after) continue;
            bound = std::max(bound, after(*q.after));
          }
        }
        cands.push_back(Candidate{b, index, bound});
      }
    };
    if (q.streams.empty() && q.stream_prefix.empty()) {
      for (const auto& [name, s] : g->streams) consider(*s);
    } else {
      std::set<const StreamState*> chosen;
      for (const std::string& name : q.streams)
        if (auto it = g->streams.find(name); it != g->streams.end()) chosen.insert(it->second.get());
      if (!q.stream_prefix.empty())
        for (auto it = g->streams.lower_bound(q.stream_prefix);
             it != g->streams.end() && it->first.starts_with(q.stream_prefix); ++it)
          chosen.insert(it->second.get());
      for (const StreamState* s : chosen) consider(*s);
    }
  }
  if (q.limit == 0) return page;

  const bool back = q.backward;
  auto earlier = [back](const Position& a, const Position& b) { return back ? b < a : a < b; };
  std::sort(cands.begin(), cands.end(),
            [&](const Candidate& a, const Candidate& b) { return earlier(a.bound, b.bound); });

  // The merge: a heap of the open blocks by their next event; a block is
  // opened only once its bound comes before the heap's next event.
  std::vector<std::unique_ptr<Cursor>> cursors;
  std::vector<Cursor*> free;
  std::vector<Cursor*> heap;
  auto heapAfter = [&](const Cursor* a, const Cursor* b) { return earlier(b->position(), a->position()); };
  size_t next = 0;
  uint64_t scanned = 0, bytes = 0;
  for (;;) {
    std::optional<Position> resume;
    while (next < cands.size() && (heap.empty() || earlier(cands[next].bound, heap.front()->position()))) {
      if (q.scan_budget_bytes > 0 && scanned >= q.scan_budget_bytes) {
        // Everything before the next unopened block and the heap's next
        // event has been examined. Stop there only if that is past where
        // this page started, so that paging always makes progress.
        const Position& p = cands[next].bound;  // before the heap's next event
        if (earlier(cands.front().bound, p)) {
          resume = p;
          break;
        }
      }
      if (free.empty()) free.push_back(cursors.emplace_back(std::make_unique<Cursor>()).get());
      Cursor* cur = free.back();
      const Candidate& c = cands[next++];
      BERTH_TRY(openBlock(c, *cur, q, start, end));
      scanned += c.block.length;
      if (cur->n == 0) continue;
      free.pop_back();
      heap.push_back(cur);
      std::push_heap(heap.begin(), heap.end(), heapAfter);
    }
    if (resume) {
      page.last = back ? after(*resume) : before(*resume);
      return page;
    }
    if (heap.empty()) {
      page.exhausted = true;
      return page;
    }
    Cursor* cur = heap.front();
    uint32_t i = cur->index();
    std::string_view message = cur->view.message(i);
    if (!q.match || q.match(message)) {
      uint64_t cost = message.size() + kEventOverheadBytes;
      if (!page.events.empty() && bytes + cost > q.max_bytes) return page;
      bytes += cost;
      page.events.push_back(Event{names[cur->stream], cur->view.timestamp(i), cur->ingestion_time, std::string(message),
                                  cur->position()});
    }
    page.last = cur->position();
    std::pop_heap(heap.begin(), heap.end(), heapAfter);
    if (++cur->k < cur->n) {
      std::push_heap(heap.begin(), heap.end(), heapAfter);
    } else {
      heap.pop_back();
      free.push_back(cur);
    }
    if (page.events.size() >= q.limit) {
      page.exhausted = heap.empty() && next == cands.size();
      return page;
    }
  }
}

}  // namespace berth::logs::internal
