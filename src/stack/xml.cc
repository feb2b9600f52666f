#include "stack/xml.h"

#include <cctype>
#include <cstdint>
#include <cstdlib>

#include <fmt/format.h>

namespace berth::stack {
namespace {

// A cursor over XML text.
class XmlParser {
 public:
  explicit XmlParser(std::string_view text) : s_(text) {}

  Result<XmlElement> document() {
    skipMisc();
    if (!startsWith("<")) return fail(ErrorCode::kInvalidArgument, "XML: no root element");
    XmlElement root = BERTH_TRY(element(0));
    return root;
  }

 private:
  bool startsWith(std::string_view p) const { return s_.substr(i_).starts_with(p); }
  void skipSpace() {
    while (i_ < s_.size() && std::isspace(static_cast<unsigned char>(s_[i_]))) ++i_;
  }
  // Skips to just past `end`; false at end of input.
  bool skipPast(std::string_view end) {
    size_t at = s_.find(end, i_);
    if (at == std::string_view::npos) return false;
    i_ = at + end.size();
    return true;
  }
  // Whitespace, <?...?>, <!--...-->, <!DOCTYPE ...>.
  void skipMisc() {
    for (;;) {
      skipSpace();
      if (startsWith("<?")) {
        if (!skipPast("?>")) return;
      } else if (startsWith("<!--")) {
        if (!skipPast("-->")) return;
      } else if (startsWith("<!") && !startsWith("<![CDATA[")) {
        if (!skipPast(">")) return;
      } else {
        return;
      }
    }
  }

  static void appendUtf8(std::string& out, uint32_t cp) {
    if (cp < 0x80) {
      out += static_cast<char>(cp);
    } else if (cp < 0x800) {
      out += static_cast<char>(0xC0 | (cp >> 6));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
      out += static_cast<char>(0xE0 | (cp >> 12));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (cp >> 18));
      out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (cp & 0x3F));
    }
  }

  Status decodeText(std::string_view raw, std::string& out) {
    for (size_t k = 0; k < raw.size(); ++k) {
      if (raw[k] != '&') {
        out += raw[k];
        continue;
      }
      size_t semi = raw.find(';', k);
      if (semi == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "XML: unterminated entity");
      std::string_view ent = raw.substr(k + 1, semi - k - 1);
      if (ent == "lt")
        out += '<';
      else if (ent == "gt")
        out += '>';
      else if (ent == "amp")
        out += '&';
      else if (ent == "quot")
        out += '"';
      else if (ent == "apos")
        out += '\'';
      else if (ent.size() > 1 && ent[0] == '#') {
        bool hex = ent[1] == 'x' || ent[1] == 'X';
        std::string digits(ent.substr(hex ? 2 : 1));
        if (digits.empty() || digits.size() > 8) return fail(ErrorCode::kInvalidArgument, "XML: bad reference");
        char* end = nullptr;
        unsigned long cp = std::strtoul(digits.c_str(), &end, hex ? 16 : 10);
        if (*end != '\0' || cp > 0x10FFFF) return fail(ErrorCode::kInvalidArgument, "XML: bad reference");
        appendUtf8(out, static_cast<uint32_t>(cp));
      } else {
        return fail(ErrorCode::kInvalidArgument, fmt::format("XML: unknown entity &{};", ent));
      }
      k = semi;
    }
    return {};
  }

  static std::string_view localName(std::string_view qname) {
    size_t colon = qname.find(':');
    return colon == std::string_view::npos ? qname : qname.substr(colon + 1);
  }

