#include "http/server.h"

#include <mutex>

#include <boost/asio/dispatch.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/write.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

namespace berth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

constexpr size_t kChunkSize = 256 * 1024;     // streamed bodies, both ways
constexpr size_t kSmallChunk = 16 * 1024;     // bodies read whole
constexpr uint64_t kMaxLinger = 64 * 1024 * 1024;

class Connection;

// The state a ResponseStream shares between its producer (any thread) and
// its connection (the strand). The producer appends to `pending`; the
// connection takes it whole and writes it as one chunk.
class OpenStream final : public ResponseStream {
 public:
  OpenStream(std::weak_ptr<Connection> connection, std::function<void()> on_close)
      : connection_(std::move(connection)), on_close_(std::move(on_close)) {}

  bool write(std::string data) override;
  void finish() override;

  // The connection's side, on its strand.
  struct Taken {
    std::string data;
    bool finish = false;
  };
  Taken take() {
    std::lock_guard lock(mu_);
    kicked_ = false;
    Taken t;
    t.data.swap(pending_);
    t.finish = finishing_ && t.data.empty();
    return t;
  }
  // The connection ended the stream (not finish()): returns on_close, to run
  // once, if the producer had not finished.
  std::function<void()> abort() {
    std::lock_guard lock(mu_);
    pending_.clear();
    bool was_open = !ended_;
    ended_ = true;
    auto f = std::move(on_close_);
    on_close_ = nullptr;
    return was_open && !finishing_ ? std::move(f) : nullptr;
  }
  void release() {  // finished normally
    std::lock_guard lock(mu_);
    ended_ = true;
    on_close_ = nullptr;
  }

 private:
  void kickLocked();

  std::mutex mu_;
  std::weak_ptr<Connection> connection_;
  std::function<void()> on_close_;
  std::string pending_;
  bool finishing_ = false;
  bool ended_ = false;
  bool overflow_ = false;
  bool kicked_ = false;  // a pump is posted to the strand
};

