// The network as Fargate sees it: one default VPC owning berth's VPC CIDR,
// one default subnet per availability zone (as AWS's default VPC has) and a
// default security group. Ids are generated once per data directory and kept
// in the store, so they are stable across restarts, as on AWS.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "common/result.h"
#include "store/store.h"

namespace berth::control {

struct Subnet {
  std::string id;                    // subnet-<17 hex>
  std::string cidr;                  // 172.31.0.0/20
  std::string availability_zone;     // us-east-1a
  std::string availability_zone_id;  // use1-az1
};

struct NetworkInventory {
  std::string vpc_id;
  std::string vpc_cidr;
  std::string security_group_id;
  std::string dhcp_options_id;
  std::vector<Subnet> subnets;

  const Subnet* findSubnet(std::string_view id) const;
  bool hasSecurityGroup(std::string_view id) const { return id == security_group_id; }
};

// Loads the inventory from the store, or creates and stores it on first use.
// `vpc_cidr` must be a /16 (default 172.31.0.0/16); subnets are its first
// three /20s in zones <region>a, b and c.
Result<NetworkInventory> loadOrCreateNetwork(store::Store& store, const std::string& region,
                                             const std::string& vpc_cidr);

}  // namespace berth::control
