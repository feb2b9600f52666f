// Parameters: PutParameter, deletion, labels, tags, and the helpers shared
// with queries.cc.
#include "control/ssm/ssm.h"

#include <algorithm>
#include <cctype>
#include <regex>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"
#include "control/ssm/errors.h"

namespace berth::ssm {
namespace {

constexpr std::string_view kParameterKind = "ssm.parameter";
constexpr size_t kMaxNameLength = 1011;
constexpr size_t kMaxTags = 50;

std::string lower(std::string_view s) {
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

constexpr std::string_view kNameRules =
    "Parameter name: can't be prefixed with \"aws\" or \"ssm\" (case-insensitive). If formed as a path, it can "
    "consist of sub-paths divided by slash symbol; each sub-path can be formed as a mix of letters, numbers and the "
    "following 3 symbols .-_";

Status checkName(std::string_view name) {
  if (name.empty() || name.size() > kMaxNameLength)
    return validation(fmt::format("Parameter name must be between 1 and {} characters long.", kMaxNameLength));
  for (char c : name)
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != '.' && c != '-' && c != '/')
      return validation(std::string(kNameRules));
  if (name.find('/') != std::string_view::npos && name.front() != '/')
    return validation("Parameter name must be a fully qualified name.");
  std::string_view bare = name.front() == '/' ? name.substr(1) : name;
  std::string low = lower(bare);
  if (low.starts_with("aws") || low.starts_with("ssm")) return validation(std::string(kNameRules));
  if (bare.empty() || bare.back() == '/' || bare.find("//") != std::string_view::npos)
    return validation(std::string(kNameRules));
  size_t levels = static_cast<size_t>(std::count(bare.begin(), bare.end(), '/')) + 1;
  if (levels > kMaxHierarchyLevels)
    return typed(ErrorCode::kInvalidArgument, "HierarchyLevelLimitExceededException",
                 fmt::format("A hierarchy can have a maximum of {} levels. For more information, see Requirements and "
                             "constraints for parameter names in the Amazon Web Services Systems Manager User Guide.",
                             kMaxHierarchyLevels));
  return {};
}

// A label's own rules; AWS reports breaking them in InvalidLabels.
bool validLabel(std::string_view label) {
  if (label.empty() || label.size() > 100) return false;
  if (std::isdigit(static_cast<unsigned char>(label[0]))) return false;
  std::string low = lower(label);
  if (low.starts_with("aws") || low.starts_with("ssm")) return false;
  return std::all_of(label.begin(), label.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '-' || c == '_';
  });
}

bool hasLabel(const bj::object& v, std::string_view label) {
  if (const auto* labels = json::getArray(v, "Labels"))
    for (const auto& l : *labels)
      if (l.is_string() && l.get_string() == label) return true;
  return false;
}

// Parameter policies: a JSON array of {Type, Version, Attributes}.
Result<bj::array> parsePolicies(std::string_view text) {
  auto v = json::parse(text);
  if (!v || !v->is_array())
    return typed(ErrorCode::kInvalidArgument, "InvalidPolicyTypeException",
                 "The policies must be a JSON array of parameter policies.");
  if (v->as_array().size() > 10)
    return typed(ErrorCode::kResourceExhausted, "PoliciesLimitExceededException",
                 "You specified more than the maximum number of allowed policies for the parameter. The maximum is 10.");
  bj::array out;
  for (const auto& p : v->as_array()) {
    if (!p.is_object())
      return typed(ErrorCode::kInvalidArgument, "InvalidPolicyTypeException", "A parameter policy must be an object.");
    std::string type = json::stringOr(p.as_object(), "Type");
    if (type != "Expiration" && type != "ExpirationNotification" && type != "NoChangeNotification")
      return typed(ErrorCode::kInvalidArgument, "InvalidPolicyTypeException",
                   fmt::format("The policy type {} is not supported. Supported types are Expiration, "
                               "ExpirationNotification and NoChangeNotification.",
                               type));
    if (!json::getObject(p.as_object(), "Attributes"))
      return typed(ErrorCode::kInvalidArgument, "InvalidPolicyAttributeException",
                   fmt::format("The {} policy has no Attributes.", type));
    out.push_back(bj::object{{"PolicyText", json::serialize(p)}, {"PolicyType", type}, {"PolicyStatus", "Pending"}});
  }
  return out;
}

// A KMS failure behind a parameter, as SSM reports it: AccessDenied as it
// is, anything else as InvalidKeyId quoting KMS's answer the way the Java
// SDK behind SSM prints it.
std::unexpected<Error> kmsFailure(const Error& e) {
  if (e.aws_type == "AccessDeniedException" || e.code == ErrorCode::kPermissionDenied) return std::unexpected(e);
  return invalidKeyId(fmt::format("{} (Service: AWSKMS; Status Code: 400; Error Code: {}; Request ID: {}; Proxy: null)",
                                  e.message, e.aws_type, randomUuid()));
}

}  // namespace

