#include "dns/message.h"

#include <arpa/inet.h>

#include <algorithm>
#include <cstring>

#include <fmt/format.h>

namespace berth::dns {
namespace {

inline uint16_t get16(std::span<const uint8_t> p, size_t at) { return static_cast<uint16_t>(p[at] << 8 | p[at + 1]); }
inline uint32_t get32(std::span<const uint8_t> p, size_t at) {
  return static_cast<uint32_t>(p[at]) << 24 | static_cast<uint32_t>(p[at + 1]) << 16 |
         static_cast<uint32_t>(p[at + 2]) << 8 | p[at + 3];
}
inline uint8_t lower(uint8_t c) { return (c >= 'A' && c <= 'Z') ? static_cast<uint8_t>(c + 32) : c; }

// Skips one resource record at *offset (its name may be compressed).
bool skipRecord(std::span<const uint8_t> p, size_t* offset, uint16_t* type, uint16_t* klass, uint32_t* ttl,
                size_t* rdata_at, uint16_t* rdlength, WireName& name) {
  if (!readName(p, offset, name)) return false;
  if (*offset + 10 > p.size()) return false;
  *type = get16(p, *offset);
  *klass = get16(p, *offset + 2);
  *ttl = get32(p, *offset + 4);
  *rdlength = get16(p, *offset + 8);
  *offset += 10;
  if (*offset + *rdlength > p.size()) return false;
  *rdata_at = *offset;
  *offset += *rdlength;
  return true;
}

}  // namespace

size_t Query::udpLimit() const {
  if (!edns) return kClassicUdpSize;
  size_t n = std::max<size_t>(edns_udp_size, kClassicUdpSize);
  return std::min<size_t>(n, kEdnsUdpSize);
}

bool readName(std::span<const uint8_t> p, size_t* offset, WireName& out) {
  size_t pos = *offset;
  size_t end_after = 0;  // where the caller continues: after the first pointer
  bool jumped = false;
  int hops = 0;
  size_t size = 0;
  // Pointers must go strictly backwards from where they were found, so a
  // chain cannot revisit an offset; the hop limit bounds it further.
  size_t lowest = pos;
  while (true) {
    if (pos >= p.size()) return false;
    uint8_t len = p[pos];
    if ((len & 0xC0) == 0xC0) {
      if (pos + 1 >= p.size()) return false;
      size_t target = static_cast<size_t>(len & 0x3F) << 8 | p[pos + 1];
      if (target >= lowest || ++hops > kMaxPointerHops) return false;
      if (!jumped) end_after = pos + 2;
      jumped = true;
      lowest = target;
      pos = target;
      continue;
    }
    if ((len & 0xC0) != 0) return false;  // 0x40 / 0x80: extended/reserved label types
    if (size + 1 + len > kMaxNameWire) return false;
    if (pos + 1 + len > p.size()) return false;
    out.bytes[size++] = len;
    if (len == 0) break;
    std::memcpy(&out.bytes[size], &p[pos + 1], len);
    size += len;
    pos += 1 + len;
  }
  out.size = static_cast<uint8_t>(size);
  *offset = jumped ? end_after : pos + 1;
  return true;
}

ParseOutcome parseQuery(std::span<const uint8_t> p, Query& q, bool* has_question) {
  if (has_question) *has_question = false;
  if (p.size() < kHeaderSize) return ParseOutcome::kDrop;
  q.id = get16(p, 0);
  q.flags = get16(p, 2);
  if (q.flags & flag::kQr) return ParseOutcome::kDrop;
  q.opcode = (q.flags >> 11) & 0xF;
  q.edns = false;
  q.edns_udp_size = 0;
  q.edns_version = 0;
  q.dnssec_ok = false;
  uint16_t qd = get16(p, 4), an = get16(p, 6), ns = get16(p, 8), ar = get16(p, 10);
  if (q.opcode != 0) {
    // Echo the question if there is exactly one that parses.
    size_t off = kHeaderSize;
    if (qd == 1 && readName(p, &off, q.name) && off + 4 <= p.size()) {
      q.qtype = get16(p, off);
      q.qclass = get16(p, off + 2);
      lowerAscii(q.name.view(), q.lower_name.bytes.data());
      q.lower_name.size = q.name.size;
      if (has_question) *has_question = true;
    }
    return ParseOutcome::kNotImp;
  }
  if (qd != 1) return ParseOutcome::kFormErr;
  size_t off = kHeaderSize;
  if (!readName(p, &off, q.name)) return ParseOutcome::kFormErr;
  if (off + 4 > p.size()) return ParseOutcome::kFormErr;
  q.qtype = get16(p, off);
  q.qclass = get16(p, off + 2);
  off += 4;
  lowerAscii(q.name.view(), q.lower_name.bytes.data());
  q.lower_name.size = q.name.size;
  if (has_question) *has_question = true;
  // Answer and authority records have no business in a query, but are
  // legal; skip them to reach the OPT record.
  WireName scratch;
  uint16_t type, klass, rdlength;
  uint32_t ttl;
  size_t rdata_at;
  for (uint32_t i = 0; i < static_cast<uint32_t>(an) + ns; ++i)
    if (!skipRecord(p, &off, &type, &klass, &ttl, &rdata_at, &rdlength, scratch)) return ParseOutcome::kFormErr;
  for (uint16_t i = 0; i < ar; ++i) {
    if (!skipRecord(p, &off, &type, &klass, &ttl, &rdata_at, &rdlength, scratch)) return ParseOutcome::kFormErr;
    if (type != rrtype::kOpt) continue;
    // RFC 6891 6.1.1: one OPT, owned by the root.
    if (q.edns || scratch.size != 1) return ParseOutcome::kFormErr;
    q.edns = true;
    q.edns_udp_size = klass;
    q.edns_version = static_cast<uint8_t>(ttl >> 16);
    q.dnssec_ok = (ttl & 0x8000) != 0;
  }
  if (q.edns && q.edns_version != 0) return ParseOutcome::kBadVers;
  return ParseOutcome::kOk;
}

void lowerAscii(std::string_view wire, uint8_t* out) {
  // Lower-casing length bytes is harmless: they are all below 64.
  for (size_t i = 0; i < wire.size(); ++i) out[i] = lower(static_cast<uint8_t>(wire[i]));
}

bool nameEquals(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  for (size_t i = 0; i < a.size(); ++i)
    if (lower(static_cast<uint8_t>(a[i])) != lower(static_cast<uint8_t>(b[i]))) return false;
  return true;
}

Result<std::string> toWire(std::string_view dotted, bool lowercase) {
  std::string out;
  if (!dotted.empty() && dotted.back() == '.') dotted.remove_suffix(1);
  while (!dotted.empty()) {
    size_t dot = dotted.find('.');
    std::string_view label = dotted.substr(0, dot);
    if (label.empty() || label.size() > 63)
      return fail(ErrorCode::kInvalidArgument, fmt::format("bad DNS label in '{}'", dotted));
    out.push_back(static_cast<char>(label.size()));
    for (char c : label) out.push_back(lowercase ? static_cast<char>(lower(static_cast<uint8_t>(c))) : c);
    if (dot == std::string_view::npos) break;
    dotted.remove_prefix(dot + 1);
  }
  out.push_back('\0');
  if (out.size() > kMaxNameWire) return fail(ErrorCode::kInvalidArgument, "DNS name longer than 255 bytes");
  return out;
}

std::string toDotted(std::string_view wire) {
  std::string out;
  size_t i = 0;
  while (i < wire.size()) {
    uint8_t len = static_cast<uint8_t>(wire[i]);
    if (len == 0) break;
    for (size_t k = 0; k < len && i + 1 + k < wire.size(); ++k) {
      auto c = static_cast<unsigned char>(wire[i + 1 + k]);
      if (c == '.' || c == '\\') {
        out.push_back('\\');
        out.push_back(static_cast<char>(c));
      } else if (c < 0x21 || c > 0x7E) {
        out += fmt::format("\\{:03d}", c);
      } else {
        out.push_back(static_cast<char>(c));
      }
    }
    out.push_back('.');
    i += 1 + len;
  }
  return out.empty() ? "." : out;
}

// ---- ResponseWriter ----

ResponseWriter::ResponseWriter(std::span<uint8_t> buffer, size_t limit)
    : buf_(buffer), limit_(std::min(limit, buffer.size())) {}

void ResponseWriter::setLimit(size_t limit) { limit_ = std::max(pos_, std::min(limit, buf_.size())); }

bool ResponseWriter::put8(uint8_t v) {
  if (pos_ + 1 > limit_) return overflow_ = true, false;
  buf_[pos_++] = v;
  return true;
}
bool ResponseWriter::put16(uint16_t v) {
  if (pos_ + 2 > limit_) return overflow_ = true, false;
  buf_[pos_] = static_cast<uint8_t>(v >> 8);
  buf_[pos_ + 1] = static_cast<uint8_t>(v);
  pos_ += 2;
  return true;
}
bool ResponseWriter::put32(uint32_t v) { return put16(static_cast<uint16_t>(v >> 16)) && put16(static_cast<uint16_t>(v)); }
bool ResponseWriter::putBytes(const void* p, size_t n) {
  if (pos_ + n > limit_) return overflow_ = true, false;
  std::memcpy(&buf_[pos_], p, n);
  pos_ += n;
  return true;
}

void ResponseWriter::header(uint16_t id, uint16_t flags) {
  pos_ = 0;
  names_ = 0;
  counts_ = {};
  overflow_ = false;
  if (limit_ < kHeaderSize) return;
  std::memset(buf_.data(), 0, kHeaderSize);
  buf_[0] = static_cast<uint8_t>(id >> 8);
  buf_[1] = static_cast<uint8_t>(id);
  buf_[2] = static_cast<uint8_t>(flags >> 8);
  buf_[3] = static_cast<uint8_t>(flags);
  pos_ = kHeaderSize;
}

void ResponseWriter::setRcode(uint8_t rc) {
  if (buf_.size() >= 4) buf_[3] = static_cast<uint8_t>((buf_[3] & 0xF0) | (rc & 0xF));
}
void ResponseWriter::setFlag(uint16_t bits) {
  if (buf_.size() < 4) return;
  buf_[2] |= static_cast<uint8_t>(bits >> 8);
  buf_[3] |= static_cast<uint8_t>(bits);
}

bool ResponseWriter::writeName(std::string_view name) {
  // `name` is well-formed wire (it came from readName or toWire).
  size_t i = 0;
  while (i < name.size()) {
    auto len = static_cast<uint8_t>(name[i]);
    if (len == 0) return put8(0);
    std::string_view suffix = name.substr(i);
    for (size_t k = 0; k < names_; ++k) {
      // Compare the suffix with the name written at known_[k].offset,
      // following our own pointers.
      size_t at = known_[k].offset;
      size_t j = 0;
      bool equal = true;
      while (true) {
        // Entries of the name being written reach past pos_, into bytes
        // not written yet: those never match.
        if (at >= pos_) {
          equal = false;
          break;
        }
        uint8_t b = buf_[at];
        if ((b & 0xC0) == 0xC0) {
          at = static_cast<size_t>(b & 0x3F) << 8 | buf_[at + 1];
          continue;
        }
        if (j >= suffix.size() || static_cast<uint8_t>(suffix[j]) != b) {
          equal = false;
          break;
        }
        if (b == 0) break;
        if (at + b >= pos_) {
          equal = false;
          break;
        }
        for (size_t c = 1; c <= b; ++c) {
          if (j + c >= suffix.size() || lower(static_cast<uint8_t>(suffix[j + c])) != lower(buf_[at + c])) {
            equal = false;
            break;
          }
        }
        if (!equal) break;
        j += 1 + b;
        at += 1 + b;
      }
      if (equal && j + 1 == suffix.size()) return put16(static_cast<uint16_t>(0xC000 | known_[k].offset));
    }
    if (names_ < kMaxKnown && pos_ < 0x3FFF) known_[names_++] = Known{static_cast<uint16_t>(pos_)};
    if (!putBytes(name.data() + i, 1 + len)) return false;
    i += 1 + len;
  }
  return false;  // unterminated: not a wire name
}

bool ResponseWriter::question(std::string_view name, uint16_t qtype, uint16_t qclass) {
  Mark m = mark();
  if (!writeName(name) || !put16(qtype) || !put16(qclass)) {
    rollback(m);
    return false;
  }
  ++counts_[0];
  return true;
}

bool ResponseWriter::beginRecord(Section, std::string_view name, uint16_t type, uint32_t ttl, size_t* rdlength_at) {
  if (!writeName(name) || !put16(type) || !put16(kClassIn) || !put32(ttl)) return false;
  *rdlength_at = pos_;
  return put16(0);
}

bool ResponseWriter::endRecord(Section s, size_t rdlength_at) {
  size_t rdlength = pos_ - rdlength_at - 2;
  buf_[rdlength_at] = static_cast<uint8_t>(rdlength >> 8);
  buf_[rdlength_at + 1] = static_cast<uint8_t>(rdlength);
  ++counts_[1 + static_cast<int>(s)];
  return true;
}

void ResponseWriter::rollback(const Mark& m) {
  pos_ = m.pos;
  names_ = m.names;
  counts_ = m.counts;
  overflow_ = false;
}

#define BERTH_DNS_RECORD(s, name, type, ttl, body) \
  do {                                             \
    Mark m_ = mark();                              \
    size_t at_;                                    \
    if (!beginRecord(s, name, type, ttl, &at_) || !(body)) { \
      rollback(m_);                                \
      return false;                                \
    }                                              \
    return endRecord(s, at_);                      \
  } while (0)

bool ResponseWriter::a(Section s, std::string_view name, uint32_t ttl, const std::array<uint8_t, 4>& addr) {
  BERTH_DNS_RECORD(s, name, rrtype::kA, ttl, putBytes(addr.data(), 4));
}
bool ResponseWriter::aaaa(Section s, std::string_view name, uint32_t ttl, const std::array<uint8_t, 16>& addr) {
  BERTH_DNS_RECORD(s, name, rrtype::kAaaa, ttl, putBytes(addr.data(), 16));
}
bool ResponseWriter::ns(Section s, std::string_view name, uint32_t ttl, std::string_view target) {
  BERTH_DNS_RECORD(s, name, rrtype::kNs, ttl, writeName(target));
}
bool ResponseWriter::cname(Section s, std::string_view name, uint32_t ttl, std::string_view target) {
  BERTH_DNS_RECORD(s, name, rrtype::kCname, ttl, writeName(target));
}
bool ResponseWriter::srv(Section s, std::string_view name, uint32_t ttl, uint16_t priority, uint16_t weight,
                         uint16_t port, std::string_view target) {
  // RFC 2782 forbids compressing the target; RFC 3597 lets readers accept
  // it anyway, but we write it in full.
  auto body = [&] {
    if (!put16(priority) || !put16(weight) || !put16(port)) return false;
    return putBytes(target.data(), target.size());
  };
  BERTH_DNS_RECORD(s, name, rrtype::kSrv, ttl, body());
}
bool ResponseWriter::soa(Section s, std::string_view name, uint32_t ttl, const Soa& v) {
  auto body = [&] {
    return writeName(v.mname) && writeName(v.rname) && put32(v.serial) && put32(v.refresh) && put32(v.retry) &&
           put32(v.expire) && put32(v.minimum);
  };
  BERTH_DNS_RECORD(s, name, rrtype::kSoa, ttl, body());
}
bool ResponseWriter::opt(uint16_t udp_size, uint8_t extended_rcode, bool dnssec_ok) {
  Mark m = mark();
  uint32_t ttl = static_cast<uint32_t>(extended_rcode) << 24 | (dnssec_ok ? 0x8000u : 0u);
  if (!put8(0) || !put16(rrtype::kOpt) || !put16(udp_size) || !put32(ttl) || !put16(0)) {
    rollback(m);
    return false;
  }
  ++counts_[3];
  return true;
}
#undef BERTH_DNS_RECORD

size_t ResponseWriter::finish() {
  if (pos_ < kHeaderSize) return 0;
  for (int i = 0; i < 4; ++i) {
    buf_[4 + 2 * i] = static_cast<uint8_t>(counts_[i] >> 8);
    buf_[5 + 2 * i] = static_cast<uint8_t>(counts_[i]);
  }
  return pos_;
}

// ---- decoding whole messages ----

namespace {

std::string rdataText(std::span<const uint8_t> p, uint16_t type, size_t at, uint16_t len) {
  auto name_at = [&](size_t* off, std::string& out) {
    WireName n;
    if (!readName(p, off, n)) return false;
    out = toDotted(n.view());
    return true;
  };
  size_t end = at + len;
  switch (type) {
    case rrtype::kA:
      if (len == 4) return fmt::format("{}.{}.{}.{}", p[at], p[at + 1], p[at + 2], p[at + 3]);
      break;
    case rrtype::kAaaa:
      if (len == 16) {
        char text[INET6_ADDRSTRLEN];
        if (::inet_ntop(AF_INET6, &p[at], text, sizeof text)) return text;
      }
      break;
    case rrtype::kNs:
    case rrtype::kCname:
    case rrtype::kPtr: {
      size_t off = at;
      std::string n;
      if (name_at(&off, n) && off == end) return n;
      break;
    }
    case rrtype::kSrv: {
      if (len < 7) break;
      size_t off = at + 6;
      std::string n;
      if (name_at(&off, n) && off == end)
        return fmt::format("{} {} {} {}", get16(p, at), get16(p, at + 2), get16(p, at + 4), n);
      break;
    }
    case rrtype::kSoa: {
      size_t off = at;
      std::string m, r;
      if (name_at(&off, m) && name_at(&off, r) && off + 20 == end)
        return fmt::format("{} {} {} {} {} {} {}", m, r, get32(p, off), get32(p, off + 4), get32(p, off + 8),
                           get32(p, off + 12), get32(p, off + 16));
      break;
    }
    default:
      break;
  }
  std::string hex;
  for (size_t i = at; i < end; ++i) hex += fmt::format("{:02x}", p[i]);
  return hex;
}

}  // namespace

Result<Message> decodeMessage(std::span<const uint8_t> p) {
  if (p.size() < kHeaderSize) return fail(ErrorCode::kInvalidArgument, "DNS message shorter than its header");
  Message m;
  m.id = get16(p, 0);
  m.flags = get16(p, 2);
  uint16_t counts[4] = {get16(p, 4), get16(p, 6), get16(p, 8), get16(p, 10)};
  size_t off = kHeaderSize;
  WireName n;
  for (uint16_t i = 0; i < counts[0]; ++i) {
    if (!readName(p, &off, n) || off + 4 > p.size()) return fail(ErrorCode::kInvalidArgument, "bad question");
    m.questions.push_back({toDotted(n.view()), get16(p, off), get16(p, off + 2)});
    off += 4;
  }
  std::vector<Record>* sections[3] = {&m.answers, &m.authority, &m.additional};
  for (int s = 0; s < 3; ++s) {
    for (uint16_t i = 0; i < counts[s + 1]; ++i) {
      Record r;
      size_t rdata_at;
      uint16_t rdlength;
      if (!skipRecord(p, &off, &r.type, &r.klass, &r.ttl, &rdata_at, &rdlength, n))
        return fail(ErrorCode::kInvalidArgument, "bad resource record");
      r.name = toDotted(n.view());
      r.rdata.assign(reinterpret_cast<const char*>(&p[rdata_at]), rdlength);
      r.text = rdataText(p, r.type, rdata_at, rdlength);
      sections[s]->push_back(std::move(r));
    }
  }
  return m;
}

Result<std::vector<uint8_t>> buildQuery(uint16_t id, std::string_view dotted_name, uint16_t qtype, uint16_t udp_size,
                                        bool rd) {
  std::string wire = BERTH_TRY(toWire(dotted_name, false));
  std::vector<uint8_t> out(kHeaderSize + wire.size() + 4 + 11);
  ResponseWriter w(out, out.size());
  w.header(id, rd ? flag::kRd : 0);
  w.question(wire, qtype, kClassIn);
  if (udp_size) w.opt(udp_size);
  out.resize(w.finish());
  return out;
}

}  // namespace berth::dns
