// berth's own container launcher: starts a container from the OCI bundle
// berth generated (spec.h), without an external OCI runtime. It runs inside
// berth-monitor, which is already a dedicated process per container, so a
// start costs one clone and the container's own set-up instead of runc's
// create/start/state dance (docs/architecture.md, "Container runtime").
//
// It implements exactly the subset of the OCI runtime spec that makeOciSpec
// produces and refuses a config.json that asks for anything else (so runc
// and the launcher can never silently differ): namespaces pid, mount, uts,
// ipc and network (new or joined by path); hostname; the rootfs, optionally
// read-only; mounts of type proc, tmpfs, devpts, sysfs, mqueue, cgroup and
// bind with the usual options; /dev populated as runc does; masked and
// read-only paths; rlimits; user, supplementary groups, capability sets;
// no_new_privs; the seccomp profile (a deny list with one errno, compiled
// by seccomp_bpf.h); the process's args, env and cwd.
//
// What it does not do itself: cgroups. berthd creates the container's
// cgroups with its limits (TaskCgroups::createContainer, which also sets the
// v1 devices allow-list) and names their directories; the launcher only
// moves the container into them before the container runs anything.
//
// Everything here is plain POSIX plus Boost.JSON for parsing, so it links
// into the static berth-monitor.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::agent::runtime {

struct LaunchMount {
  std::string destination;
  std::string type;  // proc, tmpfs, devpts, sysfs, mqueue, cgroup, bind
  std::string source;
  unsigned long flags = 0;      // MS_* applied at mount time
  unsigned long propagation = 0;  // MS_PRIVATE/MS_SLAVE/MS_SHARED (| MS_REC), 0 = leave
  bool recursive_bind = false;
  std::string data;  // the options that are not flags (mode=755, size=...)
};

struct LaunchRlimit {
  int resource = 0;
  uint64_t soft = 0, hard = 0;
};

// The parsed config.json.
struct LaunchSpec {
  std::vector<std::string> args, env;
  std::string cwd = "/";
  uint32_t uid = 0, gid = 0;
  std::vector<uint32_t> additional_gids;
  uint64_t cap_bounding = 0, cap_effective = 0, cap_permitted = 0, cap_inheritable = 0, cap_ambient = 0;
  std::vector<LaunchRlimit> rlimits;
  bool no_new_privileges = false;
  std::string root;
  bool root_readonly = false;
  std::string hostname;
  std::vector<LaunchMount> mounts;
  int clone_flags = 0;     // CLONE_NEW* for the namespaces to create
  std::string netns_path;  // a network namespace to join ("" = new, or none)
  std::vector<std::string> masked_paths, readonly_paths;
  // The seccomp deny list: these syscalls fail with seccomp_errno.
  std::vector<std::string> seccomp_denied;
  int seccomp_errno = 0;
  bool has_seccomp = false;
};

// Parses config.json; an error names the first field the launcher does not
// support or that is malformed.
bool parseLaunchSpec(std::string_view config_json, LaunchSpec& out, std::string& error);

// A container cgroup directory to join, per hierarchy. `controller` is the
// v1 hierarchy name ("memory", "cpu", ...) that the container sees under
// /sys/fs/cgroup; empty on cgroup v2 (the container sees its directory as
// /sys/fs/cgroup itself).
struct LaunchCgroup {
  std::string controller;
  std::string dir;
};

struct LaunchIo {
  int stdin_fd = -1, stdout_fd = -1, stderr_fd = -1;
};

// Starts the container as a child of the calling process (which must be
// single-threaded). Returns its pid once it has executed the program, or
// -1 with `error` set (the child is reaped); the message reads like the
// OCI runtime's ("exec: \"x\": executable file not found in $PATH").
pid_t launchContainer(const LaunchSpec& spec, const std::vector<LaunchCgroup>& cgroups, const LaunchIo& io,
                      std::string& error);

// Runs `argv` inside the running container whose init is `target_pid` (its
// namespaces and cgroups, the spec's user, capabilities, rlimits, no_new_privs,
// seccomp, env and cwd). The calling process joins the cgroups; its child
// joins the namespaces and forks the program, writes the program's pid to
// `pid_file` (when not empty) and exits with the program's status (128 +
// signal when killed). Returns that child's pid once the program runs, or
// -1 with `error`.
pid_t execInContainer(const LaunchSpec& spec, pid_t target_pid, const std::vector<LaunchCgroup>& cgroups,
                      const std::vector<std::string>& argv, const LaunchIo& io, const std::string& pid_file,
                      std::string& error);

}  // namespace berth::agent::runtime
