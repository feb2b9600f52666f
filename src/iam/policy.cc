#include "iam/policy.h"

#include <algorithm>
#include <cctype>
#include <cstdint>

#include <boost/json.hpp>

#include "iam/condition.h"
#include "iam/pattern.h"
#include "iam/principal.h"

namespace berth::iam {

namespace {

constexpr std::string_view kVersion2012 = "2012-10-17";
constexpr std::string_view kVersion2008 = "2008-10-17";

// One Action/NotAction entry: "*" alone, or the lower-cased service prefix
// and a pattern for the action name ("ecs" + "describe*").
struct ActionPattern {
  bool everything = false;
  std::string service;
  Pattern name;
};

// A one-bit summary of a service prefix, so a statement (or a whole policy)
// about other services is skipped with one AND.
uint64_t serviceBit(std::string_view service) {
  uint32_t h = 2166136261u;  // FNV-1a over the lower-cased name
  for (char c : service) h = (h ^ static_cast<uint8_t>(lowerAscii(c))) * 16777619u;
  return uint64_t{1} << (h & 63);
}

struct Statement {
  Effect effect = Effect::kAllow;
  uint64_t services = 0;  // serviceBit() of each action's service; all bits for "*" or NotAction
  bool not_action = false;
  std::vector<ActionPattern> actions;
  bool has_resource = false;  // identity and resource policies
  bool not_resource = false;
  std::vector<Pattern> resources;
  bool has_principal = false;  // trust and resource policies
  bool not_principal = false;
  PrincipalSet principals;
  ConditionBlock conditions;
};

std::unexpected<Error> malformed(std::string reason) {
  return fail(ErrorCode::kInvalidArgument, std::move(reason), "MalformedPolicyDocument");
}
std::unexpected<Error> syntaxError() { return malformed("Syntax errors in policy."); }

// A string or an array of strings (Action, Resource, ...); an empty array
// yields no strings, which the callers report in IAM's words.
Result<std::vector<std::string_view>> stringList(const boost::json::value& v) {
  std::vector<std::string_view> out;
  if (const auto* s = v.if_string()) {
    out.emplace_back(*s);
    return out;
  }
  const auto* array = v.if_array();
  if (!array) return syntaxError();
  for (const auto& item : *array) {
    const auto* s = item.if_string();
    if (!s) return syntaxError();
    out.emplace_back(*s);
  }
  return out;
}

bool isVendorChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '.';
}

Result<ActionPattern> compileAction(std::string_view action) {
  ActionPattern a;
  if (action == "*") {
    a.everything = true;
    return a;
  }
  size_t colon = action.find(':');
  if (colon == std::string_view::npos) {
    return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  }
  if (action.find(':', colon + 1) != std::string_view::npos) {
    return malformed("Actions/Condition can contain only one colon.");
  }
  std::string_view vendor = action.substr(0, colon);
  for (char c : vendor) {
    if (!isVendorChar(c)) return malformed("Vendor " + std::string(vendor) + " is not valid");
  }
  if (vendor.empty()) {
    return malformed("Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.");
  }
  a.service = lowerAscii(vendor);
  a.name = Pattern::compile(action.substr(colon + 1), {.wildcards = true, .variables = false, .lower = true});
  return a;
}

// IAM's first check of a resource: "*" or something ARN-shaped.
Status checkResource(std::string_view resource) {
  if (resource == "*" || resource.find(':') != std::string_view::npos) return {};
  return malformed("Resource " + std::string(resource) + " must be in ARN format or \"*\".");
}

// One statement as written, after the grammar pass: its JSON values by
// field (null where absent), the condition block already compiled.
struct Fields {
  const boost::json::value* sid = nullptr;
  const boost::json::value* effect = nullptr;
  const boost::json::value* action = nullptr;
  const boost::json::value* not_action = nullptr;
  const boost::json::value* resource = nullptr;
  const boost::json::value* not_resource = nullptr;
  const boost::json::value* principal = nullptr;
  const boost::json::value* not_principal = nullptr;
  const boost::json::value* condition = nullptr;
  ConditionBlock conditions;

