// The DNS wire format (RFC 1035, 3596, 2782, 6891): a parser for queries,
// a writer for responses with name compression, and a general decoder of
// whole messages (for forwarded answers, tests and the fuzz target).
//
// Names are handled in wire form ("\3www\7example\3com\0" as a
// std::string_view of bytes). parseQuery() keeps the question's name twice:
// as the client wrote it (echoed back, so 0x20 case randomisation survives)
// and lower-cased (the lookup key). Nothing here allocates except
// decodeMessage(); parseQuery() and ResponseWriter work on caller buffers
// and fixed-size members, so the UDP fast path does no heap work.
//
// Every reader is bounds-checked and follows compression pointers only
// backwards, at most kMaxPointerHops times, so no input can loop, read out
// of bounds or crash (fuzzed by fuzz/dns_message_fuzz.cc).
//
// Threads: free functions are pure; a ResponseWriter belongs to one thread.
#pragma once

#include <array>
#include <cstddef>
#include <cstdint>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::dns {

inline constexpr size_t kHeaderSize = 12;
inline constexpr size_t kMaxNameWire = 255;
inline constexpr size_t kClassicUdpSize = 512;
// What berth advertises and answers up to over UDP with EDNS (DNS flag day
// 2020: no fragmentation).
inline constexpr uint16_t kEdnsUdpSize = 1232;
inline constexpr size_t kMaxTcpMessage = 65535;
inline constexpr int kMaxPointerHops = 64;

namespace rrtype {
inline constexpr uint16_t kA = 1;
inline constexpr uint16_t kNs = 2;
inline constexpr uint16_t kCname = 5;
inline constexpr uint16_t kSoa = 6;
inline constexpr uint16_t kPtr = 12;
inline constexpr uint16_t kMx = 15;
inline constexpr uint16_t kTxt = 16;
inline constexpr uint16_t kAaaa = 28;
inline constexpr uint16_t kSrv = 33;
inline constexpr uint16_t kOpt = 41;
inline constexpr uint16_t kAxfr = 252;
inline constexpr uint16_t kAny = 255;
}  // namespace rrtype
inline constexpr uint16_t kClassIn = 1;

namespace rcode {
inline constexpr uint8_t kNoError = 0;
inline constexpr uint8_t kFormErr = 1;
inline constexpr uint8_t kServFail = 2;
inline constexpr uint8_t kNxDomain = 3;
inline constexpr uint8_t kNotImp = 4;
inline constexpr uint8_t kRefused = 5;
inline constexpr uint16_t kBadVers = 16;  // extended: 1 in OPT, 0 in the header
}  // namespace rcode

// Header flag bits (the second 16-bit word).
namespace flag {
inline constexpr uint16_t kQr = 0x8000;
inline constexpr uint16_t kAa = 0x0400;
inline constexpr uint16_t kTc = 0x0200;
inline constexpr uint16_t kRd = 0x0100;
inline constexpr uint16_t kRa = 0x0080;
inline constexpr uint16_t kAd = 0x0020;
inline constexpr uint16_t kCd = 0x0010;
}  // namespace flag

// A wire-form name in a fixed buffer.
struct WireName {
  std::array<uint8_t, kMaxNameWire> bytes{};
  uint8_t size = 0;
  std::string_view view() const { return {reinterpret_cast<const char*>(bytes.data()), size}; }
};

// A parsed query: the header fields that matter, the one question, EDNS.
struct Query {
  uint16_t id = 0;
  uint16_t flags = 0;  // as received
  uint8_t opcode = 0;
  WireName name;        // as the client wrote it
  WireName lower_name;  // lower-cased: the lookup key
  uint16_t qtype = 0;
  uint16_t qclass = 0;
  bool edns = false;
  uint16_t edns_udp_size = 0;  // as advertised (values below 512 count as 512)
  uint8_t edns_version = 0;
  bool dnssec_ok = false;
  // Largest UDP answer the client accepts: 512 without EDNS, else its
  // advertised size capped to kEdnsUdpSize.
  size_t udpLimit() const;
};

enum class ParseOutcome {
  kOk,
  kDrop,     // not worth an answer: too short for a header, or a response
  kFormErr,  // answer FORMERR (the question, when it parsed, is in the Query)
  kNotImp,   // an opcode other than QUERY
  kBadVers,  // EDNS version other than 0
};

// Parses `packet` as a query. On kFormErr/kNotImp/kBadVers, `out.id`,
// `out.flags` and, when `has_question` is set, the question are valid.
ParseOutcome parseQuery(std::span<const uint8_t> packet, Query& out, bool* has_question = nullptr);

// Reads a (possibly compressed) name at `*offset` into `out` (wire form,
// uncompressed) and advances `*offset` past it. False on any malformation:
// out of bounds, pointer not strictly backwards, too many hops, a name over
// 255 bytes, reserved label types.
bool readName(std::span<const uint8_t> packet, size_t* offset, WireName& out);

