// The DNS server over real sockets on 127.0.0.1 (ephemeral ports), with a
// fake upstream on loopback for forwarding. Nothing leaves the machine.
#include "dns/server.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <fstream>
#include <set>
#include <thread>

namespace berth::dns {
namespace {

sockaddr_in loopback(uint16_t port) {
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  return a;
}

// Sends one UDP query and waits up to 3 s for the answer.
std::optional<Message> udpAsk(uint16_t port, const std::vector<uint8_t>& query, int timeout_ms = 3000) {
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto to = loopback(port);
  ::sendto(fd, query.data(), query.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  pollfd p{fd, POLLIN, 0};
  std::optional<Message> out;
  if (::poll(&p, 1, timeout_ms) == 1) {
    uint8_t buf[65536];
    ssize_t n = ::recv(fd, buf, sizeof buf, 0);
    if (n > 0)
      if (auto m = decodeMessage({buf, static_cast<size_t>(n)})) out = *m;
  }
  ::close(fd);
  return out;
}

int tcpConnect(uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  auto to = loopback(port);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&to), sizeof to) != 0) {
    ::close(fd);
    return -1;
  }
  timeval tv{5, 0};
  ::setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  return fd;
}

void tcpSend(int fd, const std::vector<uint8_t>& q) {
  std::vector<uint8_t> framed = {static_cast<uint8_t>(q.size() >> 8), static_cast<uint8_t>(q.size())};
  framed.insert(framed.end(), q.begin(), q.end());
  ASSERT_EQ(::send(fd, framed.data(), framed.size(), MSG_NOSIGNAL), static_cast<ssize_t>(framed.size()));
}

bool readFull(int fd, uint8_t* p, size_t n) {
  while (n > 0) {
    ssize_t k = ::recv(fd, p, n, 0);
    if (k <= 0) return false;
    p += k;
    n -= static_cast<size_t>(k);
  }
  return true;
}

std::optional<Message> tcpRead(int fd) {
  uint8_t len[2];
  if (!readFull(fd, len, 2)) return std::nullopt;
  std::vector<uint8_t> body(static_cast<size_t>(len[0] << 8 | len[1]));
  if (!readFull(fd, body.data(), body.size())) return std::nullopt;
  auto m = decodeMessage(body);
  if (!m) return std::nullopt;
  return *m;
}

// A fake upstream resolver on 127.0.0.1: answers every A query with
// 192.0.2.1 (or `answers` A records), or stays silent.
class FakeUpstream {
 public:
  explicit FakeUpstream(bool silent = false, int answers = 1) : silent_(silent), answers_(answers) {
    fd_ = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    auto a = loopback(0);
    ::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a);
    socklen_t len = sizeof a;
    ::getsockname(fd_, reinterpret_cast<sockaddr*>(&a), &len);
    port_ = ntohs(a.sin_port);
    thread_ = std::thread([this] { run(); });
  }
  ~FakeUpstream() {
    stop_ = true;
    thread_.join();
    ::close(fd_);
  }
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int queries() const { return queries_; }

 private:
  void run() {
    while (!stop_) {
      pollfd p{fd_, POLLIN, 0};
      if (::poll(&p, 1, 50) != 1) continue;
      uint8_t buf[4096];
      sockaddr_in from{};
      socklen_t len = sizeof from;
      ssize_t n = ::recvfrom(fd_, buf, sizeof buf, 0, reinterpret_cast<sockaddr*>(&from), &len);
      if (n <= 0) continue;
      ++queries_;
      if (silent_) continue;
      Query q;
      if (parseQuery({buf, static_cast<size_t>(n)}, q) != ParseOutcome::kOk) continue;
      std::vector<uint8_t> out(8192);
      ResponseWriter w(out, out.size());
      w.header(q.id, flag::kQr | flag::kRa | flag::kRd);
      w.question(q.name.view(), q.qtype, q.qclass);
      for (int i = 0; i < answers_; ++i)
        w.a(Section::kAnswer, q.name.view(), 300, {192, 0, 2, static_cast<uint8_t>(1 + i)});
      size_t size = w.finish();
      ::sendto(fd_, out.data(), size, 0, reinterpret_cast<sockaddr*>(&from), len);
    }
  }
  bool silent_;
  int answers_;
  int fd_ = -1;
  uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> queries_{0};
  std::thread thread_;
};

