#include "http/server.h"

#include <boost/asio/dispatch.hpp>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>

namespace berth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

// One client connection: read a request, hand it to the Handler, write the
// answer, repeat while keep-alive holds.
class Connection : public std::enable_shared_from_this<Connection> {
 public:
  Connection(tcp::socket socket, Handler& handler, const ServerOptions& options,
             std::shared_ptr<std::atomic<uint64_t>> requests)
      : stream_(std::move(socket)), handler_(handler), options_(options), requests_(std::move(requests)) {}

  void start() {
    asio::dispatch(stream_.get_executor(), [self = shared_from_this()] { self->read(); });
  }

 private:
  void read() {
    parser_.emplace();
    parser_->header_limit(static_cast<uint32_t>(options_.header_limit));
    parser_->body_limit(options_.body_limit);
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_read(stream_, buffer_, *parser_,
                           [self = shared_from_this()](beast::error_code ec, size_t) { self->onRead(ec); });
  }

  void onRead(beast::error_code ec) {
    if (ec == beast_http::error::end_of_stream || ec == beast::error::timeout || ec == asio::error::eof ||
        ec == asio::error::connection_reset || ec == asio::error::operation_aborted) {
      return close();
    }
    if (ec) {
      beast_http::status status = beast_http::status::bad_request;
      if (ec == beast_http::error::body_limit) status = beast_http::status::payload_too_large;
      if (ec == beast_http::error::header_limit) status = beast_http::status::request_header_fields_too_large;
      Response response = handler_.reject(status, ec.message());
      return write(std::move(response), /*close_after=*/true);
    }
    requests_->fetch_add(1, std::memory_order_relaxed);
    Request request = parser_->release();
    bool keep_alive = request.keep_alive();
    unsigned version = request.version();
    stream_.expires_never();
    auto self = shared_from_this();
    handler_.handle(std::move(request), [self, keep_alive, version](Response response) {
      asio::dispatch(self->stream_.get_executor(), [self, keep_alive, version, response = std::move(response)]() mutable {
        response.version(version);
        response.keep_alive(keep_alive && response.keep_alive());
        self->write(std::move(response), !response.keep_alive());
      });
    });
  }

  void write(Response response, bool close_after) {
    response_ = std::make_unique<Response>(std::move(response));
    if (close_after) response_->keep_alive(false);
    response_->set(beast_http::field::server, options_.server_name);
    response_->prepare_payload();
    stream_.expires_after(options_.idle_timeout);
    beast_http::async_write(stream_, *response_,
                            [self = shared_from_this(), close_after](beast::error_code ec, size_t) {
                              if (ec || close_after) return self->close();
                              self->response_.reset();
                              self->read();
                            });
  }

  void close() {
    beast::error_code ignored;
    stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
    stream_.close();
  }

  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  Handler& handler_;
  const ServerOptions& options_;
  std::shared_ptr<std::atomic<uint64_t>> requests_;
  std::optional<beast_http::request_parser<beast_http::string_body>> parser_;
  std::unique_ptr<Response> response_;
};

}  // namespace

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
