// The ECS front end: maps an AwsCall onto the ECS control plane.
#pragma once

#include "api/service.h"
#include "control/ecs/ecs.h"

namespace berth::api {

// Runs `call` on `ecs`. Call on the control executor.
AwsReply invokeEcs(ecs::Ecs& ecs, const AwsCall& call);

}  // namespace berth::api
