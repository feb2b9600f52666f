#include "dns/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/epoll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <deque>
#include <mutex>
#include <unordered_map>

#include <fmt/format.h>

namespace berth::dns {
namespace {

constexpr int kBatch = 32;
constexpr size_t kUdpReceive = 4096;
constexpr size_t kMaxTcpOutput = 1 << 20;

struct Address {
  sockaddr_storage addr{};
  socklen_t len = 0;
  std::string host;
  uint16_t port = 0;
};

Result<Address> parseListen(const std::string& text) {
  Address a;
  std::string host, port_text;
  if (!text.empty() && text.front() == '[') {
    auto close = text.find("]:");
    if (close == std::string::npos) return fail(ErrorCode::kInvalidArgument, "DNS listen address '" + text + "' needs [IPv6]:PORT");
    host = text.substr(1, close - 1);
    port_text = text.substr(close + 2);
  } else {
    auto colon = text.rfind(':');
    if (colon == std::string::npos) return fail(ErrorCode::kInvalidArgument, "DNS listen address '" + text + "' needs IP:PORT");
    host = text.substr(0, colon);
    port_text = text.substr(colon + 1);
  }
  char* end = nullptr;
  long port = std::strtol(port_text.c_str(), &end, 10);
  if (port_text.empty() || *end || port < 0 || port > 65535)
    return fail(ErrorCode::kInvalidArgument, "bad port in DNS listen address '" + text + "'");
  a.host = host;
  a.port = static_cast<uint16_t>(port);
  auto* v4 = reinterpret_cast<sockaddr_in*>(&a.addr);
  auto* v6 = reinterpret_cast<sockaddr_in6*>(&a.addr);
  if (::inet_pton(AF_INET, host.c_str(), &v4->sin_addr) == 1) {
    v4->sin_family = AF_INET;
    v4->sin_port = htons(a.port);
    a.len = sizeof(sockaddr_in);
  } else if (::inet_pton(AF_INET6, host.c_str(), &v6->sin6_addr) == 1) {
    v6->sin6_family = AF_INET6;
    v6->sin6_port = htons(a.port);
    a.len = sizeof(sockaddr_in6);
  } else {
    return fail(ErrorCode::kInvalidArgument, "bad IP in DNS listen address '" + text + "'");
  }
  return a;
}

void setPort(Address& a, uint16_t port) {
  a.port = port;
  if (a.addr.ss_family == AF_INET)
    reinterpret_cast<sockaddr_in*>(&a.addr)->sin_port = htons(port);
  else
    reinterpret_cast<sockaddr_in6*>(&a.addr)->sin6_port = htons(port);
}

Result<int> bindSocket(const Address& a, int type) {
  int fd = ::socket(a.addr.ss_family, type | SOCK_CLOEXEC, 0);
  if (fd < 0) return failErrno("DNS socket", errno);
  int one = 1;
  ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  if (type == SOCK_DGRAM) {
    ::setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof one);
    int bytes = 4 << 20;  // room for bursts: dropped queries cost clients a retry timeout
    ::setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  }
  if (a.addr.ss_family == AF_INET6) ::setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof one);
  if (::bind(fd, reinterpret_cast<const sockaddr*>(&a.addr), a.len) != 0) {
    int err = errno;
    ::close(fd);
    return failErrno(fmt::format("bind DNS {} {}:{}", type == SOCK_DGRAM ? "udp" : "tcp", a.host, a.port), err);
  }
  return fd;
}

uint16_t boundPort(int fd) {
  sockaddr_storage s{};
  socklen_t len = sizeof s;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&s), &len);
  return s.ss_family == AF_INET ? ntohs(reinterpret_cast<sockaddr_in*>(&s)->sin_port)
                                : ntohs(reinterpret_cast<sockaddr_in6*>(&s)->sin6_port);
}

}  // namespace

// A socket shared with forwarded queries still in flight: their answers
// may come back after the server stopped, and must not hit a reused fd.
struct SharedFd {
  explicit SharedFd(int f) : fd(f) {}
  ~SharedFd() { ::close(fd); }
  const int fd;
};

// ---- UDP ----

struct DnsServer::Udp {
  int fd = -1;
  std::shared_ptr<SharedFd> socket;  // owns fd
  std::thread thread;

