#include "stack/stack_file.h"

#include <yaml-cpp/yaml.h>

#include <algorithm>
#include <charconv>
#include <fstream>
#include <initializer_list>
#include <set>
#include <span>
#include <sstream>
#include <tuple>
#include <utility>

#include <fmt/format.h>

#include "stack/fargate.h"
#include "stack/names.h"

namespace berth::stack {
namespace {

constexpr size_t kMaxFileSize = 1 << 20;
// Aliases let a small file expand to a huge tree; stop walking past this.
constexpr size_t kMaxValues = 200000;
constexpr int kMaxNameSize = 32;  // project and environment names
constexpr int kMaxServiceNameSize = 255;
constexpr const char* kPlaceholders[] = {"env", "project", "region", "account"};
// CloudWatch Logs' PutRetentionPolicy values.
constexpr int kRetentionDays[] = {1,   3,   5,   7,   14,   30,   60,   90,   120,  150,  180,
                                  365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653};

std::string joinInts(std::span<const int> values) {
  std::string out;
  for (int v : values) out += (out.empty() ? "" : ", ") + std::to_string(v);
  return out;
}

// Walks the YAML tree, building the StackFile and collecting every problem.
class Parser {
 public:
  explicit Parser(std::string path) : path_(std::move(path)) {}

  Result<StackFile> run(std::string_view yaml);

 private:
  // The known keys of a mapping, in file order; unknown and duplicate keys
  // are reported on the way.
  using Fields = std::vector<std::pair<std::string, YAML::Node>>;

  struct ServiceDraft {
    Location cpu_at, memory_at;
  };
  struct OverrideDraft {
    Location cpu_at, memory_at;
  };

  Location at(const YAML::Node& n) const {
    YAML::Mark m = n.Mark();
    if (m.is_null()) return {path_, 0, 0};
    return {path_, m.line + 1, m.column + 1};
  }
  // Messages quote the file's text: control characters are escaped so
  // that each problem stays on one line.
  void error(const Location& where, std::string_view message) {
    std::string clean;
    for (char c : message) {
      if (c == '\n') {
        clean += "\\n";
      } else if (static_cast<unsigned char>(c) < 0x20 || c == 0x7f) {
        clean += fmt::format("\\x{:02x}", static_cast<unsigned char>(c));
      } else {
        clean += c;
      }
    }
    problems_.emplace(where.line, where.column, std::move(clean));
  }
  void error(const YAML::Node& n, std::string_view message) { error(at(n), message); }
  // Counts one visited value; true (once reported) past kMaxValues.
  bool spent() {
    if (++visited_ == kMaxValues + 1) {
      error(Location{path_, 1, 1},
            fmt::format("the file expands to more than {} values (through aliases?)", kMaxValues));
    }
    return visited_ > kMaxValues;
  }

  std::optional<Fields> fields(const YAML::Node& map, std::initializer_list<const char*> allowed,
                               const std::string& ctx);
  std::optional<std::string> string(const YAML::Node& v, std::string_view key, const std::string& ctx,
                                    bool placeholders = true);
  std::optional<int> integer(const YAML::Node& v, std::string_view key, const std::string& ctx, int min, int max);
  std::optional<double> number(const YAML::Node& v, std::string_view key, const std::string& ctx, double min,
                               double max);
  std::optional<bool> boolean(const YAML::Node& v, std::string_view key, const std::string& ctx);
  std::map<std::string, std::string> stringMap(const YAML::Node& v, std::string_view key, const std::string& ctx);
  std::vector<std::string> stringList(const YAML::Node& v, std::string_view key, const std::string& ctx);
  bool checkPlaceholders(const YAML::Node& v, std::string_view s, std::string_view key, const std::string& ctx);

  void parseTop(const YAML::Node& root);
  // A non-empty mapping of names to settings (`what`: "service",
  // "environment"), each handed to `parse`; a name given twice is an error.
  template <typename Parse>
  void parseNamedMap(const YAML::Node& v, std::string_view not_a_map, std::string_view what, Parse parse) {
    if (!v.IsMap() || v.size() == 0) {
      error(v, not_a_map);
      return;
    }
    std::set<std::string> names;
    for (const auto& kv : v) {
      if (spent()) break;
      if (kv.first.IsScalar() && !names.insert(kv.first.Scalar()).second) {
        error(kv.first, fmt::format("duplicate {} '{}'", what, kv.first.Scalar()));
        continue;
      }
      parse(kv.first, kv.second);
    }
  }
  void parseService(const YAML::Node& key, const YAML::Node& v);
  void parseHealthCheck(const YAML::Node& v, Service& s, const std::string& ctx);
  std::optional<Autoscaling> parseAutoscaling(const YAML::Node& v, const std::string& ctx);
  void parseDeployment(const YAML::Node& v, Deployment& d, const std::string& ctx);
  void parsePolicy(const YAML::Node& v, Service& s, const std::string& ctx);
  void parseEnvVars(const YAML::Node& v, std::string_view key, const std::string& ctx,
                    std::map<std::string, std::string>& out);
  std::vector<Parameter> parseParameters(const YAML::Node& v, const std::string& ctx);
  std::map<std::string, std::string> parseTags(const YAML::Node& v, const std::string& ctx);
  std::optional<int> parseLogs(const YAML::Node& v, const std::string& ctx);
  void parseEnvironment(const YAML::Node& key, const YAML::Node& v);
  void parseOverride(const YAML::Node& key, const YAML::Node& v, EnvironmentSpec& env);
  std::optional<int> parseCpu(const YAML::Node& v, const std::string& ctx);
  void checkSizes();

