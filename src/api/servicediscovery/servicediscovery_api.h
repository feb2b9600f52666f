// The Cloud Map front end (Route53AutoNaming_v20170314): maps an AwsCall
// onto the Cloud Map control plane.
#pragma once

#include "api/service.h"
#include "control/servicediscovery/cloud_map.h"

namespace berth::api {

// Runs `call` on `cloud_map`. Call on the control executor.
AwsReply invokeServiceDiscovery(servicediscovery::CloudMap& cloud_map, const AwsCall& call);

}  // namespace berth::api
