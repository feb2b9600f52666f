#include "http.h"

#include <algorithm>
#include <charconv>
#include <cstdio>

namespace durableai {
namespace {

bool iequals(std::string_view a, std::string_view b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](char x, char y) {
           auto lower = [](char c) { return c >= 'A' && c <= 'Z' ? static_cast<char>(c + 32) : c; };
           return lower(x) == lower(y);
         });
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r')) s.remove_suffix(1);
  return s;
}

std::optional<size_t> parseSize(std::string_view s, int base = 10) {
  size_t value = 0;
  auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value, base);
  if (ec != std::errc() || end != s.data() + s.size() || s.empty()) return std::nullopt;
  return value;
}

ParseResult invalid(std::string error) { return {ParseState::kInvalid, 0, std::move(error)}; }

// Splits the head ending at the first blank line into its first line and
// headers. kComplete's `consumed` is the head's length, blank line included.
ParseResult parseHead(std::string_view buffer, std::string& first_line, Headers& headers) {
  size_t end = buffer.find("\r\n\r\n");
  if (end == std::string_view::npos) {
    if (buffer.size() > kMaxHeadSize) return invalid("header section too large");
    return {};
  }
  if (end > kMaxHeadSize) return invalid("header section too large");
  std::string_view head = buffer.substr(0, end);
  size_t eol = head.find("\r\n");
  first_line = std::string(head.substr(0, eol));
  headers.clear();
  while (eol != std::string_view::npos) {
    head.remove_prefix(eol + 2);
    eol = head.find("\r\n");
    std::string_view line = head.substr(0, eol);
    size_t colon = line.find(':');
    if (colon == std::string_view::npos || colon == 0) return invalid("malformed header line");
    std::string_view name = line.substr(0, colon);
    if (name.find_first_of(" \t") != std::string_view::npos) return invalid("whitespace in a header name");
    headers.emplace_back(std::string(name), std::string(trim(line.substr(colon + 1))));
  }
  return {ParseState::kComplete, end + 4, {}};
}

}  // namespace

std::string_view Request::path() const {
  std::string_view t = target;
  return t.substr(0, t.find('?'));
}

std::optional<std::string_view> findHeader(const Headers& headers, std::string_view name) {
  for (const auto& [key, value] : headers)
    if (iequals(key, name)) return std::string_view(value);
  return std::nullopt;
}

ParseResult parseRequest(std::string_view buffer, Request& out) {
  std::string line;
  ParseResult head = parseHead(buffer, line, out.headers);
  if (head.state != ParseState::kComplete) return head;
  size_t sp1 = line.find(' ');
  size_t sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
  if (sp2 == std::string::npos || line.find(' ', sp2 + 1) != std::string::npos)
    return invalid("malformed request line");
  out.method = line.substr(0, sp1);
  out.target = line.substr(sp1 + 1, sp2 - sp1 - 1);
  std::string_view version = std::string_view(line).substr(sp2 + 1);
  if (out.method.empty() || out.target.empty() || !version.starts_with("HTTP/1."))
    return invalid("malformed request line");
  if (findHeader(out.headers, "Transfer-Encoding")) return invalid("chunked request bodies are not supported");
  size_t length = 0;
  if (auto cl = findHeader(out.headers, "Content-Length")) {
    auto n = parseSize(*cl);
    if (!n) return invalid("bad Content-Length");
    length = *n;
  }
  if (buffer.size() - head.consumed < length) return {};
  out.body = std::string(buffer.substr(head.consumed, length));
  return {ParseState::kComplete, head.consumed + length, {}};
}

ParseResult decodeChunked(std::string_view buffer, std::string& out) {
  out.clear();
  size_t pos = 0;
  while (true) {
    size_t eol = buffer.find("\r\n", pos);
    if (eol == std::string_view::npos) return {};
    std::string_view size_text = buffer.substr(pos, eol - pos);
    size_text = trim(size_text.substr(0, size_text.find(';')));  // chunk extensions are ignored
    auto size = parseSize(size_text, 16);
    if (!size) return invalid("bad chunk size");
    pos = eol + 2;
    if (*size == 0) {
      // Trailers, if any, end with a blank line.
      while (true) {
        eol = buffer.find("\r\n", pos);
        if (eol == std::string_view::npos) return {};
        bool blank = eol == pos;
        pos = eol + 2;
        if (blank) return {ParseState::kComplete, pos, {}};
      }
    }
    if (buffer.size() - pos < *size + 2) return {};
    out.append(buffer.substr(pos, *size));
    pos += *size;
    if (buffer.substr(pos, 2) != "\r\n") return invalid("chunk not followed by CRLF");
    pos += 2;
  }
}