Ssm::Ssm(SsmConfig config, kms::Kms& kms, store::Store& store, const Clock& clock)
    : config_(std::move(config)), kms_(kms), store_(store), clock_(clock) {}

const std::map<std::string, Ssm::Handler, std::less<>>& Ssm::handlers() {
  static const std::map<std::string, Handler, std::less<>> kHandlers = {
      {"PutParameter", &Ssm::putParameter},
      {"GetParameter", &Ssm::getParameter},
      {"GetParameters", &Ssm::getParameters},
      {"GetParametersByPath", &Ssm::getParametersByPath},
      {"DeleteParameter", &Ssm::deleteParameter},
      {"DeleteParameters", &Ssm::deleteParameters},
      {"DescribeParameters", &Ssm::describeParameters},
      {"GetParameterHistory", &Ssm::getParameterHistory},
      {"LabelParameterVersion", &Ssm::labelParameterVersion},
      {"UnlabelParameterVersion", &Ssm::unlabelParameterVersion},
      {"AddTagsToResource", &Ssm::addTagsToResource},
      {"RemoveTagsFromResource", &Ssm::removeTagsFromResource},
      {"ListTagsForResource", &Ssm::listTagsForResource},
  };
  return kHandlers;
}

bool Ssm::supports(std::string_view operation) const { return handlers().contains(operation); }

Result<bj::value> Ssm::invoke(std::string_view operation, const bj::object& input, const iam::Caller& caller) {
  auto it = handlers().find(operation);
  if (it == handlers().end())
    return fail(ErrorCode::kUnimplemented, fmt::format("berth does not implement SSM {} yet.", operation));
  return (this->*(it->second))(input, caller);
}

Status Ssm::load() {
  for (const auto& r : BERTH_TRY(store_.loadAll(kParameterKind))) {
    auto v = json::parse(r.value);
    if (!v || !v->is_object()) return fail(ErrorCode::kInternal, fmt::format("corrupt record {}/{}", r.kind, r.key));
    Parameter p;
    if (const auto* versions = json::getArray(v->as_object(), "versions"))
      for (const auto& x : *versions)
        if (x.is_object()) p.versions.push_back(x.as_object());
    if (const auto* t = json::getArray(v->as_object(), "tags")) p.tags = *t;
    if (p.versions.empty()) continue;
    params_[r.key] = std::move(p);
  }
  return {};
}

std::string Ssm::arn(std::string_view name) const {
  if (name.starts_with('/')) name.remove_prefix(1);
  return fmt::format("arn:aws:ssm:{}:{}:parameter/{}", config_.region, config_.account_id, name);
}

Status Ssm::commit(const std::string& name, const Parameter& p) {
  bj::array versions;
  for (const auto& v : p.versions) versions.push_back(v);
  store::Batch batch;
  batch.put(std::string(kParameterKind), name, json::serialize(bj::object{{"versions", std::move(versions)}, {"tags", p.tags}}));
  return store_.commit(batch);
}

