// IPv4 addresses, prefixes and MAC addresses as values, with parsing and
// formatting. Pure computation, no OS access; safe from any thread.
#pragma once

#include <array>
#include <compare>
#include <cstdint>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::agent::net {

// An IPv4 address, kept in host byte order so that arithmetic is plain.
struct Ipv4Address {
  uint32_t value = 0;

  static Result<Ipv4Address> parse(std::string_view text);
  // Network byte order, as netlink and sockaddr_in want it.
  uint32_t networkOrder() const;
  static Ipv4Address fromNetworkOrder(uint32_t be);
  std::string toString() const;

  friend auto operator<=>(const Ipv4Address&, const Ipv4Address&) = default;
};

// An address with a prefix length. As a network (`172.31.0.0/20`) the host
// bits are zero; as an interface address (`172.31.0.5/20`) they are not.
struct Ipv4Prefix {
  Ipv4Address address;
  int length = 32;

  // "a.b.c.d/n"; a missing "/n" means /32.
  static Result<Ipv4Prefix> parse(std::string_view text);
  // Like parse, but the host bits must be zero (a network, e.g. a subnet).
  static Result<Ipv4Prefix> parseNetwork(std::string_view text);

  uint32_t mask() const;
  Ipv4Address network() const { return Ipv4Address{address.value & mask()}; }
  Ipv4Address broadcast() const { return Ipv4Address{network().value | ~mask()}; }
  uint64_t size() const { return uint64_t{1} << (32 - length); }
  bool contains(Ipv4Address a) const { return (a.value & mask()) == network().value; }
  // True when all of `inner` lies inside this network.
  bool contains(const Ipv4Prefix& inner) const { return inner.length >= length && contains(inner.address); }
  bool overlaps(const Ipv4Prefix& other) const { return contains(other.address) || other.contains(address); }
  std::string toString() const;

  friend bool operator==(const Ipv4Prefix&, const Ipv4Prefix&) = default;
};

struct MacAddress {
  std::array<uint8_t, 6> bytes{};

  static Result<MacAddress> parse(std::string_view text);
  // Deterministic and locally administered: 02:b7 followed by the four bytes
  // of the address. An IP that is reused gets the MAC it had before, so the
  // neighbour caches of other tasks stay right.
  static MacAddress fromIpv4(Ipv4Address ip);
  // Random, unicast, locally administered.
  static MacAddress random();
  std::string toString() const;  // "02:b7:ac:1f:00:05"

  friend bool operator==(const MacAddress&, const MacAddress&) = default;
};

}  // namespace berth::agent::net
