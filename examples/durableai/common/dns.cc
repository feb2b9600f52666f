#include "dns.h"

#include <arpa/inet.h>

namespace durableai {
namespace {

uint16_t read16(std::string_view p, size_t at) {
  return static_cast<uint16_t>((static_cast<unsigned char>(p[at]) << 8) | static_cast<unsigned char>(p[at + 1]));
}

// Skips the (possibly compressed) name at `pos`; false when it runs off the
// packet or is not a name.
bool skipName(std::string_view p, size_t& pos) {
  for (int labels = 0; labels < 128; ++labels) {
    if (pos >= p.size()) return false;
    auto len = static_cast<unsigned char>(p[pos]);
    if ((len & 0xC0) == 0xC0) {  // a pointer ends the name
      if (pos + 2 > p.size()) return false;
      pos += 2;
      return true;
    }
    if (len & 0xC0) return false;
    pos += 1 + len;
    if (len == 0) return true;
  }
  return false;
}

std::string rcodeName(int rcode) {
  switch (rcode) {
    case 1:
      return "FORMERR";
    case 2:
      return "SERVFAIL";
    case 3:
      return "NXDOMAIN";
    case 4:
      return "NOTIMP";
    case 5:
      return "REFUSED";
    default:
      return "RCODE " + std::to_string(rcode);
  }
}

}  // namespace

std::vector<std::string> parseResolvConf(std::string_view text) {
  std::vector<std::string> servers;
  while (!text.empty()) {
    size_t eol = text.find('\n');
    std::string_view line = text.substr(0, eol);
    text = eol == std::string_view::npos ? std::string_view() : text.substr(eol + 1);
    line = line.substr(0, line.find_first_of("#;"));
    auto word = [&line]() {
      size_t start = line.find_first_not_of(" \t\r");
      if (start == std::string_view::npos) return std::string_view();
      line.remove_prefix(start);
      size_t end = line.find_first_of(" \t\r");
      std::string_view w = line.substr(0, end);
      line.remove_prefix(w.size());
      return w;
    };
    if (word() != "nameserver") continue;
    std::string address(word());
    in_addr parsed;
    if (inet_pton(AF_INET, address.c_str(), &parsed) == 1) servers.push_back(address);
  }
  return servers;
}

std::expected<std::string, std::string> buildAQuery(uint16_t id, std::string_view name) {
  if (name.ends_with('.')) name.remove_suffix(1);
  if (name.empty() || name.size() > 253) return std::unexpected("bad DNS name '" + std::string(name) + "'");
  std::string q;
  q += static_cast<char>(id >> 8);
  q += static_cast<char>(id & 0xFF);
  q.append("\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00", 10);  // RD; one question
  while (true) {
    size_t dot = name.find('.');
    std::string_view label = name.substr(0, dot);
    if (label.empty() || label.size() > 63) return std::unexpected("bad DNS name '" + std::string(name) + "'");
    q += static_cast<char>(label.size());
    q.append(label);
    if (dot == std::string_view::npos) break;
    name.remove_prefix(dot + 1);
  }
  q.append("\x00\x00\x01\x00\x01", 5);  // root, QTYPE A, QCLASS IN
  return q;
}

std::expected<std::vector<std::string>, std::string> parseAResponse(std::string_view p, uint16_t id) {
  if (p.size() < 12) return std::unexpected("DNS reply shorter than its header");
  if (read16(p, 0) != id) return std::unexpected("DNS reply to another query");
  uint16_t flags = read16(p, 2);
  if (!(flags & 0x8000)) return std::unexpected("DNS packet is not a reply");
  if (flags & 0x0200) return std::unexpected("DNS reply truncated");
  if (int rcode = flags & 0xF; rcode != 0) return std::unexpected("DNS " + rcodeName(rcode));
  uint16_t questions = read16(p, 4);
  uint16_t answers = read16(p, 6);
  size_t pos = 12;
  for (int i = 0; i < questions; ++i) {
    if (!skipName(p, pos) || pos + 4 > p.size()) return std::unexpected("malformed DNS reply");
    pos += 4;
  }
  std::vector<std::string> out;
  for (int i = 0; i < answers; ++i) {
    if (!skipName(p, pos) || pos + 10 > p.size()) return std::unexpected("malformed DNS reply");
    uint16_t type = read16(p, pos);
    uint16_t klass = read16(p, pos + 2);
    uint16_t length = read16(p, pos + 8);
    pos += 10;
    if (pos + length > p.size()) return std::unexpected("malformed DNS reply");
    if (type == 1 && klass == 1 && length == 4) {
      char text[INET_ADDRSTRLEN];
      inet_ntop(AF_INET, p.data() + pos, text, sizeof text);
      out.emplace_back(text);
    }
    pos += length;
  }
  return out;
}

}  // namespace durableai