  const boost::json::value* actions() const { return action ? action : not_action; }
  const boost::json::value* resources() const { return resource ? resource : not_resource; }
  const boost::json::value* principals() const { return principal ? principal : not_principal; }
};

// The grammar pass over one statement: known fields of the right JSON
// types, at most one of each Not* pair, an Effect, a Condition IAM can
// read. Most of what fails here is "Syntax errors in policy." on IAM.
Result<Fields> statementFields(const boost::json::value& v, bool variables) {
  const auto* object = v.if_object();
  if (!object) return syntaxError();
  Fields f;
  for (const auto& [name, value] : *object) {
    const boost::json::value** slot = nullptr;
    if (name == "Sid") slot = &f.sid;
    else if (name == "Effect") slot = &f.effect;
    else if (name == "Action") slot = &f.action;
    else if (name == "NotAction") slot = &f.not_action;
    else if (name == "Resource") slot = &f.resource;
    else if (name == "NotResource") slot = &f.not_resource;
    else if (name == "Principal") slot = &f.principal;
    else if (name == "NotPrincipal") slot = &f.not_principal;
    else if (name == "Condition") slot = &f.condition;
    else return syntaxError();
    *slot = &value;
  }
  if ((f.action && f.not_action) || (f.resource && f.not_resource) || (f.principal && f.not_principal)) {
    return syntaxError();
  }
  if (!f.effect || !f.effect->is_string()) return syntaxError();
  if (f.sid && !f.sid->is_string()) return syntaxError();
  for (const auto* list : {f.action, f.not_action, f.resource, f.not_resource}) {
    if (list) BERTH_TRY(stringList(*list));
  }
  if (f.condition) f.conditions = BERTH_TRY(compileConditions(*f.condition, variables));
  return f;
}

// The document's top level: Version, Id and the statements, each through
// the grammar pass. `variables` says whether the Version has policy
// variables (2012-10-17; an absent Version means 2008-10-17).
Result<std::vector<Fields>> documentStatements(const boost::json::object& root, bool* variables) {
  const boost::json::value* statement = nullptr;
  *variables = false;
  for (const auto& [name, value] : root) {
    if (name == "Version") {
      const auto* s = value.if_string();
      if (!s || (*s != kVersion2012 && *s != kVersion2008)) return syntaxError();
      *variables = *s == kVersion2012;
    } else if (name == "Id") {
      if (!value.is_string()) return syntaxError();
    } else if (name == "Statement") {
      statement = &value;
    } else {
      return syntaxError();
    }
  }
  if (!statement) return syntaxError();
  std::vector<const boost::json::value*> raw;
  if (statement->is_object()) {
    raw.push_back(statement);
  } else if (const auto* array = statement->if_array()) {
    for (const auto& s : *array) raw.push_back(&s);
  } else {
    return syntaxError();
  }
  if (raw.empty()) return syntaxError();
  std::vector<Fields> fields;
  // Read after the whole top level, so a Version written after Statement counts.
  for (const auto* s : raw) fields.push_back(BERTH_TRY(statementFields(*s, *variables)));
  return fields;
}

// The checks after the grammar, in the order IAM reports them: Effect's
// case, Sid uniqueness, what the policy kind requires and forbids, actions
// and resources present, resources ARN-shaped. (Action prefixes and
// principals are checked as they compile.)
Status checkStatements(const std::vector<Fields>& fields, PolicyKind kind) {
  for (const auto& f : fields) {
    const auto& effect = f.effect->get_string();
    if (effect == "Allow" || effect == "Deny") continue;
    if (equalsIgnoreCase(effect, "allow") || equalsIgnoreCase(effect, "deny")) {
      return malformed("The policy failed legacy parsing");
    }
    return syntaxError();
  }
  std::vector<std::string_view> sids;
  for (const auto& f : fields) {
    std::string_view sid = f.sid ? std::string_view(f.sid->get_string()) : std::string_view{};
    if (sid.empty()) continue;
    if (std::ranges::find(sids, sid) != sids.end()) {
      return malformed("Statement IDs (SID) in a single policy must be unique.");
    }
    sids.push_back(sid);
  }
  for (const auto& f : fields) {
    bool principal = f.principals() != nullptr;
    if (kind == PolicyKind::kIdentity && principal) {
      return malformed("Policy document should not specify a principal.");
    }
    if (kind != PolicyKind::kIdentity && !principal) return malformed("Missing required field Principal");
    if (kind == PolicyKind::kTrust && f.resource) return malformed("Has prohibited field Resource");
    if (kind == PolicyKind::kTrust && f.not_resource) return malformed("Has prohibited field NotResource");
  }
  for (const auto& f : fields) {
    if (!f.actions() || BERTH_TRY(stringList(*f.actions())).empty()) {
      return malformed("Policy statement must contain actions.");
    }
  }
  if (kind != PolicyKind::kTrust) {
    for (const auto& f : fields) {
      if (!f.resources() || BERTH_TRY(stringList(*f.resources())).empty()) {
        return malformed("Policy statement must contain resources.");
      }
    }
  }
  for (const auto& f : fields) {
    if (!f.resources()) continue;
    for (auto resource : BERTH_TRY(stringList(*f.resources()))) BERTH_TRY(checkResource(resource));
  }
  return {};
}

Result<Statement> compileStatement(Fields& f, bool variables) {
  Statement s;
  s.effect = f.effect->get_string() == "Deny" ? Effect::kDeny : Effect::kAllow;
  s.not_action = f.not_action != nullptr;
  for (auto action : BERTH_TRY(stringList(*f.actions()))) {
    s.actions.push_back(BERTH_TRY(compileAction(action)));
    s.services |= s.actions.back().everything ? ~uint64_t{0} : serviceBit(s.actions.back().service);
  }
  if (s.not_action) s.services = ~uint64_t{0};
  if (const auto* list = f.resources()) {
    s.has_resource = true;
    s.not_resource = f.not_resource != nullptr;
    for (auto resource : BERTH_TRY(stringList(*list))) {
      s.resources.push_back(Pattern::compile(resource, {.wildcards = true, .variables = variables}));
    }
  }
  if (const auto* p = f.principals()) {
    s.has_principal = true;
    s.not_principal = f.not_principal != nullptr;
    s.principals = BERTH_TRY(compilePrincipal(*p));
  }
  s.conditions = std::move(f.conditions);
  return s;
}

}  // namespace