  std::string path_;
  StackFile file_;
  std::vector<ServiceDraft> service_drafts_;                 // parallel to file_.services
  std::vector<std::vector<OverrideDraft>> override_drafts_;  // parallel to environment_specs/services
  std::set<std::tuple<int, int, std::string>> problems_;
  size_t visited_ = 0;
};

std::optional<Parser::Fields> Parser::fields(const YAML::Node& map, std::initializer_list<const char*> allowed,
                                             const std::string& ctx) {
  if (map.IsNull()) return Fields{};
  if (!map.IsMap()) {
    error(map, fmt::format("{} must be a mapping", ctx));
    return std::nullopt;
  }
  std::vector<std::string> known(allowed.begin(), allowed.end());
  std::set<std::string> seen;
  Fields out;
  for (const auto& kv : map) {
    if (spent()) break;
    if (!kv.first.IsScalar()) {
      error(kv.first, fmt::format("keys in {} must be strings", ctx));
      continue;
    }
    const std::string& key = kv.first.Scalar();
    if (!seen.insert(key).second) {
      error(kv.first, fmt::format("duplicate key '{}' in {}", key, ctx));
      continue;
    }
    if (std::ranges::find(known, key) == known.end()) {
      error(kv.first, fmt::format("unknown key '{}' in {}{}", key, ctx, suggestion(key, known)));
      continue;
    }
    out.emplace_back(key, kv.second);
  }
  return out;
}

bool Parser::checkPlaceholders(const YAML::Node& v, std::string_view s, std::string_view key, const std::string& ctx) {
  size_t i = 0;
  while ((i = s.find("${", i)) != std::string_view::npos) {
    size_t close = s.find('}', i);
    if (close == std::string_view::npos) {
      error(v, fmt::format("unterminated placeholder in '{}' of {}", key, ctx));
      return false;
    }
    std::string_view name = s.substr(i + 2, close - i - 2);
    if (std::ranges::find(kPlaceholders, name) == std::end(kPlaceholders)) {
      error(v, fmt::format("unknown placeholder '${{{}}}' in '{}' of {}; use ${{env}}, ${{project}}, ${{region}} or "
                           "${{account}}",
                           name.substr(0, 64), key, ctx));
      return false;
    }
    i = close + 1;
  }
  return true;
}

std::optional<std::string> Parser::string(const YAML::Node& v, std::string_view key, const std::string& ctx,
                                          bool placeholders) {
  if (!v.IsScalar()) {
    error(v, fmt::format("'{}' in {} must be a string", key, ctx));
    return std::nullopt;
  }
  const std::string& s = v.Scalar();
  if (!placeholders) {
    if (s.find("${") != std::string::npos) {
      error(v, fmt::format("'{}' in {} cannot use placeholders", key, ctx));
      return std::nullopt;
    }
  } else if (!checkPlaceholders(v, s, key, ctx)) {
    return std::nullopt;
  }
  return s;
}

std::optional<int> Parser::integer(const YAML::Node& v, std::string_view key, const std::string& ctx, int min,
                                   int max) {
  long long value = 0;
  bool ok = v.IsScalar();
  if (ok) {
    const std::string& s = v.Scalar();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    ok = !s.empty() && ec == std::errc() && end == s.data() + s.size();
  }
  if (!ok) {
    error(v, v.IsScalar() ? fmt::format("'{}' in {} must be an integer, not '{}'", key, ctx, v.Scalar().substr(0, 64))
                          : fmt::format("'{}' in {} must be an integer", key, ctx));
    return std::nullopt;
  }
  if (value < min || value > max) {
    error(v, fmt::format("'{}' in {} must be between {} and {}, not {}", key, ctx, min, max, value));
    return std::nullopt;
  }
  return static_cast<int>(value);
}

std::optional<double> Parser::number(const YAML::Node& v, std::string_view key, const std::string& ctx, double min,
                                     double max) {
  double value = 0;
  bool ok = v.IsScalar();
  if (ok) {
    const std::string& s = v.Scalar();
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), value);
    ok = !s.empty() && ec == std::errc() && end == s.data() + s.size();
  }
  if (!ok) {
    error(v, v.IsScalar() ? fmt::format("'{}' in {} must be a number, not '{}'", key, ctx, v.Scalar().substr(0, 64))
                          : fmt::format("'{}' in {} must be a number", key, ctx));
    return std::nullopt;
  }
  if (!(value >= min && value <= max)) {
    error(v, fmt::format("'{}' in {} must be between {} and {}, not {}", key, ctx, min, max, v.Scalar()));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> Parser::boolean(const YAML::Node& v, std::string_view key, const std::string& ctx) {
  if (v.IsScalar()) {
    const std::string& s = v.Scalar();
    if (s == "true" || s == "True" || s == "TRUE") return true;
    if (s == "false" || s == "False" || s == "FALSE") return false;
    error(v, fmt::format("'{}' in {} must be true or false, not '{}'", key, ctx, s.substr(0, 64)));
  } else {
    error(v, fmt::format("'{}' in {} must be true or false", key, ctx));
  }
  return std::nullopt;
}

std::map<std::string, std::string> Parser::stringMap(const YAML::Node& v, std::string_view key,
                                                     const std::string& ctx) {
  std::map<std::string, std::string> out;
  if (v.IsNull()) return out;
  if (!v.IsMap()) {
    error(v, fmt::format("'{}' in {} must be a mapping", key, ctx));
    return out;
  }
  std::string inner = fmt::format("'{}' of {}", key, ctx);
  for (const auto& kv : v) {
    if (spent()) break;
    auto k = string(kv.first, "key", inner, false);
    auto value = string(kv.second, k ? *k : "value", inner);
    if (!k || !value) continue;
    if (!out.emplace(*k, *value).second) error(kv.first, fmt::format("duplicate key '{}' in {}", *k, inner));
  }
  return out;
}

std::vector<std::string> Parser::stringList(const YAML::Node& v, std::string_view key, const std::string& ctx) {
  std::vector<std::string> out;
  if (v.IsScalar()) {
    if (auto s = string(v, key, ctx)) out.push_back(*s);
    return out;
  }
  if (!v.IsSequence()) {
    error(v, fmt::format("'{}' in {} must be a list of strings", key, ctx));
    return out;
  }
  for (const auto& item : v) {
    if (spent()) break;
    if (auto s = string(item, key, ctx)) out.push_back(*s);
  }
  return out;
}

Result<StackFile> Parser::run(std::string_view yaml) {
  file_.path = path_;
  YAML::Node root;
  if (yaml.size() > kMaxFileSize) {
    error(Location{path_, 1, 1}, fmt::format("the file is larger than {} bytes", kMaxFileSize));
  } else {
    try {
      root = YAML::Load(std::string(yaml));
    } catch (const YAML::Exception& e) {
      error(Location{path_, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1},
            fmt::format("invalid YAML: {}", e.msg));
    } catch (const std::exception& e) {
      error(Location{path_, 0, 0}, fmt::format("invalid YAML: {}", e.what()));
    }
    if (problems_.empty()) {
      try {
        parseTop(root);
        checkSizes();
      } catch (const YAML::Exception& e) {
        // yaml-cpp's accessors should not throw on a tree we walk by type;
        // stay safe on external input all the same.
        error(Location{path_, e.mark.is_null() ? 0 : e.mark.line + 1, e.mark.is_null() ? 0 : e.mark.column + 1},
              fmt::format("invalid YAML: {}", e.msg));
      }
    }
  }
  if (problems_.empty()) return std::move(file_);
  std::string message;
  for (const auto& [line, column, text] : problems_) {
    if (!message.empty()) message += '\n';
    message += formatLocation(Location{path_, line, column}) + ": " + text;
  }
  return fail(ErrorCode::kInvalidArgument, std::move(message));
}

void Parser::parseTop(const YAML::Node& root) {
  if (!root.IsMap()) {
    error(root.IsNull() ? Location{path_, 1, 1} : at(root),
          "the stack file must be a mapping with 'project', "
          "'services' and 'environments'");
    return;
  }
  const std::string ctx = "the stack file";
  auto f = fields(root, {"project", "region", "tags", "services", "parameters", "logs", "environments", "repositories"},
                  ctx);
  if (!f) return;
  auto find = [&](std::string_view key) -> std::optional<YAML::Node> {
    for (auto& [k, v] : *f) {
      if (k == key) return v;
    }
    return std::nullopt;
  };
  if (auto v = find("project")) {
    if (auto s = string(*v, "project", ctx, false)) {
      if (!isLowerName(*s) || s->size() > kMaxNameSize) {
        error(*v, fmt::format("project name '{}' must be 1-{} characters of a-z, 0-9 and '-', starting with a letter",
                              s->substr(0, 64), kMaxNameSize));
      }
      file_.project = *s;
    }
  } else {
    error(Location{path_, 1, 1}, "the stack file has no 'project'");
  }
  if (auto v = find("region")) {
    if (auto s = string(*v, "region", ctx, false)) {
      if (!validRegion(*s)) error(*v, fmt::format("'{}' is not an AWS region name (like us-east-1)", s->substr(0, 64)));
      file_.region = *s;
    }
  }
  if (auto v = find("tags")) file_.tags = parseTags(*v, ctx);
  if (auto v = find("logs")) file_.log_retention_days = parseLogs(*v, ctx);
  if (auto v = find("repositories")) {
    for (const std::string& r : stringList(*v, "repositories", ctx)) {
      if (!validRepository(substitute(r, kSample))) {
        error(*v, fmt::format("'{}' is not a valid ECR repository name", r.substr(0, 256)));
      }
      file_.repositories.push_back(r);
    }
  }
  if (auto v = find("services")) {
    parseNamedMap(*v, "'services' must be a mapping of service names to services", "service",
                  [this](const YAML::Node& key, const YAML::Node& value) { parseService(key, value); });
  } else {
    error(Location{path_, 1, 1}, "the stack file has no 'services'");
  }
  if (auto v = find("parameters")) file_.parameters = parseParameters(*v, ctx);
  if (auto v = find("environments")) {
    parseNamedMap(*v, "'environments' must be a mapping of environment names (like dev and prod) to their settings",
                  "environment",
                  [this](const YAML::Node& key, const YAML::Node& value) { parseEnvironment(key, value); });
  } else {
    error(Location{path_, 1, 1}, "the stack file has no 'environments'");
  }
}

std::optional<int> Parser::parseCpu(const YAML::Node& v, const std::string& ctx) {
  auto cpu = integer(v, "cpu", ctx, 1, 1 << 20);
  if (cpu && std::ranges::find(kFargateCpuValues, *cpu) == std::end(kFargateCpuValues)) {
    error(v, fmt::format("Invalid 'cpu' setting for task: {} in {}; Fargate's CPU values are {}", *cpu, ctx,
                         joinInts(kFargateCpuValues)));
    return std::nullopt;
  }
  return cpu;
}

void Parser::parseService(const YAML::Node& key, const YAML::Node& v) {
  auto name = string(key, "service name", "'services'", false);
  if (!name) return;
  std::string ctx = fmt::format("service '{}'", name->substr(0, 255));
  if (!isLowerName(*name) || name->size() > kMaxServiceNameSize) {
    error(key, fmt::format("service name '{}' must be 1-{} characters of a-z, 0-9 and '-', starting with a letter",
                           name->substr(0, 255), kMaxServiceNameSize));
  }
  Service s;
  s.name = *name;
  s.where = at(key);
  ServiceDraft draft{s.where, s.where};
  auto f = fields(v,
                  {"image", "port", "cpu", "memory", "count", "capacity", "spot_fallback", "health_check",
                   "environment", "secrets", "discovery", "autoscaling", "deployment", "task_role_policy"},
                  ctx);
  if (!f) return;
  bool has_image = false, has_port = false;
  for (auto& [k, val] : *f) {
    if (k == "image") {
      has_image = true;
      if (auto img = string(val, k, ctx)) {
        if (!splitImage(substitute(*img, kSample))) {
          error(val, fmt::format("'image' in {} is not a valid image reference: '{}'", ctx, img->substr(0, 256)));
        }
        s.image = *img;
      }
    } else if (k == "port") {
      has_port = true;
      s.port = integer(val, k, ctx, 1, 65535).value_or(s.port);
    } else if (k == "cpu") {
      s.cpu = parseCpu(val, ctx).value_or(0);
      draft.cpu_at = at(val);
    } else if (k == "memory") {
      s.memory = integer(val, k, ctx, 1, 1 << 20).value_or(0);
      draft.memory_at = at(val);
    } else if (k == "count") {
      s.count = integer(val, k, ctx, 0, 5000).value_or(s.count);
    } else if (k == "capacity") {
      if (auto c = string(val, k, ctx, false)) {
        if (*c != "FARGATE" && *c != "FARGATE_SPOT") {
          error(val, fmt::format("'capacity' in {} must be FARGATE or FARGATE_SPOT, not '{}'", ctx, c->substr(0, 64)));
        }
        s.capacity_provider = *c;
      }
    } else if (k == "health_check") {
      parseHealthCheck(val, s, ctx);
    } else if (k == "environment") {
      parseEnvVars(val, k, ctx, s.environment);
    } else if (k == "secrets") {
      parseEnvVars(val, k, ctx, s.secrets);
      for (auto& [var, param] : s.secrets) {
        if (!param.starts_with("arn:") && !validParameterName(substitute(param, kSample))) {
          error(val, fmt::format("secret '{}' in {} must name an SSM parameter (like /{}/${{env}}/name), not '{}'", var,
                                 ctx, file_.project.empty() ? "app" : file_.project, param.substr(0, 256)));
        }
      }
    } else if (k == "spot_fallback") {
      s.spot_fallback = boolean(val, k, ctx).value_or(s.spot_fallback);
    } else if (k == "discovery") {
      s.discovery = boolean(val, k, ctx).value_or(s.discovery);
    } else if (k == "autoscaling") {
      s.autoscaling = parseAutoscaling(val, ctx);
    } else if (k == "deployment") {
      parseDeployment(val, s.deployment, ctx);
    } else if (k == "task_role_policy") {
      parsePolicy(val, s, ctx);
    }
  }
  if (!has_image) error(key, fmt::format("{} has no 'image'", ctx));
  for (const auto& [var, _] : s.secrets) {
    if (s.environment.contains(var)) {
      error(key, fmt::format("'{}' in {} is both in 'environment' and in 'secrets'", var, ctx));
    }
  }
  if (s.health_check && !s.health_check->path.empty() && !has_port) {
    error(key, fmt::format("the health_check path of {} needs the service's 'port'", ctx));
  }
  file_.services.push_back(std::move(s));
  service_drafts_.push_back(draft);
}

void Parser::parseHealthCheck(const YAML::Node& v, Service& s, const std::string& service_ctx) {
  std::string ctx = "health_check of " + service_ctx;
  auto f = fields(v, {"path", "command", "interval", "timeout", "retries", "start_period"}, ctx);
  if (!f) return;
  HealthCheck h;
  for (auto& [k, val] : *f) {
    if (k == "path") {
      if (auto p = string(val, k, ctx)) {
        if (p->empty() || (*p)[0] != '/' ||
            std::ranges::any_of(*p, [](char c) { return c == ' ' || c == '\'' || c == '"' || c < 0x21; })) {
          error(val,
                fmt::format("'path' in {} must be a URL path starting with '/', not '{}'", ctx, p->substr(0, 256)));
        }
        h.path = *p;
      }
    } else if (k == "command") {
      if (val.IsScalar()) {
        if (auto c = string(val, k, ctx)) h.command = {"CMD-SHELL", *c};
      } else {
        h.command = stringList(val, k, ctx);
        if (h.command.size() < 2 || (h.command[0] != "CMD" && h.command[0] != "CMD-SHELL")) {
          error(val, fmt::format("'command' in {} must be a shell command string or a list starting with CMD or "
                                 "CMD-SHELL and the command",
                                 ctx));
        }
      }
    } else if (k == "interval") {
      h.interval = integer(val, k, ctx, 5, 300).value_or(h.interval);
    } else if (k == "timeout") {
      h.timeout = integer(val, k, ctx, 2, 120).value_or(h.timeout);
    } else if (k == "retries") {
      h.retries = integer(val, k, ctx, 1, 10).value_or(h.retries);
    } else if (k == "start_period") {
      h.start_period = integer(val, k, ctx, 0, 300).value_or(h.start_period);
    }
  }
  bool has_path = std::ranges::any_of(*f, [](auto& kv) { return kv.first == "path"; });
  bool has_command = std::ranges::any_of(*f, [](auto& kv) { return kv.first == "command"; });
  if (has_path && has_command) error(v, fmt::format("{} sets both 'path' and 'command'; use one", ctx));
  if (!has_path && !has_command) error(v, fmt::format("{} needs 'path' or 'command'", ctx));
  s.health_check = std::move(h);
}

std::optional<Autoscaling> Parser::parseAutoscaling(const YAML::Node& v, const std::string& service_ctx) {
  std::string ctx = "autoscaling of " + service_ctx;
  auto f = fields(v, {"cpu_target", "memory_target", "min", "max", "scale_out_cooldown", "scale_in_cooldown"}, ctx);
  if (!f) return std::nullopt;
  Autoscaling a;
  bool min_ok = true, max_ok = true;
  for (auto& [k, val] : *f) {
    if (k == "cpu_target") {
      a.cpu_target = number(val, k, ctx, 1, 100);
    } else if (k == "memory_target") {
      a.memory_target = number(val, k, ctx, 1, 100);
    } else if (k == "min") {
      auto m = integer(val, k, ctx, 0, 5000);
      min_ok = m.has_value();
      a.min = m.value_or(a.min);
    } else if (k == "max") {
      auto m = integer(val, k, ctx, 1, 5000);
      max_ok = m.has_value();
      a.max = m.value_or(a.max);
    } else if (k == "scale_out_cooldown") {
      a.scale_out_cooldown = integer(val, k, ctx, 0, 86400).value_or(a.scale_out_cooldown);
    } else if (k == "scale_in_cooldown") {
      a.scale_in_cooldown = integer(val, k, ctx, 0, 86400).value_or(a.scale_in_cooldown);
    }
  }
  bool has_target = std::ranges::any_of(*f, [](auto& kv) { return kv.first.ends_with("_target"); });
  if (!has_target) error(v, fmt::format("{} needs 'cpu_target' or 'memory_target' (a percentage)", ctx));
  if (min_ok && max_ok && a.min > a.max) {
    error(v, fmt::format("{}: min ({}) must not be greater than max ({})", ctx, a.min, a.max));
  }
  return a;
}

void Parser::parseDeployment(const YAML::Node& v, Deployment& d, const std::string& service_ctx) {
  std::string ctx = "deployment of " + service_ctx;
  auto f = fields(v, {"circuit_breaker", "rollback", "min_healthy_percent", "max_percent"}, ctx);
  if (!f) return;
  for (auto& [k, val] : *f) {
    if (k == "circuit_breaker") {
      d.circuit_breaker = boolean(val, k, ctx).value_or(d.circuit_breaker);
    } else if (k == "rollback") {
      d.rollback = boolean(val, k, ctx).value_or(d.rollback);
    } else if (k == "min_healthy_percent") {
      d.min_healthy_percent = integer(val, k, ctx, 0, 100).value_or(d.min_healthy_percent);
    } else if (k == "max_percent") {
      d.max_percent = integer(val, k, ctx, 100, 200).value_or(d.max_percent);
    }
  }
  if (d.rollback && !d.circuit_breaker) {
    error(v, fmt::format("{}: 'rollback' needs 'circuit_breaker' (set rollback: false)", ctx));
  }
}

void Parser::parsePolicy(const YAML::Node& v, Service& s, const std::string& service_ctx) {
  if (!v.IsSequence()) {
    error(v, fmt::format("'task_role_policy' in {} must be a list of statements with 'actions' and 'resources'",
                         service_ctx));
    return;
  }
  int n = 0;
  for (const auto& item : v) {
    if (spent()) break;
    std::string ctx = fmt::format("statement {} of task_role_policy of {}", ++n, service_ctx);
    auto f = fields(item, {"actions", "resources"}, ctx);
    if (!f) continue;
    PolicyStatement st;
    for (auto& [k, val] : *f) {
      if (k == "actions") {
        st.actions = stringList(val, k, ctx);
        for (const std::string& a : st.actions) {
          if (!validIamAction(a))
            error(val, fmt::format("'{}' in {} is not an IAM action (like ssm:GetParameter)", a.substr(0, 128), ctx));
        }
      } else if (k == "resources") {
        st.resources = stringList(val, k, ctx);
        for (const std::string& r : st.resources) {
          if (r != "*" && !r.starts_with("arn:")) {
            error(val, fmt::format("resource '{}' in {} must be an ARN or '*'", r.substr(0, 256), ctx));
          }
        }
      }
    }
    if (st.actions.empty()) error(item, fmt::format("{} needs 'actions'", ctx));
    if (st.resources.empty()) error(item, fmt::format("{} needs 'resources'", ctx));
    s.task_role_policy.push_back(std::move(st));
  }
}

void Parser::parseEnvVars(const YAML::Node& v, std::string_view key, const std::string& ctx,
                          std::map<std::string, std::string>& out) {
  for (auto& [var, value] : stringMap(v, key, ctx)) {
    if (!validEnvVarName(var)) {
      error(v, fmt::format("'{}' in '{}' of {} is not an environment variable name", var.substr(0, 128), key, ctx));
    }
    out[var] = value;
  }
}

std::vector<Parameter> Parser::parseParameters(const YAML::Node& v, const std::string& owner) {
  std::vector<Parameter> out;
  if (v.IsNull()) return out;
  if (!v.IsMap()) {
    error(v, fmt::format("'parameters' in {} must be a mapping of SSM parameter names to parameters", owner));
    return out;
  }
  std::set<std::string> names;
  for (const auto& kv : v) {
    if (spent()) break;
    auto name = string(kv.first, "parameter name", owner);
    if (!name) continue;
    std::string ctx = fmt::format("parameter '{}'", name->substr(0, 256));
    if (!names.insert(*name).second) {
      error(kv.first, fmt::format("duplicate {}", ctx));
      continue;
    }
    if (!validParameterName(substitute(*name, kSample))) {
      error(kv.first, fmt::format("'{}' is not a valid SSM parameter name: use letters, digits and _.-/, starting "
                                  "with '/' when hierarchical",
                                  name->substr(0, 256)));
    }
    Parameter p;
    p.name = *name;
    p.where = at(kv.first);
    if (kv.second.IsScalar()) {  // "/name: value": a String
      p.value = kv.second.Scalar();
      checkPlaceholders(kv.second, p.value, "value", ctx);
    } else {
      auto f = fields(kv.second, {"type", "value", "description"}, ctx);
      if (!f) continue;
      bool has_value = false;
      for (auto& [k, val] : *f) {
        if (k == "type") {
          if (auto t = string(val, k, ctx, false)) {
            if (*t != "String" && *t != "SecureString") {
              error(val, fmt::format("'type' of {} must be String or SecureString, not '{}'", ctx, t->substr(0, 64)));
            }
            p.type = *t;
          }
        } else if (k == "value") {
          has_value = true;
          p.value = string(val, k, ctx).value_or("");
          if (p.value.size() > 4096) error(val, fmt::format("the value of {} is longer than 4096 characters", ctx));
        } else if (k == "description") {
          p.description = string(val, k, ctx).value_or("");
          if (p.description.size() > 1024) {
            error(val, fmt::format("the description of {} is longer than 1024 characters", ctx));
          }
        }
      }
      if (!has_value) error(kv.first, fmt::format("{} has no 'value'", ctx));
    }
    out.push_back(std::move(p));
  }
  return out;
}

std::map<std::string, std::string> Parser::parseTags(const YAML::Node& v, const std::string& ctx) {
  auto tags = stringMap(v, "tags", ctx);
  for (const auto& [k, value] : tags) {
    if (k.empty() || k.size() > 128 || value.size() > 256) {
      error(v, fmt::format("tag '{}' in {}: keys are 1-128 characters, values up to 256", k.substr(0, 128), ctx));
    } else if (k.starts_with("aws:")) {
      error(v, fmt::format("tag '{}' in {}: the aws: prefix is reserved", k, ctx));
    } else if (k == "Project" || k == "Environment" || k == "ManagedBy") {
      error(v, fmt::format("tag '{}' in {} is set by berth", k, ctx));
    }
  }
  return tags;
}

std::optional<int> Parser::parseLogs(const YAML::Node& v, const std::string& owner) {
  std::string ctx = "logs of " + owner;
  auto f = fields(v, {"retention_days"}, ctx);
  if (!f) return std::nullopt;
  for (auto& [k, val] : *f) {
    auto days = integer(val, k, ctx, 1, 3653);
    if (days && std::ranges::find(kRetentionDays, *days) == std::end(kRetentionDays)) {
      error(val, fmt::format("'retention_days' in {} must be one of CloudWatch Logs' values ({}), not {}", ctx,
                             joinInts(kRetentionDays), *days));
      return std::nullopt;
    }
    return days;
  }
  return std::nullopt;
}

void Parser::parseEnvironment(const YAML::Node& key, const YAML::Node& v) {
  auto name = string(key, "environment name", "'environments'", false);
  if (!name) return;
  std::string ctx = fmt::format("environment '{}'", name->substr(0, 64));
  if (!isLowerName(*name) || name->size() > kMaxNameSize) {
    error(key, fmt::format("environment name '{}' must be 1-{} characters of a-z, 0-9 and '-', starting with a letter",
                           name->substr(0, 64), kMaxNameSize));
  }
  EnvironmentSpec env;
  env.name = *name;
  env.where = at(key);
  override_drafts_.emplace_back();
  auto f = fields(v, {"cluster", "container_insights", "namespace", "region", "tags", "logs", "parameters", "services"},
                  ctx);
  if (f) {
    for (auto& [k, val] : *f) {
      if (k == "cluster") {
        env.cluster = string(val, k, ctx);
        if (env.cluster && !validClusterName(substitute(*env.cluster, kSample))) {
          error(val, fmt::format("cluster name '{}' in {} must be 1-255 letters, digits, '-' and '_'",
                                 env.cluster->substr(0, 256), ctx));
        }
      } else if (k == "container_insights") {
        env.container_insights = boolean(val, k, ctx);
      } else if (k == "namespace") {
        env.namespace_name = string(val, k, ctx);
        if (env.namespace_name && !validNamespace(substitute(*env.namespace_name, kSample))) {
          error(val, fmt::format("namespace '{}' in {} must be a lowercase DNS name (like {}.local)",
                                 env.namespace_name->substr(0, 256), ctx, name->substr(0, 64)));
        }
      } else if (k == "region") {
        env.region = string(val, k, ctx, false);
        if (env.region && !validRegion(*env.region)) {
          error(val, fmt::format("'{}' is not an AWS region name (like us-east-1)", env.region->substr(0, 64)));
        }
      } else if (k == "tags") {
        env.tags = parseTags(val, ctx);
      } else if (k == "logs") {
        env.log_retention_days = parseLogs(val, ctx);
      } else if (k == "parameters") {
        env.parameters = parseParameters(val, ctx);
      } else if (k == "services") {
        if (!val.IsMap()) {
          if (!val.IsNull()) error(val, fmt::format("'services' in {} must be a mapping of service names", ctx));
          continue;
        }
        std::set<std::string> seen;
        for (const auto& kv : val) {
          if (spent()) break;
          if (kv.first.IsScalar() && !seen.insert(kv.first.Scalar()).second) {
            error(kv.first, fmt::format("duplicate service '{}' in {}", kv.first.Scalar(), ctx));
            continue;
          }
          parseOverride(kv.first, kv.second, env);
        }
      }
    }
  }
  file_.environments.push_back(env.name);
  file_.environment_specs.push_back(std::move(env));
}

void Parser::parseOverride(const YAML::Node& key, const YAML::Node& v, EnvironmentSpec& env) {
  std::string env_ctx = fmt::format("environment '{}'", env.name.substr(0, 64));
  auto name = string(key, "service name", env_ctx, false);
  if (!name) return;
  auto known = std::ranges::find_if(file_.services, [&](const Service& s) { return s.name == *name; });
  if (known == file_.services.end()) {
    std::vector<std::string> names;
    for (const Service& s : file_.services) names.push_back(s.name);
    error(key,
          fmt::format("{} overrides unknown service '{}'{}", env_ctx, name->substr(0, 255), suggestion(*name, names)));
    return;
  }
  std::string ctx = fmt::format("service '{}' of {}", *name, env_ctx);
  ServiceOverride o;
  o.name = *name;
  o.where = at(key);
  OverrideDraft draft{o.where, o.where};
  auto f =
      fields(v, {"image", "cpu", "memory", "count", "capacity", "spot_fallback", "autoscaling", "environment"}, ctx);
  if (!f) return;
  for (auto& [k, val] : *f) {
    if (k == "image") {
      o.image = string(val, k, ctx);
      if (o.image && !splitImage(substitute(*o.image, kSample))) {
        error(val, fmt::format("'image' in {} is not a valid image reference: '{}'", ctx, o.image->substr(0, 256)));
      }
    } else if (k == "cpu") {
      o.cpu = parseCpu(val, ctx).value_or(0);
      draft.cpu_at = at(val);
    } else if (k == "memory") {
      o.memory = integer(val, k, ctx, 1, 1 << 20).value_or(0);
      draft.memory_at = at(val);
    } else if (k == "count") {
      o.count = integer(val, k, ctx, 0, 5000);
    } else if (k == "capacity") {
      o.capacity_provider = string(val, k, ctx, false);
      if (o.capacity_provider && *o.capacity_provider != "FARGATE" && *o.capacity_provider != "FARGATE_SPOT") {
        error(val, fmt::format("'capacity' in {} must be FARGATE or FARGATE_SPOT, not '{}'", ctx,
                               o.capacity_provider->substr(0, 64)));
      }
    } else if (k == "spot_fallback") {
      o.spot_fallback = boolean(val, k, ctx);
    } else if (k == "autoscaling") {
      if (val.IsScalar() && (val.Scalar() == "false" || val.Scalar() == "False" || val.Scalar() == "FALSE")) {
        o.autoscaling_disabled = true;
      } else if (val.IsScalar()) {
        error(val, fmt::format("'autoscaling' in {} must be a mapping, or false to turn it off", ctx));
      } else {
        o.autoscaling = parseAutoscaling(val, ctx);
      }
    } else if (k == "environment") {
      parseEnvVars(val, k, ctx, o.environment);
    }
  }
  env.services.push_back(std::move(o));
  override_drafts_.back().push_back(draft);
}

// Fargate CPU/memory per environment: an override may set either half.
void Parser::checkSizes() {
  for (size_t i = 0; i < file_.services.size(); ++i) {
    const Service& s = file_.services[i];
    const ServiceDraft& d = service_drafts_[i];
    bool overridden = false;
    for (size_t e = 0; e < file_.environment_specs.size(); ++e) {
      const EnvironmentSpec& env = file_.environment_specs[e];
      for (size_t j = 0; j < env.services.size(); ++j) {
        const ServiceOverride& o = env.services[j];
        if (o.name != s.name || (!o.cpu && !o.memory)) continue;
        overridden = true;
        int cpu = o.cpu.value_or(s.cpu), memory = o.memory.value_or(s.memory);
        if (cpu == 0 || memory == 0) continue;  // already reported
        if (auto why = checkFargateSize(cpu, memory)) {
          const OverrideDraft& od = override_drafts_[e][j];
          error(o.memory ? od.memory_at : od.cpu_at,
                fmt::format("service '{}' in environment '{}': {} With {} CPU, memory may be {}.", s.name, env.name,
                            *why, cpu, fargateMemoryChoices(cpu)));
        }
      }
    }
    // The top-level size matters when some environment does not override it.
    size_t overriding = 0;
    for (const EnvironmentSpec& env : file_.environment_specs) {
      overriding += std::ranges::count_if(
          env.services, [&](const ServiceOverride& o) { return o.name == s.name && o.cpu && o.memory; });
    }
    bool top_used = !overridden || overriding < file_.environment_specs.size();
    if (top_used && s.cpu != 0 && s.memory != 0) {
      if (auto why = checkFargateSize(s.cpu, s.memory)) {
        error(d.memory_at, fmt::format("service '{}': {} With {} CPU, memory may be {}.", s.name, *why, s.cpu,
                                       fargateMemoryChoices(s.cpu)));
      }
    }
  }
}

}  // namespace

std::string formatLocation(const Location& where) {
  return fmt::format("{}:{}:{}", where.file, where.line, where.column);
}

Result<StackFile> parseStackFile(std::string_view yaml, std::string path) { return Parser(std::move(path)).run(yaml); }

Result<StackFile> loadStackFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return failErrno(fmt::format("cannot open {}", path), errno);
  std::ostringstream text;
  text << in.rdbuf();
  if (in.bad()) return failErrno(fmt::format("cannot read {}", path), errno);
  return parseStackFile(text.str(), path);
}

}  // namespace berth::stack