ZoneSnapshot zones() {
  ZoneSnapshot s;
  DnsZone z;
  z.name = "dev.local";
  DnsService backend;
  backend.name = "backend";
  backend.records = {{DnsRecordSpec::Type::kA, 10}, {DnsRecordSpec::Type::kSrv, 10}};
  for (int i = 0; i < 3; ++i) {
    DnsInstance in;
    in.id = "task" + std::to_string(i);
    in.ipv4 = "172.31.0." + std::to_string(4 + i);
    in.port = 8000;
    backend.instances.push_back(in);
  }
  z.services.push_back(backend);
  s.zones.push_back(z);
  return s;
}

class DnsServerTest : public ::testing::Test {
 protected:
  void startServer(std::vector<std::string> upstreams, std::chrono::milliseconds idle = std::chrono::seconds(10)) {
    ForwarderOptions fo;
    fo.upstreams = std::move(upstreams);
    fo.timeout = std::chrono::milliseconds(200);
    forwarder_ = std::make_unique<Forwarder>(fo);
    ASSERT_TRUE(forwarder_->start());
    resolver_ = std::make_unique<Resolver>(source_, ResolverOptions{"127.0.0.1", forwarder_->enabled()});
    DnsServerOptions so;
    so.listen = {"127.0.0.1:0"};
    so.udp_threads = 2;
    so.tcp_idle_timeout = idle;
    server_ = std::make_unique<DnsServer>(*resolver_, forwarder_.get(), so);
    auto bound = server_->start();
    ASSERT_TRUE(bound) << bound.error().message;
    ASSERT_EQ(bound->size(), 1u);
    port_ = (*bound)[0].port;
    ASSERT_NE(port_, 0);
  }
  void TearDown() override {
    if (forwarder_) forwarder_->stop();
    if (server_) server_->stop();
  }

  StaticZoneSource source_{zones()};
  std::unique_ptr<Forwarder> forwarder_;
  std::unique_ptr<Resolver> resolver_;
  std::unique_ptr<DnsServer> server_;
  uint16_t port_ = 0;
};

TEST_F(DnsServerTest, AnswersOverUdp) {
  startServer({});
  auto m = udpAsk(port_, *buildQuery(42, "backend.dev.local", rrtype::kA));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, 42);
  EXPECT_EQ(m->answers.size(), 3u);
  auto nx = udpAsk(port_, *buildQuery(43, "nope.dev.local", rrtype::kA));
  ASSERT_TRUE(nx);
  EXPECT_EQ(nx->rcode(), rcode::kNxDomain);
  // Without upstreams, outside names are refused.
  auto out = udpAsk(port_, *buildQuery(44, "example.com", rrtype::kA));
  ASSERT_TRUE(out);
  EXPECT_EQ(out->rcode(), rcode::kRefused);
}

