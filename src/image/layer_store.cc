#include "image/layer_store.h"

#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "image/fs_util.h"

namespace berth::image {

LayerStore::LayerStore(std::filesystem::path layers_dir, UnpackOptions options)
    : dir_(std::move(layers_dir)), options_(options) {}

Status LayerStore::open() {
  BERTH_TRY(makeDirs(dir_ / ".locks"));
  BERTH_TRY(removeTree(dir_ / ".tmp"));
  BERTH_TRY(makeDirs(dir_ / ".tmp"));
  return {};
}

std::filesystem::path LayerStore::pathFor(std::string_view diff_id) const {
  return dir_ / std::string(diff_id.substr(kSha256Prefix.size()));
}

bool LayerStore::contains(std::string_view diff_id) const {
  if (!isValidDigest(diff_id)) return false;
  struct stat st;
  return stat(pathFor(diff_id).c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

Result<std::filesystem::path> LayerStore::ensure(const LayerRef& layer, BlobSource& blobs,
                                                 std::string_view repository) {
  std::string hex = BERTH_TRY(digestHex(layer.diff_id));
  BERTH_TRY(digestHex(layer.blob.digest));
  std::filesystem::path final_path = dir_ / hex;
  if (contains(layer.diff_id)) return final_path;

  std::filesystem::path lock_path = dir_ / ".locks" / hex;
  int lock_fd = ::open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600);
  if (lock_fd < 0) return failErrno("open " + lock_path.string(), errno);
  UniqueFd lock(lock_fd);
  while (flock(lock.get(), LOCK_EX) != 0) {
    if (errno != EINTR) return failErrno("lock " + lock_path.string(), errno);
  }
  if (contains(layer.diff_id)) return final_path;  // another unpacker finished first

  std::filesystem::path scratch = dir_ / ".tmp" / hex;
  BERTH_TRY(removeTree(scratch));
  if (mkdir(scratch.c_str(), 0755) != 0) return failErrno("mkdir " + scratch.string(), errno);
  auto result = [&]() -> Status {
    UniqueFd root = BERTH_TRY(openDir(scratch));
    fchmod(root.get(), 0755);
    auto stream = BERTH_TRY(blobs.openBlob(repository, layer.blob.digest));
    UnpackStats stats = BERTH_TRY(unpackLayer(*stream, root.get(), options_));
    if (stats.compressed_digest != layer.blob.digest) {
      return fail(ErrorCode::kInvalidArgument, "layer digest mismatch: expected " + layer.blob.digest + ", got " +
                                                   stats.compressed_digest);
    }
    if (static_cast<int64_t>(stats.compressed_bytes) != layer.blob.size) {
      return fail(ErrorCode::kInvalidArgument, "layer " + layer.blob.digest + " size mismatch: expected " +
                                                   std::to_string(layer.blob.size) + ", got " +
                                                   std::to_string(stats.compressed_bytes));
    }
    if (stats.diff_id != layer.diff_id) {
      return fail(ErrorCode::kInvalidArgument,
                  "layer diffID mismatch: expected " + layer.diff_id + ", got " + stats.diff_id);
    }
    // Everything written must be on disk before the name says "complete".
    if (syncfs(root.get()) != 0) return failErrno("syncfs " + scratch.string(), errno);
    if (rename(scratch.c_str(), final_path.c_str()) != 0) return failErrno("rename " + scratch.string(), errno);
    return {};
  }();
  if (!result) {
    (void)removeTree(scratch);
    return std::unexpected(result.error());
  }
  unpacked_.fetch_add(1);
  return final_path;
}

}  // namespace berth::image
