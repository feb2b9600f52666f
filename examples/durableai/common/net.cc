#include "net.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "dns.h"

namespace durableai {
namespace {

std::string errnoText(std::string_view what) { return std::string(what) + ": " + std::strerror(errno); }

class Fd {
 public:
  explicit Fd(int fd) : fd_(fd) {}
  Fd(const Fd&) = delete;
  Fd& operator=(const Fd&) = delete;
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

void setTimeouts(int fd, std::chrono::milliseconds timeout) {
  timeval tv{static_cast<time_t>(timeout.count() / 1000), static_cast<suseconds_t>(timeout.count() % 1000 * 1000)};
  // On Linux SO_SNDTIMEO also bounds connect().
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
  setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
}

bool writeAll(int fd, std::string_view data) {
  while (!data.empty()) {
    ssize_t n = ::send(fd, data.data(), data.size(), MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return false;
    data.remove_prefix(static_cast<size_t>(n));
  }
  return true;
}

void handleConnection(int fd, const Handler& handler) {
  Fd conn(fd);
  setTimeouts(fd, std::chrono::seconds(10));
  std::string buffer;
  Request request;
  Response response;
  char chunk[4096];
  while (true) {
    ParseResult parsed = parseRequest(buffer, request);
    if (parsed.state == ParseState::kComplete) {
      response = handler(request);
      break;
    }
    if (parsed.state == ParseState::kInvalid) {
      response = jsonResponse(400, "{\"error\":\"" + jsonEscape(parsed.error) + "\"}");
      break;
    }
    ssize_t n = ::recv(fd, chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return;  // closed or timed out before a whole request
    buffer.append(chunk, static_cast<size_t>(n));
  }
  response.headers.emplace_back("Connection", "close");
  writeAll(fd, formatResponse(response));
}

std::string readFile(const char* path) {
  std::ifstream in(path);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

std::expected<std::vector<std::string>, std::string> queryA(const std::string& server, const std::string& name) {
  static std::atomic<uint32_t> seed{std::random_device{}()};
  auto id = static_cast<uint16_t>(seed.fetch_add(0x9E37) * 2654435761u >> 16);
  auto query = buildAQuery(id, name);
  if (!query) return std::unexpected(query.error());
  Fd fd(::socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return std::unexpected(errnoText("socket"));
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(53);
  inet_pton(AF_INET, server.c_str(), &addr.sin_addr);
  // connect() makes the kernel drop datagrams from anyone but the server.
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return std::unexpected(errnoText("connect to nameserver " + server));
  setTimeouts(fd.get(), std::chrono::seconds(1));
  if (::send(fd.get(), query->data(), query->size(), 0) < 0)
    return std::unexpected(errnoText("send to nameserver " + server));
  char reply[1500];
  while (true) {
    ssize_t n = ::recv(fd.get(), reply, sizeof reply, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errnoText("no reply from nameserver " + server));
    auto answer = parseAResponse(std::string_view(reply, static_cast<size_t>(n)), id);
    if (!answer && answer.error() == "DNS reply to another query") continue;  // a late reply to a retry
    return answer;
  }
}

}  // namespace

std::string envOr(const char* name, std::string_view fallback) {
  const char* value = std::getenv(name);
  return value && *value ? std::string(value) : std::string(fallback);
}

Response jsonResponse(int status, std::string body) {
  return Response{status, {{"Content-Type", "application/json"}}, std::move(body)};
}

std::string serve(int port, const Handler& handler) {
  std::signal(SIGPIPE, SIG_IGN);
  std::signal(SIGTERM, [](int) { std::_Exit(0); });
  std::signal(SIGINT, [](int) { std::_Exit(0); });
  int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return errnoText("socket");
  int one = 1;
  setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(port));
  addr.sin_addr.s_addr = htonl(INADDR_ANY);
  if (::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return errnoText("bind 0.0.0.0:" + std::to_string(port));
  if (::listen(fd, 64) < 0) return errnoText("listen");
  while (true) {
    int conn = ::accept4(fd, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) {
      if (errno == EINTR || errno == ECONNABORTED || errno == EMFILE || errno == ENFILE) continue;
      return errnoText("accept");
    }
    std::thread([conn, &handler] { handleConnection(conn, handler); }).detach();
  }
}

std::expected<std::string, std::string> resolveIPv4(const std::string& host) {
  in_addr parsed;
  if (inet_pton(AF_INET, host.c_str(), &parsed) == 1) return host;
  if (host == "localhost") return std::string("127.0.0.1");
  std::vector<std::string> servers = parseResolvConf(readFile("/etc/resolv.conf"));
  if (servers.empty()) return std::unexpected("resolve " + host + ": no IPv4 nameserver in /etc/resolv.conf");
  std::string last_error;
  for (int attempt = 0; attempt < 2; ++attempt) {
    for (const auto& server : servers) {
      auto answer = queryA(server, host);
      if (answer && !answer->empty()) return answer->front();
      last_error = answer ? "no A records" : answer.error();
    }
  }
  return std::unexpected("resolve " + host + ": " + last_error);
}

std::expected<Response, std::string> httpRequest(const Url& url, std::string_view method, const Headers& headers,
                                                 std::string_view body, std::chrono::milliseconds timeout) {
  auto ip = resolveIPv4(url.host);
  if (!ip) return std::unexpected(ip.error());
  std::string where = url.host + ":" + std::to_string(url.port);
  if (*ip != url.host) where += " (" + *ip + ")";
  Fd fd(::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0));
  if (fd.get() < 0) return std::unexpected(errnoText("socket"));
  setTimeouts(fd.get(), timeout);
  sockaddr_in addr{};
  addr.sin_family = AF_INET;
  addr.sin_port = htons(static_cast<uint16_t>(url.port));
  inet_pton(AF_INET, ip->c_str(), &addr.sin_addr);
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) < 0)
    return std::unexpected(errnoText("connect to " + where));
  Headers all = headers;
  all.emplace_back("Connection", "close");
  if (!writeAll(fd.get(), formatRequest(method, url.target, url.authority(), all, body)))
    return std::unexpected(errnoText("send to " + where));
  std::string buffer;
  char chunk[16384];
  bool eof = false;
  while (true) {
    Response response;
    ParseResult parsed = parseResponse(buffer, eof, response);
    if (parsed.state == ParseState::kComplete) return response;
    if (parsed.state == ParseState::kInvalid)
      return std::unexpected("bad response from " + where + ": " + parsed.error);
    if (buffer.size() > (8u << 20)) return std::unexpected("response from " + where + " larger than 8 MiB");
    ssize_t n = ::recv(fd.get(), chunk, sizeof chunk, 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return std::unexpected(errnoText("read from " + where));
    if (n == 0) eof = true;
    buffer.append(chunk, static_cast<size_t>(n));
  }
}

}  // namespace durableai
