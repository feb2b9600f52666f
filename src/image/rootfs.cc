#include "image/rootfs.h"

#include <fcntl.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>

#include "image/digest.h"
#include "image/fs_util.h"

namespace berth::image {
namespace {

std::string escapeOption(const std::string& path) {
  std::string out;
  for (char c : path) {
    if (c == ':' || c == ',' || c == '\\') out += '\\';
    out += c;
  }
  return out;
}

bool validTaskId(std::string_view id) {
  if (id.empty() || id.size() > 128 || id == "." || id == "..") return false;
  for (char c : id) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-' && c != '_' && c != '.') return false;
  }
  return true;
}

Status setString(int fd, const char* key, const std::string& value) {
  if (fsconfig(fd, FSCONFIG_SET_STRING, key, value.c_str(), 0) != 0) {
    return failErrno(std::string("overlay option ") + key + "=" + value, errno);
  }
  return {};
}

}  // namespace

std::string overlayMountData(const OverlaySpec& spec) {
  std::string data = "lowerdir=";
  for (size_t i = 0; i < spec.lower_dirs.size(); ++i) {
    if (i) data += ':';
    data += escapeOption(spec.lower_dirs[i].string());
  }
  if (!spec.upper_dir.empty()) {
    data += ",upperdir=" + escapeOption(spec.upper_dir.string());
    data += ",workdir=" + escapeOption(spec.work_dir.string());
  }
  return data;
}

Status KernelMounter::mountOverlay(const OverlaySpec& spec) {
  std::string data = overlayMountData(spec);
  long page = sysconf(_SC_PAGESIZE);
  if (force_fs_api_ || static_cast<long>(data.size()) >= page) return mountWithFsApi(spec);
  if (mount("overlay", spec.target.c_str(), "overlay", 0, data.c_str()) != 0) {
    return failErrno("mount overlay on " + spec.target.string(), errno);
  }
  return {};
}

Status KernelMounter::mountWithFsApi(const OverlaySpec& spec) {
  int fs = fsopen("overlay", FSOPEN_CLOEXEC);
  if (fs < 0) return failErrno("fsopen overlay", errno);
  UniqueFd fs_fd(fs);
  BERTH_TRY(setString(fs, "source", "overlay"));
  for (const auto& lower : spec.lower_dirs) BERTH_TRY(setString(fs, "lowerdir+", lower.string()));
  if (!spec.upper_dir.empty()) {
    BERTH_TRY(setString(fs, "upperdir", spec.upper_dir.string()));
    BERTH_TRY(setString(fs, "workdir", spec.work_dir.string()));
  }
  if (fsconfig(fs, FSCONFIG_CMD_CREATE, nullptr, nullptr, 0) != 0) return failErrno("create overlay", errno);
  int mnt = fsmount(fs, FSMOUNT_CLOEXEC, 0);
  if (mnt < 0) return failErrno("fsmount overlay", errno);
  UniqueFd mnt_fd(mnt);
  if (move_mount(mnt, "", AT_FDCWD, spec.target.c_str(), MOVE_MOUNT_F_EMPTY_PATH) != 0) {
    return failErrno("move_mount overlay to " + spec.target.string(), errno);
  }
  return {};
}

Status KernelMounter::unmount(const std::filesystem::path& target) {
  if (umount2(target.c_str(), MNT_DETACH | UMOUNT_NOFOLLOW) != 0 && errno != EINVAL && errno != ENOENT) {
    return failErrno("unmount " + target.string(), errno);
  }
  return {};
}

Status FakeMounter::mountOverlay(const OverlaySpec& spec) {
  if (fail_with) return std::unexpected(*fail_with);
  mounted.push_back(spec);
  return {};
}

Status FakeMounter::unmount(const std::filesystem::path& target) {
  std::erase_if(mounted, [&](const OverlaySpec& s) { return s.target == target; });
  return {};
}

RootfsManager::RootfsManager(std::filesystem::path tasks_dir, Mounter& mounter)
    : tasks_dir_(std::move(tasks_dir)), mounter_(mounter) {}

std::filesystem::path RootfsManager::rootfsDir(std::string_view task_id) const {
  return tasks_dir_ / std::string(task_id) / "rootfs";
}

Result<std::filesystem::path> RootfsManager::create(std::string_view task_id,
                                                     const std::vector<std::filesystem::path>& layers,
                                                     bool read_only) {
  if (!validTaskId(task_id)) return fail(ErrorCode::kInvalidArgument, "invalid task id for a rootfs");
  if (layers.empty()) return fail(ErrorCode::kInvalidArgument, "an image needs at least one layer");
  std::filesystem::path dir = rootfsDir(task_id);
  OverlaySpec spec;
  spec.target = dir / "merged";
  for (auto it = layers.rbegin(); it != layers.rend(); ++it) spec.lower_dirs.push_back(*it);
  BERTH_TRY(makeDirs(spec.target));
  if (read_only) {
    // overlayfs needs two lowers without an upper dir.
    if (spec.lower_dirs.size() == 1) {
      BERTH_TRY(makeDirs(dir / "empty"));
      spec.lower_dirs.push_back(dir / "empty");
    }
  } else {
    spec.upper_dir = dir / "upper";
    spec.work_dir = dir / "work";
    BERTH_TRY(makeDirs(spec.upper_dir));
    BERTH_TRY(makeDirs(spec.work_dir));
  }
  if (auto s = mounter_.mountOverlay(spec); !s) {
    (void)removeTree(dir);
    return std::unexpected(s.error());
  }
  return spec.target;
}

Status RootfsManager::remove(std::string_view task_id) {
  if (!validTaskId(task_id)) return fail(ErrorCode::kInvalidArgument, "invalid task id for a rootfs");
  std::filesystem::path dir = rootfsDir(task_id);
  BERTH_TRY(mounter_.unmount(dir / "merged"));
  // Never delete through a mount that is still there: that would reach the
  // layers (or whatever else is mounted).
  struct stat dir_st, merged_st;
  if (stat(dir.c_str(), &dir_st) == 0 && stat((dir / "merged").c_str(), &merged_st) == 0 &&
      dir_st.st_dev != merged_st.st_dev) {
    return fail(ErrorCode::kFailedPrecondition, (dir / "merged").string() + " is still mounted");
  }
  return removeTree(dir);
}

}  // namespace berth::image