// One client connection: read a request header, then its body (whole, or
// piece by piece into a BodySink), hand it to the Handler, write the answer
// (whole, or streamed from a BodySource), repeat while keep-alive holds.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Handler& handler, const ServerOptions& options,
             std::shared_ptr<std::atomic<uint64_t>> requests)
      : stream_(std::move(socket)), handler_(handler), options_(options), requests_(std::move(requests)) {
    boost::system::error_code ec;
    auto remote = stream_.socket().remote_endpoint(ec);
    if (!ec) peer_ = remote.address();
  }

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  using Parser = beast_http::request_parser<beast_http::buffer_body>;

  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options_.header_limit));
    parser_->body_limit(boost::none);  // enforced here: streamed bodies have none
    sink_.reset();
    body_.clear();
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_read_header(stream_, buffer_, *parser_,
                                  [self = shared_from_this()](beast::error_code ec, size_t) { self->onHeader(ec); });
  }

  static bool isDisconnect(beast::error_code ec) {
    return ec == beast_http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
           ec == asio::error::connection_reset || ec == asio::error::operation_aborted;
  }

  void rejectWith(beast_http::status status, std::string_view reason) {
    Response response = handler_.reject(status, reason);
    write(std::move(response), /*close_after=*/true);
  }

  void onHeader(beast::error_code ec) {
    if (isDisconnect(ec)) return close();
    if (ec) {
      beast_http::status status = beast_http::status::bad_request;
      if (ec == beast_http::error::header_limit) status = beast_http::status::request_header_fields_too_large;
      return rejectWith(status, ec.message());
    }
    const RequestHeader& header = parser_->get().base();
    head_request_ = header.method() == beast_http::verb::head;
    sink_ = handler_.streamBody(header);
    if (!sink_) {
      auto length = parser_->content_length();
      if (length && *length > options_.body_limit)
        return rejectWith(beast_http::status::payload_too_large, "body limit exceeded");
    }
    auto expect = header.find(beast_http::field::expect);
    if (expect != header.end() && beast::iequals(expect->value(), "100-continue") && !parser_->is_done()) {
      // curl and others wait for this before sending a large body.
      auto continue_line = std::make_shared<std::string>("HTTP/1.1 100 Continue\r\n\r\n");
      return asio::async_write(stream_, asio::buffer(*continue_line),
                               [self = shared_from_this(), continue_line](beast::error_code ec, size_t) {
                                 if (ec) return self->close();
                                 self->readBody();
                               });
    }
    readBody();
  }

  void readBody() {
    if (parser_->is_done()) return onBodyDone();
    size_t want = sink_ ? kChunkSize : kSmallChunk;
    if (chunk_.size() < want) chunk_.resize(want);
    chunk_used_ = want;
    auto& body = parser_->get().body();
    body.data = chunk_.data();
    body.size = want;
    // Beast reads max(512, capacity - size) bytes per recv into buffer_,
    // whose capacity is only what the header needed: a streamed body would
    // take one recv (plus epoll and timer updates) per 512 bytes. With room
    // for a chunk it reads 64 KiB at a time (push of 200 MB: 35 → 221 MB/s,
    // docs/performance.md).
    if (sink_ && buffer_.capacity() < kChunkSize) buffer_.reserve(kChunkSize);
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_read(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) { self->onBody(ec); });
  }

  void onBody(beast::error_code ec) {
    if (ec == beast_http::error::need_buffer) ec = {};
    size_t got = chunk_used_ - parser_->get().body().size;
    if (got > 0) {
      std::string_view piece(chunk_.data(), got);
      if (sink_) {
        if (auto ok = sink_->write(piece); !ok) return finishSink(ok);
      } else {
        if (body_.size() + got > options_.body_limit)
          return rejectWith(beast_http::status::payload_too_large, "body limit exceeded");
        body_.append(piece);
      }
    }
    if (ec) {
      if (sink_) return finishSink(failErrno("read request body: " + ec.message(), ec.value()));
      if (isDisconnect(ec)) return close();
      return rejectWith(beast_http::status::bad_request, ec.message());
    }
    readBody();
  }

  // The body could not be read whole: the sink answers, then we close.
  void finishSink(Status error) {
    auto sink = std::move(sink_);
    stream_.expires_never();
    sink->finish(std::move(error), responder(/*keep_alive=*/false, parser_->get().version()));
  }

  void onBodyDone() {
    requests_->fetch_add(1, std::memory_order_relaxed);
    bool keep_alive = parser_->keep_alive();
    unsigned version = parser_->get().version();
    stream_.expires_never();
    if (sink_) {
      auto sink = std::move(sink_);
      return sink->finish({}, responder(keep_alive, version));
    }
    Request request(std::move(parser_->get().base()));
    request.body() = std::move(body_);
    body_ = std::string();
    handler_.handle(std::move(request), responder(keep_alive, version));
  }

  Respond responder(bool keep_alive, unsigned version) {
    auto self = shared_from_this();
    Respond::Whole whole = [self, keep_alive, version](Response response) {
      asio::dispatch(self->stream_.get_executor(), [self, keep_alive, version, response = std::move(response)]() mutable {
        response.version(version);
        response.keep_alive(keep_alive && response.keep_alive());
        self->write(std::move(response), !response.keep_alive());
      });
    };
    Respond::Streamed streamed = [self, keep_alive, version](Response head, std::shared_ptr<BodySource> source,
                                                             uint64_t offset, uint64_t length) {
      asio::dispatch(self->stream_.get_executor(),
                     [self, keep_alive, version, head = std::move(head), source, offset, length]() mutable {
                       head.version(version);
                       head.keep_alive(keep_alive && head.keep_alive());
                       self->writeStreamed(std::move(head), std::move(source), offset, length);
                     });
    };
    Respond::Opened opened = [self, keep_alive, version](Response head, std::function<void()> on_close) {
      auto out = std::make_shared<OpenStream>(self, std::move(on_close));
      asio::dispatch(self->stream_.get_executor(), [self, keep_alive, version, head = std::move(head), out]() mutable {
        head.version(version);
        head.keep_alive(keep_alive && head.keep_alive());
        self->writeOpenHead(std::move(head), std::move(out));
      });
      return out;
    };
    Respond respond(std::move(whole), std::move(streamed), std::move(opened));
    respond.setPeer(peer_);
    return respond;
  }

 public:
  // OpenStream's producer side wants its queue sent.
  void pumpLater() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->pumpOpen(); });
  }
  // The producer queued more than ResponseStream::kMaxQueuedBytes.
  void overflowLater() {
    asio::post(stream_.get_executor(), [self = shared_from_this()] { self->abortOpen(); });
  }

 private:
  // An open stream: the header, then chunks as the producer writes, while
  // watching the socket for the client going away (a live tail's client
  // sends nothing, so a readable socket with nothing to read means EOF).
  void writeOpenHead(Response head, std::shared_ptr<OpenStream> out) {
    streamed_ = std::make_unique<beast_http::response<beast_http::buffer_body>>();
    static_cast<beast_http::response_header<>&>(*streamed_) = std::move(head.base());
    streamed_->set(beast_http::field::server, options_.server_name);
    streamed_->erase(beast_http::field::content_length);
    // HTTP/1.0 has no chunked encoding: the body ends with the connection.
    if (streamed_->version() >= 11) {
      streamed_->chunked(true);
    } else {
      streamed_->keep_alive(false);
    }
    streamed_->body().data = nullptr;
    streamed_->body().size = 0;
    streamed_->body().more = true;
    open_ = std::move(out);
    open_writing_ = true;
    ++open_generation_;
    serializer_ = std::make_unique<beast_http::response_serializer<beast_http::buffer_body>>(*streamed_);
    close_after_stream_ = !streamed_->keep_alive();
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_write_header(stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec) return self->abortOpen();
      self->open_writing_ = false;
      self->watchOpen();
      self->pumpOpen();
    });
  }

  void watchOpen() {
    stream_.socket().async_wait(tcp::socket::wait_read,
                                [self = shared_from_this(), gen = open_generation_](beast::error_code ec) {
                                  if (gen != self->open_generation_ || !self->open_) return;
                                  beast::error_code ignored;
                                  // Bytes waiting are a next request (kept for read()); none is EOF.
                                  if (!ec && self->stream_.socket().available(ignored) > 0 && !ignored) return;
                                  self->abortOpen();
                                });
  }

  void pumpOpen() {
    if (!open_ || open_writing_) return;
    auto taken = open_->take();
    auto& body = streamed_->body();
    if (!taken.data.empty()) {
      open_chunk_ = std::move(taken.data);
      body.data = open_chunk_.data();
      body.size = open_chunk_.size();
      body.more = true;
    } else if (taken.finish) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      return;
    }
    open_writing_ = true;
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_write(stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      self->open_writing_ = false;
      if (!self->open_) return;  // aborted meanwhile
      if (ec == beast_http::error::need_buffer) return self->pumpOpen();
      if (ec) return self->abortOpen();
      // The last chunk is out: the exchange is over.
      self->open_->release();
      self->open_.reset();
      ++self->open_generation_;
      self->open_chunk_ = std::string();
      self->serializer_.reset();
      self->streamed_.reset();
      if (self->close_after_stream_) return self->close();
      self->read();
    });
  }

  void abortOpen() {
    if (!open_) return;
    auto out = std::move(open_);
    ++open_generation_;
    if (auto on_close = out->abort()) on_close();
    close();
  }

  void write(Response response, bool close_after) {
    response_ = std::make_unique<Response>(std::move(response));
    if (close_after) response_->keep_alive(false);
    response_->set(beast_http::field::server, options_.server_name);
    if (head_request_) {
      // A HEAD answer carries the Content-Length of the body it does not send.
      if (!response_->has_content_length()) response_->content_length(response_->body().size());
      response_->body().clear();
    } else {
      response_->prepare_payload();
    }
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_write(stream_, *response_,
                            [self = shared_from_this(), close_after](beast::error_code ec, size_t) {
                              if (ec) return self->close();
                              if (close_after) return self->lingerThenClose();
                              self->response_.reset();
                              self->read();
                            });
  }

  // Writes `head` then `length` bytes of `source` from `offset`.
  void writeStreamed(Response head, std::shared_ptr<BodySource> source, uint64_t offset, uint64_t length) {
    streamed_ = std::make_unique<beast_http::response<beast_http::buffer_body>>();
    static_cast<beast_http::response_header<>&>(*streamed_) = std::move(head.base());
    streamed_->set(beast_http::field::server, options_.server_name);
    streamed_->content_length(length);
    streamed_->body().data = nullptr;
    streamed_->body().size = 0;
    streamed_->body().more = length > 0;
    source_ = std::move(source);
    source_offset_ = offset;
    source_left_ = length;
    serializer_ = std::make_unique<beast_http::response_serializer<beast_http::buffer_body>>(*streamed_);
    close_after_stream_ = !streamed_->keep_alive();
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_write_header(stream_, *serializer_,
                                   [self = shared_from_this()](beast::error_code ec, size_t) {
                                     if (ec) return self->close();
                                     self->writeNextPiece();
                                   });
  }

  void writeNextPiece() {
    auto& body = streamed_->body();
    if (source_left_ == 0) {
      body.data = nullptr;
      body.size = 0;
      body.more = false;
    } else {
      if (out_chunk_.size() != kChunkSize) out_chunk_.resize(kChunkSize);
      size_t want = static_cast<size_t>(std::min<uint64_t>(source_left_, out_chunk_.size()));
      auto n = source_->read(source_offset_, out_chunk_.data(), want);
      // The header promised `length` bytes; a short source can only end
      // the connection.
      if (!n || *n == 0) return close();
      source_offset_ += *n;
      source_left_ -= *n;
      body.data = out_chunk_.data();
      body.size = *n;
      body.more = true;
    }
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_write(stream_, *serializer_, [self = shared_from_this()](beast::error_code ec, size_t) {
      if (ec == beast_http::error::need_buffer) return self->writeNextPiece();
      if (ec || self->close_after_stream_) return self->close();
      self->serializer_.reset();
      self->streamed_.reset();
      self->source_.reset();
      self->read();
    });
  }

  // After an answer that ends the connection, the client may still be
  // sending a body we refused: closing with unread data would reset the
  // connection and could destroy the answer before the client reads it. So
  // stop sending, then read and drop what comes (a few seconds, 64 MiB at
  // most) before closing (Apache's "lingering close").
  void lingerThenClose() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.expires_after(std::chrono::seconds(5));
    if (chunk_.size() < kSmallChunk) chunk_.resize(kSmallChunk);
    stream_.async_read_some(asio::buffer(chunk_.data(), kSmallChunk),
                            [self = shared_from_this()](beast::error_code ec, size_t n) {
                              self->lingered_ += n;
                              if (ec || self->lingered_ > kMaxLinger) return self->close();
                              self->lingerThenClose();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  asio::ip::address peer_;  // who connected; unspecified if unknown
  Handler& handler_;
  const ServerOptions& options_;
  std::shared_ptr<std::atomic<uint64_t>> requests_;
  std::optional<Parser> parser_;
  std::unique_ptr<BodySink> sink_;
  std::string body_;      // a whole body being read
  std::vector<char> chunk_;  // the read buffer for body pieces
  size_t chunk_used_ = 0;
  bool head_request_ = false;
  uint64_t lingered_ = 0;
  std::unique_ptr<Response> response_;
  // A streamed response in progress.
  std::unique_ptr<beast_http::response<beast_http::buffer_body>> streamed_;
  std::unique_ptr<beast_http::response_serializer<beast_http::buffer_body>> serializer_;
  std::shared_ptr<BodySource> source_;
  uint64_t source_offset_ = 0;
  uint64_t source_left_ = 0;
  bool close_after_stream_ = false;
  std::vector<char> out_chunk_;
  // An open stream in progress (shares streamed_ and serializer_).
  std::shared_ptr<OpenStream> open_;
  std::string open_chunk_;  // being written
  bool open_writing_ = false;
  uint64_t open_generation_ = 0;  // tells a stale socket watch from the current one
};

bool OpenStream::write(std::string data) {
  std::lock_guard lock(mu_);
  if (ended_ || finishing_ || overflow_) return false;
  if (pending_.size() + data.size() > kMaxQueuedBytes) {
    // The client reads too slowly: end the stream rather than grow without
    // bound (the connection aborts it, and on_close runs).
    overflow_ = true;
    pending_.clear();
    if (auto c = connection_.lock()) c->overflowLater();
    return false;
  }
  pending_ += data;
  kickLocked();
  return true;
}

void OpenStream::finish() {
  std::lock_guard lock(mu_);
  if (ended_ || finishing_) return;
  finishing_ = true;
  kickLocked();
}

void OpenStream::kickLocked() {
  if (kicked_) return;
  kicked_ = true;
  if (auto c = connection_.lock()) c->pumpLater();
}

// A Respond without a streaming path: the body is collected and sent whole.
class CollectedStream final : public ResponseStream {
 public:
  CollectedStream(Response head, Respond::Whole whole) : head_(std::move(head)), whole_(std::move(whole)) {}
  bool write(std::string data) override {
    std::lock_guard lock(mu_);
    if (done_) return false;
    head_.body() += data;
    return true;
  }
  void finish() override {
    std::lock_guard lock(mu_);
    if (done_) return;
    done_ = true;
    whole_(std::move(head_));
  }

 private:
  std::mutex mu_;
  Response head_;
  Respond::Whole whole_;
  bool done_ = false;
};

}  // namespace

