// Container root filesystems: an overlayfs mount of an image's unpacked
// layers (read-only lowers) under a per-task upper directory.
//
//   <data-dir>/tasks/<task-id>/rootfs/
//     upper/   the container's writes        work/  overlayfs work dir
//     merged/  the mount point: the rootfs   empty/ spare lower (read-only, one layer)
//
// The mount itself goes through Mounter so tests and the fake agent can run
// without privileges; KernelMounter does it for real.
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::image {

struct OverlaySpec {
  std::vector<std::filesystem::path> lower_dirs;  // overlayfs order: topmost layer first
  std::filesystem::path upper_dir;                // empty: a read-only mount
  std::filesystem::path work_dir;
  std::filesystem::path target;
};

// The mount(2) data for `spec`: "lowerdir=A:B,upperdir=U,workdir=W", with
// ':', ',' and '\' in paths escaped by a backslash.
std::string overlayMountData(const OverlaySpec& spec);

class Mounter {
 public:
  virtual ~Mounter() = default;
  virtual Status mountOverlay(const OverlaySpec& spec) = 0;
  // Detaches the mount at `target`; success when nothing is mounted there.
  virtual Status unmount(const std::filesystem::path& target) = 0;
};

// mount(2) with the lowerdir= option when the option string fits in a page
// (the kernel's limit); otherwise, or with `force_fs_api`, the fd-based mount
// API (fsopen/fsconfig "lowerdir+" per layer/fsmount/move_mount, Linux 6.8+),
// which has no length limit. Needs CAP_SYS_ADMIN.
class KernelMounter : public Mounter {
 public:
  explicit KernelMounter(bool force_fs_api = false) : force_fs_api_(force_fs_api) {}
  Status mountOverlay(const OverlaySpec& spec) override;
  Status unmount(const std::filesystem::path& target) override;

 private:
  Status mountWithFsApi(const OverlaySpec& spec);
  bool force_fs_api_;
};

// Records mounts; mountOverlay fails with `fail_with` when set.
class FakeMounter : public Mounter {
 public:
  Status mountOverlay(const OverlaySpec& spec) override;
  Status unmount(const std::filesystem::path& target) override;

  std::vector<OverlaySpec> mounted;
  std::optional<Error> fail_with;
};

class RootfsManager {
 public:
  // `tasks_dir` is <data-dir>/tasks.
  RootfsManager(std::filesystem::path tasks_dir, Mounter& mounter);

  // Creates the task's rootfs directories and mounts `layers` (base layer
  // first, as images list them) at <tasks>/<id>/rootfs/merged, which it
  // returns. `read_only` mounts without an upper dir (readonlyRootFilesystem).
  // task_id: [A-Za-z0-9_.-]+, not "." or "..".
  Result<std::filesystem::path> create(std::string_view task_id, const std::vector<std::filesystem::path>& layers,
                                       bool read_only = false);
  // Unmounts and deletes <tasks>/<id>/rootfs. Idempotent.
  Status remove(std::string_view task_id);

  std::filesystem::path rootfsDir(std::string_view task_id) const;

 private:
  std::filesystem::path tasks_dir_;
  Mounter& mounter_;
};

}  // namespace berth::image