// Name helpers. "example.com", "example.com." and "" (the root) are accepted.
// Labels over 63 bytes or names over 255 fail. Lower-cased unless told not to.
Result<std::string> toWire(std::string_view dotted, bool lowercase = true);
std::string toDotted(std::string_view wire);  // "www.example.com." ; "." for the root
void lowerAscii(std::string_view wire, uint8_t* out);
bool nameEquals(std::string_view a, std::string_view b);  // wire, ASCII case-insensitive

enum class Section { kAnswer, kAuthority, kAdditional };

// Writes one response into a caller buffer. Records must go in section
// order. A record that does not fit within `limit` is not written (the call
// returns false and the writer is as before), so the caller decides between
// TC and omitting additional data. Owner and target names are compressed
// against all names written so far (case-insensitively).
class ResponseWriter {
 public:
  ResponseWriter(std::span<uint8_t> buffer, size_t limit);

  // The header: id and flags (QR is the caller's to set); counts are
  // filled by finish().
  void header(uint16_t id, uint16_t flags);
  void setRcode(uint8_t rc);
  void setFlag(uint16_t bits);
  bool question(std::string_view name, uint16_t qtype, uint16_t qclass);

  bool a(Section s, std::string_view name, uint32_t ttl, const std::array<uint8_t, 4>& addr);
  bool aaaa(Section s, std::string_view name, uint32_t ttl, const std::array<uint8_t, 16>& addr);
  bool ns(Section s, std::string_view name, uint32_t ttl, std::string_view target);
  bool cname(Section s, std::string_view name, uint32_t ttl, std::string_view target);
  bool srv(Section s, std::string_view name, uint32_t ttl, uint16_t priority, uint16_t weight, uint16_t port,
           std::string_view target);
  struct Soa {
    std::string_view mname, rname;
    uint32_t serial, refresh, retry, expire, minimum;
  };
  bool soa(Section s, std::string_view name, uint32_t ttl, const Soa& soa);
  // The OPT pseudo-record (always in additional): our UDP size, the upper
  // 8 bits of an extended rcode, version 0.
  bool opt(uint16_t udp_size, uint8_t extended_rcode = 0, bool dnssec_ok = false);

  // Rolling back to a mark forgets everything written after it.
  struct Mark {
    size_t pos;
    size_t names;
    std::array<uint16_t, 4> counts;
  };
  Mark mark() const { return {pos_, names_, counts_}; }
  void rollback(const Mark& m);
  // Room left below the limit.
  size_t room() const { return limit_ - pos_; }
  void setLimit(size_t limit);

  // Writes the counts; returns the message size.
  size_t finish();

 private:
  bool beginRecord(Section s, std::string_view name, uint16_t type, uint32_t ttl, size_t* rdlength_at);
  bool endRecord(Section s, size_t rdlength_at);
  bool writeName(std::string_view name);
  bool put8(uint8_t v);
  bool put16(uint16_t v);
  bool put32(uint32_t v);
  bool putBytes(const void* p, size_t n);

  struct Known {
    uint16_t offset;  // where the suffix starts in the buffer
  };
  std::span<uint8_t> buf_;
  size_t limit_;
  size_t pos_ = 0;
  bool overflow_ = false;
  std::array<uint16_t, 4> counts_{};  // qd, an, ns, ar
  static constexpr size_t kMaxKnown = 48;
  std::array<Known, kMaxKnown> known_{};
  size_t names_ = 0;
};

// A whole message, decoded (allocates; not for the fast path).
struct Record {
  std::string name;  // dotted, as on the wire ("backend.dev.local.")
  uint16_t type = 0;
  uint16_t klass = 0;
  uint32_t ttl = 0;
  std::string rdata;  // raw bytes as on the wire (names inside may be compressed)
  // Presentation of rdata for known types: "10.0.0.1", "1 1 8000 x.y.",
  // "ns1.z. hostmaster.z. 1 7200 900 1209600 86400"; hex otherwise.
  std::string text;
};
struct DecodedQuestion {
  std::string name;
  uint16_t qtype = 0;
  uint16_t qclass = 0;
};
struct Message {
  uint16_t id = 0;
  uint16_t flags = 0;
  uint8_t rcode() const { return flags & 0xF; }
  std::vector<DecodedQuestion> questions;
  std::vector<Record> answers, authority, additional;
};
Result<Message> decodeMessage(std::span<const uint8_t> packet);

// Builds a query (for the forwarder's tests, the fake upstream's clients
// and benchmarks). `udp_size` > 0 adds an OPT record.
Result<std::vector<uint8_t>> buildQuery(uint16_t id, std::string_view dotted_name, uint16_t qtype,
                                        uint16_t udp_size = 0, bool rd = true);

}  // namespace berth::dns