std::unique_ptr<BodySink> Handler::streamBody(const RequestHeader&) { return nullptr; }

void Respond::stream(Response head, std::shared_ptr<BodySource> source, uint64_t offset, uint64_t length) const {
  if (streamed_) return streamed_(std::move(head), std::move(source), offset, length);
  std::string body;
  std::vector<char> buf(kChunkSize);
  while (length > 0) {
    auto n = source->read(offset, buf.data(), static_cast<size_t>(std::min<uint64_t>(length, buf.size())));
    if (!n || *n == 0) break;
    body.append(buf.data(), *n);
    offset += *n;
    length -= *n;
  }
  head.body() = std::move(body);
  whole_(std::move(head));
}

std::shared_ptr<ResponseStream> Respond::open(Response head, std::function<void()> on_close) const {
  if (opened_) return opened_(std::move(head), std::move(on_close));
  return std::make_shared<CollectedStream>(std::move(head), whole_);
}

Response Handler::reject(beast_http::status status, std::string_view reason) {
  Response response{status, 11};
  response.set(beast_http::field::content_type, "text/plain");
  response.body() = std::string(reason);
  return response;
}

Server::Server(asio::io_context& io, Handler& handler, ServerOptions options)
    : io_(io), handler_(handler), options_(std::move(options)), acceptor_(asio::make_strand(io)),
      requests_(std::make_shared<std::atomic<uint64_t>>(0)) {}

