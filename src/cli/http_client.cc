#include "cli/http_client.h"

#include <algorithm>
#include <cctype>

#include <fmt/format.h>
#include <boost/asio/connect.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

namespace berth::cli {
namespace {

namespace asio = boost::asio;
namespace beast = boost::beast;
namespace bh = beast::http;
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

Result<Endpoint> parseEndpoint(std::string_view url) {
  if (url.starts_with("https://")) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: only http:// endpoints are supported", url));
  }
  if (!url.starts_with("http://")) return fail(ErrorCode::kInvalidArgument, fmt::format("{}: not an http:// URL", url));
  std::string_view rest = url.substr(7);
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) rest = rest.substr(0, slash);
  Endpoint e;
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos || rest.ends_with(']')) {
    e.host = std::string(rest);
    e.port = "80";
  } else {
    e.host = std::string(rest.substr(0, colon));
    e.port = std::string(rest.substr(colon + 1));
  }
  if (e.host.size() > 2 && e.host.front() == '[' && e.host.back() == ']') e.host = e.host.substr(1, e.host.size() - 2);
  if (e.host.empty() || e.port.empty() || e.port.find_first_not_of("0123456789") != std::string::npos) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: expected http://HOST:PORT", url));
  }
  return e;
}

struct HttpClient::Connection {
  asio::io_context io;
  tcp::socket socket{io};
  beast::flat_buffer buffer;
  bool reused = false;
};

HttpClient::HttpClient(Endpoint endpoint) : endpoint_(std::move(endpoint)) {}
HttpClient::~HttpClient() {
  if (conn_) {
    boost::system::error_code ec;
    conn_->socket.shutdown(tcp::socket::shutdown_both, ec);
  }
}

template <typename Send>
Result<HttpResponse> HttpClient::exchange(Send&& send) {
  for (int attempt = 0;; ++attempt) {
    if (!conn_) {
      auto conn = std::make_unique<Connection>();
      tcp::resolver resolver(conn->io);
      boost::system::error_code ec;
      auto addresses = resolver.resolve(endpoint_.host, endpoint_.port, ec);
      if (ec) return transportError("resolve " + endpoint_.authority(), ec);
      asio::connect(conn->socket, addresses, ec);
      if (ec) return transportError("connect to " + endpoint_.authority(), ec);
      conn_ = std::move(conn);
    }
    bool reused = conn_->reused;
    bool keep_alive = false;
    Result<HttpResponse> r = send(*conn_, keep_alive);
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
  return exchange([&](Connection& c, bool& keep_alive) -> Result<HttpResponse> {
    bh::request<bh::string_body> req;
    setHeaders(req, method, target, endpoint_, headers);
    req.body() = body;
    req.prepare_payload();
    boost::system::error_code ec;
    bh::write(c.socket, req, ec);
    if (ec) return transportError("send request", ec);
    bh::response_parser<bh::string_body> parser;
    parser.body_limit(kMaxMemoryBody);
    if (method == "HEAD") parser.skip(true);
    bh::read(c.socket, c.buffer, parser, ec);
    if (ec) return transportError("read response", ec);
    auto& res = parser.get();
    keep_alive = res.keep_alive();
    return HttpResponse{static_cast<int>(res.result_int()), headersOf(res.base()), std::move(res.body())};
  });
}

Result<HttpResponse> HttpClient::requestWithFile(std::string_view method, std::string_view target,
                                                 const Headers& headers, const std::filesystem::path& body_file) {
  return exchange([&](Connection& c, bool& keep_alive) -> Result<HttpResponse> {
    bh::request<bh::file_body> req;
    setHeaders(req, method, target, endpoint_, headers);
    boost::system::error_code ec;
    req.body().open(body_file.c_str(), beast::file_mode::scan, ec);
    if (ec)
      return std::unexpected(Error{ErrorCode::kIo, "open " + body_file.string() + ": " + ec.message(), {}, ec.value()});
    req.prepare_payload();
    bh::write(c.socket, req, ec);
    if (ec) return transportError("send " + body_file.string(), ec);
    bh::response_parser<bh::string_body> parser;
    parser.body_limit(kMaxMemoryBody);
    bh::read(c.socket, c.buffer, parser, ec);
    if (ec) return transportError("read response", ec);
    auto& res = parser.get();
    keep_alive = res.keep_alive();
    return HttpResponse{static_cast<int>(res.result_int()), headersOf(res.base()), std::move(res.body())};
  });
}

Result<HttpResponse> HttpClient::requestToFile(std::string_view method, std::string_view target, const Headers& headers,
                                               const std::filesystem::path& out_file) {
  return exchange([&](Connection& c, bool& keep_alive) -> Result<HttpResponse> {
    bh::request<bh::empty_body> req;
    setHeaders(req, method, target, endpoint_, headers);
    req.prepare_payload();
    boost::system::error_code ec;
    bh::write(c.socket, req, ec);
    if (ec) return transportError("send request", ec);
    bh::response_parser<bh::empty_body> head;
    bh::read_header(c.socket, c.buffer, head, ec);
    if (ec) return transportError("read response", ec);
    int status = static_cast<int>(head.get().result_int());
    if (status < 200 || status >= 300) {
      bh::response_parser<bh::string_body> parser(std::move(head));
      parser.body_limit(kMaxMemoryBody);
      bh::read(c.socket, c.buffer, parser, ec);
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
    bh::read(c.socket, c.buffer, parser, ec);
    if (ec) return transportError("read " + std::string(target), ec);
    auto& res = parser.get();
    keep_alive = res.keep_alive();
    return HttpResponse{status, headersOf(res.base()), {}};
  });
}

}  // namespace berth::cli
