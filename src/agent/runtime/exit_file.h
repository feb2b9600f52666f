// exit.json (layout.h): written once by berth-monitor, read by the runtime.
// A fixed, flat format written with snprintf so the monitor needs no JSON
// library:  {"exit_code":137,"signal":9,"oom_killed":true,"exited_at_us":1764330000000000}
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "agent/runtime/container_runtime.h"

namespace berth::agent::runtime {

std::string encodeExitStatus(const ExitStatus& status);
std::optional<ExitStatus> decodeExitStatus(std::string_view text);

// Writes `data` to `path` atomically: <path>.tmp, rename. With `durable`,
// also fsyncs the file and the directory (exit.json: survives a power loss;
// files that only need to survive a process crash skip the cost, it is on
// the task start path). Returns 0 or an errno. (No Result: the monitor uses
// it.)
int writeFileAtomically(const std::string& path, std::string_view data, bool durable = true);

}  // namespace berth::agent::runtime
