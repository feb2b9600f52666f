#include "api/ec2/ec2_api.h"

#include <fnmatch.h>

#include <fmt/format.h>

#include "common/json.h"

namespace berth::api {
namespace {

namespace bj = boost::json;
using Fields = std::vector<std::pair<std::string, std::string>>;  // filter name -> value

std::unexpected<Error> ec2Error(std::string code, std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), std::move(code));
}

// Applies EC2 filters (values may use * and ? wildcards) to one resource's
// filterable fields. Unknown filter names are an error, as on EC2.
Result<bool> matches(const bj::object& in, const Fields& fields) {
  const bj::array* filters = json::getArray(in, "Filters");
  if (!filters) return true;
  for (const auto& f : *filters) {
    const auto& fo = f.as_object();
    std::string name = json::stringOr(fo, "Name");
    auto values = json::stringList(fo, "Values");
    bool known = false, any = false;
    for (const auto& [field, value] : fields) {
      if (field != name) continue;
      known = true;
      for (const auto& pattern : values) any |= fnmatch(pattern.c_str(), value.c_str(), 0) == 0;
    }
    if (!known) return ec2Error("InvalidParameterValue", fmt::format("The filter '{}' is invalid", name));
    if (!any) return false;
  }
  return true;
}

bool wanted(const std::vector<std::string>& ids, const std::string& id) {
  return ids.empty() || std::find(ids.begin(), ids.end(), id) != ids.end();
}

Result<bj::value> describeVpcs(const control::NetworkInventory& n, const std::string& account, const bj::object& in) {
  auto ids = json::stringList(in, "VpcIds");
  for (const auto& id : ids)
    if (id != n.vpc_id) return ec2Error("InvalidVpcID.NotFound", fmt::format("The vpc ID '{}' does not exist", id));
  bj::array vpcs;
  Fields fields{{"vpc-id", n.vpc_id},
                {"cidr", n.vpc_cidr},
                {"cidr-block-association.cidr-block", n.vpc_cidr},
                {"is-default", "true"},
                {"isDefault", "true"},
                {"state", "available"},
                {"owner-id", account},
                {"dhcp-options-id", n.dhcp_options_id}};
  if (BERTH_TRY(matches(in, fields)))
    vpcs.push_back(bj::object{
        {"CidrBlock", n.vpc_cidr},
        {"DhcpOptionsId", n.dhcp_options_id},
        {"State", "available"},
        {"VpcId", n.vpc_id},
        {"OwnerId", account},
        {"InstanceTenancy", "default"},
        {"CidrBlockAssociationSet", bj::array{bj::object{{"AssociationId", "vpc-cidr-assoc-" + n.vpc_id.substr(4)},
                                                         {"CidrBlock", n.vpc_cidr},
                                                         {"CidrBlockState", bj::object{{"State", "associated"}}}}}},
        {"IsDefault", true},
        {"Tags", bj::array{}}});
  return bj::object{{"Vpcs", std::move(vpcs)}};
}

