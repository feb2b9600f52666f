// Responses written over time (ResponseStream): chunked on the wire,
// keep-alive after finish(), on_close when the client goes away, unframed for
// HTTP/1.0, and collected whole for a Respond without a streaming path.
#include <atomic>
#include <thread>

#include <gtest/gtest.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/read.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "http/server.h"

namespace berth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

class OpeningHandler : public Handler {
 public:
  void handle(Request request, Respond respond) override {
    Response head{beast_http::status::ok, 11};
    head.set(beast_http::field::content_type, "application/vnd.amazon.eventstream");
    if (request.target() == "/finite") {
      auto out = respond.open(std::move(head), [this] { ++closed; });
      // From another thread, as a producer on a pool would.
      std::thread([out] {
        out->write("one,");
        out->write("two,");
        out->write("three");
        out->finish();
        EXPECT_FALSE(out->write("late"));
      }).detach();
      return;
    }
    if (request.target() == "/endless") {
      auto out = respond.open(std::move(head), [this] { ++closed; });
      out->write("first");
      std::lock_guard lock(mu);
      endless = out;
      return;
    }
    Response r{beast_http::status::ok, 11};
    r.body() = "plain";
    respond(std::move(r));
  }
  std::atomic<int> closed{0};
  std::mutex mu;
  std::shared_ptr<ResponseStream> endless;
};

class ResponseStreamTest : public ::testing::Test {
 protected:
  void SetUp() override {
    server_ = std::make_unique<Server>(io_, handler_);
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
  static void get(tcp::socket& s, const char* target, unsigned version = 11) {
    beast_http::request<beast_http::empty_body> req{beast_http::verb::get, target, version};
    req.set(beast_http::field::host, "x");
    beast_http::write(s, req);
  }

  asio::io_context io_;
  asio::io_context client_io_;
  OpeningHandler handler_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ResponseStreamTest, ChunkedBodyThenKeepAlive) {
  auto s = connect();
  beast::flat_buffer buffer;
  get(s, "/finite");
  beast_http::response<beast_http::string_body> res;
  beast_http::read(s, buffer, res);
  EXPECT_EQ(res.result(), beast_http::status::ok);
  EXPECT_TRUE(res.chunked());
  EXPECT_EQ(res[beast_http::field::content_type], "application/vnd.amazon.eventstream");
  EXPECT_EQ(res.body(), "one,two,three");
  EXPECT_TRUE(res.keep_alive());
  // The same connection serves the next request.
  get(s, "/plain");
  beast_http::response<beast_http::string_body> res2;
  beast_http::read(s, buffer, res2);
  EXPECT_EQ(res2.body(), "plain");
  EXPECT_EQ(handler_.closed.load(), 0);  // finish() is not a close
}

TEST_F(ResponseStreamTest, ClientDisconnectRunsOnCloseOnceAndStopsWrites) {
  {
    auto s = connect();
    get(s, "/endless");
    beast::flat_buffer buffer;
    beast_http::response_parser<beast_http::string_body> parser;
    beast_http::read_header(s, buffer, parser);
    EXPECT_TRUE(parser.get().chunked());
    // Close without reading on: the server sees EOF on its idle socket.
  }
  for (int i = 0; i < 400 && handler_.closed.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(handler_.closed.load(), 1);
  std::shared_ptr<ResponseStream> out;
  {
    std::lock_guard lock(handler_.mu);
    out = handler_.endless;
  }
  ASSERT_TRUE(out);
  EXPECT_FALSE(out->write("more"));
  out->finish();  // harmless
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
  EXPECT_EQ(handler_.closed.load(), 1);
}

TEST_F(ResponseStreamTest, ProducerOutpacingTheClientIsCutOff) {
  auto s = connect();
  get(s, "/endless");
  std::shared_ptr<ResponseStream> out;
  for (int i = 0; i < 400 && !out; ++i) {
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    std::lock_guard lock(handler_.mu);
    out = handler_.endless;
  }
  ASSERT_TRUE(out);
  // The client reads nothing; the socket buffers fill, then the queue.
  std::string piece(1 << 20, 'z');
  bool refused = false;
  for (int i = 0; i < 200 && !refused; ++i) refused = !out->write(piece);
  EXPECT_TRUE(refused);
  for (int i = 0; i < 400 && handler_.closed.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(handler_.closed.load(), 1);
}

TEST_F(ResponseStreamTest, Http10BodyEndsWithTheConnection) {
  auto s = connect();
  get(s, "/finite", 10);
  std::string raw;
  beast::error_code ec;
  asio::read(s, asio::dynamic_buffer(raw), ec);  // to EOF
  EXPECT_EQ(ec, asio::error::eof);
  EXPECT_EQ(raw.find("Transfer-Encoding"), std::string::npos);
  EXPECT_TRUE(raw.ends_with("\r\n\r\none,two,three")) << raw;
}

TEST(RespondTest, WithoutAStreamingPathTheBodyIsCollected) {
  Response got;
  int calls = 0;
  Respond respond([&](Response r) {
    got = std::move(r);
    ++calls;
  });
  auto out = respond.open(Response{beast_http::status::ok, 11}, [] { FAIL() << "no connection to close"; });
  EXPECT_TRUE(out->write("a"));
  EXPECT_TRUE(out->write("b"));
  EXPECT_EQ(calls, 0);
  out->finish();
  EXPECT_EQ(calls, 1);
  EXPECT_EQ(got.body(), "ab");
  EXPECT_FALSE(out->write("c"));
}

}  // namespace
}  // namespace berth::http
