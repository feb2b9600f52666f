// The durableai example apps' parsers of what comes off the network: HTTP
// requests and responses (chunked bodies too), URLs, DNS answers and
// resolv.conf (examples/durableai/common/). Invariants: never crash; a
// complete message consumes no more than the buffer; a DNS answer's
// addresses are dotted quads.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "dns.h"
#include "http.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view in(reinterpret_cast<const char*>(data), size);
  durableai::Request request;
  auto r = durableai::parseRequest(in, request);
  if (r.state == durableai::ParseState::kComplete && r.consumed > in.size()) __builtin_trap();
  for (bool eof : {false, true}) {
    durableai::Response response;
    auto p = durableai::parseResponse(in, eof, response);
    if (p.state == durableai::ParseState::kComplete && p.consumed > in.size()) __builtin_trap();
  }
  std::string body;
  auto c = durableai::decodeChunked(in, body);
  if (c.state == durableai::ParseState::kComplete && (c.consumed > in.size() || body.size() > in.size()))
    __builtin_trap();
  (void)durableai::parseHttpUrl(in);
  (void)durableai::parseResolvConf(in);
  uint16_t id = size >= 2 ? static_cast<uint16_t>(data[0] << 8 | data[1]) : 0;
  if (auto addresses = durableai::parseAResponse(in, id))
    for (const auto& a : *addresses)
      if (a.size() < 7 || a.size() > 15) __builtin_trap();
  return 0;
}
