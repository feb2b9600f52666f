// The EC2 read calls that ECS users and tools make about the network berth
// provides: DescribeVpcs, DescribeSubnets, DescribeSecurityGroups,
// DescribeAvailabilityZones, DescribeAccountAttributes, DescribeVpcAttribute,
// DescribeNetworkInterfaces. The inventory is immutable, so calls run on the
// caller's thread.
#pragma once

#include "api/service.h"
#include "control/network.h"

namespace berth::api {

AwsReply invokeEc2(const control::NetworkInventory& network, const std::string& account_id, const AwsCall& call);

}  // namespace berth::api
