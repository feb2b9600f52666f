#include "dns/forwarder.h"

#include <arpa/inet.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/random.h"
#include "dns/message.h"

namespace berth::dns {
namespace {

// "1.2.3.4", "1.2.3.4:53", "::1", "[::1]:53".
bool parseEndpoint(const std::string& text, sockaddr_storage& out, socklen_t& len) {
  std::string host = text;
  uint16_t port = 53;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find(']');
    if (close == std::string::npos) return false;
    host = text.substr(1, close - 1);
    if (close + 1 < text.size()) {
      if (text[close + 1] != ':') return false;
      port = static_cast<uint16_t>(std::atoi(text.c_str() + close + 2));
    }
  } else if (std::count(text.begin(), text.end(), ':') == 1) {
    auto colon = text.find(':');
    host = text.substr(0, colon);
    int p = std::atoi(text.c_str() + colon + 1);
    if (p <= 0 || p > 65535) return false;
    port = static_cast<uint16_t>(p);
  }
  std::memset(&out, 0, sizeof out);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&out);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&out);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(port);
    len = sizeof(sockaddr_in);
    return true;
  }
  if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(port);
    len = sizeof(sockaddr_in6);
    return true;
  }
  return false;
}

bool sameEndpoint(const sockaddr_storage& a, const sockaddr_storage& b) {
  if (a.ss_family != b.ss_family) return false;
  if (a.ss_family == AF_INET) {
    auto& x = reinterpret_cast<const sockaddr_in&>(a);
    auto& y = reinterpret_cast<const sockaddr_in&>(b);
    return x.sin_port == y.sin_port && x.sin_addr.s_addr == y.sin_addr.s_addr;
  }
  auto& x = reinterpret_cast<const sockaddr_in6&>(a);
  auto& y = reinterpret_cast<const sockaddr_in6&>(b);
  return x.sin6_port == y.sin6_port && std::memcmp(&x.sin6_addr, &y.sin6_addr, 16) == 0;
}

// The question section's extent (header excluded), or 0 if it does not parse.
size_t questionEnd(std::span<const uint8_t> p) {
  if (p.size() < kHeaderSize || p[4] != 0 || p[5] != 1) return 0;
  size_t off = kHeaderSize;
  WireName n;
  if (!readName(p, &off, n) || off + 4 > p.size()) return 0;
  return off + 4;
}

}  // namespace

std::vector<std::string> readResolvConf(const std::string& path, const std::vector<std::string>& exclude) {
  std::vector<std::string> out;
  std::ifstream in(path);
  std::string line;
  while (std::getline(in, line)) {
    std::istringstream words(line);
    std::string key, value;
    if (!(words >> key >> value) || key != "nameserver") continue;
    if (std::find(exclude.begin(), exclude.end(), value) != exclude.end()) continue;
    out.push_back(value);
  }
  return out;
}

Forwarder::Forwarder(ForwarderOptions options) : options_(std::move(options)), rng_(randomBelow(UINT64_MAX) | 1) {
  for (const std::string& u : options_.upstreams) {
    sockaddr_storage addr;
    socklen_t len;
    if (parseEndpoint(u, addr, len)) {
      upstreams_.push_back(addr);
      upstream_lens_.push_back(len);
    }
  }
}

Forwarder::~Forwarder() { stop(); }

Status Forwarder::start() {
  if (upstreams_.size() != options_.upstreams.size())
    return fail(ErrorCode::kInvalidArgument, "a DNS upstream is not IP, IP:PORT or [IPv6]:PORT");
  if (upstreams_.empty()) return {};
  fd4_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  fd6_ = ::socket(AF_INET6, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);  // may fail without IPv6
  wake_fd_ = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (fd4_ < 0 || wake_fd_ < 0) return failErrno("forwarder socket", errno);
  thread_ = std::thread([this] { run(); });
  return {};
}

void Forwarder::stop() {
  {
    std::lock_guard lock(mu_);
    if (stopping_) return;
    stopping_ = true;
  }
  if (wake_fd_ >= 0) {
    uint64_t one = 1;
    (void)!::write(wake_fd_, &one, sizeof one);
  }
  if (thread_.joinable()) thread_.join();
  for (auto& [id, p] : pending_) p.done({});
  pending_.clear();
  for (auto& p : incoming_) p.done({});
  incoming_.clear();
  for (int fd : {fd4_, fd6_, wake_fd_})
    if (fd >= 0) ::close(fd);
  fd4_ = fd6_ = wake_fd_ = -1;
}