  void run(const Resolver& resolver, Forwarder* forwarder, const std::atomic<bool>& stopping) {
    // Everything the loop touches is allocated here, once.
    auto in_bufs = std::make_unique<uint8_t[]>(kBatch * kUdpReceive);
    auto out_bufs = std::make_unique<uint8_t[]>(kBatch * kEdnsUdpSize);
    std::array<mmsghdr, kBatch> in{}, out{};
    std::array<iovec, kBatch> in_iov{}, out_iov{};
    std::array<sockaddr_storage, kBatch> peers{};
    auto scratch = std::make_unique<Resolver::Scratch>();
    scratch->rng ^= reinterpret_cast<uintptr_t>(scratch.get());
    for (int i = 0; i < kBatch; ++i) {
      in_iov[i] = {in_bufs.get() + i * kUdpReceive, kUdpReceive};
      in[i].msg_hdr.msg_iov = &in_iov[i];
      in[i].msg_hdr.msg_iovlen = 1;
      in[i].msg_hdr.msg_name = &peers[i];
      out_iov[i].iov_base = out_bufs.get() + i * kEdnsUdpSize;
      out[i].msg_hdr.msg_iov = &out_iov[i];
      out[i].msg_hdr.msg_iovlen = 1;
    }
    while (!stopping.load(std::memory_order_relaxed)) {
      for (int i = 0; i < kBatch; ++i) in[i].msg_hdr.msg_namelen = sizeof(sockaddr_storage);
      int n = ::recvmmsg(fd, in.data(), kBatch, MSG_WAITFORONE, nullptr);
      if (n <= 0) continue;  // EINTR, or the wake-up of stop()'s shutdown()
      resolver.refresh(*scratch);
      int m = 0;
      for (int i = 0; i < n; ++i) {
        std::span<const uint8_t> packet(in_bufs.get() + i * kUdpReceive, in[i].msg_len);
        if (in[i].msg_hdr.msg_flags & MSG_TRUNC) continue;  // over 4 KiB: no query is
        std::span<uint8_t> answer(out_bufs.get() + m * kEdnsUdpSize, kEdnsUdpSize);
        size_t size = 0;
        switch (resolver.handle(*scratch, packet, true, answer, &size)) {
          case Resolver::Action::kRespond:
            out_iov[m].iov_len = size;
            out[m].msg_hdr.msg_name = &peers[i];
            out[m].msg_hdr.msg_namelen = in[i].msg_hdr.msg_namelen;
            ++m;
            break;
          case Resolver::Action::kForward:
            forward(forwarder, packet, scratch->query, peers[i], in[i].msg_hdr.msg_namelen);
            break;
          case Resolver::Action::kDrop:
            break;
        }
      }
      for (int sent = 0; sent < m;) {
        int k = ::sendmmsg(fd, out.data() + sent, static_cast<unsigned>(m - sent), 0);
        if (k < 0) {
          if (errno == EINTR) continue;
          ++sent;  // skip the one that failed (e.g. an unreachable peer)
          continue;
        }
        sent += k;
      }
    }
  }

  void forward(Forwarder* forwarder, std::span<const uint8_t> packet, const Query& q, const sockaddr_storage& peer,
               socklen_t peer_len) {
    if (!forwarder) return;
    forwarder->forward(packet, [sock = socket, q = std::make_shared<Query>(q), peer, peer_len](std::span<const uint8_t> r) {
      std::array<uint8_t, kEdnsUdpSize> buf;
      size_t size = r.empty() ? Resolver::servfail(*q, buf, q->udpLimit())
                              : Resolver::relay(*q, r, buf, q->udpLimit());
      if (size)
        (void)::sendto(sock->fd, buf.data(), size, MSG_DONTWAIT, reinterpret_cast<const sockaddr*>(&peer), peer_len);
    });
  }
};

// ---- TCP ----

struct DnsServer::Tcp {
  struct Conn {
    int fd = -1;
    std::vector<uint8_t> in;
    std::vector<uint8_t> out;
    size_t out_sent = 0;
    std::chrono::steady_clock::time_point last_active;
    int inflight = 0;
    bool read_closed = false;
    uint32_t events = EPOLLIN | EPOLLRDHUP;  // as registered with epoll
  };
  struct Done {
    uint64_t conn;
    std::vector<uint8_t> answer;
  };