struct Policy::Compiled {
  PolicyKind kind = PolicyKind::kIdentity;
  // Deny statements first: evaluation stops at the first one that matches.
  std::vector<Statement> statements;
  std::vector<uint64_t> masks;  // statements[i].services, packed for the scan
  size_t deny_count = 0;
  uint64_t services = 0;  // union of the statements'
  bool uses_resource_tags = false;  // some condition or variable names aws:ResourceTag/...
  bool uses_time = false;           // ... aws:CurrentTime or aws:EpochTime
};

namespace {

// The request's action, split and (when short enough to lower on the
// stack) lower-cased once per evaluation.
struct ActionView {
  bool has_colon = false;
  bool lowered = false;  // service and name are lower-case
  std::string_view service;
  std::string_view name;
};

bool actionMatches(const Statement& s, const ActionView& action, const RequestContext& request) {
  bool any = false;
  for (const auto& a : s.actions) {
    if (a.everything) {
      any = true;
      break;
    }
    if (!action.has_colon) continue;
    bool service = action.lowered ? a.service == action.service : equalsIgnoreCase(a.service, action.service);
    if (service && a.name.matches(action.name, !action.lowered, request)) {
      any = true;
      break;
    }
  }
  return any != s.not_action;
}

bool resourceMatches(const Statement& s, const RequestContext& request) {
  if (!s.has_resource) return true;
  bool any = false;
  for (const auto& r : s.resources) {
    if (r.matches(request.resource, false, request)) {
      any = true;
      break;
    }
  }
  return any != s.not_resource;
}

bool principalMatches(const Statement& s, const RequestContext& request) {
  if (!s.has_principal) return true;
  return s.principals.matches(request) != s.not_principal;
}

}  // namespace

void RequestContext::setKey(std::string_view key_name, std::vector<std::string> values) {
  keys.insert_or_assign(lowerAscii(key_name), std::move(values));
}