Status Ssm::commitErase(const std::string& name) {
  store::Batch batch;
  batch.erase(std::string(kParameterKind), name);
  return store_.commit(batch);
}

Result<Ssm::Selected> Ssm::select(std::string_view requested) const {
  Selected s;
  std::string_view name = requested;
  if (name.starts_with("arn:")) {
    std::string prefix = fmt::format("arn:aws:ssm:{}:{}:parameter/", config_.region, config_.account_id);
    if (!name.starts_with(prefix)) return parameterNotFound();
    name.remove_prefix(prefix.size());
    auto colon = name.find(':');
    std::string_view bare = name.substr(0, colon);
    // parameter/a/b is "/a/b"; parameter/x is "x" or "/x", whichever exists.
    std::string candidate = bare.find('/') != std::string_view::npos || !params_.contains(bare)
                                ? "/" + std::string(bare)
                                : std::string(bare);
    if (!params_.contains(candidate) && params_.contains(bare)) candidate = std::string(bare);
    s.name = candidate;
    if (colon != std::string_view::npos) s.selector = std::string(name.substr(colon));
  } else {
    auto colon = name.find(':');
    s.name = std::string(name.substr(0, colon));
    if (colon != std::string_view::npos) s.selector = std::string(name.substr(colon));
  }
  if (s.selector == ":" || s.selector.find(':', 1) != std::string::npos)
    return validation(fmt::format("Invalid parameter name or selector: {}", requested));
  return s;
}

Result<const bj::object*> Ssm::pick(const Parameter& p, const Selected& s) const {
  if (s.selector.empty()) return &p.versions.back();
  std::string_view what = std::string_view(s.selector).substr(1);
  bool numeric = std::all_of(what.begin(), what.end(), [](char c) { return std::isdigit(static_cast<unsigned char>(c)); });
  for (const auto& v : p.versions) {
    if (numeric ? std::to_string(json::getInt(v, "Version").value_or(0)) == what : hasLabel(v, what)) return &v;
  }
  return versionNotFound(what, s.name);
}

Result<std::string> Ssm::decryptValue(const bj::object& v, const iam::Caller& caller) {
  std::string name = json::stringOr(v, "Name");
  auto blob = kms::base64Decode(json::stringOr(v, "Value"));
  if (!blob) return fail(ErrorCode::kInternal, fmt::format("the stored ciphertext of {} is corrupt", name));
  auto plain = kms_.decrypt(*blob, kms::EncryptionContext{{"PARAMETER_ARN", arn(name)}}, caller, "ssm");
  if (!plain) return kmsFailure(plain.error());
  return std::move(plain->plaintext);
}

Result<bj::object> Ssm::parameterView(const bj::object& v, std::string_view selector, bool decrypt,
                                      const iam::Caller& caller) {
  std::string name = json::stringOr(v, "Name");
  bj::object out{{"Name", name},
                 {"Type", json::stringOr(v, "Type")},
                 {"Value", json::stringOr(v, "Value")},
                 {"Version", json::getInt(v, "Version").value_or(1)},
                 {"LastModifiedDate", v.contains("LastModifiedDate") ? v.at("LastModifiedDate") : bj::value(0)},
                 {"ARN", arn(name)},
                 {"DataType", json::stringOr(v, "DataType", "text")}};
  if (!selector.empty()) out["Selector"] = selector;
  if (decrypt && json::stringOr(v, "Type") == "SecureString") out["Value"] = BERTH_TRY(decryptValue(v, caller));
  return out;
}

