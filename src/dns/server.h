// The DNS server: UDP and TCP listeners in front of a Resolver, with names
// outside berth's zones handed to a Forwarder.
//
// UDP (the fast path): per listen address, `udp_threads` threads, each with
// its own socket bound to the same address with SO_REUSEPORT (the kernel
// spreads clients over them), reading and answering in batches with
// recvmmsg/sendmmsg into buffers allocated once per thread. An authoritative
// answer costs no heap allocation and no lock (the zone snapshot is checked
// once per batch). Answers larger than the client's limit (512 bytes, or its
// EDNS size up to 1232) go out truncated with TC.
//
// TCP: one thread with epoll for every listener; RFC 7766: 2-byte length
// framing, several (pipelined) queries per connection, answers in whatever
// order they are ready, connections closed after `tcp_idle_timeout` without
// traffic or after the client closes once its answers are sent.
//
// Threads: construct, start() and stop() from one thread; the server runs
// its own threads. The Resolver and Forwarder must outlive the server's
// threads: stop() (or the destructor) joins them. Answers the forwarder
// delivers after that go to sockets the queries keep open, harmlessly.
#pragma once

#include <atomic>
#include <chrono>
#include <cstdint>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "common/result.h"
#include "dns/forwarder.h"
#include "dns/resolver.h"

namespace berth::dns {

struct DnsServerOptions {
  std::vector<std::string> listen = {"127.0.0.1:8053"};  // "IP:PORT" or "[IPv6]:PORT"; port 0 picks one
  int udp_threads = 2;
  std::chrono::milliseconds tcp_idle_timeout{10000};
  size_t max_tcp_connections = 1024;
};

struct BoundEndpoint {
  std::string address;
  uint16_t port = 0;  // the same for UDP and TCP
};

class DnsServer {
 public:
  // `forwarder` may be null (outside names are then REFUSED by the resolver,
  // which must be built with ResolverOptions::forward = false).
  DnsServer(const Resolver& resolver, Forwarder* forwarder, DnsServerOptions options);
  ~DnsServer();
  DnsServer(const DnsServer&) = delete;
  DnsServer& operator=(const DnsServer&) = delete;

  // Binds every listen address (UDP and TCP on one port) and starts the
  // threads. On failure nothing is left open.
  Result<std::vector<BoundEndpoint>> start();
  void stop();

  struct Udp;  // server.cc
  struct Tcp;

 private:
  const Resolver& resolver_;
  Forwarder* forwarder_;
  DnsServerOptions options_;
  std::vector<std::unique_ptr<Udp>> udp_;
  std::unique_ptr<Tcp> tcp_;
  std::atomic<bool> stopping_{false};
};

}  // namespace berth::dns
