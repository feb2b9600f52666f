// A small synchronous HTTP/1.1 client for the CLI's calls to berthd and to
// AWS (Boost.Beast over one kept-alive connection). http:// endpoints are
// plain TCP (berthd on loopback); https:// endpoints are TLS 1.2 or later
// (OpenSSL) with SNI, the server's certificate verified against the system
// CA store plus the optional CA bundle file (AWS_CA_BUNDLE, as the AWS CLI
// honours it), and its name checked against the endpoint's host (DNS name,
// or IP address for an IP literal).
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
  std::string host;  // without the brackets of an IPv6 literal
  std::string port;
  bool tls = false;  // https://
  // host[:port] as the Host header (and the host SigV4 signs): the port is
  // left out when it is the scheme's default, as botocore and AWS expect.
  std::string authority() const;
  // "http[s]://authority", for messages.
  std::string url() const;
};

// "http://HOST[:PORT][/]" (port 80 when absent) or "https://HOST[:PORT][/]"
// (443); other schemes are refused with a message that says which are known.
Result<Endpoint> parseEndpoint(std::string_view url);

// AWS_CA_BUNDLE, or "" when unset.
std::string caBundleFromEnvironment();

class HttpClient {
 public:
  // `ca_bundle`: a PEM file of extra CA certificates trusted for https://
  // endpoints besides the system store ("" for none). A file that cannot be
  // read fails the first request.
  explicit HttpClient(Endpoint endpoint, std::string ca_bundle = caBundleFromEnvironment());
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
  struct Tls;
  // Connects (and handshakes) when there is no connection, then calls
  // send(stream, buffer, keep_alive) with the plain or TLS stream.
  template <typename Send>
  Result<HttpResponse> exchange(Send&& send);
  Result<std::unique_ptr<Connection>> connect();

  Endpoint endpoint_;
  std::string ca_bundle_;
  std::unique_ptr<Tls> tls_;  // the TLS context, made on first use
  std::unique_ptr<Connection> conn_;
};

}  // namespace berth::cli