Result<bj::value> Ssm::putParameter(const bj::object& in, const iam::Caller& caller) {
  std::string name = json::stringOr(in, "Name");
  if (name.starts_with("arn:")) {
    Selected s = BERTH_TRY(select(name));
    if (!s.selector.empty()) return validation(std::string(kNameRules));
    name = s.name;
  }
  BERTH_TRY(checkName(name));
  bool overwrite = json::getBool(in, "Overwrite").value_or(false);
  const bj::array* tags = json::getArray(in, "Tags");
  if (tags && overwrite)
    return validation(
        "Invalid request: tags and overwrite can't be used together. To create a parameter with tags, please remove "
        "overwrite flag. To update tags for an existing parameter, please use AddTagsToResource or "
        "RemoveTagsFromResource.");
  auto it = params_.find(name);
  const bj::object* previous = it == params_.end() ? nullptr : &it->second.versions.back();
  if (previous && !overwrite) return alreadyExists();

  std::string type = json::stringOr(in, "Type", previous ? json::stringOr(*previous, "Type") : "");
  if (type.empty()) return validation("A parameter type is required when you create a parameter.");
  if (previous && json::stringOr(*previous, "Type") != type)
    return typed(ErrorCode::kInvalidArgument, "HierarchyTypeMismatchException",
                 "Parameter Store doesn't support changing a parameter type in a hierarchy. For example, you can't "
                 "change a parameter from a String type to a SecureString type. You must create a new, unique "
                 "parameter.");
  std::string value = json::stringOr(in, "Value");
  if (value.empty()) return validation("Parameter value can't be empty.");
  auto inherit = [&](std::string_view member) -> std::optional<std::string> {
    if (auto v = json::getString(in, member)) return std::string(*v);
    if (previous)
      if (auto v = json::getString(*previous, member)) return std::string(*v);
    return std::nullopt;
  };
  std::optional<std::string> key_id = json::getString(in, "KeyId").transform([](auto s) { return std::string(s); });
  if (key_id && type != "SecureString")
    return validation("KeyId can only be specified for a parameter of type SecureString.");
  if (type == "SecureString" && !key_id) key_id = previous ? json::stringOr(*previous, "KeyId", "alias/aws/ssm") : "alias/aws/ssm";

  std::string data_type = inherit("DataType").value_or("text");
  if (data_type.empty()) data_type = "text";
  if (data_type != "text" && data_type != "aws:ec2:image" && data_type != "aws:ssm:integration")
    return validation(fmt::format(
        "The following data type is not supported: {} (Data type names are all lowercase.)", data_type));
  if (data_type != "text" && type != "String")
    return validation(fmt::format("The data type {} is supported only for parameters of type String.", data_type));

  std::optional<std::string> pattern = inherit("AllowedPattern");
  if (pattern && !pattern->empty()) {
    // libstdc++'s breadth-first matcher (__polynomial): a caller's pattern
    // like ^(a+)+b$ must not stall the control executor on an 8 KB value,
    // as backtracking would. It refuses back-references, at match time.
    std::regex re;
    auto bad_pattern = [&] {
      return typed(ErrorCode::kInvalidArgument, "InvalidAllowedPatternException",
                   fmt::format("The request includes an invalid regular expression: {}", *pattern));
    };
    try {
      re = std::regex(*pattern, std::regex::ECMAScript | std::regex_constants::__polynomial);
    } catch (const std::regex_error&) {
      return bad_pattern();
    }
    bool matches = false;
    try {
      matches = std::regex_match(value, re);
    } catch (const std::regex_error&) {
      return bad_pattern();
    }
    if (!matches)
      return typed(ErrorCode::kInvalidArgument, "ParameterPatternMismatchException",
                   type == "SecureString"
                       ? fmt::format("Parameter value failed to satisfy constraint: Member must satisfy regular "
                                     "expression pattern: {}",
                                     *pattern)
                       : fmt::format("Parameter value, {}, failed to satisfy constraint: Member must satisfy regular "
                                     "expression pattern: {}",
                                     value, *pattern));
  }

  bj::array policies;
  if (auto text = json::getString(in, "Policies"))
    policies = BERTH_TRY(parsePolicies(*text));
  else if (previous)
    if (const auto* p = json::getArray(*previous, "Policies")) policies = *p;

  std::string previous_tier = previous ? json::stringOr(*previous, "Tier", "Standard") : "";
  std::string tier = json::stringOr(in, "Tier", previous ? previous_tier : "Standard");
  if (tier == "Intelligent-Tiering")
    tier = value.size() > kStandardValueLimit || !policies.empty() || previous_tier == "Advanced" ? "Advanced"
                                                                                                   : "Standard";
  if (tier == "Standard" && previous_tier == "Advanced")
    return validation(
        "This parameter uses the advanced-parameter tier. You can't downgrade a parameter from the "
        "advanced-parameter tier to the standard-parameter tier. If necessary, you can delete the advanced parameter "
        "and recreate it as a standard parameter.");
  if (tier == "Standard" && value.size() > kStandardValueLimit)
    return validation(
        "Standard tier parameters support a maximum parameter value of 4096 characters. To create a larger parameter "
        "value, upgrade the parameter to use the advanced-parameter tier. For more information, see "
        "https://docs.aws.amazon.com/systems-manager/latest/userguide/parameter-store-advanced-parameters.html");
  if (value.size() > kAdvancedValueLimit)
    return validation("Advanced tier parameters support a maximum parameter value of 8192 characters.");
  if (tier == "Standard" && !policies.empty())
    return typed(ErrorCode::kInvalidArgument, "IncompatiblePolicyException",
                 "Parameter policies are supported only for advanced-tier parameters.");

  Parameter updated = it == params_.end() ? Parameter{} : it->second;
  if (tags) {
    if (tags->size() > kMaxTags)
      return typed(ErrorCode::kResourceExhausted, "TooManyTagsError",
                   fmt::format("A parameter can have at most {} tags.", kMaxTags));
    updated.tags = *tags;
  }
  int64_t version = previous ? json::getInt(*previous, "Version").value_or(0) + 1 : 1;
  if (updated.versions.size() >= kMaxVersions) {
    const bj::object& oldest = updated.versions.front();
    if (const auto* labels = json::getArray(oldest, "Labels"); labels && !labels->empty())
      return typed(ErrorCode::kResourceExhausted, "ParameterMaxVersionLimitExceeded",
                   fmt::format("You attempted to create a new version of {} by calling the PutParameter API with the "
                               "overwrite flag. Version {}, the oldest version, can't be deleted because it has a "
                               "label associated with it. Move the label to another version of the parameter, and "
                               "try again.",
                               name, json::getInt(oldest, "Version").value_or(0)));
    updated.versions.erase(updated.versions.begin());
  }

  std::string stored_value = value;
  if (type == "SecureString") {
    auto e = kms_.encrypt(*key_id, value, kms::EncryptionContext{{"PARAMETER_ARN", arn(name)}}, caller, "ssm");
    if (!e) return kmsFailure(e.error());
    stored_value = kms::base64Encode(e->blob);
  }

  bj::object v{{"Name", name},
               {"Type", type},
               {"LastModifiedDate", clock_.epochSeconds()},
               {"LastModifiedUser", caller.principal_arn.empty()
                                        ? fmt::format("arn:aws:iam::{}:root", config_.account_id)
                                        : caller.principal_arn},
               {"Value", std::move(stored_value)},
               {"Version", version},
               {"Labels", bj::array{}},
               {"Tier", tier},
               {"Policies", std::move(policies)},
               {"DataType", data_type}};
  if (key_id) v["KeyId"] = *key_id;
  if (auto d = inherit("Description")) v["Description"] = *d;
  if (pattern) v["AllowedPattern"] = *pattern;
  updated.versions.push_back(std::move(v));
  BERTH_TRY(commit(name, updated));
  params_[name] = std::move(updated);
  return bj::object{{"Version", version}, {"Tier", tier}};
}

