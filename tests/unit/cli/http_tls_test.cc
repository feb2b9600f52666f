// HttpClient over TLS against a local HTTPS server (a Boost.Beast thread on
// 127.0.0.1, port 0) whose throwaway CA and "localhost" certificate the
// openssl command makes in a temporary directory at test time.
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <thread>

#include <fmt/format.h>
#include <gtest/gtest.h>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include "cli/http_client.h"

namespace berth::cli {
namespace {

namespace asio = boost::asio;
namespace bh = boost::beast::http;
namespace ssl = asio::ssl;
namespace fs = std::filesystem;
using tcp = asio::ip::tcp;

constexpr size_t kDownloadSize = 300000;

// A CA and a server certificate for DNS:localhost only (no IP address).
class Certificates {
 public:
  Certificates() {
    dir_ = fs::temp_directory_path() / fmt::format("berth-tls-test-{}", ::getpid());
    fs::create_directories(dir_);
    std::ofstream(dir_ / "server.ext") << "subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\n"
                                          "extendedKeyUsage=serverAuth\n";
    std::string d = dir_.string();
    std::string key = "-newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes";
    ok_ = run(fmt::format("openssl req -x509 {} -keyout {}/ca.key -out {}/ca.pem -days 1 -subj /CN=berth-test-ca", key,
                          d, d)) &&
          run(fmt::format("openssl req {} -keyout {}/server.key -out {}/server.csr -subj /CN=localhost", key, d, d)) &&
          run(fmt::format("openssl x509 -req -in {}/server.csr -CA {}/ca.pem -CAkey {}/ca.key -CAcreateserial "
                          "-days 1 -extfile {}/server.ext -out {}/server.pem",
                          d, d, d, d, d));
  }
  ~Certificates() {
    std::error_code ec;
    fs::remove_all(dir_, ec);
  }
  bool ok() const { return ok_; }
  std::string path(const char* name) const { return (dir_ / name).string(); }
  const fs::path& dir() const { return dir_; }

 private:
  static bool run(const std::string& command) { return std::system((command + " >/dev/null 2>&1").c_str()) == 0; }
  fs::path dir_;
  bool ok_ = false;
};

// Answers every request with "METHOD TARGET HOST BODY-SIZE", except GET
// /download: kDownloadSize bytes. One connection at a time, kept alive.
class TlsServer {
 public:
  explicit TlsServer(const Certificates& certs) {
    context_.use_certificate_chain_file(certs.path("server.pem"));
    context_.use_private_key_file(certs.path("server.key"), ssl::context::pem);
    acceptor_.open(tcp::v4());
    acceptor_.bind({asio::ip::make_address("127.0.0.1"), 0});
    acceptor_.listen();
    port_ = acceptor_.local_endpoint().port();
    thread_ = std::thread([this] { serve(); });
  }
  ~TlsServer() {
    stop_ = true;
    boost::system::error_code ec;
    tcp::socket wake(io_);
    wake.connect({asio::ip::make_address("127.0.0.1"), port_}, ec);
    thread_.join();
  }
  uint16_t port() const { return port_; }
  int connections() const { return connections_; }

 private:
  void serve() {
    for (;;) {
      boost::system::error_code ec;
      tcp::socket socket(io_);
      acceptor_.accept(socket, ec);
      if (stop_) return;
      if (ec) continue;
      ++connections_;
      ssl::stream<tcp::socket> stream(std::move(socket), context_);
      stream.handshake(ssl::stream_base::server, ec);
      if (ec) continue;  // the client refused the certificate
      boost::beast::flat_buffer buffer;
      for (;;) {
        bh::request<bh::string_body> req;
        bh::read(stream, buffer, req, ec);
        if (ec) break;
        bh::response<bh::string_body> res{bh::status::ok, 11};
        if (req.target() == "/download") {
          res.body() = std::string(kDownloadSize, 'd');
        } else {
          res.body() = fmt::format("{} {} {} {}", std::string(req.method_string()), std::string(req.target()),
                                   std::string(req[bh::field::host]), req.body().size());
        }
        res.keep_alive(true);
        res.prepare_payload();
        bh::write(stream, res, ec);
        if (ec) break;
      }
    }
  }

  asio::io_context io_;
  ssl::context context_{ssl::context::tls_server};
  tcp::acceptor acceptor_{io_};
  uint16_t port_ = 0;
  std::atomic<bool> stop_ = false;
  std::atomic<int> connections_ = 0;
  std::thread thread_;
};

class HttpTlsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    if (!certs_.ok()) GTEST_SKIP() << "the openssl command could not make test certificates";
    server_ = std::make_unique<TlsServer>(certs_);
  }
  Endpoint endpoint(const char* host) {
    auto e = parseEndpoint(fmt::format("https://{}:{}", host, server_->port()));
    EXPECT_TRUE(e);
    return *e;
  }

  Certificates certs_;
  std::unique_ptr<TlsServer> server_;
};

TEST_F(HttpTlsTest, TrustsTheCaBundle) {
  HttpClient http(endpoint("localhost"), certs_.path("ca.pem"));
  auto r = http.request("POST", "/hello", {{"X-Test", "1"}}, "body");
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
  EXPECT_EQ(r->body, fmt::format("POST /hello localhost:{} 4", server_->port()));

  // File bodies stream over TLS both ways, on the same kept-alive connection.
  fs::path upload = certs_.dir() / "upload.bin";
  std::ofstream(upload) << std::string(1 << 20, 'u');
  auto up = http.requestWithFile("PUT", "/upload", {}, upload);
  ASSERT_TRUE(up) << up.error().message;
  EXPECT_EQ(up->body, fmt::format("PUT /upload localhost:{} {}", server_->port(), 1 << 20));
  fs::path download = certs_.dir() / "download.bin";
  auto down = http.requestToFile("GET", "/download", {}, download);
  ASSERT_TRUE(down) << down.error().message;
  EXPECT_EQ(down->status, 200);
  EXPECT_EQ(fs::file_size(download), kDownloadSize);
  EXPECT_EQ(server_->connections(), 1);
}

TEST_F(HttpTlsTest, TakesTheCaBundleFromAwsCaBundle) {
  ::setenv("AWS_CA_BUNDLE", certs_.path("ca.pem").c_str(), 1);
  EXPECT_EQ(caBundleFromEnvironment(), certs_.path("ca.pem"));
  HttpClient http(endpoint("localhost"));
  ::unsetenv("AWS_CA_BUNDLE");
  auto r = http.request("GET", "/", {});
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(r->status, 200);
}

TEST_F(HttpTlsTest, RefusesACertificateFromAnUnknownCa) {
  HttpClient http(endpoint("localhost"), "");
  auto r = http.request("GET", "/", {});
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().code, ErrorCode::kIo);
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
}

TEST_F(HttpTlsTest, RefusesACertificateForAnotherName) {
  // The certificate names DNS:localhost only, not the address 127.0.0.1.
  HttpClient http(endpoint("127.0.0.1"), certs_.path("ca.pem"));
  auto r = http.request("GET", "/", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("certificate verify failed"), std::string::npos) << r.error().message;
  EXPECT_NE(r.error().message.find("mismatch"), std::string::npos) << r.error().message;
}

TEST_F(HttpTlsTest, ReportsAnUnreadableCaBundle) {
  HttpClient http(endpoint("localhost"), (certs_.dir() / "missing.pem").string());
  auto r = http.request("GET", "/", {});
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("load the CA bundle"), std::string::npos) << r.error().message;
}

}  // namespace
}  // namespace berth::cli
