#include "agent/network/address.h"

#include <arpa/inet.h>

#include <charconv>
#include <cstdio>

#include "common/random.h"

namespace berth::agent::net {

Result<Ipv4Address> Ipv4Address::parse(std::string_view text) {
  // inet_pton accepts exactly the dotted quad (no octal, no short forms).
  std::string copy(text);
  in_addr addr{};
  if (text.size() > 15 || inet_pton(AF_INET, copy.c_str(), &addr) != 1) {
    return fail(ErrorCode::kInvalidArgument, "not an IPv4 address: '" + copy + "'");
  }
  return fromNetworkOrder(addr.s_addr);
}

uint32_t Ipv4Address::networkOrder() const { return htonl(value); }

Ipv4Address Ipv4Address::fromNetworkOrder(uint32_t be) { return Ipv4Address{ntohl(be)}; }

std::string Ipv4Address::toString() const {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%u.%u.%u.%u", value >> 24, (value >> 16) & 0xff, (value >> 8) & 0xff,
                value & 0xff);
  return buf;
}

Result<Ipv4Prefix> Ipv4Prefix::parse(std::string_view text) {
  Ipv4Prefix out;
  size_t slash = text.find('/');
  out.address = BERTH_TRY(Ipv4Address::parse(text.substr(0, slash)));
  if (slash == std::string_view::npos) return out;
  std::string_view len = text.substr(slash + 1);
  int n = -1;
  auto [end, ec] = std::from_chars(len.data(), len.data() + len.size(), n);
  if (len.empty() || len.size() > 2 || ec != std::errc() || end != len.data() + len.size() || n < 0 || n > 32) {
    return fail(ErrorCode::kInvalidArgument, "bad prefix length in '" + std::string(text) + "'");
  }
  out.length = n;
  return out;
}

Result<Ipv4Prefix> Ipv4Prefix::parseNetwork(std::string_view text) {
  Ipv4Prefix out = BERTH_TRY(parse(text));
  if (out.address != out.network()) {
    return fail(ErrorCode::kInvalidArgument, "'" + std::string(text) + "' has host bits set");
  }
  return out;
}

uint32_t Ipv4Prefix::mask() const { return length == 0 ? 0 : ~uint32_t{0} << (32 - length); }

std::string Ipv4Prefix::toString() const { return address.toString() + "/" + std::to_string(length); }

Result<MacAddress> MacAddress::parse(std::string_view text) {
  MacAddress out;
  if (text.size() != 17) return fail(ErrorCode::kInvalidArgument, "not a MAC address: '" + std::string(text) + "'");
  for (size_t i = 0; i < 6; ++i) {
    std::string_view part = text.substr(i * 3, 2);
    if (i < 5 && text[i * 3 + 2] != ':') {
      return fail(ErrorCode::kInvalidArgument, "not a MAC address: '" + std::string(text) + "'");
    }
    auto [end, ec] = std::from_chars(part.data(), part.data() + 2, out.bytes[i], 16);
    if (ec != std::errc() || end != part.data() + 2) {
      return fail(ErrorCode::kInvalidArgument, "not a MAC address: '" + std::string(text) + "'");
    }
  }
  return out;
}

MacAddress MacAddress::fromIpv4(Ipv4Address ip) {
  return MacAddress{{0x02, 0xb7, static_cast<uint8_t>(ip.value >> 24), static_cast<uint8_t>(ip.value >> 16),
                     static_cast<uint8_t>(ip.value >> 8), static_cast<uint8_t>(ip.value)}};
}

MacAddress MacAddress::random() {
  std::string raw = randomBytes(6);
  MacAddress out;
  for (size_t i = 0; i < 6; ++i) out.bytes[i] = static_cast<uint8_t>(raw[i]);
  out.bytes[0] = static_cast<uint8_t>((out.bytes[0] & 0xfe) | 0x02);  // unicast, locally administered
  return out;
}

std::string MacAddress::toString() const {
  char buf[18];
  std::snprintf(buf, sizeof buf, "%02x:%02x:%02x:%02x:%02x:%02x", bytes[0], bytes[1], bytes[2], bytes[3], bytes[4],
                bytes[5]);
  return buf;
}

}  // namespace berth::agent::net
