// The on-disk layout of the container runtime, drawn once.
//
//   <data-dir>/tasks/<task-id>/
//     containers/<name>/                  one per container (ContainerRef)
//       bundle/config.json                OCI bundle (rootfs is the task's overlay, by absolute path)
//       runtime_id                        the OCI container id (one line)
//       monitor.pid                       pid of its berth-monitor (written by the monitor)
//       container.pid                     container init pid (written by the OCI runtime)
//       output.log                        stdout/stderr, CRI log format (below), appended by the monitor
//       exit.json                         ExitStatus, written once by the monitor (tmp + fsync + rename)
//       monitor.err                       the monitor's own diagnostics (start failures)
//   <data-dir>/runtime/<runc|crun>/       the OCI runtime's --root (its state)
//
// output.log lines (the CRI / Kubernetes log format, so a line is parseable
// without context and binary-safe enough for text logs):
//   <RFC 3339 UTC time with ns> <stdout|stderr> <F|P> <bytes up to and excluding '\n'>\n
// F = the container wrote a full line; P = partial (the chunk ended without a
// newline; the next record of the same stream continues it).
//
// exit.json: {"exit_code":137,"signal":9,"oom_killed":true,"exited_at_us":<epoch µs>}
//
// Presence rules (recover()): exit.json → exited; else a live monitor.pid
// process (pidfd_open succeeds and it is a berth-monitor for this id) →
// running; else unknown (crashed during start).
#pragma once

#include <filesystem>
#include <string>

namespace berth::agent::runtime::layout {

namespace fs = std::filesystem;

inline fs::path taskDir(const fs::path& data_dir, const std::string& task_id) { return data_dir / "tasks" / task_id; }
inline fs::path containersDir(const fs::path& data_dir, const std::string& task_id) {
  return taskDir(data_dir, task_id) / "containers";
}
inline fs::path containerDir(const fs::path& data_dir, const std::string& task_id, const std::string& name) {
  return containersDir(data_dir, task_id) / name;
}

inline constexpr const char* kBundleDir = "bundle";
inline constexpr const char* kRuntimeIdFile = "runtime_id";
inline constexpr const char* kMonitorPidFile = "monitor.pid";
inline constexpr const char* kContainerPidFile = "container.pid";
inline constexpr const char* kLogFile = "output.log";
inline constexpr const char* kExitFile = "exit.json";
inline constexpr const char* kMonitorErrFile = "monitor.err";

}  // namespace berth::agent::runtime::layout
