// The socket half of the durableai examples: a blocking HTTP/1.1 server
// (one thread per connection, one request per connection) and a client for
// plain-http calls on the task network, with its own DNS stub resolver
// (dns.h says why not getaddrinfo).
#pragma once

#include <chrono>
#include <expected>
#include <functional>
#include <string>
#include <string_view>

#include "http.h"

namespace durableai {

using Handler = std::function<Response(const Request&)>;

// Listens on 0.0.0.0:`port` and answers every request with `handler`, called
// on the connection's own thread (so it must be thread-safe). A request
// that does not parse gets 400. Returns only when the socket cannot be set
// up, with the reason. Also makes SIGTERM and SIGINT exit the process (as
// pid 1 in a container it would otherwise ignore them) and ignores SIGPIPE.
std::string serve(int port, const Handler& handler);

// The IPv4 address of `host`: the host itself when it is a dotted quad,
// 127.0.0.1 for "localhost", else the A records from the nameservers of
// /etc/resolv.conf (first answer; each server is tried twice, 1 s apiece).
std::expected<std::string, std::string> resolveIPv4(const std::string& host);

// One request to `url` on a new connection (Connection: close). Errors say
// which step failed: resolving, connecting, sending, reading or parsing.
std::expected<Response, std::string> httpRequest(const Url& url, std::string_view method, const Headers& headers,
                                                 std::string_view body,
                                                 std::chrono::milliseconds timeout = std::chrono::seconds(5));

// The value of environment variable `name`, or `fallback` when unset or empty.
std::string envOr(const char* name, std::string_view fallback);

// A JSON response.
Response jsonResponse(int status, std::string body);

}  // namespace durableai