  // At '<' of a start tag.
  Result<XmlElement> element(int depth) {
    if (depth > 64) return fail(ErrorCode::kInvalidArgument, "XML: nested too deeply");
    ++i_;
    size_t name_start = i_;
    while (i_ < s_.size() && !std::isspace(static_cast<unsigned char>(s_[i_])) && s_[i_] != '>' && s_[i_] != '/') ++i_;
    XmlElement e;
    std::string_view qname = s_.substr(name_start, i_ - name_start);
    if (qname.empty()) return fail(ErrorCode::kInvalidArgument, "XML: empty element name");
    e.name = localName(qname);
    // Attributes: skipped, honouring quotes.
    char quote = 0;
    while (i_ < s_.size()) {
      char c = s_[i_];
      if (quote) {
        if (c == quote) quote = 0;
      } else if (c == '"' || c == '\'') {
        quote = c;
      } else if (c == '>' || c == '/') {
        break;
      }
      ++i_;
    }
    if (i_ >= s_.size()) return fail(ErrorCode::kInvalidArgument, "XML: unterminated start tag");
    if (s_[i_] == '/') {
      if (!startsWith("/>")) return fail(ErrorCode::kInvalidArgument, "XML: bad empty-element tag");
      i_ += 2;
      return e;
    }
    ++i_;  // '>'
    for (;;) {
      size_t lt = s_.find('<', i_);
      if (lt == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "XML: unterminated element");
      BERTH_TRY(decodeText(s_.substr(i_, lt - i_), e.text));
      i_ = lt;
      if (startsWith("</")) {
        size_t gt = s_.find('>', i_);
        if (gt == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "XML: unterminated end tag");
        std::string_view end_name = s_.substr(i_ + 2, gt - i_ - 2);
        while (!end_name.empty() && std::isspace(static_cast<unsigned char>(end_name.back())))
          end_name.remove_suffix(1);
        if (end_name != qname)
          return fail(ErrorCode::kInvalidArgument, fmt::format("XML: </{}> closes <{}>", end_name, qname));
        i_ = gt + 1;
        return e;
      }
      if (startsWith("<![CDATA[")) {
        size_t end = s_.find("]]>", i_);
        if (end == std::string_view::npos) return fail(ErrorCode::kInvalidArgument, "XML: unterminated CDATA");
        e.text += s_.substr(i_ + 9, end - i_ - 9);
        i_ = end + 3;
      } else if (startsWith("<!--")) {
        if (!skipPast("-->")) return fail(ErrorCode::kInvalidArgument, "XML: unterminated comment");
      } else if (startsWith("<?")) {
        if (!skipPast("?>")) return fail(ErrorCode::kInvalidArgument, "XML: unterminated instruction");
      } else {
        e.children.push_back(BERTH_TRY(element(depth + 1)));
      }
    }
  }

  std::string_view s_;
  size_t i_ = 0;
};

}  // namespace

const XmlElement* XmlElement::child(std::string_view n) const {
  for (const auto& c : children)
    if (c.name == n) return &c;
  return nullptr;
}

const XmlElement* XmlElement::find(std::string_view path) const {
  const XmlElement* at = this;
  while (at && !path.empty()) {
    size_t slash = path.find('/');
    at = at->child(path.substr(0, slash));
    path = slash == std::string_view::npos ? std::string_view() : path.substr(slash + 1);
  }
  return at;
}

std::string XmlElement::textAt(std::string_view path) const {
  const XmlElement* e = find(path);
  return e ? e->text : std::string();
}

std::vector<const XmlElement*> XmlElement::all(std::string_view n) const {
  std::vector<const XmlElement*> out;
  for (const auto& c : children)
    if (c.name == n) out.push_back(&c);
  return out;
}

Result<XmlElement> parseXml(std::string_view text) { return XmlParser(text).document(); }

std::string urlEncode(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out += static_cast<char>(c);
    } else {
      out += fmt::format("%{:02X}", c);
    }
  }
  return out;
}

std::string urlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '+') {
      out += ' ';
    } else if (s[i] == '%' && i + 2 < s.size() + 0 && std::isxdigit(static_cast<unsigned char>(s[i + 1])) &&
               std::isxdigit(static_cast<unsigned char>(s[i + 2]))) {
      out += static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16));
      i += 2;
    } else {
      out += s[i];
    }
  }
  return out;
}

}  // namespace berth::stack
