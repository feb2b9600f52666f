// A small synchronous HTTP/1.1 client for the CLI's calls to berthd
// (Boost.Beast over one kept-alive TCP connection). berthd listens on
// loopback, so only http:// endpoints are supported.
//
// Bodies are strings, or files streamed from and to disk (layers are never
// held whole in memory). A request on a kept-alive connection that the
// server has closed meanwhile is retried once on a new connection.
//
// Thread rules: one thread at a time.
#pragma once

#include <cstdint>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "common/result.h"

namespace berth::cli {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct HttpResponse {
  int status = 0;
  Headers headers;   // names lowercased
  std::string body;  // empty when the body went to a file
  // The first header named `name` (lowercase), or "".
  std::string header(std::string_view name) const;
};

struct Endpoint {
  std::string host;
  std::string port;
  // host:port, as the Host header.
  std::string authority() const { return host + ":" + port; }
};

// "http://HOST:PORT[/]" -> host and port (80 when absent).
Result<Endpoint> parseEndpoint(std::string_view url);

class HttpClient {
 public:
  explicit HttpClient(Endpoint endpoint);
  ~HttpClient();
  HttpClient(const HttpClient&) = delete;
  HttpClient& operator=(const HttpClient&) = delete;

  const Endpoint& endpoint() const { return endpoint_; }

  // `target` is the path and query. Content-Length is set from the body.
  Result<HttpResponse> request(std::string_view method, std::string_view target, const Headers& headers,
                               std::string body = {});
  // The body is the file at `body_file`, streamed.
  Result<HttpResponse> requestWithFile(std::string_view method, std::string_view target, const Headers& headers,
                                       const std::filesystem::path& body_file);
  // A 2xx response's body goes to `out_file` (created or truncated); other
  // responses' bodies are returned in memory.
  Result<HttpResponse> requestToFile(std::string_view method, std::string_view target, const Headers& headers,
                                     const std::filesystem::path& out_file);

 private:
  struct Connection;
  template <typename Send>
  Result<HttpResponse> exchange(Send&& send);

  Endpoint endpoint_;
  std::unique_ptr<Connection> conn_;
};

}  // namespace berth::cli
