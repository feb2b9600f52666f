#include "control/network.h"

#include <arpa/inet.h>

#include <fmt/format.h>

#include "common/json.h"
#include "common/random.h"

namespace berth::control {
namespace {

constexpr std::string_view kKind = "network";
constexpr std::string_view kKey = "default";

std::string awsId(std::string_view prefix) { return std::string(prefix) + randomHex(9).substr(0, 17); }

// AWS's zone ids for us-east-1 are use1-az1...; other regions follow the
// same shape with their own abbreviation. The mapping is not public, so this
// is a plausible stand-in.
std::string zoneId(const std::string& region, int index) {
  std::string abbrev;
  size_t start = 0;
  while (start < region.size()) {
    size_t dash = region.find('-', start);
    std::string part = region.substr(start, dash == std::string::npos ? std::string::npos : dash - start);
    if (!part.empty()) abbrev += std::isdigit(static_cast<unsigned char>(part[0])) ? part : part.substr(0, 1);
    if (dash == std::string::npos) break;
    start = dash + 1;
  }
  // us-east-1 -> "ue1" -> AWS writes "use1"; keep the first word whole-ish.
  std::string first = region.substr(0, region.find('-'));
  std::string rest = abbrev.substr(1);
  return fmt::format("{}{}-az{}", first, rest, index + 1);
}

boost::json::object toJson(const NetworkInventory& n) {
  boost::json::array subnets;
  for (const auto& s : n.subnets)
    subnets.push_back({{"id", s.id}, {"cidr", s.cidr}, {"az", s.availability_zone}, {"azId", s.availability_zone_id}});
  return {{"vpcId", n.vpc_id},
          {"vpcCidr", n.vpc_cidr},
          {"securityGroupId", n.security_group_id},
          {"dhcpOptionsId", n.dhcp_options_id},
          {"subnets", std::move(subnets)}};
}

NetworkInventory fromJson(const boost::json::object& o) {
  NetworkInventory n;
  n.vpc_id = json::stringOr(o, "vpcId");
  n.vpc_cidr = json::stringOr(o, "vpcCidr");
  n.security_group_id = json::stringOr(o, "securityGroupId");
  n.dhcp_options_id = json::stringOr(o, "dhcpOptionsId");
  if (const auto* a = json::getArray(o, "subnets"))
    for (const auto& v : *a) {
      if (!v.is_object()) continue;
      const auto& s = v.get_object();
      n.subnets.push_back(
          {json::stringOr(s, "id"), json::stringOr(s, "cidr"), json::stringOr(s, "az"), json::stringOr(s, "azId")});
    }
  return n;
}

}  // namespace

const Subnet* NetworkInventory::findSubnet(std::string_view id) const {
  for (const auto& s : subnets)
    if (s.id == id) return &s;
  return nullptr;
}

Result<NetworkInventory> loadOrCreateNetwork(store::Store& store, const std::string& region,
                                             const std::string& vpc_cidr) {
  auto existing = BERTH_TRY(store.get(kKind, kKey));
  if (existing) {
    auto parsed = json::parse(*existing);
    if (!parsed || !parsed->is_object()) return fail(ErrorCode::kInternal, "corrupt network inventory in store");
    NetworkInventory n = fromJson(parsed->get_object());
    if (n.vpc_cidr != vpc_cidr)
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("the data directory's VPC is {}, not {}; use a new data directory to change it",
                              n.vpc_cidr, vpc_cidr));
    return n;
  }

  auto slash = vpc_cidr.find('/');
  in_addr base{};
  if (slash == std::string::npos || vpc_cidr.substr(slash + 1) != "16" ||
      inet_pton(AF_INET, vpc_cidr.substr(0, slash).c_str(), &base) != 1)
    return fail(ErrorCode::kInvalidArgument, "the VPC CIDR must be an IPv4 /16, e.g. 172.31.0.0/16");

  NetworkInventory n;
  n.vpc_id = awsId("vpc-");
  n.vpc_cidr = vpc_cidr;
  n.security_group_id = awsId("sg-");
  n.dhcp_options_id = awsId("dopt-");
  uint32_t net = ntohl(base.s_addr);
  for (int i = 0; i < 3; ++i) {
    in_addr sub{htonl(net + (static_cast<uint32_t>(i) << 12))};
    char text[INET_ADDRSTRLEN];
    inet_ntop(AF_INET, &sub, text, sizeof text);
    n.subnets.push_back(
        {awsId("subnet-"), std::string(text) + "/20", region + static_cast<char>('a' + i), zoneId(region, i)});
  }
  store::Batch batch;
  batch.put(std::string(kKind), std::string(kKey), json::serialize(toJson(n)));
  BERTH_TRY(store.commit(batch));
  return n;
}

}  // namespace berth::control
