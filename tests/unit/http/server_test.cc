// The HTTP server over real loopback sockets: keep-alive, limits, and a
// handler answering from another thread.
#include "http/server.h"

#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace berth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class EchoHandler : public Handler {
 public:
  void handle(Request request, Respond respond) override {
    ++calls;
    // Answer from another thread, as the control plane does.
    std::thread([request = std::move(request), respond = std::move(respond)]() mutable {
      Response r{beast_http::status::ok, 11};
      r.body() = std::string(request.target()) + ":" + request.body();
      respond(std::move(r));
    }).detach();
  }
  std::atomic<int> calls{0};
};

class ServerTest : public ::testing::Test {
 protected:
  void SetUp() override {
    ServerOptions options;
    options.body_limit = 1024;
    server_ = std::make_unique<Server>(io_, handler_, options);
    auto bound = server_->listen("127.0.0.1", 0);
    ASSERT_TRUE(bound);
    port_ = bound->port();
    thread_ = std::thread([this] { io_.run(); });
  }
  void TearDown() override {
    server_->stop();
    io_.stop();
    thread_.join();
  }

  tcp::socket connect() {
    tcp::socket s(client_io_);
    s.connect({asio::ip::make_address("127.0.0.1"), port_});
    return s;
  }

  static beast_http::response<beast_http::string_body> roundTrip(tcp::socket& s, beast::flat_buffer& buffer,
                                                                 const std::string& target, const std::string& body) {
    beast_http::request<beast_http::string_body> req{beast_http::verb::post, target, 11};
    req.set(beast_http::field::host, "x");
    req.body() = body;
    req.prepare_payload();
    beast_http::write(s, req);
    beast_http::response<beast_http::string_body> res;
    beast_http::read(s, buffer, res);
    return res;
  }

  asio::io_context io_;
  asio::io_context client_io_;
  EchoHandler handler_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ServerTest, ServesManyRequestsOnOneConnection) {
  auto s = connect();
  beast::flat_buffer buffer;
  for (int i = 0; i < 50; ++i) {
    auto res = roundTrip(s, buffer, "/t" + std::to_string(i), "b");
    ASSERT_EQ(res.result(), beast_http::status::ok);
    EXPECT_EQ(res.body(), "/t" + std::to_string(i) + ":b");
    EXPECT_TRUE(res.keep_alive());
  }
  EXPECT_EQ(handler_.calls.load(), 50);
}

TEST_F(ServerTest, OversizedBodyGets413AndTheServerKeepsServing) {
  auto s = connect();
  beast::flat_buffer buffer;
  auto res = roundTrip(s, buffer, "/big", std::string(4096, 'x'));
  EXPECT_EQ(res.result(), beast_http::status::payload_too_large);
  EXPECT_FALSE(res.keep_alive());
  EXPECT_EQ(handler_.calls.load(), 0);

  auto s2 = connect();
  beast::flat_buffer buffer2;
  EXPECT_EQ(roundTrip(s2, buffer2, "/ok", "small").result(), beast_http::status::ok);
}

TEST_F(ServerTest, GarbageGets400) {
  auto s = connect();
  asio::write(s, asio::buffer(std::string("NOT HTTP AT ALL\r\n\r\n")));
  beast::flat_buffer buffer;
  beast_http::response<beast_http::string_body> res;
  beast_http::read(s, buffer, res);
  EXPECT_EQ(res.result(), beast_http::status::bad_request);
}

}  // namespace
}  // namespace berth::http
