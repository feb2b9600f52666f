// Test helpers: layer tarballs built in memory with libarchive, and scratch
// directories.
#pragma once

#include <archive.h>
#include <archive_entry.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include <gtest/gtest.h>

namespace berth::image::testing {

struct TarEntry {
  enum Kind { kFile, kDir, kSymlink, kHardlink, kCharDev, kBlockDev, kFifo } kind = kFile;
  std::string path;
  std::string data;    // file contents, or link target
  int mode = 0644;
  int64_t uid = 0, gid = 0;
};

inline TarEntry file(std::string path, std::string data, int mode = 0644) {
  return {TarEntry::kFile, std::move(path), std::move(data), mode};
}
inline TarEntry dir(std::string path, int mode = 0755) { return {TarEntry::kDir, std::move(path), {}, mode}; }
inline TarEntry symlink(std::string path, std::string target) {
  return {TarEntry::kSymlink, std::move(path), std::move(target), 0777};
}
inline TarEntry hardlink(std::string path, std::string target) {
  return {TarEntry::kHardlink, std::move(path), std::move(target), 0644};
}

enum class Compression { kNone, kGzip, kZstd };

// A tar (pax) stream of `entries`, compressed as asked.
inline std::string makeTar(const std::vector<TarEntry>& entries, Compression c = Compression::kGzip) {
  archive* a = archive_write_new();
  archive_write_set_format_pax_restricted(a);
  if (c == Compression::kGzip) archive_write_add_filter_gzip(a);
  if (c == Compression::kZstd) archive_write_add_filter_zstd(a);
  std::string out(16 << 20, '\0');
  size_t used = 0;
  EXPECT_EQ(archive_write_open_memory(a, out.data(), out.size(), &used), ARCHIVE_OK);
  for (const TarEntry& t : entries) {
    archive_entry* e = archive_entry_new();
    archive_entry_set_pathname(e, t.path.c_str());
    archive_entry_set_perm(e, t.mode);
    archive_entry_set_uid(e, t.uid);
    archive_entry_set_gid(e, t.gid);
    archive_entry_set_mtime(e, 1700000000, 0);
    switch (t.kind) {
      case TarEntry::kFile:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_size(e, static_cast<la_int64_t>(t.data.size()));
        break;
      case TarEntry::kDir: archive_entry_set_filetype(e, AE_IFDIR); break;
      case TarEntry::kSymlink:
        archive_entry_set_filetype(e, AE_IFLNK);
        archive_entry_set_symlink(e, t.data.c_str());
        break;
      case TarEntry::kHardlink:
        archive_entry_set_filetype(e, AE_IFREG);
        archive_entry_set_hardlink(e, t.data.c_str());
        break;
      case TarEntry::kCharDev:
        archive_entry_set_filetype(e, AE_IFCHR);
        archive_entry_set_rdev(e, makedev(1, 3));
        break;
      case TarEntry::kBlockDev:
        archive_entry_set_filetype(e, AE_IFBLK);
        archive_entry_set_rdev(e, makedev(8, 0));
        break;
      case TarEntry::kFifo: archive_entry_set_filetype(e, AE_IFIFO); break;
    }
    EXPECT_EQ(archive_write_header(a, e), ARCHIVE_OK) << archive_error_string(a);
    if (t.kind == TarEntry::kFile && !t.data.empty()) {
      archive_write_data(a, t.data.data(), t.data.size());
    }
    archive_entry_free(e);
  }
  archive_write_close(a);
  archive_write_free(a);
  out.resize(used);
  return out;
}

// A fresh directory under TMPDIR, removed with its contents at destruction.
class ScratchDir {
 public:
  ScratchDir() {
    std::string tmpl = (std::filesystem::temp_directory_path() / "berth-image-test-XXXXXX").string();
    path_ = mkdtemp(tmpl.data());
  }
  ~ScratchDir() {
    std::error_code ec;
    std::filesystem::permissions(path_, std::filesystem::perms::owner_all, std::filesystem::perm_options::add, ec);
    std::filesystem::remove_all(path_, ec);
  }
  const std::filesystem::path& path() const { return path_; }

 private:
  std::filesystem::path path_;
};

inline std::string slurp(const std::filesystem::path& p) {
  std::string out;
  FILE* f = fopen(p.c_str(), "rb");
  if (!f) return "<missing>";
  char buf[4096];
  size_t n;
  while ((n = fread(buf, 1, sizeof buf, f)) > 0) out.append(buf, n);
  fclose(f);
  return out;
}

// Sorted relative paths under `root` ("a/", "a/x", "l -> target").
inline std::vector<std::string> listTree(const std::filesystem::path& root) {
  std::vector<std::string> out;
  for (auto it = std::filesystem::recursive_directory_iterator(root); it != std::filesystem::recursive_directory_iterator(); ++it) {
    std::string rel = it->path().lexically_relative(root).string();
    if (it->is_symlink()) {
      out.push_back(rel + " -> " + std::filesystem::read_symlink(it->path()).string());
    } else if (it->is_directory()) {
      out.push_back(rel + "/");
    } else {
      out.push_back(rel);
    }
  }
  std::sort(out.begin(), out.end());
  return out;
}

#define SKIP_UNLESS_ROOT()                                                          \
  do {                                                                              \
    if (geteuid() != 0) {                                                           \
      std::printf("SKIPPED: %s needs root (mknod, trusted.* xattrs, mount)\n",      \
                  ::testing::UnitTest::GetInstance()->current_test_info()->name()); \
      GTEST_SKIP() << "needs root";                                                 \
    }                                                                               \
  } while (0)

}  // namespace berth::image::testing
