// A stub resolver's pure half: the nameservers of /etc/resolv.conf and the
// packets of one DNS A query (RFC 1035). net.h sends them over UDP.
//
// Why not getaddrinfo: these programs are static (they run in a busybox
// root with no shared libraries), and glibc's getaddrinfo in a static binary
// still dlopens NSS modules per /etc/nsswitch.conf at run time (the linker
// warns about it), which the image does not have. A-over-UDP to the
// resolv.conf nameserver is what a task needs to find backend.dev.local
// through the VPC resolver, and it behaves the same in every image.
// Thread-safe (no state).
#pragma once

#include <cstdint>
#include <expected>
#include <string>
#include <string_view>
#include <vector>

namespace durableai {

// The `nameserver` addresses of a resolv.conf, in order (IPv4 only; others
// are skipped).
std::vector<std::string> parseResolvConf(std::string_view text);

// A recursion-desired query for the A records of `name` (a trailing dot is
// allowed). Fails for an empty name, an empty or >63-byte label, or a name
// over 253 bytes.
std::expected<std::string, std::string> buildAQuery(uint16_t id, std::string_view name);

// The IPv4 addresses (dotted quads) in the answer section of the reply to
// query `id`; CNAMEs and other records are skipped (a recursive server puts
// the target's A records in the same answer). Fails on a malformed or
// truncated packet, a different id, and an RCODE other than 0 (the message
// names it: NXDOMAIN, SERVFAIL, ...). No answers is an empty vector.
std::expected<std::vector<std::string>, std::string> parseAResponse(std::string_view packet, uint16_t id);

}  // namespace durableai
