// An HTTP/1.1 server on Boost.Beast: keep-alive, header and body limits,
// idle timeouts. It knows nothing about AWS; a Handler decides what every
// request means.
//
// Threads: the server runs on the io_context it is given, which may be run
// by several threads; each connection is serialized on its own strand. A
// Handler is called on a connection's strand and must answer through the
// Respond callback exactly once, from any thread.
//
// Large bodies (registry blob uploads and downloads) are streamed: a Handler
// may claim a request by its header (streamBody) and then receives the body
// in pieces through a BodySink, with no size limit; and a response body may
// come from a BodySource, read piece by piece as the socket drains. Every
// other request is read whole, up to ServerOptions::body_limit.
//
// Long-lived answers (event streams) open a ResponseStream: the handler
// writes the body over time, sent with chunked transfer encoding.
#pragma once

#include <atomic>
#include <chrono>
#include <functional>
#include <memory>
#include <string>
#include <type_traits>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/http.hpp>

#include "common/result.h"

namespace berth::http {

namespace beast_http = boost::beast::http;
using Request = beast_http::request<beast_http::string_body>;
using Response = beast_http::response<beast_http::string_body>;
using RequestHeader = beast_http::request_header<>;

// A response body too large to hold in memory (a blob). read() is called on
// the connection's strand, in order; it may block briefly (file reads).
class BodySource {
 public:
  virtual ~BodySource() = default;
  // Reads up to `n` bytes at `offset` into `out`; 0 only at the end.
  virtual Result<size_t> read(uint64_t offset, char* out, size_t n) = 0;
};

// A response body that its producer writes over time (an event stream),
// sent with chunked transfer encoding (to an HTTP/1.0 client: unframed, the
// connection closing ends it). Thread-safe: any thread may write.
//
// The stream ends once: by finish(), or by the connection (the client
// disconnected, a write failed, or the client reads too slowly and more than
// kMaxQueuedBytes wait to be sent). In the latter case the connection is
// closed and the `on_close` given to Respond::open() runs once, on the
// connection's strand; it must not block. Either way write() returns false
// from then on, and the connection holds nothing of the producer's.
class ResponseStream {
 public:
  static constexpr size_t kMaxQueuedBytes = 16 * 1024 * 1024;
  virtual ~ResponseStream() = default;
  // Queues `data` to be sent; false once the stream has ended.
  virtual bool write(std::string data) = 0;
  // Ends the body after what is queued; the connection then reads its next
  // request if keep-alive holds. No effect once the stream has ended.
  virtual void finish() = 0;
};

// How a handler answers: once, from any thread, with a whole Response, with
// a header plus a body streamed from a BodySource, or with a header plus a
// ResponseStream.
class Respond {
 public:
  using Whole = std::function<void(Response)>;
  using Streamed = std::function<void(Response, std::shared_ptr<BodySource>, uint64_t, uint64_t)>;
  using Opened = std::function<std::shared_ptr<ResponseStream>(Response, std::function<void()>)>;

  Respond() = default;
  template <typename F>
    requires std::is_invocable_v<F&, Response> && (!std::is_same_v<std::decay_t<F>, Respond>)
  Respond(F f) : whole_(std::move(f)) {}  // NOLINT: implicit, as std::function is
  Respond(Whole whole, Streamed streamed) : whole_(std::move(whole)), streamed_(std::move(streamed)) {}
  Respond(Whole whole, Streamed streamed, Opened opened)
      : whole_(std::move(whole)), streamed_(std::move(streamed)), opened_(std::move(opened)) {}

  void operator()(Response response) const { whole_(std::move(response)); }
  // Answers with `head`'s status and headers and `length` bytes of `source`
  // from `offset` as the body (Content-Length is set here). Without a
  // streaming path (a Respond made from a plain function), the body is read
  // into memory and sent whole.
  void stream(Response head, std::shared_ptr<BodySource> source, uint64_t offset, uint64_t length) const;
  // Answers with `head`'s status and headers now and a body written through
  // the returned stream (Content-Length and Transfer-Encoding are set here).
  // `on_close` runs if the connection ends the stream (see ResponseStream).
  // Without a streaming path (a Respond made from a plain function), the
  // body is collected and sent whole at finish().
  std::shared_ptr<ResponseStream> open(Response head, std::function<void()> on_close) const;
  explicit operator bool() const { return static_cast<bool>(whole_); }

  // The address the request came from; unspecified for a Respond made from
  // a plain function.
  const boost::asio::ip::address& peer() const { return peer_; }
  void setPeer(boost::asio::ip::address peer) { peer_ = std::move(peer); }

 private:
  boost::asio::ip::address peer_;
  Whole whole_;
  Streamed streamed_;
  Opened opened_;
};

// Receives the body of a request claimed by Handler::streamBody.
class BodySink {
 public:
  virtual ~BodySink() = default;
  // The next piece of the body, in order, on the connection's strand. A
  // failed Status stops reading: finish() follows with that error.
  virtual Status write(std::string_view piece) = 0;
  // Called once, on the connection's strand: after the whole body (`body`
  // ok), or when the body could not be read or write() failed (`body` says
  // why; the connection closes after the answer). Must answer through
  // `respond` exactly once, from any thread.
  virtual void finish(Status body, Respond respond) = 0;
};

class Handler {
 public:
  virtual ~Handler() = default;
  virtual void handle(Request request, Respond respond) = 0;
  // Called with each request's header before its body is read. Returning a
  // sink claims the request: its body goes to the sink (any size), and
  // handle() is not called. nullptr (the default) reads the body whole.
  virtual std::unique_ptr<BodySink> streamBody(const RequestHeader& header);
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
