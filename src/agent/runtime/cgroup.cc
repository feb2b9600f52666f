#include "agent/runtime/cgroup.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>
#include <system_error>
#include <vector>

namespace berth::agent::runtime {
namespace fs = std::filesystem;

std::optional<int64_t> cfsQuotaUs(int cpu_units, int64_t period_us) {
  if (cpu_units <= 0) return std::nullopt;
  int64_t quota = static_cast<int64_t>(cpu_units) * period_us / 1024;
  return quota < 1000 ? 1000 : quota;
}

uint64_t sharesToWeight(uint64_t shares) {
  if (shares == 0) return 0;
  if (shares < 2) shares = 2;
  if (shares > 262144) shares = 262144;
  return 1 + ((shares - 2) * 9999) / 262142;
}

uint64_t clampShares(int cpu_units) {
  if (cpu_units <= 0) return 0;
  return cpu_units < 2 ? 2 : static_cast<uint64_t>(cpu_units);
}

namespace {

Status writeFile(const fs::path& path, const std::string& value) {
  int fd =
      ::open(path.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC | O_TRUNC, 0644);  // O_CREAT: tests use a plain directory
  if (fd < 0) return failErrno("open " + path.string(), errno);
  ssize_t n = ::write(fd, value.data(), value.size());
  int err = errno;
  ::close(fd);
  if (n < 0) return failErrno("write '" + value + "' to " + path.string(), err);
  return {};
}

std::optional<std::string> readFile(const fs::path& path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

std::optional<uint64_t> readU64(const fs::path& path) {
  auto s = readFile(path);
  if (!s) return std::nullopt;
  if (s->starts_with("max")) return 0;
  return std::strtoull(s->c_str(), nullptr, 10);
}

// "key value" lines (cpu.stat, memory.events, memory.oom_control).
std::optional<uint64_t> readKey(const fs::path& path, const std::string& key) {
  auto s = readFile(path);
  if (!s) return std::nullopt;
  std::istringstream in(*s);
  std::string k;
  uint64_t v;
  while (in >> k >> v) {
    if (k == key) return v;
  }
  return std::nullopt;
}

Status makeDir(const fs::path& p) {
  std::error_code ec;
  fs::create_directories(p, ec);
  if (ec) return failErrno("mkdir " + p.string(), ec.value());
  return {};
}

// rmdir of a cgroup and its child cgroups, deepest first.
Status removeTree(const fs::path& p) {
  std::error_code ec;
  if (!fs::exists(p, ec)) return {};
  for (const auto& e : fs::directory_iterator(p, ec)) {
    if (e.is_directory(ec) && !e.is_symlink(ec)) BERTH_TRY(removeTree(e.path()));
  }
  if (::rmdir(p.c_str()) != 0 && errno != ENOENT) {
    if (errno == EBUSY) return fail(ErrorCode::kFailedPrecondition, "cgroup " + p.string() + " still has processes");
    return failErrno("rmdir " + p.string(), errno);
  }
  return {};
}

// The v1 hierarchies under `root` (every directory but a cgroup2 mount such
// as a hybrid host's "unified"), sorted: a natively launched container
// joins them all, as runc's containers do.
std::vector<std::string> v1Hierarchies(const fs::path& root) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& h : fs::directory_iterator(root, ec)) {
    if (h.is_directory(ec) && !fs::exists(h.path() / "cgroup.controllers", ec))
      out.push_back(h.path().filename().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

// Kernel "unlimited" on v1 is a page-rounded LONG_MAX.
uint64_t limitOrZero(uint64_t v) { return v >= (uint64_t{1} << 62) ? 0 : v; }

}  // namespace

Result<CgroupVersion> detectCgroupVersion(const fs::path& root) {
  std::error_code ec;
  if (fs::exists(root / "cgroup.controllers", ec)) return CgroupVersion::kV2;
  if (fs::exists(root / "memory", ec) || fs::exists(root / "cpu", ec)) return CgroupVersion::kV1;
  return fail(ErrorCode::kFailedPrecondition, "no cgroup hierarchy found under " + root.string());
}

TaskCgroups::TaskCgroups(fs::path root, CgroupVersion version, std::string parent)
    : root_(std::move(root)), version_(version), parent_(std::move(parent)) {}

fs::path TaskCgroups::dir(const char* controller, const std::string& rel) const {
  return version_ == CgroupVersion::kV2 ? root_ / parent_ / rel : root_ / controller / parent_ / rel;
}

Status TaskCgroups::create(const TaskLimits& limits) const {
  const std::string& t = limits.task_id;
  if (t.empty() || t.find('/') != std::string::npos || t == "." || t == "..")
    return fail(ErrorCode::kInvalidArgument, "bad task id '" + t + "'");
  auto quota = cfsQuotaUs(limits.cpu_units);
  if (version_ == CgroupVersion::kV2) {
    // Controllers must be enabled in every ancestor's subtree_control.
    fs::path p = root_;
    for (const fs::path& part : {fs::path(parent_), fs::path(t)}) {
      // One write when all three are available, else each on its own (a
      // missing controller must not keep the others off).
      if (!writeFile(p / "cgroup.subtree_control", "+cpu +memory +pids")) {
        for (const char* c : {"+cpu", "+memory", "+pids"}) (void)writeFile(p / "cgroup.subtree_control", c);
      }
      p /= part;
      BERTH_TRY(makeDir(p));
    }
    BERTH_TRY(writeFile(p / "cpu.max", (quota ? std::to_string(*quota) : "max") + " " + std::to_string(kCfsPeriodUs)));
    BERTH_TRY(
        writeFile(p / "memory.max", limits.memory_mib > 0 ? std::to_string(mibToBytes(limits.memory_mib)) : "max"));
    if (fs::exists(p / "memory.swap.max")) BERTH_TRY(writeFile(p / "memory.swap.max", "0"));
    BERTH_TRY(writeFile(p / "pids.max", limits.pids_limit > 0 ? std::to_string(limits.pids_limit) : "max"));
    return {};
  }
  for (const char* c : {"cpu", "cpuacct", "memory", "pids"}) {
    if (!fs::exists(root_ / c)) continue;
    BERTH_TRY(makeDir(dir(c, t)));
  }
  if (fs::exists(root_ / "cpu")) {
    BERTH_TRY(writeFile(dir("cpu", t) / "cpu.cfs_period_us", std::to_string(kCfsPeriodUs)));
    BERTH_TRY(writeFile(dir("cpu", t) / "cpu.cfs_quota_us", std::to_string(quota ? *quota : -1)));
  }
  if (fs::exists(root_ / "memory")) {
    fs::path m = dir("memory", t);
    bool memsw = fs::exists(m / "memory.memsw.limit_in_bytes");
    if (limits.memory_mib > 0) {
      // No swap for tasks (as ECS): memsw = limit. memsw must stay >= limit,
      // so order the writes by direction.
      std::string v = std::to_string(mibToBytes(limits.memory_mib));
      auto cur = readU64(m / "memory.limit_in_bytes").value_or(0);
      bool lowering = cur == 0 || static_cast<uint64_t>(mibToBytes(limits.memory_mib)) < cur;
      if (lowering) {
        BERTH_TRY(writeFile(m / "memory.limit_in_bytes", v));
        if (memsw) BERTH_TRY(writeFile(m / "memory.memsw.limit_in_bytes", v));
      } else {
        if (memsw) BERTH_TRY(writeFile(m / "memory.memsw.limit_in_bytes", v));
        BERTH_TRY(writeFile(m / "memory.limit_in_bytes", v));
      }
    } else {
      if (memsw) BERTH_TRY(writeFile(m / "memory.memsw.limit_in_bytes", "-1"));
      BERTH_TRY(writeFile(m / "memory.limit_in_bytes", "-1"));
    }
  }
  if (fs::exists(root_ / "pids")) {
    BERTH_TRY(
        writeFile(dir("pids", t) / "pids.max", limits.pids_limit > 0 ? std::to_string(limits.pids_limit) : "max"));
  }
  return {};
}

Status TaskCgroups::remove(const std::string& task_id) const {
  if (task_id.empty() || task_id.find('/') != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "bad task id '" + task_id + "'");
  if (version_ == CgroupVersion::kV2) return removeTree(root_ / parent_ / task_id);
  // The OCI runtime creates the container cgroups in every v1 hierarchy
  // (devices, freezer, ...) and the unified one; remove the task from all.
  std::error_code ec;
  for (const auto& h : fs::directory_iterator(root_, ec)) {
    if (!h.is_directory(ec)) continue;
    BERTH_TRY(removeTree(h.path() / parent_ / task_id));
  }
  return {};
}

Result<std::vector<ContainerCgroupDir>> TaskCgroups::createContainer(const std::string& task_id,
                                                                     const std::string& container,
                                                                     const ContainerLimits& limits) const {
  for (const std::string* part : {&task_id, &container}) {
    if (part->empty() || part->find('/') != std::string::npos || *part == "." || *part == "..")
      return fail(ErrorCode::kInvalidArgument, "bad cgroup name '" + *part + "'");
  }
  if (version_ == CgroupVersion::kV2)
    return fail(ErrorCode::kFailedPrecondition, "berth's launcher cannot confine devices on cgroup v2 yet");
  std::string rel = task_id + "/" + container;
  std::vector<ContainerCgroupDir> out;
  for (const auto& h : v1Hierarchies(root_)) {
    fs::path d = dir(h.c_str(), rel);
    BERTH_TRY(makeDir(d));
    out.push_back({h, d});
  }
  // A new v1 cpuset has no CPUs and no memory nodes: nothing could join
  // it. Give each level its parent's, top down.
  if (fs::exists(root_ / "cpuset" / "cpuset.cpus")) {
    fs::path p = root_ / "cpuset";
    for (const std::string& part : {parent_, task_id, container}) {
      fs::path child = p / part;
      for (const char* f : {"cpuset.cpus", "cpuset.mems"}) {
        auto mine = readFile(child / f);
        if (mine && mine->find_first_not_of(" \n") != std::string::npos) continue;
        auto theirs = readFile(p / f);
        if (theirs) BERTH_TRY(writeFile(child / f, *theirs));
      }
      p = child;
    }
  }
  if (fs::exists(root_ / "cpu") && limits.cpu_shares > 0)
    BERTH_TRY(writeFile(dir("cpu", rel) / "cpu.shares", std::to_string(clampShares(limits.cpu_shares))));
  if (fs::exists(root_ / "memory")) {
    fs::path m = dir("memory", rel);
    if (limits.memory_mib > 0) {
      // A new cgroup starts unlimited: the limit first, then memsw (>= limit).
      std::string v = std::to_string(mibToBytes(limits.memory_mib));
      BERTH_TRY(writeFile(m / "memory.limit_in_bytes", v));
      if (fs::exists(m / "memory.memsw.limit_in_bytes")) BERTH_TRY(writeFile(m / "memory.memsw.limit_in_bytes", v));
    }
    if (limits.memory_reservation_mib > 0)
      BERTH_TRY(writeFile(m / "memory.soft_limit_in_bytes", std::to_string(mibToBytes(limits.memory_reservation_mib))));
  }
  if (fs::exists(root_ / "devices")) {
    fs::path d = dir("devices", rel);
    BERTH_TRY(writeFile(d / "devices.deny", "a"));
    for (const char* rule : {"b *:* m", "c *:* m", "c 1:3 rwm", "c 1:5 rwm", "c 1:7 rwm", "c 1:8 rwm", "c 1:9 rwm",
                             "c 5:0 rwm", "c 5:2 rwm", "c 10:200 rwm", "c 136:* rwm"})
      BERTH_TRY(writeFile(d / "devices.allow", rule));
  }
  return out;
}

std::vector<ContainerCgroupDir> TaskCgroups::containerDirs(const std::string& task_id,
                                                           const std::string& container) const {
  std::vector<ContainerCgroupDir> out;
  std::error_code ec;
  if (version_ == CgroupVersion::kV2) {
    fs::path d = root_ / parent_ / task_id / container;
    if (fs::exists(d, ec)) out.push_back({"", d});
    return out;
  }
  for (const auto& h : v1Hierarchies(root_)) {
    fs::path d = dir(h.c_str(), task_id + "/" + container);
    if (fs::exists(d, ec)) out.push_back({h, d});
  }
  return out;
}

Status TaskCgroups::removeContainer(const std::string& task_id, const std::string& container) const {
  if (version_ == CgroupVersion::kV2) return removeTree(root_ / parent_ / task_id / container);
  std::error_code ec;
  for (const auto& h : fs::directory_iterator(root_, ec)) {
    if (!h.is_directory(ec)) continue;
    BERTH_TRY(removeTree(h.path() / parent_ / task_id / container));
  }
  return {};
}

Status TaskCgroups::removeParent() const {
  std::error_code ec;
  if (version_ == CgroupVersion::kV2) return removeTree(root_ / parent_);
  for (const auto& h : fs::directory_iterator(root_, ec)) {
    if (!h.is_directory(ec)) continue;
    BERTH_TRY(removeTree(h.path() / parent_));
  }
  return {};
}

Result<TaskStats> TaskCgroups::stats(const std::string& rel) const {
  TaskStats s;
  if (version_ == CgroupVersion::kV2) {
    fs::path p = root_ / parent_ / rel;
    if (!fs::exists(p)) return fail(ErrorCode::kNotFound, "no cgroup " + p.string());
    s.cpu_usage_ns = readKey(p / "cpu.stat", "usage_usec").value_or(0) * 1000;
    s.memory_usage_bytes = readU64(p / "memory.current").value_or(0);
    s.memory_max_usage_bytes = readU64(p / "memory.peak").value_or(0);
    s.memory_limit_bytes = readU64(p / "memory.max").value_or(0);
    s.pids_current = readU64(p / "pids.current").value_or(0);
    return s;
  }
  fs::path m = dir("memory", rel);
  if (!fs::exists(m)) return fail(ErrorCode::kNotFound, "no cgroup " + m.string());
  s.cpu_usage_ns = readU64(dir("cpuacct", rel) / "cpuacct.usage").value_or(0);
  s.memory_usage_bytes = readU64(m / "memory.usage_in_bytes").value_or(0);
  s.memory_max_usage_bytes = readU64(m / "memory.max_usage_in_bytes").value_or(0);
  s.memory_limit_bytes = limitOrZero(readU64(m / "memory.limit_in_bytes").value_or(0));
  s.pids_current = readU64(dir("pids", rel) / "pids.current").value_or(0);
  return s;
}

TaskUsageFiles TaskCgroups::usageFiles(const std::string& task_id) const {
  TaskUsageFiles f;
  if (version_ == CgroupVersion::kV2) {
    fs::path p = root_ / parent_ / task_id;
    f.cpu = p / "cpu.stat";
    f.cpu_stat = true;
    f.memory = p / "memory.current";
    f.memory_stat = p / "memory.stat";
    f.inactive_file_key = "inactive_file";
    return f;
  }
  f.cpu = dir("cpuacct", task_id) / "cpuacct.usage";
  f.memory = dir("memory", task_id) / "memory.usage_in_bytes";
  f.memory_stat = dir("memory", task_id) / "memory.stat";
  f.inactive_file_key = "total_inactive_file";
  return f;
}

std::string TaskCgroups::containerCgroupsPath(const std::string& task_id, const std::string& container) const {
  return "/" + parent_ + "/" + task_id + "/" + container;
}

fs::path TaskCgroups::containerOomFile(const std::string& task_id, const std::string& container) const {
  if (version_ == CgroupVersion::kV2) return root_ / parent_ / task_id / container / "memory.events";
  return root_ / "memory" / parent_ / task_id / container / "memory.oom_control";
}

}  // namespace berth::agent::runtime
