// What the stack commands show on a terminal (src/cli/stack_cmd.cc): colour,
// and `berth apply`'s wait for a steady state, redrawn in place on a
// terminal and as plain lines in logs and pipes.
#pragma once

#include <string>
#include <string_view>

#include "common/result.h"
#include "stack/aws_api.h"
#include "stack/model.h"

namespace berth::cli {

// Whether stdout is a terminal.
bool colorOut();
// Whether stdout takes colour and cursor movement: a terminal, NO_COLOR
// unset or empty (no-color.org) and TERM not "dumb".
bool fancyOut();
// `word` in ANSI colour `code` ("32" green) when stdout is a terminal.
std::string paint(std::string_view word, std::string_view code);
// A task, deployment or service status in its colour: green for RUNNING,
// HEALTHY, COMPLETED, ACTIVE; red for STOPPED, UNHEALTHY, FAILED; else yellow.
std::string paintStatus(std::string_view status);

// Waits until every service of the environment runs its desired count on
// one completed deployment, showing services and tasks as it goes. Fails
// when a deployment fails or `seconds` pass.
Status waitForSteadyState(stack::AwsApi& api, const stack::Environment& env, int seconds);

}  // namespace berth::cli