Server::~Server() {
  beast::error_code ignored;
  acceptor_.close(ignored);
}

Result<tcp::endpoint> Server::listen(const std::string& host, uint16_t port) {
  beast::error_code ec;
  auto address = asio::ip::make_address(host, ec);
  if (ec) return fail(ErrorCode::kInvalidArgument, "invalid listen address '" + host + "'");
  tcp::endpoint endpoint{address, port};
  acceptor_.open(endpoint.protocol(), ec);
  if (!ec) acceptor_.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec) acceptor_.bind(endpoint, ec);
  if (!ec) acceptor_.listen(asio::socket_base::max_listen_connections, ec);
  if (ec) return failErrno("listen on " + host + ":" + std::to_string(port), ec.value());
  auto bound = acceptor_.local_endpoint(ec);
  if (ec) return failErrno("getsockname", ec.value());
  accept();
  return bound;
}

void Server::stop() {
  asio::dispatch(acceptor_.get_executor(), [this] {
    beast::error_code ignored;
    acceptor_.close(ignored);
  });
}

void Server::accept() {
  acceptor_.async_accept(asio::make_strand(io_), [this](beast::error_code ec, tcp::socket socket) {
    if (ec == asio::error::operation_aborted) return;
    if (!ec) {
      socket.set_option(tcp::no_delay(true), ec);
      std::make_shared<Connection>(std::move(socket), handler_, options_, requests_)->start();
    }
    if (acceptor_.is_open()) accept();
  });
}

}  // namespace berth::http