ParseResult parseResponse(std::string_view buffer, bool at_eof, Response& out) {
  std::string line;
  ParseResult head = parseHead(buffer, line, out.headers);
  if (head.state == ParseState::kIncomplete && at_eof) return invalid("connection closed before the response head");
  if (head.state != ParseState::kComplete) return head;
  // HTTP/1.1 200 OK
  if (!line.starts_with("HTTP/1.") || line.size() < 12 || line[8] != ' ' || (line.size() > 12 && line[12] != ' '))
    return invalid("malformed status line");
  auto status = parseSize(std::string_view(line).substr(9, 3));
  if (!status || *status < 100 || *status > 599) return invalid("malformed status line");
  out.status = static_cast<int>(*status);
  std::string_view rest = buffer.substr(head.consumed);
  if (auto te = findHeader(out.headers, "Transfer-Encoding"); te && iequals(trim(*te), "chunked")) {
    ParseResult body = decodeChunked(rest, out.body);
    if (body.state == ParseState::kIncomplete && at_eof) return invalid("connection closed inside a chunked body");
    if (body.state != ParseState::kComplete) return body;
    return {ParseState::kComplete, head.consumed + body.consumed, {}};
  }
  if (auto cl = findHeader(out.headers, "Content-Length")) {
    auto length = parseSize(*cl);
    if (!length) return invalid("bad Content-Length");
    if (rest.size() < *length) {
      if (at_eof) return invalid("connection closed before the end of the body");
      return {};
    }
    out.body = std::string(rest.substr(0, *length));
    return {ParseState::kComplete, head.consumed + *length, {}};
  }
  if (!at_eof) return {};
  out.body = std::string(rest);
  return {ParseState::kComplete, buffer.size(), {}};
}

std::string formatRequest(std::string_view method, std::string_view target, std::string_view host,
                          const Headers& headers, std::string_view body) {
  std::string out;
  out.append(method).append(" ").append(target).append(" HTTP/1.1\r\nHost: ").append(host).append("\r\n");
  for (const auto& [name, value] : headers) {
    if (iequals(name, "Content-Length") || iequals(name, "Host")) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  if (!body.empty() || method == "POST" || method == "PUT")
    out.append("Content-Length: ").append(std::to_string(body.size())).append("\r\n");
  out.append("\r\n").append(body);
  return out;
}

std::string_view reasonPhrase(int status) {
  switch (status) {
    case 200:
      return "OK";
    case 400:
      return "Bad Request";
    case 404:
      return "Not Found";
    case 405:
      return "Method Not Allowed";
    case 500:
      return "Internal Server Error";
    case 502:
      return "Bad Gateway";
    default:
      return "Unknown";
  }
}

std::string formatResponse(const Response& response) {
  std::string out = "HTTP/1.1 " + std::to_string(response.status) + " ";
  out.append(reasonPhrase(response.status)).append("\r\n");
  for (const auto& [name, value] : response.headers) {
    if (iequals(name, "Content-Length")) continue;
    out.append(name).append(": ").append(value).append("\r\n");
  }
  out.append("Content-Length: ").append(std::to_string(response.body.size())).append("\r\n\r\n");
  out.append(response.body);
  return out;
}

std::string Url::authority() const { return port == 80 ? host : host + ":" + std::to_string(port); }

std::expected<Url, std::string> parseHttpUrl(std::string_view url) {
  constexpr std::string_view kScheme = "http://";
  if (url.size() < kScheme.size() || !iequals(url.substr(0, kScheme.size()), kScheme))
    return std::unexpected("not an http:// URL: " + std::string(url));
  std::string_view rest = url.substr(kScheme.size());
  size_t slash = rest.find_first_of("/?");
  std::string_view authority = rest.substr(0, slash);
  Url out;
  if (slash != std::string_view::npos) {
    out.target = std::string(rest.substr(slash));
    if (out.target.front() == '?') out.target.insert(0, "/");
  }
  if (authority.find('@') != std::string_view::npos) return std::unexpected("userinfo in URL: " + std::string(url));
  size_t colon = authority.rfind(':');
  if (colon != std::string_view::npos) {
    auto port = parseSize(authority.substr(colon + 1));
    if (!port || *port == 0 || *port > 65535) return std::unexpected("bad port in URL: " + std::string(url));
    out.port = static_cast<int>(*port);
    authority = authority.substr(0, colon);
  }
  if (authority.empty()) return std::unexpected("no host in URL: " + std::string(url));
  out.host = std::string(authority);
  return out;
}

std::string jsonEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '"':
        out += "\\\"";
        break;
      case '\\':
        out += "\\\\";
        break;
      case '\n':
        out += "\\n";
        break;
      case '\r':
        out += "\\r";
        break;
      case '\t':
        out += "\\t";
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20) {
          char buf[8];
          std::snprintf(buf, sizeof buf, "\\u%04x", static_cast<unsigned>(static_cast<unsigned char>(c)));
          out += buf;
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string htmlEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&#39;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

}  // namespace durableai
