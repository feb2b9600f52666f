// OCI runtime spec (config.json) generation: a pure function of the
// container's config, so every security default is unit-tested.
//
// What a container gets (Docker's defaults, which ECS on Fargate inherits):
// new pid, mount, uts and ipc namespaces and the task's network namespace;
// Docker's default capability set; a default seccomp profile; no_new_privs;
// Docker's masked and read-only /proc and /sys paths; /proc, /dev (tmpfs),
// /dev/pts, /dev/shm, /dev/mqueue, /sys (ro), /sys/fs/cgroup (ro); the
// nofile limit Fargate sets (65535) unless the task's ulimits say otherwise;
// cgroupsPath under the task cgroup with the container's cpu shares and
// memory limits.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "agent/runtime/container_runtime.h"
#include "common/result.h"

namespace berth::agent::runtime {

struct ProcessUser {
  uint32_t uid = 0;
  uint32_t gid = 0;
  std::vector<uint32_t> additional_gids;
  bool operator==(const ProcessUser&) const = default;
};

// Resolves an ECS `user` ("", "uid", "uid:gid", "name", "name:group",
// "uid:group", "name:gid") against the contents of the image's /etc/passwd
// and /etc/group. A bare uid not in passwd gets gid 0 (Docker's rule); a name
// must exist. Supplementary groups are those listing the user by name.
Result<ProcessUser> resolveUser(std::string_view user, std::string_view passwd, std::string_view group);
// Reads <rootfs>/etc/passwd and /etc/group (missing files are empty) and
// resolves.
Result<ProcessUser> resolveUserInRootfs(std::string_view user, const std::filesystem::path& rootfs);

// ECS ulimit name ("nofile") → OCI rlimit type ("RLIMIT_NOFILE"); empty when
// the name is not one ECS accepts.
std::string rlimitType(std::string_view ecs_name);

struct SpecInputs {
  ProcessUser user;
  std::string cgroups_path;           // e.g. /berth/<task>/<container>
  std::filesystem::path init_binary;  // host path of a static init, used when init_process_enabled
  // The default nofile limit (Fargate's 65535) is lowered to this when set:
  // a container cannot get more than the host lets berthd have.
  uint64_t max_nofile = 0;
};

// Docker's default capabilities (CAP_CHOWN, ...).
const std::vector<std::string>& defaultCapabilities();
// Syscalls the default seccomp profile denies with EPERM.
const std::vector<std::string>& deniedSyscalls();

// Where the init is mounted in the container when init_process_enabled.
inline constexpr const char* kInitPathInContainer = "/dev/init";

// config.json for the container. Preconditions: config.argv non-empty,
// config.rootfs absolute. kInvalidArgument for an unknown ulimit name or a
// relative mount destination.
Result<boost::json::object> makeOciSpec(const ContainerConfig& config, const SpecInputs& inputs);

}  // namespace berth::agent::runtime
