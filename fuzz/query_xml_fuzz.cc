// libFuzzer target for the stack engine's XML parser (src/stack/xml.h),
// which reads IAM's and EC2's Query-protocol answers.
//
// Properties checked beyond "no crash, no sanitizer report":
// - a failed parse has a message;
// - a parsed document's lookups (find/textAt/all) never fail;
// - urlDecode(urlEncode(s)) == s for the input bytes.
//
// Seeds in fuzz/corpus/query_xml_fuzz/: GetRole, ListAttachedRolePolicies,
// DescribeVpcs and an IAM error answer.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

#include "stack/xml.h"

namespace {

void check(bool ok, const char* what) {
  if (!ok) {
    std::fprintf(stderr, "property violated: %s\n", what);
    std::abort();
  }
}

size_t walk(const berth::stack::XmlElement& e, int depth) {
  size_t n = 1;
  (void)e.textAt("a/b/c");
  (void)e.all("member");
  for (const auto& c : e.children) n += walk(c, depth + 1);
  return n;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  std::string_view text(reinterpret_cast<const char*>(data), size);
  auto doc = berth::stack::parseXml(text);
  if (!doc) {
    check(!doc.error().message.empty(), "a parse failure has a message");
  } else {
    check(walk(*doc, 0) >= 1, "a document has a root");
  }
  check(berth::stack::urlDecode(berth::stack::urlEncode(text)) == text, "urlDecode inverts urlEncode");
  return 0;
}
