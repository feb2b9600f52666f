#include "control/cloudwatch/expression.h"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <variant>

#include <fmt/format.h>

namespace berth::cloudwatch {

class ExpressionParser {
 public:
  ExpressionParser(std::string_view text, Expression& out) : text_(text), out_(out) {}

  Status run() {
    out_.root_ = BERTH_TRY(expr(0));
    skipSpace();
    if (pos_ != text_.size()) return error(fmt::format("unexpected '{}' at position {}", text_[pos_], pos_ + 1));
    return {};
  }

 private:
  using Kind = Expression::Node::Kind;

  std::unexpected<Error> error(std::string what) { return fail(ErrorCode::kInvalidArgument, std::move(what)); }
  void skipSpace() {
    while (pos_ < text_.size() && std::isspace(static_cast<unsigned char>(text_[pos_]))) ++pos_;
  }
  bool eat(char c) {
    skipSpace();
    if (pos_ < text_.size() && text_[pos_] == c) {
      ++pos_;
      return true;
    }
    return false;
  }
  int add(Expression::Node n) {
    out_.nodes_.push_back(std::move(n));
    return static_cast<int>(out_.nodes_.size() - 1);
  }

  Result<int> expr(int depth) {
    if (depth > kMaxDepth) return error("the expression is nested too deeply");
    int left = BERTH_TRY(term(depth));
    for (;;) {
      if (eat('+'))
        left = add({Kind::kAdd, 0, {}, left, BERTH_TRY(term(depth))});
      else if (eat('-'))
        left = add({Kind::kSub, 0, {}, left, BERTH_TRY(term(depth))});
      else
        return left;
    }
  }
  Result<int> term(int depth) {
    int left = BERTH_TRY(unary(depth));
    for (;;) {
      if (eat('*'))
        left = add({Kind::kMul, 0, {}, left, BERTH_TRY(unary(depth))});
      else if (eat('/'))
        left = add({Kind::kDiv, 0, {}, left, BERTH_TRY(unary(depth))});
      else
        return left;
    }
  }
  Result<int> unary(int depth) {
    if (depth > kMaxDepth) return error("the expression is nested too deeply");
    if (eat('-')) return add({Kind::kNeg, 0, {}, BERTH_TRY(unary(depth + 1)), -1});
    return primary(depth);
  }
  Result<int> primary(int depth) {
    skipSpace();
    if (pos_ >= text_.size()) return error("the expression ends too early");
    char c = text_[pos_];
    if (c == '(') {
      ++pos_;
      int inner = BERTH_TRY(expr(depth + 1));
      if (!eat(')')) return error(fmt::format("')' expected at position {}", pos_ + 1));
      return inner;
    }
    if (std::isdigit(static_cast<unsigned char>(c)) || c == '.') {
      size_t start = pos_;
      while (pos_ < text_.size() && (std::isdigit(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '.'))
        ++pos_;
      if (pos_ < text_.size() && (text_[pos_] == 'e' || text_[pos_] == 'E')) {
        ++pos_;
        if (pos_ < text_.size() && (text_[pos_] == '+' || text_[pos_] == '-')) ++pos_;
        while (pos_ < text_.size() && std::isdigit(static_cast<unsigned char>(text_[pos_]))) ++pos_;
      }
      double v = 0;
      auto [end, ec] = std::from_chars(text_.data() + start, text_.data() + pos_, v);
      if (ec != std::errc() || end != text_.data() + pos_ || !std::isfinite(v))
        return error(fmt::format("'{}' is not a number", text_.substr(start, pos_ - start)));
      return add({Kind::kNumber, v, {}, -1, -1});
    }
    if (std::isalpha(static_cast<unsigned char>(c)) || c == '_') {
      size_t start = pos_;
      while (pos_ < text_.size() && (std::isalnum(static_cast<unsigned char>(text_[pos_])) || text_[pos_] == '_'))
        ++pos_;
      std::string name(text_.substr(start, pos_ - start));
      skipSpace();
      if (pos_ < text_.size() && text_[pos_] == '(')
        return error(
            fmt::format("berth supports only arithmetic (+ - * / and parentheses) in metric math; the "
                        "function {} is not supported",
                        name));
      if (!std::islower(static_cast<unsigned char>(name[0])))
        return error(fmt::format("'{}' is not the id of a query (ids start with a lowercase letter)", name));
      if (std::find(out_.ids_.begin(), out_.ids_.end(), name) == out_.ids_.end()) out_.ids_.push_back(name);
      return add({Kind::kId, 0, std::move(name), -1, -1});
    }
    return error(fmt::format("unexpected '{}' at position {}", c, pos_ + 1));
  }

  std::string_view text_;
  Expression& out_;
  size_t pos_ = 0;
};

Result<Expression> Expression::parse(std::string_view text) {
  if (text.size() > kMaxExpressionLength)
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("the expression is longer than {} characters", kMaxExpressionLength));
  Expression e;
  ExpressionParser parser(text, e);
  BERTH_TRY(parser.run());
  return e;
}

namespace {

using Value = std::variant<double, TimeSeries>;

double apply(Expression::Node::Kind kind, double a, double b, bool& ok) {
  using Kind = Expression::Node::Kind;
  ok = true;
  switch (kind) {
    case Kind::kAdd:
      return a + b;
    case Kind::kSub:
      return a - b;
    case Kind::kMul:
      return a * b;
    case Kind::kDiv:
      if (b == 0) ok = false;
      return ok ? a / b : 0;
    default:
      ok = false;
      return 0;
  }
}

}  // namespace

std::optional<TimeSeries> Expression::evaluate(
    const std::function<const TimeSeries&(std::string_view id)>& lookup) const {
  // Post-order over the node list: children always precede their parent.
  std::vector<Value> values(nodes_.size());
  for (size_t i = 0; i < nodes_.size(); ++i) {
    const Node& n = nodes_[i];
    switch (n.kind) {
      case Node::Kind::kNumber:
        values[i] = n.number;
        break;
      case Node::Kind::kId:
        values[i] = lookup(n.id);
        break;
      case Node::Kind::kNeg:
        if (auto* d = std::get_if<double>(&values[n.left])) {
          values[i] = -*d;
        } else {
          TimeSeries s = std::get<TimeSeries>(values[n.left]);
          for (double& v : s.values) v = -v;
          values[i] = std::move(s);
        }
        break;
      default: {
        const Value& a = values[n.left];
        const Value& b = values[n.right];
        bool ok = true;
        if (std::holds_alternative<double>(a) && std::holds_alternative<double>(b)) {
          double r = apply(n.kind, std::get<double>(a), std::get<double>(b), ok);
          values[i] = ok ? r : std::nan("");
          break;
        }
        TimeSeries out;
        auto push = [&](int64_t t, double x, double y) {
          double r = apply(n.kind, x, y, ok);
          if (ok && std::isfinite(r)) {
            out.timestamps.push_back(t);
            out.values.push_back(r);
          }
        };
        if (const auto* x = std::get_if<double>(&a)) {
          const TimeSeries& s = std::get<TimeSeries>(b);
          for (size_t k = 0; k < s.values.size(); ++k) push(s.timestamps[k], *x, s.values[k]);
        } else if (const auto* y = std::get_if<double>(&b)) {
          const TimeSeries& s = std::get<TimeSeries>(a);
          for (size_t k = 0; k < s.values.size(); ++k) push(s.timestamps[k], s.values[k], *y);
        } else {
          const TimeSeries& s = std::get<TimeSeries>(a);
          const TimeSeries& u = std::get<TimeSeries>(b);
          size_t p = 0, q = 0;
          while (p < s.timestamps.size() && q < u.timestamps.size()) {
            if (s.timestamps[p] < u.timestamps[q]) {
              ++p;
            } else if (u.timestamps[q] < s.timestamps[p]) {
              ++q;
            } else {
              push(s.timestamps[p], s.values[p], u.values[q]);
              ++p;
              ++q;
            }
          }
        }
        values[i] = std::move(out);
      }
    }
  }
  if (root_ < 0) return std::nullopt;
  if (auto* s = std::get_if<TimeSeries>(&values[root_])) return std::move(*s);
  return std::nullopt;
}

}  // namespace berth::cloudwatch
