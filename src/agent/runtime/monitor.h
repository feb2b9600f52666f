// berth-monitor: the per-container supervisor (one small static process per
// running container; see docs/architecture.md, "Container runtime").
//
//   berth-monitor run --dir <container dir> --runtime <runc|crun path|native>
//                     --root <runtime root> --id <oci id> --log <log file>
//                     [--oom-file <cgroup file>] [--sync-fd <n>]
//                     [--cgroup <controller>=<dir>]...
//
// `run` detaches (setsid + fork: the caller's child exits at once, so the
// monitor is nobody's child and survives its starter), becomes the child
// subreaper, runs `<runtime> --root R run --detach --bundle <dir>/bundle
// --pid-file <dir>/container.pid <id>` with stdout/stderr on pipes, and
// reports on the sync fd: "ok <pid>\n" once the container runs, or
// "err <message>\n". It then copies the container's output into the log file
// (log_format.h), reaps the container, reads the OOM-kill counter and writes
// <dir>/exit.json atomically (exit_file.h) before exiting. With `--runtime
// native` the monitor starts the container itself from <dir>/bundle/
// config.json (launcher.h), moving it into the --cgroup directories, and
// writes container.pid; the rest is the same.
//
//   berth-monitor exec --dir <container dir> --pid <container pid>
//                      [--pid-file <file>] [--cgroup <controller>=<dir>]...
//                      -- <argv...>
//
// Runs argv inside a container started natively (health checks): its
// namespaces and cgroups, the user, capabilities, seccomp, env and cwd of
// its config.json; writes the program's pid to the pid file and exits with
// its status (126 when it could not be started, with the reason on stderr).
//
//   berth-monitor init -- <argv...>
//
// The init used for initProcessEnabled (bind-mounted into the container): it
// runs argv as its child, forwards every catchable signal to it, reaps
// orphans and exits with the child's status (128+signal when killed).
#pragma once

namespace berth::agent::runtime {

// The monitor's main; returns the process exit code.
int monitorMain(int argc, char** argv);

}  // namespace berth::agent::runtime
