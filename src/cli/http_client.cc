#include "cli/http_client.h"

#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <algorithm>
#include <cctype>
#include <cstdlib>
#include <variant>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace berth::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bh = beast::http;
namespace ssl = asio::ssl;
using tcp = asio::ip::tcp;

constexpr uint64_t kMaxMemoryBody = 64 << 20;

std::string lower(std::string_view s) {
  std::string out(s);
  std::transform(out.begin(), out.end(), out.begin(), [](unsigned char c) { return std::tolower(c); });
  return out;
}

std::unexpected<Error> transportError(std::string_view what, const boost::system::error_code& ec) {
  return std::unexpected(Error{ErrorCode::kIo, fmt::format("{}: {}", what, ec.message()), {}, ec.value()});
}

template <typename Fields>
Headers headersOf(const Fields& fields) {
  Headers out;
  for (const auto& f : fields) out.emplace_back(lower(f.name_string()), std::string(f.value()));
  return out;
}

template <typename Body>
void setHeaders(bh::request<Body>& req, std::string_view method, std::string_view target, const Endpoint& endpoint,
                const Headers& headers) {
  req.method_string(method);
  req.target(target);
  req.version(11);
  req.set(bh::field::host, endpoint.authority());
  req.set(bh::field::user_agent, "berth-cli");
  for (const auto& [name, value] : headers) req.set(name, value);
}

}  // namespace

std::string HttpResponse::header(std::string_view name) const {
  for (const auto& [n, v] : headers)
    if (n == name) return v;
  return {};
}

std::string Endpoint::authority() const {
  std::string h = host.find(':') != std::string::npos ? "[" + host + "]" : host;
  if (port == (tls ? "443" : "80")) return h;
  return h + ":" + port;
}

std::string Endpoint::url() const { return (tls ? "https://" : "http://") + authority(); }

std::string caBundleFromEnvironment() {
  const char* v = std::getenv("AWS_CA_BUNDLE");
  return v ? v : "";
}

Result<Endpoint> parseEndpoint(std::string_view url) {
  Endpoint e;
  std::string_view rest;
  if (url.starts_with("http://")) {
    rest = url.substr(7);
  } else if (url.starts_with("https://")) {
    rest = url.substr(8);
    e.tls = true;
  } else {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("{}: not an endpoint URL (expected http://HOST:PORT or https://HOST[:PORT])", url));
  }
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.ends_with(']')) {
    e.host = std::string(rest);
    e.port = e.tls ? "443" : "80";
  } else {
    e.host = std::string(rest.substr(0, colon));
    e.port = std::string(rest.substr(colon + 1));
  }
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  if (e.host.empty() || e.port.empty() || e.port.find_first_not_of("0123456789") != std::string::npos) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: expected {}://HOST:PORT", url, e.tls ? "https" : "http"));
  }
  return e;
}

struct HttpClient::Tls {
  ssl::context context{ssl::context::tls_client};
};

struct HttpClient::Connection {
  asio::io_context io;
  std::variant<tcp::socket, ssl::stream<tcp::socket>> stream{std::in_place_index<0>, io};
  beast::flat_buffer buffer;
  bool reused = false;

  tcp::socket& socket() {
    if (auto* s = std::get_if<tcp::socket>(&stream)) return *s;
    return std::get<ssl::stream<tcp::socket>>(stream).next_layer();
  }
};

HttpClient::HttpClient(Endpoint endpoint, std::string ca_bundle)
    : endpoint_(std::move(endpoint)), ca_bundle_(std::move(ca_bundle)) {}

HttpClient::~HttpClient() {
  // No TLS close_notify: the server may be gone, and waiting for its answer
  // would only delay the CLI's exit.
  if (conn_) {
    boost::system::error_code ec;
    conn_->socket().shutdown(tcp::socket::shutdown_both, ec);
  }
}

