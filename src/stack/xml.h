// Just enough XML for the AWS Query protocol's answers (IAM, EC2), and the
// form encoding of its requests. Input is untrusted (whatever answered the
// request): nothing here asserts or throws; nesting is bounded.
//
// Thread rules: pure functions.
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::stack {

// One element of an XML document: enough of XML for AWS's Query answers
// (elements, text, the five predefined entities and numeric character
// references; attributes, comments, declarations and CDATA are skipped or
// kept as text).
struct XmlElement {
  std::string name;  // local name, without prefix
  std::string text;  // concatenated character data directly inside
  std::vector<XmlElement> children;

  // The first child named `name`, or nullptr.
  const XmlElement* child(std::string_view name) const;
  // The first descendant along `path` ("GetRoleResult/Role/Arn"), or nullptr.
  const XmlElement* find(std::string_view path) const;
  // find(path)'s text, or "".
  std::string textAt(std::string_view path) const;
  // The children named `name`.
  std::vector<const XmlElement*> all(std::string_view name) const;
};

Result<XmlElement> parseXml(std::string_view text);

// application/x-www-form-urlencoded: RFC 3986 unreserved characters kept.
std::string urlEncode(std::string_view s);
// '+' and %XX decoded.
std::string urlDecode(std::string_view s);

}  // namespace berth::stack
