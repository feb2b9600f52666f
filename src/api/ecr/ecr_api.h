// The ECR front end: maps an AwsCall onto the ECR model, and answers
// GetAuthorizationToken itself (registry credentials are the API layer's).
#pragma once

#include <string>

#include "api/service.h"
#include "control/ecr/ecr.h"
#include "registry/tokens.h"

namespace berth::api {

struct EcrApiOptions {
  const registry::RegistryTokens* tokens = nullptr;  // never null in berthd
  std::string proxy_endpoint;                         // "http://127.0.0.1:4566"
  std::string account_id = "000000000000";
};

// Runs `call` on `ecr`. Call on the control executor.
AwsReply invokeEcr(ecr::Ecr& ecr, const EcrApiOptions& options, const AwsCall& call);

}  // namespace berth::api
