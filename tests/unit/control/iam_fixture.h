// A fixture for IAM and STS on a memory store (behind a fault-injecting
// one) and a fake clock.
#pragma once

#include <memory>
#include <string>

#include <gtest/gtest.h>

#include "common/json.h"
#include "control/iam/iam.h"
#include "store/store.h"

namespace berth::iam {

namespace bj = boost::json;

inline constexpr std::string_view kAccount = "000000000000";
inline constexpr std::string_view kTrustEcsTasks =
    R"({"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ecs-tasks.amazonaws.com"},"Action":"sts:AssumeRole"}]})";

inline std::string allowDoc(std::string_view action, std::string_view resource = "*") {
  return bj::serialize(bj::object{
      {"Version", "2012-10-17"},
      {"Statement", bj::array{bj::object{{"Effect", "Allow"}, {"Action", action}, {"Resource", resource}}}}});
}

inline std::string trustFor(std::string_view principal_arn) {
  return bj::serialize(bj::object{{"Version", "2012-10-17"},
                                  {"Statement", bj::array{bj::object{{"Effect", "Allow"},
                                                                     {"Principal", bj::object{{"AWS", principal_arn}}},
                                                                     {"Action", "sts:AssumeRole"}}}}});
}

// "%7B%22a%22..." -> "{"a"...".
inline std::string urlDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] == '%' && i + 2 < s.size()) {
      out.push_back(static_cast<char>(std::stoi(std::string(s.substr(i + 1, 2)), nullptr, 16)));
      i += 2;
    } else {
      out.push_back(s[i]);
    }
  }
  return out;
}

class IamFixture : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start() {
    iam_ = std::make_unique<Iam>(IamConfig{std::string(kAccount)}, store_, clock_);
    ASSERT_TRUE(iam_->load());
  }

  Caller root() const {
    return Caller{
        std::string("arn:aws:iam::") + std::string(kAccount) + ":root", std::string(kAccount), "AKIAROOT", {}};
  }
  // The caller signing with `key` as IAM's snapshot knows it.
  Caller callerFor(const std::string& key) const {
    auto info = iam_->identityView().snapshot()->principalForKey(key);
    return Caller{info ? info->arn : "", std::string(kAccount), key, {}};
  }

  bj::object ok(std::string_view op, const bj::object& input, const Caller* who = nullptr) {
    Caller r = root();
    auto out = iam_->invoke(op, input, who ? *who : r);
    EXPECT_TRUE(out) << op << ": " << (out ? "" : out.error().aws_type + " " + out.error().message);
    return out && out->is_object() ? out->as_object() : bj::object{};
  }

  Error err(std::string_view op, const bj::object& input, const Caller* who = nullptr) {
    Caller r = root();
    auto out = iam_->invoke(op, input, who ? *who : r);
    EXPECT_FALSE(out) << op << " succeeded";
    return out ? Error{} : out.error();
  }

  std::string createRole(const std::string& name, std::string_view trust = kTrustEcsTasks) {
    auto out = ok("CreateRole", {{"RoleName", name}, {"AssumeRolePolicyDocument", trust}});
    return std::string(out["Role"].as_object()["Arn"].as_string());
  }

  // A user with one access key (and `policy` inline); returns the key id.
  std::string createUser(const std::string& name, const std::string& policy = "") {
    ok("CreateUser", {{"UserName", name}});
    if (!policy.empty()) ok("PutUserPolicy", {{"UserName", name}, {"PolicyName", "p"}, {"PolicyDocument", policy}});
    auto key = ok("CreateAccessKey", {{"UserName", name}});
    return std::string(key["AccessKey"].as_object()["AccessKeyId"].as_string());
  }

  std::unique_ptr<store::Store> memory_ = store::makeMemoryStore();
  store::FaultInjectingStore store_{*memory_};
  FakeClock clock_;
  std::unique_ptr<Iam> iam_;
};

}  // namespace berth::iam
