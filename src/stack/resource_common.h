// Helpers shared by the resource types (resource_*.cc); internal to
// src/stack.
#pragma once

#include <algorithm>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/json.h"
#include "stack/engine.h"

namespace berth::stack {

namespace bj = boost::json;

// props[key] as a string, else `fallback` (also when props is null).
inline std::string propString(const bj::object* props, std::string_view key, std::string_view fallback = {}) {
  return props ? json::stringOr(*props, key, fallback) : std::string(fallback);
}

inline bool contains(const std::vector<std::string>& v, std::string_view s) {
  return std::find(v.begin(), v.end(), s) != v.end();
}

// `live` (a list of strings) reordered as `desired` lists them when both hold
// the same set, so that order alone is no difference; else `live` sorted.
bj::array orderLike(std::vector<std::string> live, const bj::value* desired);

// Splits "a|b|c" ids.
std::vector<std::string> splitId(std::string_view id, char sep = '|');

// The default VPC's id, its subnets and its "default" security group (EC2).
struct DefaultNetwork {
  std::string vpc_id;
  std::vector<std::string> subnets;
  std::string security_group;
};
Result<DefaultNetwork> defaultNetwork(AwsApi& api);

// Sleeps between polls of an asynchronous operation.
void pollPause(int attempt);

std::unique_ptr<ResourceType> makeEcrRepository();
std::unique_ptr<ResourceType> makeLogGroup();
std::unique_ptr<ResourceType> makeSsmParameter();
std::unique_ptr<ResourceType> makeEcsCluster();
std::unique_ptr<ResourceType> makeIamRole();
std::unique_ptr<ResourceType> makeSdNamespace();
std::unique_ptr<ResourceType> makeSdService();
std::unique_ptr<ResourceType> makeEcsTaskDefinition();
std::unique_ptr<ResourceType> makeEcsService();
std::unique_ptr<ResourceType> makeScalableTarget();
std::unique_ptr<ResourceType> makeScalingPolicy();

}  // namespace berth::stack
