// Streamed bodies both ways: a claimed request's body arrives in pieces with
// no size limit, a truncated one ends in finish() with an error, and a
// response body streams from a BodySource.
#include <thread>

#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/write.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <gtest/gtest.h>

#include "http/server.h"

namespace berth::http {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
using tcp = asio::ip::tcp;

struct SinkLog {
  std::atomic<int> pieces{0};
  std::atomic<uint64_t> bytes{0};
  std::atomic<int> finished_ok{0};
  std::atomic<int> finished_error{0};
  std::atomic<size_t> largest_piece{0};
};

class CountingSink : public BodySink {
 public:
  explicit CountingSink(SinkLog& log) : log_(log) {}
  Status write(std::string_view piece) override {
    ++log_.pieces;
    log_.bytes += piece.size();
    if (piece.size() > log_.largest_piece) log_.largest_piece = piece.size();
    return {};
  }
  void finish(Status body, Respond respond) override {
    (body ? log_.finished_ok : log_.finished_error)++;
    Response r{beast_http::status::created, 11};
    r.body() = std::to_string(log_.bytes.load());
    respond(std::move(r));
  }

 private:
  SinkLog& log_;
};

class PatternSource : public BodySource {
 public:
  Result<size_t> read(uint64_t offset, char* out, size_t n) override {
    for (size_t i = 0; i < n; ++i) out[i] = static_cast<char>('a' + (offset + i) % 26);
    return n;
  }
};

class StreamingHandler : public Handler {
 public:
  void handle(Request request, Respond respond) override {
    if (request.target() == "/download") {
      Response head{beast_http::status::ok, 11};
      return respond.stream(std::move(head), std::make_shared<PatternSource>(), 3, kDownload);
    }
    Response r{beast_http::status::ok, 11};
    r.body() = "whole:" + std::to_string(request.body().size());
    respond(std::move(r));
  }
  std::unique_ptr<BodySink> streamBody(const RequestHeader& header) override {
    if (!header.target().starts_with("/stream")) return nullptr;
    return std::make_unique<CountingSink>(log);
  }
  static constexpr uint64_t kDownload = 5 * 1024 * 1024 + 7;
  SinkLog log;
};

class ServerStreamTest : public ::testing::Test {
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

  asio::io_context io_;
  asio::io_context client_io_;
  StreamingHandler handler_;
  std::unique_ptr<Server> server_;
  uint16_t port_ = 0;
  std::thread thread_;
};

TEST_F(ServerStreamTest, ClaimedBodyStreamsPastTheLimitInPieces) {
  auto s = connect();
  beast::flat_buffer buffer;
  const size_t size = 20 * 1024 * 1024;
  beast_http::request<beast_http::string_body> req{beast_http::verb::put, "/stream/blob", 11};
  req.set(beast_http::field::host, "x");
  req.body() = std::string(size, 'q');
  req.prepare_payload();
  beast_http::write(s, req);
  beast_http::response<beast_http::string_body> res;
  beast_http::read(s, buffer, res);
  EXPECT_EQ(res.result(), beast_http::status::created);
  EXPECT_EQ(res.body(), std::to_string(size));
  EXPECT_EQ(handler_.log.bytes.load(), size);
  EXPECT_GT(handler_.log.pieces.load(), 10);           // never one buffer of it all
  EXPECT_LE(handler_.log.largest_piece.load(), 1u << 20);
  EXPECT_EQ(handler_.log.finished_ok.load(), 1);

  // The connection stays usable, and unclaimed requests keep the limit.
  req.target("/other");
  req.body() = "small";
  req.prepare_payload();
  beast_http::write(s, req);
  beast_http::response<beast_http::string_body> res2;
  beast_http::read(s, buffer, res2);
  EXPECT_EQ(res2.body(), "whole:5");
}

TEST_F(ServerStreamTest, ChunkedTransferEncodingStreams) {
  auto s = connect();
  std::string raw = "PATCH /stream/x HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
  asio::write(s, asio::buffer(raw));
  beast::flat_buffer buffer;
  beast_http::response<beast_http::string_body> res;
  beast_http::read(s, buffer, res);
  EXPECT_EQ(res.result(), beast_http::status::created);
  EXPECT_EQ(res.body(), "11");
}

TEST_F(ServerStreamTest, TruncatedBodyEndsWithAnError) {
  {
    auto s = connect();
    std::string raw = "PUT /stream/x HTTP/1.1\r\nHost: x\r\nContent-Length: 100000\r\n\r\n" + std::string(5000, 'a');
    asio::write(s, asio::buffer(raw));
    s.shutdown(tcp::socket::shutdown_send);
    beast::flat_buffer buffer;
    beast_http::response<beast_http::string_body> res;
    beast::error_code ec;
    beast_http::read(s, buffer, res, ec);  // the answer, or a closed socket
  }
  for (int i = 0; i < 200 && handler_.log.finished_error.load() == 0; ++i)
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
  EXPECT_EQ(handler_.log.finished_error.load(), 1);
  EXPECT_EQ(handler_.log.finished_ok.load(), 0);
}

TEST_F(ServerStreamTest, UnclaimedBodyOverTheLimitIsRefusedByContentLength) {
  auto s = connect();
  std::string raw = "POST /other HTTP/1.1\r\nHost: x\r\nContent-Length: 5000000\r\n\r\n";
  asio::write(s, asio::buffer(raw));
  beast::flat_buffer buffer;
  beast_http::response<beast_http::string_body> res;
  beast_http::read(s, buffer, res);
  EXPECT_EQ(res.result(), beast_http::status::payload_too_large);
}

TEST_F(ServerStreamTest, ExpectContinueIsAnswered) {
  auto s = connect();
  std::string head = "PUT /stream/x HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nExpect: 100-continue\r\n\r\n";
  asio::write(s, asio::buffer(head));
  beast::flat_buffer buffer;
  beast_http::response_parser<beast_http::empty_body> interim;
  beast_http::read_header(s, buffer, interim);
  EXPECT_EQ(interim.get().result(), beast_http::status::continue_);
  asio::write(s, asio::buffer(std::string("body")));
  beast_http::response<beast_http::string_body> res;
  beast_http::read(s, buffer, res);
  EXPECT_EQ(res.result(), beast_http::status::created);
  EXPECT_EQ(res.body(), "4");
}

TEST_F(ServerStreamTest, ResponseBodyStreamsFromASource) {
  auto s = connect();
  beast::flat_buffer buffer;
  for (int round = 0; round < 2; ++round) {  // and keep-alive holds after it
    beast_http::request<beast_http::empty_body> req{beast_http::verb::get, "/download", 11};
    req.set(beast_http::field::host, "x");
    beast_http::write(s, req);
    beast_http::response_parser<beast_http::string_body> parser;
    parser.body_limit(64 * 1024 * 1024);
    beast_http::read(s, buffer, parser);
    auto& res = parser.get();
    ASSERT_EQ(res.result(), beast_http::status::ok);
    ASSERT_EQ(res.body().size(), StreamingHandler::kDownload);
    EXPECT_EQ(res.body()[0], 'd');  // offset 3
    EXPECT_EQ(res.body()[26], 'd');
    EXPECT_TRUE(res.keep_alive());
  }
}

}  // namespace
}  // namespace berth::http