Result<bj::value> Ssm::deleteParameter(const bj::object& in, const iam::Caller&) {
  Selected s = BERTH_TRY(select(json::stringOr(in, "Name")));
  auto it = params_.find(s.name);
  if (it == params_.end() || !s.selector.empty()) return parameterNotFound();
  BERTH_TRY(commitErase(s.name));
  params_.erase(it);
  return bj::object{};
}

Result<bj::value> Ssm::deleteParameters(const bj::object& in, const iam::Caller&) {
  bj::array deleted, invalid;
  std::vector<std::string> names;
  store::Batch batch;
  for (const auto& requested : json::stringList(in, "Names")) {
    auto s = select(requested);
    if (!s || !s->selector.empty() || !params_.contains(s->name)) {
      invalid.push_back(bj::string(requested));
      continue;
    }
    batch.erase(std::string(kParameterKind), s->name);
    names.push_back(s->name);
    deleted.push_back(bj::string(requested));
  }
  BERTH_TRY(store_.commit(batch));
  for (const auto& n : names) params_.erase(n);
  bj::object out;
  if (!deleted.empty()) out["DeletedParameters"] = std::move(deleted);
  if (!invalid.empty()) out["InvalidParameters"] = std::move(invalid);
  return out;
}

Result<bj::value> Ssm::labelParameterVersion(const bj::object& in, const iam::Caller&) {
  Selected s = BERTH_TRY(select(json::stringOr(in, "Name")));
  auto it = params_.find(s.name);
  if (it == params_.end()) return parameterNotFound();
  Parameter updated = it->second;
  int64_t version = json::getInt(in, "ParameterVersion")
                        .value_or(json::getInt(updated.versions.back(), "Version").value_or(1));
  auto target = std::find_if(updated.versions.begin(), updated.versions.end(),
                             [&](const bj::object& v) { return json::getInt(v, "Version") == version; });
  if (target == updated.versions.end()) return versionNotFound(std::to_string(version), s.name);
  bj::array invalid;
  for (const auto& label : json::stringList(in, "Labels")) {
    if (!validLabel(label)) {
      invalid.push_back(bj::string(label));
      continue;
    }
    // A label names one version: labeling another moves it.
    for (auto& v : updated.versions) {
      if (&v == &*target) continue;
      if (auto* labels = v.if_contains("Labels"); labels && labels->is_array()) {
        auto& a = labels->as_array();
        a.erase(std::remove_if(a.begin(), a.end(), [&](const bj::value& l) { return l.is_string() && l.get_string() == label; }),
                a.end());
      }
    }
    if (!hasLabel(*target, label)) {
      bj::value& labels = (*target)["Labels"];
      if (!labels.is_array()) labels = bj::array{};
      labels.as_array().push_back(bj::string(label));
    }
  }
  if (const auto* labels = json::getArray(*target, "Labels"); labels && labels->size() > kMaxLabelsPerVersion)
    return typed(ErrorCode::kResourceExhausted, "ParameterVersionLabelLimitExceeded",
                 "A parameter version can have maximum 10 labels.Move one or more labels to another version and try "
                 "again.");
  BERTH_TRY(commit(s.name, updated));
  it->second = std::move(updated);
  bj::object out{{"ParameterVersion", version}};
  if (!invalid.empty()) out["InvalidLabels"] = std::move(invalid);  // the model's lists hold at least one
  return out;
}