Result<bj::value> describeSubnets(const control::NetworkInventory& n, const std::string& account,
                                  const std::string& region, const bj::object& in) {
  auto ids = json::stringList(in, "SubnetIds");
  for (const auto& id : ids)
    if (!n.findSubnet(id))
      return ec2Error("InvalidSubnetID.NotFound", fmt::format("The subnet ID '{}' does not exist", id));
  bj::array subnets;
  for (const auto& s : n.subnets) {
    if (!wanted(ids, s.id)) continue;
    Fields fields{{"subnet-id", s.id},
                  {"vpc-id", n.vpc_id},
                  {"availability-zone", s.availability_zone},
                  {"availabilityZone", s.availability_zone},
                  {"availability-zone-id", s.availability_zone_id},
                  {"cidr-block", s.cidr},
                  {"cidrBlock", s.cidr},
                  {"cidr", s.cidr},
                  {"default-for-az", "true"},
                  {"defaultForAz", "true"},
                  {"state", "available"},
                  {"owner-id", account}};
    if (!BERTH_TRY(matches(in, fields))) continue;
    subnets.push_back(
        bj::object{{"AvailabilityZone", s.availability_zone},
                   {"AvailabilityZoneId", s.availability_zone_id},
                   {"AvailableIpAddressCount", 4091},
                   {"CidrBlock", s.cidr},
                   {"DefaultForAz", true},
                   {"MapPublicIpOnLaunch", true},
                   {"MapCustomerOwnedIpOnLaunch", false},
                   {"State", "available"},
                   {"SubnetId", s.id},
                   {"VpcId", n.vpc_id},
                   {"OwnerId", account},
                   {"AssignIpv6AddressOnCreation", false},
                   {"Ipv6CidrBlockAssociationSet", bj::array{}},
                   {"SubnetArn", fmt::format("arn:aws:ec2:{}:{}:subnet/{}", region, account, s.id)},
                   {"EnableDns64", false},
                   {"Ipv6Native", false},
                   {"PrivateDnsNameOptionsOnLaunch", bj::object{{"HostnameType", "ip-name"},
                                                                {"EnableResourceNameDnsARecord", false},
                                                                {"EnableResourceNameDnsAAAARecord", false}}},
                   {"Tags", bj::array{}}});
  }
  return bj::object{{"Subnets", std::move(subnets)}};
}

Result<bj::value> describeSecurityGroups(const control::NetworkInventory& n, const std::string& account,
                                         const std::string& region, const bj::object& in) {
  auto ids = json::stringList(in, "GroupIds");
  for (const auto& id : ids)
    if (!n.hasSecurityGroup(id))
      return ec2Error("InvalidGroup.NotFound", fmt::format("The security group '{}' does not exist", id));
  for (const auto& name : json::stringList(in, "GroupNames"))
    if (name != "default")
      return ec2Error("InvalidGroup.NotFound",
                      fmt::format("The security group '{}' does not exist in default VPC '{}'", name, n.vpc_id));
  bj::array groups;
  Fields fields{{"group-id", n.security_group_id},
                {"group-name", "default"},
                {"vpc-id", n.vpc_id},
                {"owner-id", account},
                {"description", "default VPC security group"}};
  if (BERTH_TRY(matches(in, fields)))
    groups.push_back(bj::object{
        {"Description", "default VPC security group"},
        {"GroupName", "default"},
        {"IpPermissions",
         bj::array{bj::object{
             {"IpProtocol", "-1"},
             {"IpRanges", bj::array{}},
             {"Ipv6Ranges", bj::array{}},
             {"PrefixListIds", bj::array{}},
             {"UserIdGroupPairs", bj::array{bj::object{{"GroupId", n.security_group_id}, {"UserId", account}}}}}}},
        {"OwnerId", account},
        {"GroupId", n.security_group_id},
        {"IpPermissionsEgress", bj::array{bj::object{{"IpProtocol", "-1"},
                                                     {"IpRanges", bj::array{bj::object{{"CidrIp", "0.0.0.0/0"}}}},
                                                     {"Ipv6Ranges", bj::array{}},
                                                     {"PrefixListIds", bj::array{}},
                                                     {"UserIdGroupPairs", bj::array{}}}}},
        {"VpcId", n.vpc_id},
        {"SecurityGroupArn", fmt::format("arn:aws:ec2:{}:{}:security-group/{}", region, account, n.security_group_id)},
        {"Tags", bj::array{}}});
  return bj::object{{"SecurityGroups", std::move(groups)}};
}

