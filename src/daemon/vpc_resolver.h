// The VPC resolver address for tasks: as in a VPC, the .2 of each subnet
// (the nameserver in every task's /etc/resolv.conf, see
// src/agent/task_record.h) is where DNS answers. berthd puts those addresses
// on the task bridge, next to the subnets' gateways, and runs a DNS listener
// on each (port 53).
//
// Threads: berthd's main thread, after the real agent set up the bridge.
#pragma once

#include <string>
#include <vector>

#include "agent/network/netlink.h"
#include "common/result.h"

namespace berth::daemon {

// Adds <subnet>.2/<length> of every subnet CIDR to `bridge` (already there:
// fine) and returns "a.b.c.2:53" for each, to listen on.
Result<std::vector<std::string>> addVpcResolverAddresses(agent::net::Netlink& host, const std::string& bridge,
                                                         const std::vector<std::string>& subnet_cidrs);

}  // namespace berth::daemon