TEST_F(DnsServerTest, ManyUdpQueriesInFlight) {
  startServer({});
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto to = loopback(port_);
  constexpr int kQueries = 500, kWave = 50;  // waves: the client's receive buffer holds ~250
  std::vector<bool> got(kQueries);
  int answered = 0;
  pollfd p{fd, POLLIN, 0};
  for (int wave = 0; wave < kQueries; wave += kWave) {
    for (int i = wave; i < wave + kWave; ++i) {
      auto q = *buildQuery(static_cast<uint16_t>(i), "backend.dev.local", rrtype::kSrv, 1232);
      ::sendto(fd, q.data(), q.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
    }
    while (answered < wave + kWave && ::poll(&p, 1, 2000) == 1) {
      uint8_t buf[2048];
      ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      auto m = decodeMessage({buf, static_cast<size_t>(n)});
      ASSERT_TRUE(m);
      EXPECT_EQ(m->answers.size(), 3u);
      if (!got[m->id]) ++answered;
      got[m->id] = true;
    }
  }
  ::close(fd);
  EXPECT_EQ(answered, kQueries);
}

TEST_F(DnsServerTest, GarbageOverUdpIsSurvived) {
  startServer({});
  int fd = ::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
  auto to = loopback(port_);
  std::vector<uint8_t> junk = {1, 2, 3, 4, 5};
  ::sendto(fd, junk.data(), junk.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  std::vector<uint8_t> big(3000, 0xC0);
  ::sendto(fd, big.data(), big.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  // Oversized: a valid query padded past the 4 KiB receive buffer is dropped.
  auto padded = *buildQuery(2, "backend.dev.local", rrtype::kA);
  padded.resize(20000, 0);
  ::sendto(fd, padded.data(), padded.size(), 0, reinterpret_cast<sockaddr*>(&to), sizeof to);
  pollfd p{fd, POLLIN, 0};
  EXPECT_EQ(::poll(&p, 1, 200), 0);  // no answer to any of them
  ::close(fd);
  auto m = udpAsk(port_, *buildQuery(1, "backend.dev.local", rrtype::kA));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->answers.size(), 3u);
}

TEST_F(DnsServerTest, TcpSeveralQueriesPerConnection) {
  startServer({});
  int fd = tcpConnect(port_);
  ASSERT_GE(fd, 0);
  // Pipelined: two queries in one write, then a third.
  tcpSend(fd, *buildQuery(1, "backend.dev.local", rrtype::kA));
  tcpSend(fd, *buildQuery(2, "backend.dev.local", rrtype::kSrv));
  auto a = tcpRead(fd);
  auto b = tcpRead(fd);
  ASSERT_TRUE(a && b);
  EXPECT_EQ(a->id + b->id, 3);
  tcpSend(fd, *buildQuery(3, "nope.dev.local", rrtype::kA));
  auto c = tcpRead(fd);
  ASSERT_TRUE(c);
  EXPECT_EQ(c->rcode(), rcode::kNxDomain);
  ::close(fd);
}

TEST_F(DnsServerTest, TcpIdleConnectionsAreClosed) {
  // Long enough that a loaded machine still gets the query in before it.
  startServer({}, std::chrono::milliseconds(1000));
  int fd = tcpConnect(port_);
  ASSERT_GE(fd, 0);
  tcpSend(fd, *buildQuery(1, "backend.dev.local", rrtype::kA));
  ASSERT_TRUE(tcpRead(fd));
  // The server closes it: the next read sees EOF well before SO_RCVTIMEO.
  uint8_t b;
  auto t0 = std::chrono::steady_clock::now();
  EXPECT_EQ(::recv(fd, &b, 1, 0), 0);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(4500));
  ::close(fd);
}

TEST_F(DnsServerTest, TcpGarbageClosesOnlyThatConnection) {
  startServer({});
  int bad = tcpConnect(port_);
  std::vector<uint8_t> junk = {0, 3, 1, 2, 3};
  ::send(bad, junk.data(), junk.size(), MSG_NOSIGNAL);
  uint8_t b;
  EXPECT_EQ(::recv(bad, &b, 1, 0), 0);
  ::close(bad);
  int good = tcpConnect(port_);
  tcpSend(good, *buildQuery(5, "backend.dev.local", rrtype::kA));
  auto m = tcpRead(good);
  ASSERT_TRUE(m);
  EXPECT_EQ(m->answers.size(), 3u);
  ::close(good);
}

TEST_F(DnsServerTest, ForwardsOutsideNamesToTheUpstream) {
  FakeUpstream upstream;
  startServer({upstream.address()});
  auto m = udpAsk(port_, *buildQuery(77, "Example.COM", rrtype::kA));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->id, 77);
  EXPECT_EQ(m->rcode(), rcode::kNoError);
  ASSERT_EQ(m->answers.size(), 1u);
  EXPECT_EQ(m->answers[0].text, "192.0.2.1");
  EXPECT_EQ(m->questions[0].name, "Example.COM.");
  // Zone names never reach it.
  ASSERT_TRUE(udpAsk(port_, *buildQuery(78, "backend.dev.local", rrtype::kA)));
  EXPECT_EQ(upstream.queries(), 1);
  // Over TCP too.
  int fd = tcpConnect(port_);
  tcpSend(fd, *buildQuery(79, "example.org", rrtype::kA));
  auto t = tcpRead(fd);
  ASSERT_TRUE(t);
  EXPECT_EQ(t->id, 79);
  EXPECT_EQ(t->answers.size(), 1u);
  ::close(fd);
}