  // Forwarded answers, from the forwarder's thread. Shared with the
  // queries in flight, which may outlive the server.
  struct Mailbox {
    ~Mailbox() {
      if (wake_fd >= 0) ::close(wake_fd);
    }
    void post(Done d) {
      {
        std::lock_guard lock(mu);
        done.push_back(std::move(d));
      }
      uint64_t one = 1;
      (void)!::write(wake_fd, &one, sizeof one);
    }
    int wake_fd = -1;
    std::mutex mu;
    std::vector<Done> done;  // guarded by mu
  };

  std::vector<int> listeners;
  int epoll_fd = -1;
  std::shared_ptr<Mailbox> mailbox = std::make_shared<Mailbox>();
  std::thread thread;
  std::unordered_map<uint64_t, Conn> conns;
  uint64_t next_id = 1;
  static constexpr uint64_t kListenerTag = 1ull << 63;
  static constexpr uint64_t kWakeTag = 1ull << 62;

  void wake() {
    uint64_t one = 1;
    (void)!::write(mailbox->wake_fd, &one, sizeof one);
  }

  void close(uint64_t id) {
    auto it = conns.find(id);
    if (it == conns.end()) return;
    ::close(it->second.fd);  // also removes it from the epoll set
    conns.erase(it);
  }

  void flush(uint64_t id, Conn& c) {
    while (c.out_sent < c.out.size()) {
      ssize_t k = ::send(c.fd, c.out.data() + c.out_sent, c.out.size() - c.out_sent, MSG_NOSIGNAL | MSG_DONTWAIT);
      if (k > 0) {
        c.out_sent += static_cast<size_t>(k);
        continue;
      }
      if (k < 0 && (errno == EAGAIN || errno == EINTR)) break;
      return close(id);
    }
    if (c.out_sent == c.out.size()) {
      c.out.clear();
      c.out_sent = 0;
    }
    // Level-triggered: stop asking for input once the client closed its
    // side (a half-closed socket is always readable), for output when
    // there is none.
    uint32_t events = (c.read_closed ? 0u : EPOLLIN | EPOLLRDHUP) | (c.out.empty() ? 0u : EPOLLOUT);
    if (events != c.events) {
      epoll_event ev{};
      ev.events = events;
      ev.data.u64 = id;
      ::epoll_ctl(epoll_fd, EPOLL_CTL_MOD, c.fd, &ev);
      c.events = events;
    }
    if (c.read_closed && c.out.empty() && c.inflight == 0) close(id);
  }

  void append(Conn& c, std::span<const uint8_t> answer) {
    c.out.push_back(static_cast<uint8_t>(answer.size() >> 8));
    c.out.push_back(static_cast<uint8_t>(answer.size()));
    c.out.insert(c.out.end(), answer.begin(), answer.end());
  }

  void onReadable(uint64_t id, Conn& c, const Resolver& resolver, Forwarder* forwarder, Resolver::Scratch& scratch,
                  std::vector<uint8_t>& answer) {
    uint8_t buf[16384];
    while (true) {
      ssize_t k = ::recv(c.fd, buf, sizeof buf, MSG_DONTWAIT);
      if (k > 0) {
        c.in.insert(c.in.end(), buf, buf + k);
        if (c.in.size() > 2 * (kMaxTcpMessage + 2)) break;  // process before reading more
        continue;
      }
      if (k == 0) c.read_closed = true;
      else if (errno != EAGAIN && errno != EINTR) return close(id);
      break;
    }
    c.last_active = std::chrono::steady_clock::now();
    resolver.refresh(scratch);
    size_t off = 0;
    while (c.in.size() - off >= 2) {
      size_t len = static_cast<size_t>(c.in[off] << 8 | c.in[off + 1]);
      if (c.in.size() - off - 2 < len) break;
      std::span<const uint8_t> packet(c.in.data() + off + 2, len);
      off += 2 + len;
      size_t size = 0;
      switch (resolver.handle(scratch, packet, false, answer, &size)) {
        case Resolver::Action::kRespond:
          append(c, {answer.data(), size});
          break;
        case Resolver::Action::kForward:
          if (!forwarder) break;
          ++c.inflight;
          forwarder->forward(packet, [box = mailbox, id, q = std::make_shared<Query>(scratch.query)](
                                         std::span<const uint8_t> r) {
            std::vector<uint8_t> buf(kMaxTcpMessage);
            size_t n = r.empty() ? Resolver::servfail(*q, buf, buf.size()) : Resolver::relay(*q, r, buf, buf.size());
            buf.resize(n);
            box->post({id, std::move(buf)});
          });
          break;
        case Resolver::Action::kDrop:
          // Malformed beyond an answer: a stream cannot resynchronise.
          return close(id);
      }
    }
    c.in.erase(c.in.begin(), c.in.begin() + static_cast<std::ptrdiff_t>(off));
    if (c.out.size() > kMaxTcpOutput) return close(id);  // a client that does not read
    flush(id, c);
  }

