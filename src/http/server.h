// An HTTP/1.1 server on Boost.Beast: keep-alive, header and body limits,
// idle timeouts. It knows nothing about AWS; a Handler decides what every
// request means.
//
// Threads: the server runs on the io_context it is given, which may be run
// by several threads; each connection is serialized on its own strand. A
// Handler is called on a connection's strand and must answer through the
// Respond callback exactly once, from any thread.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "common/result.h"

namespace berth::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using Respond = std::function<void(Response)>;

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(Request request, Respond respond) = 0;
  // The answer to a request the server refuses before it reaches handle():
  // 413 (body over the limit), 431 (headers over the limit), 400 (garbled).
  // The connection is closed after it.
  virtual Response reject(beast_http::status status, std::string_view reason);
};

struct ServerOptions {
  size_t header_limit = 64 * 1024;
  size_t body_limit = 10 * 1024 * 1024;
  std::chrono::seconds idle_timeout{120};
  std::string server_name = "berth";
};

class Server {
 public:
  Server(boost::asio::io_context& io, Handler& handler, ServerOptions options = {});
  ~Server();

  // Binds and starts accepting. Port 0 picks a free port; the bound endpoint
  // is returned.
  Result<boost::asio::ip::tcp::endpoint> listen(const std::string& host, uint16_t port);
  // Stops accepting; open connections finish their current request.
  void stop();

  uint64_t requestsServed() const { return requests_->load(std::memory_order_relaxed); }

 private:
  void accept();

  boost::asio::io_context& io_;
  Handler& handler_;
  ServerOptions options_;
  boost::asio::ip::tcp::acceptor acceptor_;
  std::shared_ptr<std::atomic<uint64_t>> requests_;
};

}  // namespace berth::http