Result<bj::value> describeAvailabilityZones(const control::NetworkInventory& n, const std::string& region,
                                            const bj::object& in) {
  auto names = json::stringList(in, "ZoneNames");
  auto zone_ids = json::stringList(in, "ZoneIds");
  bj::array zones;
  for (const auto& s : n.subnets) {
    if (!wanted(names, s.availability_zone) || !wanted(zone_ids, s.availability_zone_id)) continue;
    Fields fields{{"zone-name", s.availability_zone},
                  {"zone-id", s.availability_zone_id},
                  {"region-name", region},
                  {"state", "available"},
                  {"zone-type", "availability-zone"},
                  {"group-name", region},
                  {"opt-in-status", "opt-in-not-required"}};
    if (!BERTH_TRY(matches(in, fields))) continue;
    zones.push_back(bj::object{{"State", "available"},
                               {"OptInStatus", "opt-in-not-required"},
                               {"Messages", bj::array{}},
                               {"RegionName", region},
                               {"ZoneName", s.availability_zone},
                               {"ZoneId", s.availability_zone_id},
                               {"GroupName", region},
                               {"NetworkBorderGroup", region},
                               {"ZoneType", "availability-zone"}});
  }
  return bj::object{{"AvailabilityZones", std::move(zones)}};
}

Result<bj::value> describeAccountAttributes(const control::NetworkInventory& n, const bj::object& in) {
  auto names = json::stringList(in, "AttributeNames");
  std::vector<std::pair<std::string, std::string>> attrs = {
      {"supported-platforms", "VPC"}, {"default-vpc", n.vpc_id},
      {"max-instances", "20"},        {"vpc-max-security-groups-per-interface", "5"},
      {"max-elastic-ips", "5"},       {"vpc-max-elastic-ips", "5"}};
  bj::array out;
  for (const auto& [name, value] : attrs) {
    if (!wanted(names, name)) continue;
    out.push_back(
        bj::object{{"AttributeName", name}, {"AttributeValues", bj::array{bj::object{{"AttributeValue", value}}}}});
  }
  return bj::object{{"AccountAttributes", std::move(out)}};
}

Result<bj::value> describeVpcAttribute(const control::NetworkInventory& n, const bj::object& in) {
  std::string id = json::stringOr(in, "VpcId");
  if (id != n.vpc_id) return ec2Error("InvalidVpcID.NotFound", fmt::format("The vpc ID '{}' does not exist", id));
  std::string attribute = json::stringOr(in, "Attribute");
  bj::object out{{"VpcId", id}};
  if (attribute == "enableDnsSupport")
    out["EnableDnsSupport"] = bj::object{{"Value", true}};
  else if (attribute == "enableDnsHostnames")
    out["EnableDnsHostnames"] = bj::object{{"Value", true}};
  else if (attribute == "enableNetworkAddressUsageMetrics")
    out["EnableNetworkAddressUsageMetrics"] = bj::object{{"Value", false}};
  else
    return ec2Error("InvalidParameterValue", fmt::format("Value ({}) for parameter attribute is invalid.", attribute));
  return out;
}

}  // namespace

AwsReply invokeEc2(const control::NetworkInventory& network, const std::string& account_id, const AwsCall& call) {
  const std::string& op = call.operation->name;
  const bj::object& in = call.input;
  if (op == "DescribeVpcs") return describeVpcs(network, account_id, in);
  if (op == "DescribeSubnets") return describeSubnets(network, account_id, call.region, in);
  if (op == "DescribeSecurityGroups") return describeSecurityGroups(network, account_id, call.region, in);
  if (op == "DescribeAvailabilityZones") return describeAvailabilityZones(network, call.region, in);
  if (op == "DescribeAccountAttributes") return describeAccountAttributes(network, in);
  if (op == "DescribeVpcAttribute") return describeVpcAttribute(network, in);
  if (op == "DescribeNetworkInterfaces") return bj::object{{"NetworkInterfaces", bj::array{}}};
  return fail(ErrorCode::kUnimplemented, fmt::format("The action {} is not valid for this web service.", op),
              "InvalidAction");
}

}  // namespace berth::api
