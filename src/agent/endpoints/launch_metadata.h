// Builds the static part of a task's metadata document from the agent's
// TaskLaunch: the task definition (as DescribeTaskDefinition returns it),
// RunTask's overrides, the subnet. Live parts (statuses, times, the address
// and MAC, image ids, exit codes, health) arrive later through
// TaskMetadataRegistry::applyEvent()/update().
//
// Pure: no I/O, no clock; the only randomness is the DockerId suffix and,
// when none is given, the ContainerARN's uuid. The task definition was
// validated at registration, so members of an unexpected type are ignored.
#pragma once

#include <map>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/endpoints/task_metadata.h"

namespace berth::agent::endpoints {

// What the metadata needs but TaskLaunch does not carry (yet).
struct LaunchExtras {
  std::string service_name;                           // from the task's group "service:<name>"
  std::map<std::string, std::string> task_tags;       // RunTask tags (+ propagated)
  std::map<std::string, std::string> container_arns;  // by name, as DescribeTasks shows them
  std::map<std::string, std::string> docker_ids;      // by name; re-adoption keeps them
  std::string vpc_id;                                 // rendered when set (ECS: EC2 only)
  std::vector<std::string> dns_servers;               // default: the subnet's .2
};

// The document for `launch`, every container with an empty endpoint_id.
// Region-dependent names (PrivateDNSName, the search list) come from the
// task ARN's region.
TaskMetadata metadataFromLaunch(const TaskLaunch& launch, const LaunchExtras& extras = {});

// "ip-172-31-0-5.us-west-2.compute.internal" ("ec2.internal" in us-east-1).
std::string privateDnsName(const std::string& ipv4, const std::string& region);
// "us-west-2.compute.internal" ("ec2.internal" in us-east-1).
std::string dnsSearchDomain(const std::string& region);
// The region of an ARN ("arn:aws:ecs:<region>:..."), empty when malformed.
std::string regionOfArn(const std::string& arn);

}  // namespace berth::agent::endpoints