Result<bj::value> Ssm::unlabelParameterVersion(const bj::object& in, const iam::Caller&) {
  Selected s = BERTH_TRY(select(json::stringOr(in, "Name")));
  auto it = params_.find(s.name);
  if (it == params_.end()) return parameterNotFound();
  Parameter updated = it->second;
  int64_t version = json::getInt(in, "ParameterVersion").value_or(0);
  auto target = std::find_if(updated.versions.begin(), updated.versions.end(),
                             [&](const bj::object& v) { return json::getInt(v, "Version") == version; });
  if (target == updated.versions.end()) return versionNotFound(std::to_string(version), s.name);
  bj::array removed, invalid;
  bj::array kept;
  std::vector<std::string> wanted = json::stringList(in, "Labels");
  if (const auto* labels = json::getArray(*target, "Labels"))
    for (const auto& l : *labels)
      if (std::find(wanted.begin(), wanted.end(), std::string_view(l.as_string())) == wanted.end()) kept.push_back(l);
  for (const auto& label : wanted) {
    if (hasLabel(*target, label))
      removed.push_back(bj::string(label));
    else
      invalid.push_back(bj::string(label));
  }
  (*target)["Labels"] = std::move(kept);
  BERTH_TRY(commit(s.name, updated));
  it->second = std::move(updated);
  bj::object out;
  if (!removed.empty()) out["RemovedLabels"] = std::move(removed);
  if (!invalid.empty()) out["InvalidLabels"] = std::move(invalid);
  return out;
}