void Forwarder::forward(std::span<const uint8_t> query, Done done) {
  if (upstreams_.empty() || query.size() < kHeaderSize) return done({});
  Pending p;
  p.query.assign(query.begin(), query.end());
  p.client_id = static_cast<uint16_t>(query[0] << 8 | query[1]);
  p.done = std::move(done);
  bool rejected;
  {
    std::lock_guard lock(mu_);
    rejected = stopping_ || incoming_.size() + pending_size_ >= options_.max_pending;
    if (!rejected) incoming_.push_back(std::move(p));
  }
  if (rejected) return p.done({});  // outside the lock: done() may forward again
  uint64_t one = 1;
  (void)!::write(wake_fd_, &one, sizeof one);
}

void Forwarder::send(Pending& p) {
  const sockaddr_storage& to = upstreams_[p.upstream];
  int fd = to.ss_family == AF_INET ? fd4_ : fd6_;
  ++p.sends;
  p.deadline = std::chrono::steady_clock::now() + options_.timeout;
  if (fd >= 0)
    (void)::sendto(fd, p.query.data(), p.query.size(), 0, reinterpret_cast<const sockaddr*>(&to),
                   upstream_lens_[p.upstream]);
  // A failed send is retried (or failed) at the deadline like a lost one.
}

void Forwarder::onResponse(std::span<const uint8_t> packet, const sockaddr_storage& from, socklen_t) {
  if (packet.size() < kHeaderSize || !(packet[2] & 0x80)) return;
  uint16_t id = static_cast<uint16_t>(packet[0] << 8 | packet[1]);
  auto it = pending_.find(id);
  if (it == pending_.end()) return;
  Pending& p = it->second;
  if (!sameEndpoint(from, upstreams_[p.upstream])) return;
  size_t qend = questionEnd(p.query);
  size_t rend = questionEnd(packet);
  if (qend == 0 || qend != rend ||
      !nameEquals({reinterpret_cast<const char*>(&p.query[kHeaderSize]), qend - kHeaderSize},
                  {reinterpret_cast<const char*>(&packet[kHeaderSize]), rend - kHeaderSize}))
    return;
  Pending done = std::move(p);
  pending_.erase(it);
  done.done(packet);
}

void Forwarder::run() {
  std::vector<uint8_t> buf(kMaxTcpMessage);
  std::vector<Pending> batch;
  while (true) {
    {
      std::lock_guard lock(mu_);
      if (stopping_) return;
      batch.swap(incoming_);
    }
    for (Pending& p : batch) {
      // A fresh unpredictable id not in use (the query's own is the client's).
      uint16_t id;
      int tries = 0;
      do {
        id = static_cast<uint16_t>(randomBelow(65536));
      } while (pending_.contains(id) && ++tries < 64);
      if (pending_.contains(id)) {
        p.done({});
        continue;
      }
      p.query[0] = static_cast<uint8_t>(id >> 8);
      p.query[1] = static_cast<uint8_t>(id);
      p.upstream = static_cast<size_t>(randomBelow(upstreams_.size()));
      auto [it, _] = pending_.emplace(id, std::move(p));
      send(it->second);
    }
    batch.clear();
    {
      std::lock_guard lock(mu_);
      pending_size_ = pending_.size();
    }

    auto now = std::chrono::steady_clock::now();
    for (auto it = pending_.begin(); it != pending_.end();) {
      Pending& p = it->second;
      if (p.deadline > now) {
        ++it;
        continue;
      }
      if (p.sends < options_.attempts) {
        p.upstream = (p.upstream + 1) % upstreams_.size();
        send(p);
        ++it;
        continue;
      }
      Done d = std::move(p.done);
      it = pending_.erase(it);
      d({});
    }
    int timeout_ms = 1000;
    for (auto& [id, p] : pending_) {
      auto left = std::chrono::duration_cast<std::chrono::milliseconds>(p.deadline - now).count() + 1;
      timeout_ms = std::max(0, std::min<int>(timeout_ms, static_cast<int>(left)));
    }
    pollfd fds[3] = {{wake_fd_, POLLIN, 0}, {fd4_, POLLIN, 0}, {fd6_, POLLIN, 0}};
    int n = ::poll(fds, fd6_ >= 0 ? 3 : 2, timeout_ms);
    if (n <= 0) continue;
    if (fds[0].revents) {
      uint64_t v;
      (void)!::read(wake_fd_, &v, sizeof v);
    }
    for (int k = 1; k < 3; ++k) {
      if (!(fds[k].revents & POLLIN)) continue;
      while (true) {
        sockaddr_storage from{};
        socklen_t from_len = sizeof from;
        ssize_t got = ::recvfrom(fds[k].fd, buf.data(), buf.size(), 0, reinterpret_cast<sockaddr*>(&from), &from_len);
        if (got < 0) break;
        onResponse({buf.data(), static_cast<size_t>(got)}, from, from_len);
      }
    }
  }
}

}  // namespace berth::dns
