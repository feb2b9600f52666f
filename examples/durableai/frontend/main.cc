// durableai frontend: GET / renders a page with what the backend answered
// (its task id and greeting, and the raw JSON) or why it could not be
// reached; GET /health -> "ok".
//
// Environment: PORT (3000), BACKEND_URL (http://backend.dev.local:8000/).
// The backend's name is resolved through the nameservers of
// /etc/resolv.conf (common/dns.h says why not getaddrinfo).
#include <cstdio>
#include <string>

#include <boost/json.hpp>

#include "../common/http.h"
#include "../common/net.h"

namespace durableai {
namespace {

namespace json = boost::json;

std::string field(const json::value& doc, std::string_view key) {
  const json::object* o = doc.if_object();
  const json::value* v = o ? o->if_contains(key) : nullptr;
  return v && v->is_string() ? std::string(v->get_string()) : std::string();
}

std::string page(std::string_view title, std::string_view body) {
  return "<!doctype html>\n<html><head><meta charset=\"utf-8\"><title>" + std::string(title) +
         "</title></head>\n<body>\n<h1>durableai</h1>\n" + std::string(body) + "</body></html>\n";
}

Response render(const std::string& backend_url) {
  std::string source = "<p>Backend: <code>" + htmlEscape(backend_url) + "</code></p>\n";
  auto fail = [&](const std::string& why) {
    std::fprintf(stderr, "frontend: %s\n", why.c_str());
    return Response{
        200,
        {{"Content-Type", "text/html; charset=utf-8"}},
        page("durableai: backend unavailable",
             source + "<p class=\"error\">Backend error: <span id=\"error\">" + htmlEscape(why) + "</span></p>\n")};
  };
  auto url = parseHttpUrl(backend_url);
  if (!url) return fail("BACKEND_URL: " + url.error());
  auto response = httpRequest(*url, "GET", {{"Accept", "application/json"}}, {});
  if (!response) return fail(response.error());
  boost::system::error_code ec;
  json::value doc = json::parse(response->body, ec);
  if (response->status != 200) {
    std::string error = ec ? response->body.substr(0, 500) : field(doc, "error");
    return fail("HTTP " + std::to_string(response->status) + " from the backend: " + error);
  }
  if (ec) return fail("the backend's answer is not JSON");
  std::string body = source + "<p>Backend task: <span id=\"task\">" + htmlEscape(field(doc, "task")) +
                     "</span></p>\n<p>Greeting: <span id=\"greeting\">" + htmlEscape(field(doc, "greeting")) +
                     "</span></p>\n<pre id=\"raw\">" + htmlEscape(response->body) + "</pre>\n";
  return Response{200, {{"Content-Type", "text/html; charset=utf-8"}}, page("durableai", body)};
}

}  // namespace
}  // namespace durableai

int main() {
  using namespace durableai;
  static const std::string backend_url = envOr("BACKEND_URL", "http://backend.dev.local:8000/");
  int port = std::atoi(envOr("PORT", "3000").c_str());
  std::printf("frontend: listening on 0.0.0.0:%d, backend %s\n", port, backend_url.c_str());
  std::fflush(stdout);
  std::string error = serve(port, [](const Request& request) -> Response {
    if (request.method != "GET") return Response{405, {{"Content-Type", "text/plain"}}, "only GET\n"};
    if (request.path() == "/health") return Response{200, {{"Content-Type", "text/plain"}}, "ok"};
    if (request.path() != "/") return Response{404, {{"Content-Type", "text/plain"}}, "not found\n"};
    return render(backend_url);
  });
  std::fprintf(stderr, "frontend: %s\n", error.c_str());
  return 1;
}
