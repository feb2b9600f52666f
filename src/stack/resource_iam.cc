// iam_role, over IAM's Query protocol.
#include <fmt/format.h>

#include "stack/resource_common.h"

namespace berth::stack {
namespace {

// A policy document as IAM returns it (URL-encoded JSON) -> JSON. IAM's
// answers are documented as URL-encoded; a document that is already plain
// JSON is accepted as is.
bj::value policyDocument(const std::string& text) {
  if (auto doc = json::parse(text)) return *doc;
  if (auto doc = json::parse(urlDecode(text))) return *doc;
  return bj::value(text);
}

std::string documentText(const bj::value& v) { return v.is_string() ? std::string(v.as_string()) : json::serialize(v); }

// IAM role: {RoleName, AssumeRolePolicyDocument (JSON object),
// InlinePolicies? ({policy name: document object}), ManagedPolicyArns?
// ([arn]), Path?, Description?}. Outputs name, arn.
class IamRole final : public ResourceType {
 public:
  std::string_view type() const override { return "iam_role"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "RoleName", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view k) const override { return k == "RoleName" || k == "Path"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string role = id.empty() ? propString(props, "RoleName", name) : id;
    auto got = api.query("iam", "GetRole", {{"RoleName", role}});
    if (!got && isNotFound(got.error())) return std::nullopt;
    if (!got) return std::unexpected(got.error());
    const XmlElement* r = got->find("GetRoleResult/Role");
    if (!r) return fail(ErrorCode::kInternal, "GetRole returned no Role");
    LiveResource live{role,
                      {{"RoleName", role},
                       {"Path", r->textAt("Path")},
                       {"Description", r->textAt("Description")},
                       {"AssumeRolePolicyDocument", policyDocument(r->textAt("AssumeRolePolicyDocument"))}},
                      {{"name", role}, {"arn", r->textAt("Arn")}}};
    std::vector<std::string> policy_names;
    BERTH_TRY(forEachQueryPage(api, "iam", "ListRolePolicies", {{"RoleName", role}}, [&](const XmlElement& result) {
      if (const XmlElement* list = result.child("PolicyNames"))
        for (const XmlElement* m : list->all("member")) policy_names.push_back(m->text);
      return true;
    }));
    bj::object inline_policies;
    for (const auto& policy : policy_names) {
      XmlElement p = BERTH_TRY(api.query("iam", "GetRolePolicy", {{"RoleName", role}, {"PolicyName", policy}}));
      inline_policies[policy] = policyDocument(p.textAt("GetRolePolicyResult/PolicyDocument"));
    }
    live.properties["InlinePolicies"] = std::move(inline_policies);
    std::vector<std::string> arns;
    BERTH_TRY(
        forEachQueryPage(api, "iam", "ListAttachedRolePolicies", {{"RoleName", role}}, [&](const XmlElement& result) {
          if (const XmlElement* list = result.child("AttachedPolicies"))
            for (const XmlElement* m : list->all("member")) arns.push_back(m->textAt("PolicyArn"));
          return true;
        }));
    live.properties["ManagedPolicyArns"] =
        orderLike(std::move(arns), props ? props->if_contains("ManagedPolicyArns") : nullptr);
    return live;
  }

  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    std::string role = propString(&props, "RoleName", name);
    QueryParams in{{"RoleName", role}};
    if (const bj::value* doc = props.if_contains("AssumeRolePolicyDocument"))
      in.emplace_back("AssumeRolePolicyDocument", documentText(*doc));
    if (auto p = json::getString(props, "Path")) in.emplace_back("Path", std::string(*p));
    if (auto d = json::getString(props, "Description")) in.emplace_back("Description", std::string(*d));
    BERTH_TRY(api.query("iam", "CreateRole", in));
    LiveResource empty{role, {{"InlinePolicies", bj::object{}}, {"ManagedPolicyArns", bj::array{}}}, {}};
    BERTH_TRY(syncPolicies(api, empty, props, {}));
    return reread(api, name, role, props);
  }

  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource& live, const bj::object& props,
                              const std::vector<std::string>& changed) override {
    if (contains(changed, "AssumeRolePolicyDocument") && !props.contains("AssumeRolePolicyDocument"))
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("iam_role.{}: AssumeRolePolicyDocument cannot be removed", name));
    if (contains(changed, "AssumeRolePolicyDocument"))
      BERTH_TRY(
          api.query("iam", "UpdateAssumeRolePolicy",
                    {{"RoleName", live.id}, {"PolicyDocument", documentText(props.at("AssumeRolePolicyDocument"))}}));
    if (contains(changed, "Description"))
      BERTH_TRY(
          api.query("iam", "UpdateRole", {{"RoleName", live.id}, {"Description", propString(&props, "Description")}}));
    BERTH_TRY(syncPolicies(api, live, props, changed));
    return reread(api, name, live.id, props);
  }

  Status remove(AwsApi& api, const LiveResource& live) override {
    auto current = BERTH_TRY(read(api, live.id, live.id, nullptr));
    if (!current) return {};
    for (const auto& [policy, doc] : current->properties.at("InlinePolicies").as_object())
      BERTH_TRY(api.query("iam", "DeleteRolePolicy", {{"RoleName", live.id}, {"PolicyName", std::string(policy)}}));
    for (const auto& arn : current->properties.at("ManagedPolicyArns").as_array())
      BERTH_TRY(
          api.query("iam", "DetachRolePolicy", {{"RoleName", live.id}, {"PolicyArn", std::string(arn.as_string())}}));
    auto out = api.query("iam", "DeleteRole", {{"RoleName", live.id}});
    if (!out && !isNotFound(out.error())) return std::unexpected(out.error());
    return {};
  }

 private:
  // Puts the desired inline policies that differ, deletes the others;
  // attaches and detaches managed policies to match. Without InlinePolicies
  // (ManagedPolicyArns) in `props`, the role's are left alone, unless that
  // property is `changed`, i.e. was removed from the stack file: then all go.
  Status syncPolicies(AwsApi& api, const LiveResource& live, const bj::object& props,
                      const std::vector<std::string>& changed) {
    const std::string& role = live.id;
    const bj::object* have = json::getObject(live.properties, "InlinePolicies");
    const bj::object none;
    const bj::object* want = json::getObject(props, "InlinePolicies");
    if (!props.contains("InlinePolicies") && contains(changed, "InlinePolicies")) want = &none;
    if (want) {
      for (const auto& [policy, doc] : *want) {
        const bj::value* now = have ? have->if_contains(policy) : nullptr;
        if (now && diffProperties(bj::object{{"d", *now}}, bj::object{{"d", doc}}, {}, {}).empty()) continue;
        BERTH_TRY(api.query(
            "iam", "PutRolePolicy",
            {{"RoleName", role}, {"PolicyName", std::string(policy)}, {"PolicyDocument", documentText(doc)}}));
      }
      if (have)
        for (const auto& [policy, doc] : *have)
          if (!want->contains(policy))
            BERTH_TRY(api.query("iam", "DeleteRolePolicy", {{"RoleName", role}, {"PolicyName", std::string(policy)}}));
    }
    if (json::getArray(props, "ManagedPolicyArns") ||
        (!props.contains("ManagedPolicyArns") && contains(changed, "ManagedPolicyArns"))) {
      std::vector<std::string> now = json::stringList(live.properties, "ManagedPolicyArns");
      std::vector<std::string> wanted = json::stringList(props, "ManagedPolicyArns");
      for (const auto& arn : wanted)
        if (!contains(now, arn))
          BERTH_TRY(api.query("iam", "AttachRolePolicy", {{"RoleName", role}, {"PolicyArn", arn}}));
      for (const auto& arn : now)
        if (!contains(wanted, arn))
          BERTH_TRY(api.query("iam", "DetachRolePolicy", {{"RoleName", role}, {"PolicyArn", arn}}));
    }
    return {};
  }

  Result<LiveResource> reread(AwsApi& api, const std::string& name, const std::string& id, const bj::object& props) {
    auto live = BERTH_TRY(read(api, name, id, &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("role {} vanished", id));
    return *live;
  }
};

}  // namespace

std::unique_ptr<ResourceType> makeIamRole() { return std::make_unique<IamRole>(); }

}  // namespace berth::stack
