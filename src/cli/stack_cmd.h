// The stack commands: a stack file (berth.yaml, docs/stack-file.md) made
// real through the AWS APIs, SigV4-signed, against berthd or any endpoint
// that speaks them (--endpoint):
//   berth plan    --env ENV [-f FILE] [--detailed-exitcode]
//   berth apply   --env ENV [-f FILE] [--auto-approve] [--no-wait]
//   berth destroy --env ENV [-f FILE] [--auto-approve] [--target service.NAME|ADDRESS ...]
//   berth output  --env ENV [-f FILE] [--json]
//   berth cost    --env ENV [-f FILE] [--log-gb-per-task N] [--spot-discount F]
//   berth cost    --env ENV [-f FILE] --metered [--since 15d] [--spot-discount F]
//                 what the tasks that ran cost, from CloudWatch's task-minutes
//   berth status  --env ENV [-f FILE]          services, counts, deployments
//   berth ps      --env ENV [-f FILE]          tasks: status, health, address
//   berth events  SERVICE --env ENV [-f FILE]  the service's events, newest last
//   berth logs    SERVICE --env ENV [--file FILE] [-f|--follow] [--since MINUTES]
//   berth export cloudformation --env ENV [-f FILE] [-o FILE]
//   berth export terraform [--env ENV ...] [-f FILE] [-o DIR]
// State (which resources berth manages) is kept beside the stack file in
// .berth/<env>.json.
#pragma once

#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.h"

namespace berth::cli {

struct StackFlags {
  std::string file = "berth.yaml";
  std::string env;
  bool auto_approve = false;
  bool detailed_exitcode = false;
  bool no_wait = false;
  int wait_seconds = 600;
  bool json = false;
  std::vector<std::string> targets;
  double log_gb_per_task = 0.5;
  double spot_discount = 0.70;
  bool metered = false;               // cost --metered
  std::string metered_since = "15d";  // cost --since: 90m, 36h, 7d
  std::string service;                // events, logs
  bool follow = false;
  int since_minutes = 60;
  std::string output;                 // export: -o
  std::vector<std::string> env_list;  // export terraform: --env, repeatable
};

// Adds plan, apply, destroy, output and cost to `app`.
void addStackCommands(CLI::App& app, StackFlags& flags);
// Runs whichever of them was parsed; -1 when none was.
int runStackCommand(const Connection& c, CLI::App& app, const StackFlags& flags);

}  // namespace berth::cli
