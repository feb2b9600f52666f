#include "stack/hcl.h"

#include <algorithm>

#include <fmt/format.h>

namespace berth::stack::hcl {
namespace {

// Lists whose one-line form is longer than this are written one item a line.
constexpr size_t kMaxInlineList = 80;

bool isLetter(char c) { return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z'); }
bool isDigit(char c) { return c >= '0' && c <= '9'; }

std::string pad(int n) { return std::string(static_cast<size_t>(n), ' '); }

// Attributes (or object entries) as `terraform fmt` writes them: the `=` of
// adjacent entries aligned; a multi-line value closes its group, so what
// follows it aligns on its own.
std::string renderEntries(const std::vector<std::pair<std::string, const Value*>>& entries, int indent) {
  std::string out;
  size_t start = 0;
  while (start < entries.size()) {
    size_t end = start, width = 0;
    while (end < entries.size()) {
      width = std::max(width, entries[end].first.size());
      if (entries[end++].second->multiline()) break;
    }
    for (size_t i = start; i < end; ++i) {
      const auto& [key, value] = entries[i];
      out += fmt::format("{}{:<{}} = {}\n", pad(indent), key, width, value->render(indent));
    }
    start = end;
  }
  return out;
}

}  // namespace

std::string escape(std::string_view s) {
  std::string out;
  out.reserve(s.size());
  for (size_t i = 0; i < s.size(); ++i) {
    char c = s[i];
    switch (c) {
      case '\\':
        out += "\\\\";
        break;
      case '"':
        out += "\\\"";
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
      case '$':
      case '%':
        out += c;
        // The template introducers: doubling the sigil keeps them literal.
        if (i + 1 < s.size() && s[i + 1] == '{') out += c;
        break;
      default:
        if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
          out += fmt::format("\\u{:04X}", static_cast<unsigned char>(c));
        } else {
          out += c;
        }
    }
  }
  return out;
}

std::string quote(std::string_view s) { return "\"" + escape(s) + "\""; }

std::string identifier(std::string_view name) {
  std::string out;
  for (char c : name) out += (isLetter(c) || isDigit(c) || c == '_' || c == '-') ? c : '_';
  if (out.empty() || !(isLetter(out[0]) || out[0] == '_')) out.insert(0, "_");
  return out;
}

std::string objectKey(std::string_view key) {
  static const std::vector<std::string_view> kKeywords{"true", "false", "null", "for", "in", "if"};
  bool bare = !key.empty() && (isLetter(key[0]) || key[0] == '_') &&
              std::ranges::all_of(key, [](char c) { return isLetter(c) || isDigit(c) || c == '_'; }) &&
              std::ranges::find(kKeywords, key) == kKeywords.end();
  return bare ? std::string(key) : quote(key);
}

Value Value::expr(std::string text) {
  Value v;
  v.text_ = std::move(text);
  return v;
}

Value Value::string(std::string_view literal) { return expr(quote(literal)); }

Value Value::templ(std::string body) { return expr("\"" + body + "\""); }

Value Value::number(long long n) { return expr(std::to_string(n)); }

Value Value::number(double n) { return expr(fmt::format("{}", n)); }

Value Value::boolean(bool b) { return expr(b ? "true" : "false"); }

Value Value::null() { return expr("null"); }

Value Value::list(std::vector<Value> items) {
  Value v;
  v.kind_ = Kind::kList;
  for (auto& item : items) v.items_.emplace_back(std::string(), std::move(item));
  return v;
}

Value Value::object(std::vector<std::pair<std::string, Value>> items) {
  Value v;
  v.kind_ = Kind::kObject;
  v.items_ = std::move(items);
  return v;
}

Value Value::call(std::string function, Value arg) {
  Value v;
  v.kind_ = Kind::kCall;
  v.text_ = std::move(function);
  v.items_.emplace_back(std::string(), std::move(arg));
  return v;
}

bool Value::multiline() const { return render(0).find('\n') != std::string::npos; }

std::string Value::render(int indent) const {
  switch (kind_) {
    case Kind::kExpr:
      return text_;
    case Kind::kCall:
      return text_ + "(" + items_.front().second.render(indent) + ")";
    case Kind::kList: {
      if (items_.empty()) return "[]";
      std::string inline_form;
      bool fits = true;
      for (const auto& [_, item] : items_) {
        std::string one = item.render(0);
        if (one.find('\n') != std::string::npos) fits = false;
        inline_form += (inline_form.empty() ? "" : ", ") + one;
      }
      if (fits && inline_form.size() <= kMaxInlineList) return "[" + inline_form + "]";
      std::string out = "[\n";
      for (const auto& [_, item] : items_) out += pad(indent + 2) + item.render(indent + 2) + ",\n";
      return out + pad(indent) + "]";
    }
    case Kind::kObject: {
      if (items_.empty()) return "{}";
      std::vector<std::pair<std::string, const Value*>> entries;
      for (const auto& [key, value] : items_) entries.emplace_back(objectKey(key), &value);
      return "{\n" + renderEntries(entries, indent + 2) + pad(indent) + "}";
    }
  }
  return text_;
}

Body& Body::attribute(std::string name, Value value) {
  items_.push_back(Item{Item::Kind::kAttribute, std::move(name), {}, std::move(value), {}});
  return *this;
}

Body& Body::block(std::string type, std::vector<std::string> labels, Body body) {
  std::vector<Body> inner;
  inner.push_back(std::move(body));
  items_.push_back(Item{Item::Kind::kBlock, std::move(type), std::move(labels), Value::null(), std::move(inner)});
  return *this;
}

Body& Body::blank() {
  items_.push_back(Item{Item::Kind::kBlank, {}, {}, Value::null(), {}});
  return *this;
}

Body& Body::comment(std::string text) {
  items_.push_back(Item{Item::Kind::kComment, std::move(text), {}, Value::null(), {}});
  return *this;
}

std::string Body::render(int indent) const {
  std::string out;
  for (size_t i = 0; i < items_.size();) {
    const Item& item = items_[i];
    if (item.kind == Item::Kind::kBlank) {
      out += "\n";
      ++i;
      continue;
    }
    if (i > 0) {
      const Item& prev = items_[i - 1];
      // Blocks stand apart from what is around them; a comment stays with
      // what it describes.
      bool apart = prev.kind == Item::Kind::kBlock || item.kind == Item::Kind::kBlock;
      if (apart && prev.kind != Item::Kind::kComment && prev.kind != Item::Kind::kBlank) out += "\n";
    }
    if (item.kind == Item::Kind::kAttribute) {
      // A run of attributes aligns together.
      std::vector<std::pair<std::string, const Value*>> run;
      size_t j = i;
      do {
        run.emplace_back(items_[j].name, &items_[j].value);
        ++j;
      } while (j < items_.size() && items_[j].kind == Item::Kind::kAttribute);
      out += renderEntries(run, indent);
      i = j;
      continue;
    }
    if (item.kind == Item::Kind::kComment) {
      size_t start = 0;
      while (start <= item.name.size()) {
        size_t end = item.name.find('\n', start);
        if (end == std::string::npos) end = item.name.size();
        std::string_view line = std::string_view(item.name).substr(start, end - start);
        out += pad(indent) + (line.empty() ? "#" : "# " + std::string(line)) + "\n";
        start = end + 1;
      }
    } else {
      std::string head = pad(indent) + item.name;
      for (const auto& label : item.labels) head += " " + quote(label);
      const Body& body = item.body.front();
      out += body.empty() ? head + " {}\n" : head + " {\n" + body.render(indent + 2) + pad(indent) + "}\n";
    }
    ++i;
  }
  return out;
}

}  // namespace berth::stack::hcl