  void run(const Resolver& resolver, Forwarder* forwarder, const std::atomic<bool>& stopping,
           std::chrono::milliseconds idle_timeout, size_t max_conns) {
    auto scratch = std::make_unique<Resolver::Scratch>();
    std::vector<uint8_t> answer(kMaxTcpMessage);
    std::array<epoll_event, 64> events;
    auto last_sweep = std::chrono::steady_clock::now();
    while (!stopping.load()) {
      int tick = static_cast<int>(std::min<int64_t>(idle_timeout.count() / 4 + 1, 250));
      int n = ::epoll_wait(epoll_fd, events.data(), static_cast<int>(events.size()), tick);
      for (int i = 0; i < n; ++i) {
        uint64_t tag = events[i].data.u64;
        if (tag == kWakeTag) {
          uint64_t v;
          (void)!::read(mailbox->wake_fd, &v, sizeof v);
          std::vector<Done> ready;
          {
            std::lock_guard lock(mailbox->mu);
            ready.swap(mailbox->done);
          }
          for (Done& d : ready) {
            auto it = conns.find(d.conn);
            if (it == conns.end()) continue;
            --it->second.inflight;
            it->second.last_active = std::chrono::steady_clock::now();
            append(it->second, d.answer);
            flush(d.conn, it->second);
          }
        } else if (tag & kListenerTag) {
          int lfd = listeners[tag & ~kListenerTag];
          while (true) {
            int fd = ::accept4(lfd, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) break;
            if (conns.size() >= max_conns) {
              ::close(fd);
              continue;
            }
            int one = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
            uint64_t id = next_id++;
            Conn& c = conns[id];
            c.fd = fd;
            c.last_active = std::chrono::steady_clock::now();
            epoll_event ev{};
            ev.events = EPOLLIN | EPOLLRDHUP;
            ev.data.u64 = id;
            ::epoll_ctl(epoll_fd, EPOLL_CTL_ADD, fd, &ev);
          }
        } else {
          auto it = conns.find(tag);
          if (it == conns.end()) continue;
          if (events[i].events & (EPOLLHUP | EPOLLERR)) {  // nobody to answer any more
            close(tag);
            continue;
          }
          if (events[i].events & (EPOLLIN | EPOLLRDHUP)) {
            onReadable(tag, it->second, resolver, forwarder, *scratch, answer);
            it = conns.find(tag);
            if (it == conns.end()) continue;
          }
          if (events[i].events & EPOLLOUT) flush(tag, it->second);
        }
      }
      auto now = std::chrono::steady_clock::now();
      if (now - last_sweep >= std::chrono::milliseconds(tick)) {
        last_sweep = now;
        std::vector<uint64_t> idle;
        for (auto& [id, c] : conns)
          if (c.inflight == 0 && now - c.last_active >= idle_timeout) idle.push_back(id);
        for (uint64_t id : idle) close(id);
      }
    }
  }
};

// ---- DnsServer ----

DnsServer::DnsServer(const Resolver& resolver, Forwarder* forwarder, DnsServerOptions options)
    : resolver_(resolver), forwarder_(forwarder), options_(std::move(options)) {}

DnsServer::~DnsServer() { stop(); }

