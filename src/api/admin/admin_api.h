// berthd's admin API: berth's own controls, which no AWS API has (Fargate
// Spot capacity and interruptions), as the JSON 1.1 service "BerthAdmin"
// of the handwritten model data/models/berth.json.
//
// The front door treats it as any other service: X-Amz-Target
// "BerthAdmin.<Operation>", SigV4 with signing name "berth", the input
// type-checked against the model. invokeAdmin adds the authorization: only
// berthd's root credentials (<data-dir>/credentials) may call it; any other
// key is an AccessDeniedException. See docs/architecture.md ("Admin API").
//
// Operations: SpotInterrupt, SetSpotCapacity, GetSpotCapacity,
// SetSpotInterruptionRate.
#pragma once

#include <string>

#include "api/service.h"
#include "control/ecs/ecs.h"

namespace berth::api {

struct AdminApiOptions {
  // The access key id of <data-dir>/credentials: the only caller allowed.
  std::string root_access_key_id;
};

// Runs `call` on `ecs`. Call on the control executor.
AwsReply invokeAdmin(ecs::Ecs& ecs, const AdminApiOptions& options, const AwsCall& call);

}  // namespace berth::api
