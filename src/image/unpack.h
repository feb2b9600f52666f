// Unpacking one image layer (a tar stream, gzip- or zstd-compressed or not)
// into a directory, with libarchive reading and berth writing every entry
// itself through directory file descriptors.
//
// Safety (the layer is untrusted input):
// - entry names are split into components; absolute names, `..` components
//   and empty names are refused;
// - parent directories are resolved with openat2(RESOLVE_BENEATH): a symlink
//   in the layer may be used as a parent only while it resolves beneath the
//   root, so absolute symlinks and `..` symlinks cannot be written through;
//   the last component is never followed (O_NOFOLLOW, AT_SYMLINK_NOFOLLOW);
// - hard links must name an entry already unpacked beneath the root;
// - character and block devices are refused (Status kPermissionDenied) unless
//   `skip_devices` (then they are left out); sockets are left out;
// - trusted.* and security.* extended attributes from the tar are ignored
//   (except security.capability), so a layer cannot forge overlayfs metadata.
//
// Whiteouts (OCI image-spec "layer" section):
// - kOverlay: `.wh.<name>` becomes a 0/0 character device `<name>` and
//   `.wh..wh..opq` the xattr trusted.overlay.opaque=y on its directory: the
//   directory is then a ready overlayfs lower. Needs CAP_MKNOD and
//   CAP_SYS_ADMIN (root).
// - kApply: the layer is applied onto what `root` already holds (lower layers
//   unpacked there before): `.wh.<name>` removes <name>, `.wh..wh..opq`
//   removes the directory's earlier contents; entries of the same layer are
//   kept whatever the order. Works unprivileged.
//
// Ownership: with `preserve_ownership` files get the tar's numeric uid/gid
// (OCI: the header's uid/gid, not names); setuid/setgid/sticky bits are
// kept (chmod after chown). Modification times are restored.
//
// Digests: the compressed stream and the uncompressed tar stream are hashed
// while reading, including any bytes after the tar's end marker, so the caller
// can check them against the descriptor digest and the config's diffID.
//
// On failure the directory is left partly written: the caller unpacks into a
// scratch directory and removes it (LayerStore does).
#pragma once

#include <cstdint>
#include <string>

#include "common/result.h"
#include "image/digest.h"

namespace berth::image {

enum class WhiteoutMode { kOverlay, kApply };

struct UnpackOptions {
  WhiteoutMode whiteouts = WhiteoutMode::kOverlay;
  bool preserve_ownership = true;
  bool skip_devices = false;
  uint64_t max_entries = 1'000'000;
};

struct UnpackStats {
  std::string compressed_digest;  // sha256 of every byte read from the stream
  std::string diff_id;            // sha256 of the uncompressed tar stream
  uint64_t compressed_bytes = 0;
  uint64_t uncompressed_bytes = 0;
  uint64_t entries = 0;
};

// Unpacks the layer `in` into the directory `root_fd`. Thread-safe for
// distinct roots; no global state (no chdir, no umask change).
Result<UnpackStats> unpackLayer(ByteStream& in, int root_fd, const UnpackOptions& options);

}  // namespace berth::image
