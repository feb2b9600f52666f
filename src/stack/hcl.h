// Just enough HCL (Terraform's language) to write a module: string literals
// with their escapes, expressions, lists, objects, attributes and blocks,
// laid out as `terraform fmt` lays them out (two-space indent, the `=` of
// adjacent one-line attributes aligned). Used by export_terraform.cc.
//
// Thread rules: plain values and pure functions.
#pragma once

#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace berth::stack::hcl {

// `s` as the body of a quoted HCL string: \ " and control characters
// escaped (\n, \r, \t, \uNNNN), and `${` / `%{` written `$${` / `%%{` so the
// text stays literal instead of becoming a template.
std::string escape(std::string_view s);

// `s` as a quoted HCL string literal: "\"" + escape(s) + "\"".
std::string quote(std::string_view s);

// A Terraform identifier (resource name, variable name) from any name:
// letters, digits, '_' and '-' stay, anything else becomes '_'; one that
// would not start with a letter or '_' gets a '_' in front.
std::string identifier(std::string_view name);

// An object key: bare when it is a plain identifier ([A-Za-z_][A-Za-z0-9_]*)
// and no keyword, quoted otherwise ("/a/b", "awslogs-group").
std::string objectKey(std::string_view key);

// An HCL expression.
class Value {
 public:
  // Written as it is: var.x, aws_iam_role.execution.arn, jsonencode(...).
  static Value expr(std::string text);
  // A literal string (escaped, never a template).
  static Value string(std::string_view literal);
  // A quoted template: `body` is already HCL template text, its ${...}
  // interpolations kept (build literal parts with escape()).
  static Value templ(std::string body);
  static Value number(int n) { return number(static_cast<long long>(n)); }
  static Value number(long long n);
  static Value number(double n);
  static Value boolean(bool b);
  static Value null();
  static Value list(std::vector<Value> items);
  // Keys in the order given.
  static Value object(std::vector<std::pair<std::string, Value>> items);
  // function(arg), the argument laid out like any value.
  static Value call(std::string function, Value arg);

  // The expression; lines after the first are indented by `indent` spaces
  // plus their own nesting.
  std::string render(int indent) const;
  bool multiline() const;

 private:
  enum class Kind { kExpr, kList, kObject, kCall };
  Kind kind_ = Kind::kExpr;
  std::string text_;                                  // kExpr: the expression; kCall: the function
  std::vector<std::pair<std::string, Value>> items_;  // kList: keys empty
};

// The body of a file or block: attributes and nested blocks, in order.
class Body {
 public:
  Body& attribute(std::string name, Value value);
  Body& block(std::string type, std::vector<std::string> labels, Body body);
  // A "# text" line (each line of `text` its own comment line).
  Body& comment(std::string text);
  // An empty line (blocks get one before and after them anyway).
  Body& blank();
  bool empty() const { return items_.empty(); }

  // The body's lines, each indented by `indent` spaces.
  std::string render(int indent = 0) const;

 private:
  struct Item {
    enum class Kind { kAttribute, kBlock, kComment, kBlank } kind;
    std::string name;  // attribute name, block type or comment text
    std::vector<std::string> labels;
    Value value;
    std::vector<Body> body;  // kBlock: exactly one
  };
  std::vector<Item> items_;
};

}  // namespace berth::stack::hcl
