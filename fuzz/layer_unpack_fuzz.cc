// Fuzzes unpackLayer (src/image/unpack.h): any bytes as a layer blob (tar,
// gzip or zstd) unpack into a fresh directory. It must never crash, hang or
// write outside that directory: after each input the scratch parent must
// hold nothing but the unpack root. The first byte picks the whiteout mode
// (overlay form needs root; apply form works anywhere). Seeds:
// fuzz/corpus/layer_unpack_fuzz/ (plain, gzip and zstd tars with whiteouts,
// links, and escape attempts).
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>

#include "image/fs_util.h"
#include "image/unpack.h"

namespace {

const std::filesystem::path& scratchBase() {
  static const std::filesystem::path base = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-layer-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) abort();
    return std::filesystem::path(tmpl);
  }();
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::image;
  const auto& base = scratchBase();
  std::filesystem::path box = base / "box";
  std::filesystem::path root = box / "root";
  std::filesystem::create_directories(root);
  UnpackOptions options;
  options.whiteouts = (size > 0 && (data[0] & 1) && geteuid() == 0) ? WhiteoutMode::kOverlay : WhiteoutMode::kApply;
  options.preserve_ownership = geteuid() == 0;
  options.max_entries = 10000;
  {
    auto fd = openDir(root);
    if (!fd) abort();
    StringByteStream in(std::string(reinterpret_cast<const char*>(data), size));
    (void)unpackLayer(in, fd->get(), options);
  }
  // Nothing may appear beside the root, nor beside the box.
  for (const auto& dir : {box, base}) {
    DIR* d = opendir(dir.c_str());
    if (!d) abort();
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == ".." || n == (dir == box ? "root" : "box")) continue;
      fprintf(stderr, "layer_unpack_fuzz: escaped: %s/%s\n", dir.c_str(), n.c_str());
      abort();
    }
    closedir(d);
  }
  if (!removeTree(box)) abort();
  return 0;
}