const std::vector<std::string>* RequestContext::key(std::string_view lower_key) const {
  auto it = keys.find(lower_key);
  if (it != keys.end()) return &it->second;
  return parent ? parent->key(lower_key) : nullptr;
}

Result<std::shared_ptr<const Policy>> Policy::parse(std::string_view json, PolicyKind kind) {
  boost::system::error_code ec;
  boost::json::value doc = boost::json::parse(json, ec);
  if (ec || !doc.is_object()) return syntaxError();
  bool variables = false;
  auto fields = BERTH_TRY(documentStatements(doc.get_object(), &variables));
  BERTH_TRY(checkStatements(fields, kind));

  auto compiled = std::make_unique<Compiled>();
  compiled->kind = kind;
  // Keys are case-insensitive; a mention anywhere (a condition, a variable)
  // means the request must carry the resource's tags to be judged.
  std::string lowered(json);
  for (char& c : lowered) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  compiled->uses_resource_tags = lowered.find("aws:resourcetag/") != std::string::npos;
  compiled->uses_time =
      lowered.find("aws:currenttime") != std::string::npos || lowered.find("aws:epochtime") != std::string::npos;
  std::vector<Statement> allows;
  for (auto& f : fields) {
    Statement s = BERTH_TRY(compileStatement(f, variables));
    compiled->services |= s.services;
    (s.effect == Effect::kDeny ? compiled->statements : allows).push_back(std::move(s));
  }
  compiled->deny_count = compiled->statements.size();
  for (auto& s : allows) compiled->statements.push_back(std::move(s));
  for (const auto& s : compiled->statements) compiled->masks.push_back(s.services);
  return std::make_shared<const Policy>(std::move(compiled));
}

Policy::Policy(std::unique_ptr<const Compiled> compiled) : compiled_(std::move(compiled)) {}
Policy::~Policy() = default;

PolicyKind Policy::kind() const { return compiled_->kind; }

bool Policy::usesResourceTags() const { return compiled_->uses_resource_tags; }

bool Policy::usesTime() const { return compiled_->uses_time; }

Effect Policy::evaluate(const RequestContext& request) const {
  ActionView action;
  size_t colon = request.action.find(':');
  action.has_colon = colon != std::string::npos;
  // An action without a service matches only "*" and NotAction, whose
  // statements carry every bit.
  uint64_t bit = uint64_t{1};
  if (action.has_colon) {
    action.service = std::string_view(request.action).substr(0, colon);
    action.name = std::string_view(request.action).substr(colon + 1);
    bit = serviceBit(action.service);
  }
  if ((compiled_->services & bit) == 0) return Effect::kNone;
  char lowered[128];
  if (action.has_colon && request.action.size() <= sizeof lowered) {
    for (size_t i = 0; i < request.action.size(); ++i) lowered[i] = lowerAscii(request.action[i]);
    action.service = std::string_view(lowered, colon);
    action.name = std::string_view(lowered + colon + 1, request.action.size() - colon - 1);
    action.lowered = true;
  }
  // Identity policies apply to their principal by attachment; Principal is
  // absent from them, so principalMatches() passes.
  Effect result = Effect::kNone;
  for (size_t i = 0; i < compiled_->statements.size(); ++i) {
    if ((compiled_->masks[i] & bit) == 0) continue;
    bool deny = i < compiled_->deny_count;
    if (!deny && result == Effect::kAllow) break;  // no statement left can change it
    const Statement& s = compiled_->statements[i];
    if (!actionMatches(s, action, request)) continue;
    if (!resourceMatches(s, request)) continue;
    if (!principalMatches(s, request)) continue;
    if (!evaluateConditions(s.conditions, request)) continue;
    if (deny) return Effect::kDeny;
    result = Effect::kAllow;
  }
  return result;
}

Decision evaluate(std::span<const Policy* const> policies, const RequestContext& request) {
  bool allowed = false;
  for (const Policy* p : policies) {
    switch (p->evaluate(request)) {
      case Effect::kDeny:
        return Decision::kExplicitDeny;
      case Effect::kAllow:
        allowed = true;
        break;
      case Effect::kNone:
        break;
    }
  }
  return allowed ? Decision::kAllow : Decision::kImplicitDeny;
}

}  // namespace berth::iam