Result<std::vector<BoundEndpoint>> DnsServer::start() {
  std::vector<BoundEndpoint> bound;
  auto tcp = std::make_unique<Tcp>();
  std::vector<std::unique_ptr<Udp>> udp;
  auto cleanup = [&] {
    for (int fd : tcp->listeners) ::close(fd);
    if (tcp->epoll_fd >= 0) ::close(tcp->epoll_fd);
  };  // the UDP sockets close with their SharedFd
  int threads = std::max(1, options_.udp_threads);
  for (const std::string& text : options_.listen) {
    auto addr = parseListen(text);
    if (!addr) {
      cleanup();
      return std::unexpected(addr.error());
    }
    // The first UDP socket picks the port (when 0); TCP and the other UDP
    // sockets take the same one. The UDP-picked port may be in use for TCP
    // (or taken between the binds): then every socket of this address is
    // closed and another port is picked, a bounded number of times.
    const bool pick_port = addr->port == 0;
    const size_t udp_before = udp.size();
    Result<int> lfd = std::unexpected(Error{});
    for (int attempt = 0;; ++attempt) {
      for (int t = 0; t < threads; ++t) {
        auto fd = bindSocket(*addr, SOCK_DGRAM);
        if (!fd) {
          lfd = std::unexpected(fd.error());
          break;
        }
        udp.push_back(std::make_unique<Udp>());
        udp.back()->fd = *fd;
        udp.back()->socket = std::make_shared<SharedFd>(*fd);
        if (t == 0 && pick_port) setPort(*addr, boundPort(*fd));
      }
      if (udp.size() == udp_before + static_cast<size_t>(threads))
        lfd = bindSocket(*addr, SOCK_STREAM | SOCK_NONBLOCK);
      if (lfd || !pick_port || lfd.error().sys_errno != EADDRINUSE || attempt == 15) break;
      udp.resize(udp_before);  // closes this address's UDP sockets
      setPort(*addr, 0);
    }
    if (!lfd) {
      cleanup();
      return std::unexpected(lfd.error());
    }
    tcp->listeners.push_back(*lfd);
    if (::listen(*lfd, 512) != 0) {
      int err = errno;
      cleanup();
      return failErrno("listen DNS tcp " + text, err);
    }
    bound.push_back({addr->host, addr->port});
  }
  tcp->epoll_fd = ::epoll_create1(EPOLL_CLOEXEC);
  tcp->mailbox->wake_fd = ::eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (tcp->epoll_fd < 0 || tcp->mailbox->wake_fd < 0) {
    int err = errno;
    cleanup();
    return failErrno("DNS epoll", err);
  }
  for (size_t i = 0; i < tcp->listeners.size(); ++i) {
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u64 = Tcp::kListenerTag | i;
    ::epoll_ctl(tcp->epoll_fd, EPOLL_CTL_ADD, tcp->listeners[i], &ev);
  }
  epoll_event ev{};
  ev.events = EPOLLIN;
  ev.data.u64 = Tcp::kWakeTag;
  ::epoll_ctl(tcp->epoll_fd, EPOLL_CTL_ADD, tcp->mailbox->wake_fd, &ev);

  stopping_ = false;
  for (auto& u : udp) {
    Udp* p = u.get();
    p->thread = std::thread([this, p] { p->run(resolver_, forwarder_, stopping_); });
  }
  Tcp* t = tcp.get();
  t->thread = std::thread([this, t] {
    t->run(resolver_, forwarder_, stopping_, options_.tcp_idle_timeout, options_.max_tcp_connections);
  });
  udp_ = std::move(udp);
  tcp_ = std::move(tcp);
  return bound;
}

void DnsServer::stop() {
  if (!tcp_ && udp_.empty()) return;
  stopping_ = true;
  // shutdown() wakes a thread blocked in recvmmsg (it returns 0).
  for (auto& u : udp_) ::shutdown(u->fd, SHUT_RDWR);
  if (tcp_) tcp_->wake();
  for (auto& u : udp_)
    if (u->thread.joinable()) u->thread.join();
  if (tcp_ && tcp_->thread.joinable()) tcp_->thread.join();
  udp_.clear();  // sockets close when no forwarded query holds them
  if (tcp_) {
    // Forwarded answers still to come land in the orphaned mailbox.
    for (auto& [id, c] : tcp_->conns) ::close(c.fd);
    for (int fd : tcp_->listeners) ::close(fd);
    ::close(tcp_->epoll_fd);
    tcp_.reset();
  }
}

}  // namespace berth::dns
