// The on-disk format of log segments (log_store.h) and the file operations
// on them. Internal to src/logs/.
//
// A segment is a file of blocks, back to back, with no file header. A block:
//
//   offset  size        field
//   0       4           magic "BBLK" (0x4b4c4242 little-endian)
//   4       2           version (1)
//   6       2           header bytes (72)
//   8       4           length: the whole block, header included
//   12      4           CRC-32 (zlib) of bytes [16, length)
//   16      8           stream id (meta.db)
//   24      8           block sequence, unique per store
//   32      8           min event timestamp (ms)
//   40      8           max event timestamp (ms)
//   48      8           ingestion time (ms)
//   56      8           source offset (0 without a source)
//   64      4           event count
//   68      4           source id length (0: none)
//   72      source_len  source id, then zero padding to a multiple of 8
//   ..      8 * count   event timestamps, ascending (stable)
//   ..      4 * count   end offset of each message in the message area
//   ..      ...         the messages, concatenated
//
// Integers are little-endian. The messages are contiguous so that a literal
// search is one memmem() over the area, and a hit maps to its event by a
// binary search over the end offsets.
#pragma once

#include <sys/uio.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"
#include "logs/log_store.h"

namespace berth::logs::segment {

inline constexpr uint32_t kBlockMagic = 0x4b4c4242;
inline constexpr uint16_t kBlockVersion = 1;
inline constexpr size_t kHeaderBytes = 72;
// Source ids are file paths; the bound keeps a header read at open() small.
inline constexpr size_t kMaxSourceBytes = 4096;
// Far above any PutLogEvents batch (1 MiB + 26 per event); keeps lengths u32.
inline constexpr uint64_t kMaxBlockBytes = 256ull << 20;

struct BlockHeader {
  uint32_t length = 0;
  uint32_t crc = 0;
  uint64_t stream_id = 0;
  uint64_t seq = 0;
  int64_t min_ts = 0;
  int64_t max_ts = 0;
  int64_t ingestion_time = 0;
  uint64_t source_offset = 0;
  uint32_t count = 0;
  uint32_t source_len = 0;
};

// Bytes of a block of `count` events whose messages total `message_bytes`.
uint64_t blockSize(size_t count, uint64_t message_bytes, size_t source_len);

// Bytes of a block before its event tables: the header and the source id.
uint64_t blockHeadSize(size_t source_len);

// Encodes a block into `out`, which has blockSize() bytes. `order` lists the
// indices of `events` in timestamp order, or is empty when `events` already
// are. Fills length, min/max timestamp, count, source length and checksum;
// takes stream id, sequence, ingestion time and source offset from `header`.
void encodeBlock(char* out, BlockHeader header, const EventBatch& events, std::span<const uint32_t> order,
                 std::string_view source);

// The same for `events` whose timestamps are sorted, without copying them:
// encodes only the head of the block into `out` (blockHeadSize() bytes),
// checksum included. The block is the head followed by events.timestamps(),
// events.ends() and events.messages(), as they are in memory.
void encodeHead(char* out, BlockHeader header, const EventBatch& events, std::string_view source);

// Parses and sanity-checks the fixed header at `p` (kHeaderBytes readable).
// False when it is not a block header this code can read.
bool parseHeader(const char* p, BlockHeader& out);

// True when the checksum of the whole block at `block` matches.
bool checksumMatches(const char* block, const BlockHeader& header);

// A block in memory. The view borrows `data`; valid() is false when the
// block is inconsistent (corrupt), and then nothing else may be called.
class BlockView {
 public:
  BlockView() = default;
  BlockView(const char* data, size_t size);

  bool valid() const { return valid_; }
  const BlockHeader& header() const { return header_; }
  uint32_t count() const { return header_.count; }
  int64_t timestamp(uint32_t i) const;
  std::string_view message(uint32_t i) const;
  // Offset of message i's first byte in messages().
  uint32_t messageBegin(uint32_t i) const { return i == 0 ? 0 : messageEnd(i - 1); }
  uint32_t messageEnd(uint32_t i) const;
  std::string_view messages() const { return {messages_, message_bytes_}; }
  // The event whose message holds byte `pos` of messages() (pos < size).
  uint32_t eventAt(uint32_t pos) const;
  std::string_view source() const { return {data_ + kHeaderBytes, header_.source_len}; }

 private:
  const char* data_ = nullptr;
  BlockHeader header_;
  const char* timestamps_ = nullptr;
  const char* ends_ = nullptr;
  const char* messages_ = nullptr;
  uint32_t message_bytes_ = 0;
  bool valid_ = false;
};

// --- files ---

// Reads exactly `size` bytes at `offset` (kIo on a short read).
Status readAt(int fd, char* out, size_t size, uint64_t offset, std::string_view what);
// Writes all of `data` at `offset`.
Status writeAt(int fd, std::string_view data, uint64_t offset, std::string_view what);
// Writes all of the pieces, back to back, at `offset` (pwritev; any number
// of pieces, empty ones included). `pieces` is changed on the way.
Status writeAt(int fd, std::span<iovec> pieces, uint64_t offset, std::string_view what);
// fsync of a directory, so that entries created or removed in it persist.
Status syncDir(const std::string& dir);

struct ScannedBlock {
  uint64_t offset = 0;
  BlockHeader header;
  std::string source;  // empty without a source
};

struct ScanResult {
  std::vector<ScannedBlock> blocks;
  uint64_t valid_bytes = 0;  // the file's size after recovery
  bool truncated = false;    // a torn or corrupt tail was cut off
};

// Recovers a segment file: reads its block headers (skipping the bodies),
// checks the checksum of every block when `verify_all` (the segment that was
// being written), else of the last block only, and cuts the file (ftruncate
// + fdatasync) after the last whole block that precedes the first bad one.
// `path` names the file in errors.
Result<ScanResult> scanSegment(int fd, bool verify_all, const std::string& path);

}  // namespace berth::logs::segment
