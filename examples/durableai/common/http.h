// The little HTTP/1.1 the durableai example servers need: parsing a request
// (server side) and a response (client side) out of a byte buffer, the
// pieces of a URL, and escaping for JSON and HTML. Pure functions, no I/O:
// the sockets are in net.h. Thread-safe (no state).
#pragma once

#include <cstddef>
#include <expected>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace durableai {

using Headers = std::vector<std::pair<std::string, std::string>>;

struct Request {
  std::string method;
  std::string target;  // path plus optional ?query, as received
  Headers headers;
  std::string body;
  // The target without its query.
  std::string_view path() const;
};

struct Response {
  int status = 0;
  Headers headers;
  std::string body;
};

// The value of the first header named `name` (case-insensitive), if any.
std::optional<std::string_view> findHeader(const Headers& headers, std::string_view name);

// What parsing a buffer that may hold a partial message found.
enum class ParseState {
  kIncomplete,  // need more bytes
  kComplete,    // `consumed` bytes form one message
  kInvalid,     // not HTTP/1.x; `error` says why
};
struct ParseResult {
  ParseState state = ParseState::kIncomplete;
  size_t consumed = 0;
  std::string error;
};

// Largest head (request line / status line plus headers) accepted.
inline constexpr size_t kMaxHeadSize = 16 * 1024;

// One request from the front of `buffer`. The body is Content-Length bytes;
// chunked request bodies are refused (kInvalid), as no client of these
// servers sends them.
ParseResult parseRequest(std::string_view buffer, Request& out);

// One response from the front of `buffer`. The body is framed by
// Content-Length, by chunked Transfer-Encoding, or, with neither, by the end
// of the connection: pass `at_eof` once the peer has closed, and the rest of
// the buffer is the body. Responses to HEAD and 1xx/204/304 are not expected.
ParseResult parseResponse(std::string_view buffer, bool at_eof, Response& out);

// The body of a chunked message: kComplete with the decoded bytes in `out`
// and `consumed` covering the final chunk and trailers.
ParseResult decodeChunked(std::string_view buffer, std::string& out);

// A request or response in wire form, with Content-Length set from the body
// (any Content-Length in `headers` is dropped).
std::string formatRequest(std::string_view method, std::string_view target, std::string_view host,
                          const Headers& headers, std::string_view body);
std::string formatResponse(const Response& response);
std::string_view reasonPhrase(int status);

// http://host[:port][/path] (plain http only; no userinfo). The target is
// "/" when the URL has no path.
struct Url {
  std::string host;
  int port = 80;
  std::string target = "/";
  // host, or host:port when the port is not 80: the Host header's value.
  std::string authority() const;
};
std::expected<Url, std::string> parseHttpUrl(std::string_view url);

// `text` as the contents of a JSON string (no quotes added).
std::string jsonEscape(std::string_view text);
// `text` with & < > " ' escaped for HTML text and attribute values.
std::string htmlEscape(std::string_view text);

}  // namespace durableai