TEST_F(DnsServerTest, TcpHalfClosedClientStillGetsItsForwardedAnswer) {
  FakeUpstream upstream;
  startServer({upstream.address()});
  int fd = tcpConnect(port_);
  tcpSend(fd, *buildQuery(80, "example.net", rrtype::kA));
  tcpSend(fd, *buildQuery(81, "backend.dev.local", rrtype::kA));
  ::shutdown(fd, SHUT_WR);
  std::set<int> ids;
  for (int i = 0; i < 2; ++i) {
    auto m = tcpRead(fd);
    ASSERT_TRUE(m);
    ids.insert(m->id);
  }
  EXPECT_EQ(ids, (std::set<int>{80, 81}));
  uint8_t b;
  EXPECT_EQ(::recv(fd, &b, 1, 0), 0);  // then the server closes
  ::close(fd);
}

TEST_F(DnsServerTest, ForwardedAnswersTooLargeForUdpAreTruncated) {
  FakeUpstream upstream(false, 60);  // 60 A records: ~1 KB
  startServer({upstream.address()});
  auto m = udpAsk(port_, *buildQuery(5, "big.example", rrtype::kA));
  ASSERT_TRUE(m);
  EXPECT_TRUE(m->flags & flag::kTc);
  EXPECT_TRUE(m->answers.empty());
  auto e = udpAsk(port_, *buildQuery(6, "big.example", rrtype::kA, 1232));
  ASSERT_TRUE(e);
  EXPECT_FALSE(e->flags & flag::kTc);
  EXPECT_EQ(e->answers.size(), 60u);
}

TEST_F(DnsServerTest, SilentUpstreamMeansServfail) {
  FakeUpstream upstream(true);
  startServer({upstream.address()});
  auto t0 = std::chrono::steady_clock::now();
  auto m = udpAsk(port_, *buildQuery(9, "example.com", rrtype::kA));
  ASSERT_TRUE(m);
  EXPECT_EQ(m->rcode(), rcode::kServFail);
  EXPECT_EQ(m->id, 9);
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::seconds(2));
  EXPECT_EQ(upstream.queries(), 2);  // two attempts
}

TEST(DnsResolvConf, ReadsNameserversExceptOurOwn) {
  std::string path = ::testing::TempDir() + "/resolv.conf";
  std::ofstream(path) << "# comment\nnameserver 127.0.0.53\nsearch x\nnameserver 10.0.0.2\nnameserver 172.31.0.2\n";
  EXPECT_EQ(readResolvConf(path, {"172.31.0.2"}), (std::vector<std::string>{"127.0.0.53", "10.0.0.2"}));
  EXPECT_TRUE(readResolvConf("/nonexistent/resolv.conf").empty());
}

TEST(DnsServerOptions, BadListenAddressesFail) {
  StaticZoneSource source;
  Resolver resolver(source, {"", false});
  for (std::string bad : {"127.0.0.1", "nohost:53", "127.0.0.1:99999", "[::1]53"}) {
    DnsServer server(resolver, nullptr, DnsServerOptions{{bad}, 1, std::chrono::seconds(1), 10});
    EXPECT_FALSE(server.start()) << bad;
  }
}

}  // namespace
}  // namespace berth::dns
