// `berth spot ...`: Fargate Spot controls, through berthd's admin API
// (BerthAdmin, SigV4-signed with the root credentials; see
// src/api/admin/admin_api.h):
//   berth spot interrupt [--cluster C] [--service S | --task T...] [--count N]
//   berth spot capacity [on|off]     (no argument: show)
//   berth spot rate N [--seed S]     (random interruptions per task-hour; 0: off)
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/cli.h"
#include "cli/ecr_client.h"
#include "cli/http_client.h"
#include "common/result.h"

namespace berth::cli {

struct SpotFlags {
  std::string cluster = "default";
  std::string service;
  std::vector<std::string> tasks;
  int count = 0;
  std::string capacity;  // "on", "off" or "" (show)
  double rate = 0;
  int64_t seed = -1;  // -1: none given
};

// Adds `spot` and its subcommands to `app`; returns the `spot` command.
CLI::App* addSpotCommands(CLI::App& app, SpotFlags& flags);
// Runs the parsed `spot` subcommand.
int runSpot(const Connection& c, CLI::App& spot, const SpotFlags& flags);

// One admin API call (X-Amz-Target BerthAdmin.<operation>, SigV4 service
// "berth"). An AWS error becomes an Error with aws_type set.
Result<boost::json::object> callAdmin(HttpClient& http, const AwsCredentials& credentials, const std::string& region,
                                      std::string_view operation, const boost::json::object& input);

}  // namespace berth::cli
