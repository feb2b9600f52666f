// Fuzzes `berth image load`'s archive reader (src/image/image_archive.h):
// any bytes as an image archive (tar, gzip or zstd) are extracted into a
// fresh scratch directory and read as an OCI layout or a docker save
// archive. It must never crash or hang, and nothing but files named by
// number may appear, all inside the scratch directory. Seeds:
// fuzz/corpus/image_archive_fuzz/ (a small OCI layout, a docker save with a
// symlinked layer, and escape attempts).
#include <dirent.h>
#include <unistd.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "image/image_archive.h"

namespace {

const std::filesystem::path& scratchBase() {
  static const std::filesystem::path base = [] {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-archive-fuzz-XXXXXX").string();
    if (!mkdtemp(tmpl.data())) abort();
    return std::filesystem::path(tmpl);
  }();
  return base;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::image;
  const auto& base = scratchBase();
  std::filesystem::path input = base / "input.tar";
  std::filesystem::path box = base / "box";
  std::filesystem::create_directories(box);
  {
    std::ofstream out(input, std::ios::binary | std::ios::trunc);
    out.write(reinterpret_cast<const char*>(data), static_cast<std::streamsize>(size));
  }
  ArchiveLimits limits;
  limits.max_entries = 10000;
  limits.max_total_bytes = 64 << 20;
  if (auto files = extractImageArchive(input, box, limits)) (void)readImageArchive(*files);
  for (const auto& dir : {box, base}) {
    DIR* d = opendir(dir.c_str());
    if (!d) abort();
    while (dirent* e = readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      bool ok = dir == box ? n.find_first_not_of("0123456789") == std::string::npos : (n == "box" || n == "input.tar");
      if (!ok) {
        fprintf(stderr, "image_archive_fuzz: unexpected file: %s/%s\n", dir.c_str(), n.c_str());
        abort();
      }
    }
    closedir(d);
  }
  std::error_code ec;
  std::filesystem::remove_all(box, ec);
  return 0;
}
