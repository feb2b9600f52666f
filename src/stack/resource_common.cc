#include "stack/resource_common.h"

#include <chrono>
#include <set>
#include <thread>

#include <fmt/format.h>

namespace berth::stack {

bj::array orderLike(std::vector<std::string> live, const bj::value* desired) {
  std::vector<std::string> want;
  if (desired && desired->is_array())
    for (const auto& v : desired->as_array())
      if (v.is_string()) want.emplace_back(v.as_string());
  bj::array out;
  if (std::multiset<std::string>(live.begin(), live.end()) == std::multiset<std::string>(want.begin(), want.end())) {
    live = want;
  } else {
    std::sort(live.begin(), live.end());
  }
  for (auto& s : live) out.push_back(bj::value(s));
  return out;
}

std::vector<std::string> splitId(std::string_view id, char sep) {
  std::vector<std::string> out;
  for (;;) {
    size_t at = id.find(sep);
    out.emplace_back(id.substr(0, at));
    if (at == std::string_view::npos) return out;
    id.remove_prefix(at + 1);
  }
}

Result<DefaultNetwork> defaultNetwork(AwsApi& api) {
  DefaultNetwork n;
  XmlElement vpcs =
      BERTH_TRY(api.query("ec2", "DescribeVpcs", {{"Filter.1.Name", "isDefault"}, {"Filter.1.Value.1", "true"}}));
  const XmlElement* set = vpcs.child("vpcSet");
  if (set && !set->all("item").empty()) n.vpc_id = set->all("item")[0]->textAt("vpcId");
  if (n.vpc_id.empty()) return fail(ErrorCode::kFailedPrecondition, "the region has no default VPC");
  XmlElement subnets =
      BERTH_TRY(api.query("ec2", "DescribeSubnets", {{"Filter.1.Name", "vpc-id"}, {"Filter.1.Value.1", n.vpc_id}}));
  if (const XmlElement* s = subnets.child("subnetSet"))
    for (const XmlElement* item : s->all("item")) n.subnets.push_back(item->textAt("subnetId"));
  std::sort(n.subnets.begin(), n.subnets.end());
  XmlElement groups = BERTH_TRY(api.query("ec2", "DescribeSecurityGroups",
                                          {{"Filter.1.Name", "vpc-id"},
                                           {"Filter.1.Value.1", n.vpc_id},
                                           {"Filter.2.Name", "group-name"},
                                           {"Filter.2.Value.1", "default"}}));
  if (const XmlElement* g = groups.child("securityGroupInfo"))
    if (!g->all("item").empty()) n.security_group = g->all("item")[0]->textAt("groupId");
  if (n.subnets.empty() || n.security_group.empty())
    return fail(ErrorCode::kFailedPrecondition, "the default VPC has no subnets or no default security group");
  return n;
}

Status forEachJsonPage(AwsApi& api, std::string_view service, std::string_view operation, bj::object input,
                       std::string_view token_key, const std::function<bool(const bj::object&)>& page) {
  std::set<std::string> seen;
  for (;;) {
    bj::object out = BERTH_TRY(api.json(service, operation, input));
    if (!page(out)) return {};
    std::string next = json::stringOr(out, token_key);
    if (next.empty()) return {};
    if (!seen.insert(next).second)
      return fail(ErrorCode::kInternal,
                  fmt::format("{} {}: the {} {} came back twice", service, operation, token_key, next));
    input[token_key] = next;
  }
}

Status forEachQueryPage(AwsApi& api, std::string_view service, std::string_view action, QueryParams params,
                        const std::function<bool(const XmlElement&)>& page) {
  std::string result_name = std::string(action) + "Result";
  std::set<std::string> seen;
  for (;;) {
    XmlElement out = BERTH_TRY(api.query(service, action, params));
    const XmlElement* result = out.child(result_name);
    if (!result) return {};  // an empty answer: nothing listed
    if (!page(*result)) return {};
    std::string marker = result->textAt("Marker");
    if (result->textAt("IsTruncated") != "true" || marker.empty()) return {};
    if (!seen.insert(marker).second)
      return fail(ErrorCode::kInternal, fmt::format("{} {}: the Marker {} came back twice", service, action, marker));
    std::erase_if(params, [](const auto& kv) { return kv.first == "Marker"; });
    params.emplace_back("Marker", marker);
  }
}

void pollPause(int attempt) {
  std::this_thread::sleep_for(std::chrono::milliseconds(std::min(100 * (1 << std::min(attempt, 4)), 2000)));
}

ResourceTypes awsResourceTypes() {
  ResourceTypes types;
  for (auto* make : {makeEcrRepository, makeLogGroup, makeSsmParameter, makeEcsCluster, makeIamRole, makeSdNamespace,
                     makeSdService, makeEcsTaskDefinition, makeEcsService, makeScalableTarget, makeScalingPolicy}) {
    auto t = make();
    std::string name(t->type());
    types.emplace(std::move(name), std::move(t));
  }
  return types;
}

}  // namespace berth::stack
