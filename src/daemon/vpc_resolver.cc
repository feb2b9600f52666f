#include "daemon/vpc_resolver.h"

namespace berth::daemon {

Result<std::vector<std::string>> addVpcResolverAddresses(agent::net::Netlink& host, const std::string& bridge,
                                                         const std::vector<std::string>& subnet_cidrs) {
  int index = BERTH_TRY(host.linkIndex(bridge));
  std::vector<std::string> listen;
  for (const std::string& cidr : subnet_cidrs) {
    agent::net::Ipv4Prefix subnet = BERTH_TRY(agent::net::Ipv4Prefix::parseNetwork(cidr));
    agent::net::Ipv4Prefix resolver{agent::net::Ipv4Address{subnet.network().value + 2}, subnet.length};
    Status added = host.addAddress(index, resolver);
    if (!added && added.error().code != ErrorCode::kAlreadyExists) return std::unexpected(added.error());
    listen.push_back(resolver.address.toString() + ":53");
  }
  return listen;
}

}  // namespace berth::daemon
