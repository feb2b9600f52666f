#include "image/unpack.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <gtest/gtest.h>

#include "image/fs_util.h"
#include "layer_fixture.h"

namespace berth::image {
namespace {

using namespace testing;

Result<UnpackStats> unpackInto(const std::filesystem::path& root, const std::string& layer, UnpackOptions o) {
  auto fd = openDir(root);
  if (!fd) return std::unexpected(fd.error());
  StringByteStream in(layer);
  return unpackLayer(in, fd->get(), o);
}

UnpackOptions applyMode() {
  UnpackOptions o;
  o.whiteouts = WhiteoutMode::kApply;
  o.preserve_ownership = geteuid() == 0;
  return o;
}

TEST(UnpackTest, GzipZstdAndPlainTarsGiveTheSameTreeAndDiffId) {
  std::vector<TarEntry> entries = {dir("etc"), file("etc/hostname", "berth\n"), symlink("bin", "usr/bin"),
                                   dir("usr/bin"), file("usr/bin/app", "#!/bin/sh\n", 0755),
                                   hardlink("usr/bin/app2", "usr/bin/app")};
  std::string plain = makeTar(entries, Compression::kNone);
  std::string diff_id = digestOf(plain);
  for (Compression c : {Compression::kNone, Compression::kGzip, Compression::kZstd}) {
    ScratchDir d;
    std::string layer = makeTar(entries, c);
    auto stats = unpackInto(d.path(), layer, applyMode());
    ASSERT_TRUE(stats) << stats.error().message;
    EXPECT_EQ(stats->diff_id, diff_id);
    EXPECT_EQ(stats->compressed_digest, digestOf(layer));
    EXPECT_EQ(slurp(d.path() / "etc/hostname"), "berth\n");
    EXPECT_EQ(std::filesystem::read_symlink(d.path() / "bin"), "usr/bin");
    struct stat a, b;
    ASSERT_EQ(stat((d.path() / "usr/bin/app").c_str(), &a), 0);
    ASSERT_EQ(stat((d.path() / "usr/bin/app2").c_str(), &b), 0);
    EXPECT_EQ(a.st_ino, b.st_ino);
    EXPECT_EQ(a.st_mode & 07777, 0755u);
    EXPECT_EQ(a.st_mtime, 1700000000);
  }
}

TEST(UnpackTest, AppliesWhiteoutsAndOpaqueDirsAcrossLayers) {
  ScratchDir d;
  std::string l1 = makeTar({dir("a"), file("a/x", "1"), file("a/y", "2"), dir("b"), file("b/old", "3"),
                            dir("b/sub"), file("b/sub/deep", "4"), dir("c"), file("top", "5")});
  // Same-layer entries survive an opaque marker whatever their order.
  std::string l2 = makeTar({file("b/new", "6"), file("a/.wh.x", ""), file("b/.wh..wh..opq", ""),
                            file("b/later", "7"), file(".wh.top", ""), file("c/added", "8")});
  ASSERT_TRUE(unpackInto(d.path(), l1, applyMode()));
  auto r = unpackInto(d.path(), l2, applyMode());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(listTree(d.path()), (std::vector<std::string>{"a/", "a/y", "b/", "b/later", "b/new", "c/", "c/added"}));
}

TEST(UnpackTest, ROOT_OverlayFormWhiteoutsAndOpaqueXattr) {
  SKIP_UNLESS_ROOT();
  ScratchDir d;
  UnpackOptions o;  // kOverlay
  auto r = unpackInto(d.path(), makeTar({dir("a"), file("a/.wh.gone", ""), dir("b"), file("b/.wh..wh..opq", ""),
                                          file("b/kept", "k")}),
                      o);
  ASSERT_TRUE(r) << r.error().message;
  struct stat st;
  ASSERT_EQ(lstat((d.path() / "a/gone").c_str(), &st), 0);
  EXPECT_TRUE(S_ISCHR(st.st_mode));
  EXPECT_EQ(st.st_rdev, makedev(0, 0));
  char v[8] = {};
  ASSERT_EQ(getxattr((d.path() / "b").c_str(), "trusted.overlay.opaque", v, sizeof v), 1);
  EXPECT_EQ(v[0], 'y');
  EXPECT_EQ(slurp(d.path() / "b/kept"), "k");
  EXPECT_FALSE(std::filesystem::exists(d.path() / "a/.wh.gone"));
}

TEST(UnpackTest, ROOT_KeepsSetuidAndMapsOwnership) {
  SKIP_UNLESS_ROOT();
  ScratchDir d;
  TarEntry su = file("bin/su", "x", 04755);
  su.uid = 0;
  TarEntry owned = file("home/u/f", "y", 0640);
  owned.uid = 1234;
  owned.gid = 5678;
  ASSERT_TRUE(unpackInto(d.path(), makeTar({su, owned}), UnpackOptions{}));
  struct stat st;
  ASSERT_EQ(stat((d.path() / "bin/su").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 07777, 04755u);
  ASSERT_EQ(stat((d.path() / "home/u/f").c_str(), &st), 0);
  EXPECT_EQ(st.st_uid, 1234u);
  EXPECT_EQ(st.st_gid, 5678u);
  EXPECT_EQ(st.st_mode & 07777, 0640u);
}

struct Refused {
  const char* name;
  std::vector<TarEntry> entries;
};

class UnpackRefusesTest : public ::testing::TestWithParam<Refused> {};

TEST_P(UnpackRefusesTest, RefusesAndWritesNothingOutside) {
  ScratchDir outer;
  std::filesystem::path root = outer.path() / "root";
  std::filesystem::create_directories(root);
  auto r = unpackInto(root, makeTar(GetParam().entries), applyMode());
  ASSERT_FALSE(r) << GetParam().name << " was accepted";
  EXPECT_EQ(r.error().code, ErrorCode::kPermissionDenied) << r.error().message;
  // Nothing appeared next to the root, nor in /tmp through an absolute link.
  EXPECT_EQ(listTree(outer.path()).front(), "root/");
  for (const auto& p : listTree(outer.path())) EXPECT_TRUE(p.starts_with("root")) << p;
  EXPECT_FALSE(std::filesystem::exists("/tmp/berth-escape-canary"));
}

INSTANTIATE_TEST_SUITE_P(
    Escapes, UnpackRefusesTest,
    ::testing::Values(
        Refused{"dotdot", {file("../escaped", "x")}},
        Refused{"dotdot_inside", {dir("a"), file("a/../../escaped", "x")}},
        Refused{"absolute", {file("/tmp/berth-escape-canary", "x")}},
        Refused{"absolute_symlink_write_through",
                {symlink("link", "/tmp"), file("link/berth-escape-canary", "x")}},
        Refused{"relative_symlink_write_through", {symlink("up", ".."), file("up/escaped", "x")}},
        Refused{"nested_symlink_write_through",
                {dir("a"), symlink("a/b", "../.."), file("a/b/escaped", "x")}},
        Refused{"hardlink_outside", {hardlink("h", "../outside")}},
        Refused{"hardlink_through_symlink", {symlink("l", "/etc"), hardlink("h", "l/passwd")}},
        Refused{"char_device", {TarEntry{TarEntry::kCharDev, "dev/null", {}, 0666}}},
        Refused{"block_device", {TarEntry{TarEntry::kBlockDev, "dev/sda", {}, 0660}}}),
    [](const auto& info) { return std::string(info.param.name); });

TEST(UnpackTest, SymlinkInsideTheRootMayBeAParent) {
  ScratchDir d;
  auto r = unpackInto(d.path(), makeTar({dir("usr/lib"), symlink("lib", "usr/lib"), file("lib/libc.so", "c")}),
                      applyMode());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(slurp(d.path() / "usr/lib/libc.so"), "c");
}

TEST(UnpackTest, SymlinkEntryReplacingItselfIsNotFollowed) {
  ScratchDir outer;
  std::filesystem::path root = outer.path() / "root";
  std::filesystem::create_directories(root);
  // A file entry over an existing symlink replaces the link, never writes through it.
  auto r = unpackInto(root, makeTar({symlink("f", "../victim"), file("f", "data")}), applyMode());
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_FALSE(std::filesystem::exists(outer.path() / "victim"));
  EXPECT_FALSE(std::filesystem::is_symlink(root / "f"));
  EXPECT_EQ(slurp(root / "f"), "data");
}

TEST(UnpackTest, DevicesCanBeSkipped) {
  ScratchDir d;
  UnpackOptions o = applyMode();
  o.skip_devices = true;
  auto r = unpackInto(d.path(), makeTar({TarEntry{TarEntry::kCharDev, "null", {}, 0666}, file("f", "x")}), o);
  ASSERT_TRUE(r) << r.error().message;
  EXPECT_EQ(listTree(d.path()), (std::vector<std::string>{"f"}));
}

TEST(UnpackTest, GarbageAndTruncationAreErrors) {
  ScratchDir d;
  EXPECT_FALSE(unpackInto(d.path(), "", applyMode()));
  EXPECT_FALSE(unpackInto(d.path(), "this is not a tar archive at all", applyMode()));
  std::string gz = makeTar({file("big", std::string(100000, 'x'))});
  EXPECT_FALSE(unpackInto(d.path(), gz.substr(0, gz.size() / 2), applyMode()));
}

}  // namespace
}  // namespace berth::image
