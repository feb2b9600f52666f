// Sends queries for names outside berth's zones to upstream resolvers over
// UDP and hands back their answers.
//
// Each query goes out with a fresh random id from one socket; an answer is
// accepted only from the upstream it was sent to, with that id and the same
// question. Without an answer within `timeout`, the query goes to the next
// upstream; after `attempts` sends, done() gets an empty span (the caller
// answers SERVFAIL). At most `max_pending` queries wait at once; beyond that
// done() is called at once with an empty span.
//
// Threads: forward() may be called from any thread; done() runs on the
// forwarder's own thread and must not block. stop() (or the destructor)
// fails everything pending.
#pragma once

#include <netinet/in.h>

#include <chrono>
#include <cstdint>
#include <functional>
#include <mutex>
#include <span>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "common/result.h"

namespace berth::dns {

struct ForwarderOptions {
  std::vector<std::string> upstreams;  // "IP" or "IP:PORT" (IPv4 or [IPv6]:PORT)
  std::chrono::milliseconds timeout{1000};
  int attempts = 2;
  size_t max_pending = 4096;
};

// Nameservers of a resolv.conf file ("nameserver X" lines), minus those in
// `exclude` (our own listen addresses: never forward to ourselves).
std::vector<std::string> readResolvConf(const std::string& path, const std::vector<std::string>& exclude = {});

class Forwarder {
 public:
  using Done = std::function<void(std::span<const uint8_t> response)>;

  explicit Forwarder(ForwarderOptions options);
  ~Forwarder();
  Forwarder(const Forwarder&) = delete;
  Forwarder& operator=(const Forwarder&) = delete;

  // Opens the socket and starts the thread. Fails on a bad upstream address.
  Status start();
  void stop();
  bool enabled() const { return !upstreams_.empty(); }

  void forward(std::span<const uint8_t> query, Done done);

 private:
  struct Pending {
    std::vector<uint8_t> query;  // with our id
    uint16_t client_id = 0;
    size_t upstream = 0;
    int sends = 0;
    std::chrono::steady_clock::time_point deadline;
    Done done;
  };
  void run();
  void send(Pending& p);
  void onResponse(std::span<const uint8_t> packet, const sockaddr_storage& from, socklen_t from_len);

  ForwarderOptions options_;
  std::vector<sockaddr_storage> upstreams_;
  std::vector<socklen_t> upstream_lens_;
  int fd4_ = -1, fd6_ = -1, wake_fd_ = -1;
  std::thread thread_;
  std::mutex mu_;  // guards incoming_, stopping_, pending_size_
  std::vector<Pending> incoming_;
  bool stopping_ = false;
  size_t pending_size_ = 0;  // pending_.size() as last seen by the thread
  std::unordered_map<uint16_t, Pending> pending_;  // forwarder thread only
  uint64_t rng_;
};

}  // namespace berth::dns
