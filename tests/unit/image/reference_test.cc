#include "image/reference.h"

#include <gtest/gtest.h>

namespace berth::image {
namespace {

TEST(ImageReferenceTest, Ecr) {
  auto r = parseImageReference("123456789012.dkr.ecr.us-east-1.amazonaws.com/team/app:1.2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RegistryKind::kEcr);
  EXPECT_EQ(r->account_id, "123456789012");
  EXPECT_EQ(r->region, "us-east-1");
  EXPECT_EQ(r->repository, "team/app");
  EXPECT_EQ(r->tag, "1.2");
  EXPECT_EQ(r->localRepository(), "team/app");
  std::string digest = "sha256:" + std::string(64, 'a');
  r = parseImageReference("123456789012.dkr.ecr.eu-west-2.amazonaws.com/app@" + digest);
  ASSERT_TRUE(r);
  EXPECT_EQ(r->reference(), digest);
  EXPECT_EQ(r->str(), "123456789012.dkr.ecr.eu-west-2.amazonaws.com/app@" + digest);
}

TEST(ImageReferenceTest, LocalhostAndLoopback) {
  auto r = parseImageReference("localhost:4566/backend:latest");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RegistryKind::kLocal);
  EXPECT_EQ(r->domain, "localhost:4566");
  EXPECT_EQ(r->repository, "backend");
  r = parseImageReference("127.0.0.1:5000/a/b");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RegistryKind::kLocal);
  EXPECT_EQ(r->tag, "latest");
}

TEST(ImageReferenceTest, DockerStyleNames) {
  auto r = parseImageReference("busybox");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RegistryKind::kExternal);
  EXPECT_EQ(r->str(), "docker.io/library/busybox:latest");
  EXPECT_EQ(r->localRepository(), "busybox");
  r = parseImageReference("library/x:1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->localRepository(), "x");
  r = parseImageReference("user/app:v2");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->localRepository(), "user/app");
  r = parseImageReference("quay.io/org/app:v1");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RegistryKind::kExternal);
  EXPECT_EQ(r->localRepository(), "quay.io/org/app");
  // Not ECR: wrong account length.
  r = parseImageReference("1234.dkr.ecr.us-east-1.amazonaws.com/app");
  ASSERT_TRUE(r);
  EXPECT_EQ(r->kind, RegistryKind::kExternal);
}

TEST(ImageReferenceTest, Invalid) {
  for (const char* bad : {"", "UPPER/case", "app:", "app@sha256:123", "a//b", "-app", "app:bad tag", "/app",
                          "app:tag:more"}) {
    EXPECT_FALSE(parseImageReference(bad)) << bad;
  }
}

TEST(ImageReferenceTest, CannotPullWording) {
  auto r = parseImageReference("busybox");
  Error e = cannotPullError(*r, offlineDetail(*r));
  EXPECT_EQ(e.aws_type, "CannotPullContainerError");
  EXPECT_TRUE(e.message.starts_with(
      "pull image manifest has been retried 5 time(s): failed to resolve ref docker.io/library/busybox:latest: "
      "failed to do request: Head \"https://registry-1.docker.io/v2/library/busybox/manifests/latest\""))
      << e.message;
}

}  // namespace
}  // namespace berth::image
