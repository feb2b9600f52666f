// Child processes for the runtime: spawn with chosen stdio and nothing else
// inherited, wait with a deadline through a pidfd. Used to run the OCI
// runtime's short verbs (exec, delete, kill) and to start berth-monitor.
//
// Threads: no shared state; safe from any thread (posix_spawn, so the
// calling process may be multi-threaded).
#pragma once

#include <sys/types.h>

#include <chrono>
#include <optional>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::agent::runtime {

struct SpawnOptions {
  int stdin_fd = -1;   // -1 = /dev/null
  int stdout_fd = -1;  // -1 = /dev/null
  int stderr_fd = -1;  // -1 = /dev/null
  int pass_fd = -1;    // passed to the child as fd 3 (for a sync pipe); -1 = none
};

Result<pid_t> spawnProcess(const std::vector<std::string>& argv, const SpawnOptions& options = {});

// Waits for a child; the wait status, or nullopt when `timeout` passed first
// (the child is still running and still yours to reap).
Result<std::optional<int>> waitChild(pid_t pid, std::chrono::milliseconds timeout);

// Runs argv to completion, capturing stderr (for error messages).
struct RunOutput {
  int status = 0;  // wait status
  std::string err;
};
Result<RunOutput> runProcess(const std::vector<std::string>& argv, std::chrono::milliseconds timeout);

// pidfd_open(2); -1 with errno on failure.
int openPidfd(pid_t pid);

}  // namespace berth::agent::runtime