Result<Ssm::Parameter*> Ssm::findTagged(const bj::object& in) {
  std::string type = json::stringOr(in, "ResourceType");
  if (type != "Parameter")
    return typed(ErrorCode::kInvalidArgument, "InvalidResourceType",
                 fmt::format("berth supports tags on Parameter resources only, not {}.", type));
  auto s = select(json::stringOr(in, "ResourceId"));
  auto it = s ? params_.find(s->name) : params_.end();
  if (it == params_.end())
    return typed(ErrorCode::kInvalidArgument, "InvalidResourceId", "The resource ID is not valid. Verify the ID and try again.");
  return &it->second;
}

Result<bj::value> Ssm::addTagsToResource(const bj::object& in, const iam::Caller&) {
  Parameter* p = BERTH_TRY(findTagged(in));
  Parameter updated = *p;
  if (const auto* add = json::getArray(in, "Tags"))
    for (const auto& t : *add) {
      std::string key = json::stringOr(t.as_object(), "Key");
      auto existing = std::find_if(updated.tags.begin(), updated.tags.end(),
                                   [&](const bj::value& x) { return json::stringOr(x.as_object(), "Key") == key; });
      if (existing != updated.tags.end())
        *existing = t;
      else
        updated.tags.push_back(t);
    }
  if (updated.tags.size() > kMaxTags)
    return typed(ErrorCode::kResourceExhausted, "TooManyTagsError",
                 fmt::format("A parameter can have at most {} tags.", kMaxTags));
  BERTH_TRY(commit(json::stringOr(updated.versions.back(), "Name"), updated));
  *p = std::move(updated);
  return bj::object{};
}

Result<bj::value> Ssm::removeTagsFromResource(const bj::object& in, const iam::Caller&) {
  Parameter* p = BERTH_TRY(findTagged(in));
  Parameter updated = *p;
  std::vector<std::string> keys = json::stringList(in, "TagKeys");
  bj::array kept;
  for (const auto& t : updated.tags)
    if (std::find(keys.begin(), keys.end(), json::stringOr(t.as_object(), "Key")) == keys.end()) kept.push_back(t);
  updated.tags = std::move(kept);
  BERTH_TRY(commit(json::stringOr(updated.versions.back(), "Name"), updated));
  *p = std::move(updated);
  return bj::object{};
}

Result<bj::value> Ssm::listTagsForResource(const bj::object& in, const iam::Caller&) {
  Parameter* p = BERTH_TRY(findTagged(in));
  return bj::object{{"TagList", p->tags}};
}

Result<std::string> Ssm::resolveSecret(std::string_view name_or_arn, const iam::Caller& caller) {
  Selected s = BERTH_TRY(select(name_or_arn));
  BERTH_TRY(caller.check("ssm:GetParameters", arn(s.name)));
  auto it = params_.find(s.name);
  if (it == params_.end()) return parameterNotFound(fmt::format("Parameter {} not found.", s.name));
  const bj::object* v = BERTH_TRY(pick(it->second, s));
  if (json::stringOr(*v, "Type") == "SecureString") return decryptValue(*v, caller);
  return json::stringOr(*v, "Value");
}

}  // namespace berth::ssm
