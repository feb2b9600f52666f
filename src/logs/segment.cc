#include "logs/segment.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <bit>
#include <cerrno>
#include <climits>
#include <cstring>

namespace berth::logs::segment {
namespace {

static_assert(std::endian::native == std::endian::little, "segments are little-endian; add byte swaps");

template <typename T>
T load(const char* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

template <typename T>
void store(char* p, T v) {
  std::memcpy(p, &v, sizeof v);
}

uint64_t sourcePadded(uint64_t source_len) { return (source_len + 7) & ~uint64_t{7}; }

uint64_t tablesOffset(uint32_t source_len) { return kHeaderBytes + sourcePadded(source_len); }

uint32_t crcOf(const char* p, size_t n) {
  return static_cast<uint32_t>(::crc32_z(0, reinterpret_cast<const Bytef*>(p), n));
}

// Reads a segment through a window, so that the many small blocks of a
// driver's segment cost one read per window, and the large ones of a
// PutLogEvents-heavy segment one small read per header.
class WindowReader {
 public:
  WindowReader(int fd, uint64_t file_size, const std::string& path) : fd_(fd), file_size_(file_size), path_(path) {}

  // Bytes [offset, offset + size) of the file, which must lie inside it.
  Result<const char*> get(uint64_t offset, size_t size) {
    if (offset >= start_ && offset + size <= start_ + filled_) return buf_.get() + (offset - start_);
    size_t want = static_cast<size_t>(std::min<uint64_t>(std::max<size_t>(size, kWindow), file_size_ - offset));
    if (want > capacity_) {
      buf_ = std::make_unique_for_overwrite<char[]>(want);
      capacity_ = want;
    }
    BERTH_TRY(readAt(fd_, buf_.get(), want, offset, path_));
    start_ = offset;
    filled_ = want;
    return buf_.get();
  }

 private:
  static constexpr size_t kWindow = 64 << 10;
  int fd_;
  uint64_t file_size_;
  const std::string& path_;
  std::unique_ptr<char[]> buf_;
  size_t capacity_ = 0;
  uint64_t start_ = 0;
  size_t filled_ = 0;
};

}  // namespace

uint64_t blockSize(size_t count, uint64_t message_bytes, size_t source_len) {
  return kHeaderBytes + sourcePadded(source_len) + 12 * uint64_t{count} + message_bytes;
}

uint64_t blockHeadSize(size_t source_len) { return tablesOffset(static_cast<uint32_t>(source_len)); }

namespace {

// Fills the fixed header and the source id; the checksum is left to the caller.
void encodeFixed(char* out, BlockHeader& h, size_t count, uint64_t message_bytes, std::string_view source) {
  h.count = static_cast<uint32_t>(count);
  h.source_len = static_cast<uint32_t>(source.size());
  h.length = static_cast<uint32_t>(blockSize(count, message_bytes, source.size()));
  uint64_t tables = tablesOffset(h.source_len);
  store<uint32_t>(out + 0, kBlockMagic);
  store<uint16_t>(out + 4, kBlockVersion);
  store<uint16_t>(out + 6, static_cast<uint16_t>(kHeaderBytes));
  store<uint32_t>(out + 8, h.length);
  store<uint64_t>(out + 16, h.stream_id);
  store<uint64_t>(out + 24, h.seq);
  store<int64_t>(out + 32, h.min_ts);
  store<int64_t>(out + 40, h.max_ts);
  store<int64_t>(out + 48, h.ingestion_time);
  store<uint64_t>(out + 56, h.source_offset);
  store<uint32_t>(out + 64, h.count);
  store<uint32_t>(out + 68, h.source_len);
  if (!source.empty()) std::memcpy(out + kHeaderBytes, source.data(), source.size());
  std::memset(out + kHeaderBytes + source.size(), 0, tables - kHeaderBytes - source.size());
}

uint32_t crcMore(uint32_t crc, const void* p, size_t n) {
  if (n == 0) return crc;  // an empty vector's data() may be null, and crc32_z(crc, null, 0) is 0
  return static_cast<uint32_t>(::crc32_z(crc, static_cast<const Bytef*>(p), n));
}

}  // namespace

void encodeBlock(char* out, BlockHeader h, const EventBatch& events, std::span<const uint32_t> order,
                 std::string_view source) {
  auto index = [&](size_t i) { return order.empty() ? i : order[i]; };
  size_t n = events.size();
  h.min_ts = n == 0 ? 0 : events.timestamp(index(0));
  h.max_ts = n == 0 ? 0 : events.timestamp(index(n - 1));
  encodeFixed(out, h, n, events.messageBytes(), source);

  char* ts = out + tablesOffset(h.source_len);
  char* ends = ts + 8 * n;
  char* msgs = ends + 4 * n;
  uint32_t end = 0;
  for (size_t i = 0; i < n; ++i) {
    std::string_view m = events.message(index(i));
    store<int64_t>(ts + 8 * i, events.timestamp(index(i)));
    std::memcpy(msgs + end, m.data(), m.size());
    end += static_cast<uint32_t>(m.size());
    store<uint32_t>(ends + 4 * i, end);
  }
  store<uint32_t>(out + 12, crcOf(out + 16, h.length - 16));
}

void encodeHead(char* out, BlockHeader h, const EventBatch& events, std::string_view source) {
  size_t n = events.size();
  h.min_ts = n == 0 ? 0 : events.timestamps().front();
  h.max_ts = n == 0 ? 0 : events.timestamps().back();
  encodeFixed(out, h, n, events.messageBytes(), source);
  uint32_t crc = crcOf(out + 16, tablesOffset(h.source_len) - 16);
  crc = crcMore(crc, events.timestamps().data(), events.timestamps().size_bytes());
  crc = crcMore(crc, events.ends().data(), events.ends().size_bytes());
  crc = crcMore(crc, events.messages().data(), events.messages().size());
  store<uint32_t>(out + 12, crc);
}

bool parseHeader(const char* p, BlockHeader& h) {
  if (load<uint32_t>(p) != kBlockMagic || load<uint16_t>(p + 4) != kBlockVersion ||
      load<uint16_t>(p + 6) != kHeaderBytes)
    return false;
  h.length = load<uint32_t>(p + 8);
  h.crc = load<uint32_t>(p + 12);
  h.stream_id = load<uint64_t>(p + 16);
  h.seq = load<uint64_t>(p + 24);
  h.min_ts = load<int64_t>(p + 32);
  h.max_ts = load<int64_t>(p + 40);
  h.ingestion_time = load<int64_t>(p + 48);
  h.source_offset = load<uint64_t>(p + 56);
  h.count = load<uint32_t>(p + 64);
  h.source_len = load<uint32_t>(p + 68);
  return h.source_len <= kMaxSourceBytes && h.length <= kMaxBlockBytes && h.min_ts <= h.max_ts &&
         h.length >= blockSize(h.count, 0, h.source_len);
}

bool checksumMatches(const char* block, const BlockHeader& h) { return crcOf(block + 16, h.length - 16) == h.crc; }

BlockView::BlockView(const char* data, size_t size) : data_(data) {
  if (size < kHeaderBytes || !parseHeader(data, header_) || header_.length != size) return;
  uint64_t tables = tablesOffset(header_.source_len);
  timestamps_ = data + tables;
  ends_ = timestamps_ + 8 * uint64_t{header_.count};
  messages_ = ends_ + 4 * uint64_t{header_.count};
  message_bytes_ = static_cast<uint32_t>(data + size - messages_);
  // Reads index by these; a corrupt table must not send them out of bounds.
  uint32_t prev = 0;
  for (uint32_t i = 0; i < header_.count; ++i) {
    uint32_t end = load<uint32_t>(ends_ + 4 * i);
    if (end < prev) return;
    prev = end;
  }
  valid_ = prev == message_bytes_;
}

int64_t BlockView::timestamp(uint32_t i) const { return load<int64_t>(timestamps_ + 8 * uint64_t{i}); }

uint32_t BlockView::messageEnd(uint32_t i) const { return load<uint32_t>(ends_ + 4 * uint64_t{i}); }

std::string_view BlockView::message(uint32_t i) const {
  uint32_t begin = messageBegin(i);
  return {messages_ + begin, messageEnd(i) - begin};
}

uint32_t BlockView::eventAt(uint32_t pos) const {
  // The first event whose end lies past pos.
  uint32_t lo = 0, hi = header_.count;
  while (lo < hi) {
    uint32_t mid = lo + (hi - lo) / 2;
    if (messageEnd(mid) > pos)
      hi = mid;
    else
      lo = mid + 1;
  }
  return lo;
}

// ---------------------------------------------------------------- files

Status readAt(int fd, char* out, size_t size, uint64_t offset, std::string_view what) {
  size_t got = 0;
  while (got < size) {
    ssize_t n = ::pread(fd, out + got, size - got, static_cast<off_t>(offset + got));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("read " + std::string(what), errno);
    }
    if (n == 0) return failErrno("read " + std::string(what) + ": unexpected end of file", EIO);
    got += static_cast<size_t>(n);
  }
  return {};
}

Status writeAt(int fd, std::string_view data, uint64_t offset, std::string_view what) {
  while (!data.empty()) {
    ssize_t n = ::pwrite(fd, data.data(), data.size(), static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("write " + std::string(what), errno);
    }
    data.remove_prefix(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return {};
}

Status writeAt(int fd, std::span<iovec> pieces, uint64_t offset, std::string_view what) {
  while (!pieces.empty()) {
    if (pieces.front().iov_len == 0) {
      pieces = pieces.subspan(1);
      continue;
    }
    int count = static_cast<int>(std::min<size_t>(pieces.size(), IOV_MAX));
    ssize_t n = ::pwritev(fd, pieces.data(), count, static_cast<off_t>(offset));
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("write " + std::string(what), errno);
    }
    offset += static_cast<uint64_t>(n);
    // Drop what was written; a piece written in part keeps its rest.
    auto done = static_cast<size_t>(n);
    while (done > 0) {
      size_t take = std::min(done, pieces.front().iov_len);
      pieces.front().iov_base = static_cast<char*>(pieces.front().iov_base) + take;
      pieces.front().iov_len -= take;
      done -= take;
      if (pieces.front().iov_len == 0) pieces = pieces.subspan(1);
    }
  }
  return {};
}

Status syncDir(const std::string& dir) {
  int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return failErrno("open " + dir, errno);
  int rc = ::fsync(fd);
  int err = errno;
  ::close(fd);
  if (rc != 0) return failErrno("fsync " + dir, err);
  return {};
}

Result<ScanResult> scanSegment(int fd, bool verify_all, const std::string& path) {
  struct stat st {};
  if (::fstat(fd, &st) != 0) return failErrno("stat " + path, errno);
  uint64_t size = static_cast<uint64_t>(st.st_size);
  WindowReader reader(fd, size, path);
  ScanResult out;
  uint64_t offset = 0;
  while (size - offset >= kHeaderBytes) {
    const char* p = BERTH_TRY(reader.get(offset, kHeaderBytes));
    BlockHeader h;
    if (!parseHeader(p, h) || h.length > size - offset) break;
    if (verify_all) {
      const char* block = BERTH_TRY(reader.get(offset, h.length));
      if (!checksumMatches(block, h)) break;
      p = block;
    } else if (h.source_len > 0) {
      p = BERTH_TRY(reader.get(offset, kHeaderBytes + h.source_len));
    }
    out.blocks.push_back(ScannedBlock{offset, h, std::string(p + kHeaderBytes, h.source_len)});
    offset += h.length;
  }
  // Older segments were synced whole before the next one was created, so
  // only their last block can be torn (a crash in the batch that rolled).
  while (!verify_all && !out.blocks.empty()) {
    const ScannedBlock& last = out.blocks.back();
    const char* block = BERTH_TRY(reader.get(last.offset, last.header.length));
    if (checksumMatches(block, last.header)) break;
    offset = last.offset;
    out.blocks.pop_back();
  }
  out.valid_bytes = offset;
  if (offset < size) {
    out.truncated = true;
    if (::ftruncate(fd, static_cast<off_t>(offset)) != 0) return failErrno("truncate " + path, errno);
    if (::fdatasync(fd) != 0) return failErrno("fdatasync " + path, errno);
  }
  return out;
}

}  // namespace berth::logs::segment