Result<std::unique_ptr<HttpClient::Connection>> HttpClient::connect() {
  auto conn = std::make_unique<Connection>();
  boost::system::error_code ec;
  if (endpoint_.tls && !tls_) {
    auto tls = std::make_unique<Tls>();
    SSL_CTX_set_min_proto_version(tls->context.native_handle(), TLS1_2_VERSION);
    tls->context.set_verify_mode(ssl::verify_peer);
    tls->context.set_default_verify_paths(ec);
    if (ec) return transportError("load the system CA certificates", ec);
    if (!ca_bundle_.empty()) {
      tls->context.load_verify_file(ca_bundle_, ec);
      if (ec) return transportError("load the CA bundle " + ca_bundle_, ec);
    }
    tls_ = std::move(tls);
  }
  tcp::resolver resolver(conn->io);
  auto addresses = resolver.resolve(endpoint_.host, endpoint_.port, ec);
  if (ec) return transportError("resolve " + endpoint_.authority(), ec);
  asio::connect(conn->socket(), addresses, ec);
  if (ec) return transportError("connect to " + endpoint_.authority(), ec);
  if (!endpoint_.tls) return conn;

  tcp::socket socket = std::move(conn->socket());
  auto& stream = conn->stream.emplace<ssl::stream<tcp::socket>>(std::move(socket), tls_->context);
  SSL* handle = stream.native_handle();
  asio::ip::make_address(endpoint_.host, ec);
  // Without the expected name any trusted certificate would do: refuse to
  // go on if OpenSSL did not take it.
  bool named;
  if (!ec) {
    // An IP literal: no SNI (RFC 6066), and the certificate must name the
    // address itself.
    named = X509_VERIFY_PARAM_set1_ip_asc(SSL_get0_param(handle), endpoint_.host.c_str()) == 1;
  } else {
    SSL_set_hostflags(handle, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    named = SSL_set_tlsext_host_name(handle, endpoint_.host.c_str()) == 1 &&
            SSL_set1_host(handle, endpoint_.host.c_str()) == 1;
  }
  if (!named) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: not a valid TLS host name", endpoint_.host));
  stream.handshake(ssl::stream_base::client, ec);
  if (ec) {
    std::string what = "TLS handshake with " + endpoint_.authority();
    if (long v = SSL_get_verify_result(handle); v != X509_V_OK)
      return std::unexpected(
          Error{ErrorCode::kIo,
                fmt::format("{}: certificate verify failed: {}", what, X509_verify_cert_error_string(v)),
                {},
                ec.value()});
    return transportError(what, ec);
  }
  return conn;
}

template <typename Send>
Result<HttpResponse> HttpClient::exchange(Send&& send) {
  for (int attempt = 0;; ++attempt) {
    if (!conn_) conn_ = BERTH_TRY(connect());
    bool reused = conn_->reused;
    bool keep_alive = false;
    Result<HttpResponse> r =
        std::visit([&](auto& stream) { return send(stream, conn_->buffer, keep_alive); }, conn_->stream);
    if (r && keep_alive) {
      conn_->reused = true;
    } else {
      conn_.reset();
    }
    // A kept-alive connection the server closed meanwhile: once more, afresh.
    if (!r && r.error().code == ErrorCode::kIo && reused && attempt == 0) continue;
    return r;
  }
}

Result<HttpResponse> HttpClient::request(std::string_view method, std::string_view target, const Headers& headers,
                                         std::string body) {
  return exchange([&](auto& stream, beast::flat_buffer& buffer, bool& keep_alive) -> Result<HttpResponse> {
    bh::request<bh::string_body> req;
    setHeaders(req, method, target, endpoint_, headers);
    req.body() = body;
    req.prepare_payload();
    boost::system::error_code ec;
    bh::write(stream, req, ec);
    if (ec) return transportError("send request", ec);
    bh::response_parser<bh::string_body> parser;
    parser.body_limit(kMaxMemoryBody);
    if (method == "HEAD") parser.skip(true);
    bh::read(stream, buffer, parser, ec);
    if (ec) return transportError("read response", ec);
    auto& res = parser.get();
    keep_alive = res.keep_alive();
    return HttpResponse{static_cast<int>(res.result_int()), headersOf(res.base()), std::move(res.body())};
  });
}

Result<HttpResponse> HttpClient::requestWithFile(std::string_view method, std::string_view target,
                                                 const Headers& headers, const std::filesystem::path& body_file) {
  return exchange([&](auto& stream, beast::flat_buffer& buffer, bool& keep_alive) -> Result<HttpResponse> {
    bh::request<bh::file_body> req;
    setHeaders(req, method, target, endpoint_, headers);
    boost::system::error_code ec;
    req.body().open(body_file.c_str(), beast::file_mode::scan, ec);
    if (ec)
      return std::unexpected(Error{ErrorCode::kIo, "open " + body_file.string() + ": " + ec.message(), {}, ec.value()});
    req.prepare_payload();
    bh::write(stream, req, ec);
    if (ec) return transportError("send " + body_file.string(), ec);
    bh::response_parser<bh::string_body> parser;
    parser.body_limit(kMaxMemoryBody);
    bh::read(stream, buffer, parser, ec);
    if (ec) return transportError("read response", ec);
    auto& res = parser.get();
    keep_alive = res.keep_alive();
    return HttpResponse{static_cast<int>(res.result_int()), headersOf(res.base()), std::move(res.body())};
  });
}

Result<HttpResponse> HttpClient::requestToFile(std::string_view method, std::string_view target, const Headers& headers,
                                               const std::filesystem::path& out_file) {
  return exchange([&](auto& stream, beast::flat_buffer& buffer, bool& keep_alive) -> Result<HttpResponse> {
    bh::request<bh::empty_body> req;
    setHeaders(req, method, target, endpoint_, headers);
    req.prepare_payload();
    boost::system::error_code ec;
    bh::write(stream, req, ec);
    if (ec) return transportError("send request", ec);
    bh::response_parser<bh::empty_body> head;
    bh::read_header(stream, buffer, head, ec);
    if (ec) return transportError("read response", ec);
    int status = static_cast<int>(head.get().result_int());
    if (status < 200 || status >= 300) {
      bh::response_parser<bh::string_body> parser(std::move(head));
      parser.body_limit(kMaxMemoryBody);
      bh::read(stream, buffer, parser, ec);
      if (ec) return transportError("read response", ec);
      auto& res = parser.get();
      keep_alive = res.keep_alive();
      return HttpResponse{status, headersOf(res.base()), std::move(res.body())};
    }
    bh::response_parser<bh::file_body> parser(std::move(head));
    parser.body_limit(std::numeric_limits<uint64_t>::max());
    parser.get().body().open(out_file.c_str(), beast::file_mode::write, ec);
    if (ec)
      return std::unexpected(
          Error{ErrorCode::kIo, "create " + out_file.string() + ": " + ec.message(), {}, ec.value()});
    bh::read(stream, buffer, parser, ec);
    if (ec) return transportError("read " + std::string(target), ec);
    auto& res = parser.get();
    keep_alive = res.keep_alive();
    return HttpResponse{status, headersOf(res.base()), {}};
  });
}

}  // namespace berth::cli
