// Parameter Store on a memory store, a fake clock and a real kms::Kms:
// versions, selectors, labels, SecureStrings (stored only as ciphertext),
// hierarchy and by-path queries with pagination, tiers, tags, secrets for
// tasks, and permission checks.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/json.h"
#include "control/kms/kms.h"
#include "control/ssm/ssm.h"
#include "store/store.h"

namespace berth::ssm {
namespace {

namespace bj = boost::json;

class SsmTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start() {
    ssm_.reset();
    kms_ = std::make_unique<kms::Kms>(kms::KmsConfig{}, std::string(32, 'm'), *store_, clock_);
    ASSERT_TRUE(kms_->load());
    ssm_ = std::make_unique<Ssm>(SsmConfig{}, *kms_, *store_, clock_);
    ASSERT_TRUE(ssm_->load());
  }

  bj::object ok(std::string_view op, const std::string& input, const iam::Caller& caller = {}) {
    auto r = ssm_->invoke(op, bj::parse(input).as_object(), caller);
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r && r->is_object() ? r->as_object() : bj::object{};
  }

  Error err(std::string_view op, const std::string& input, const iam::Caller& caller = {}) {
    auto r = ssm_->invoke(op, bj::parse(input).as_object(), caller);
    EXPECT_FALSE(r) << op << " succeeded";
    return r ? Error{} : r.error();
  }

  void put(const std::string& name, const std::string& value, const std::string& extra = R"("Type":"String")") {
    ok("PutParameter", R"({"Name":")" + name + R"(","Value":")" + value + R"(",)" + extra + "}");
  }

  std::string value(const std::string& name, bool decrypt = false) {
    auto r = ok("GetParameter", R"({"Name":")" + name + R"(","WithDecryption":)" + (decrypt ? "true" : "false") + "}");
    return r.contains("Parameter") ? std::string(r["Parameter"].as_object()["Value"].as_string()) : "";
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  FakeClock clock_;
  std::unique_ptr<kms::Kms> kms_;
  std::unique_ptr<Ssm> ssm_;
};

TEST_F(SsmTest, PutGetOverwriteAndVersions) {
  auto r = ok("PutParameter", R"({"Name":"/app/db-url","Value":"v1","Type":"String","Description":"db"})");
  EXPECT_EQ(r["Version"].as_int64(), 1);
  EXPECT_EQ(r["Tier"].as_string(), "Standard");
  Error e = err("PutParameter", R"({"Name":"/app/db-url","Value":"v2","Type":"String"})");
  EXPECT_EQ(e.aws_type, "ParameterAlreadyExists");
  EXPECT_EQ(e.message,
            "The parameter already exists. To overwrite this value, set the overwrite option in the request to true.");
  r = ok("PutParameter", R"({"Name":"/app/db-url","Value":"v2","Overwrite":true})");
  EXPECT_EQ(r["Version"].as_int64(), 2);
  EXPECT_EQ(value("/app/db-url"), "v2");
  EXPECT_EQ(value("/app/db-url:1"), "v1");
  auto g = ok("GetParameter", R"({"Name":"/app/db-url:1"})");
  EXPECT_EQ(g["Parameter"].as_object()["Selector"].as_string(), ":1");
  EXPECT_EQ(g["Parameter"].as_object()["ARN"].as_string(), "arn:aws:ssm:us-east-1:000000000000:parameter/app/db-url");
  EXPECT_EQ(value("arn:aws:ssm:us-east-1:000000000000:parameter/app/db-url"), "v2");
  EXPECT_EQ(err("GetParameter", R"({"Name":"/app/db-url:9"})").aws_type, "ParameterVersionNotFound");
  EXPECT_EQ(err("GetParameter", R"({"Name":"/app/missing"})").aws_type, "ParameterNotFound");
  auto d = ok("DescribeParameters", "{}");
  EXPECT_EQ(d["Parameters"].as_array()[0].at("Description").as_string(), "db");  // kept on overwrite
  EXPECT_EQ(err("PutParameter", R"({"Name":"/app/db-url","Value":"x","Type":"SecureString","Overwrite":true})")
                .aws_type,
            "HierarchyTypeMismatchException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/app/t","Value":"x","Type":"String","Overwrite":true,)"
                                R"("Tags":[{"Key":"a","Value":"b"}]})")
                .aws_type,
            "ValidationException");
}

TEST_F(SsmTest, NameRules) {
  EXPECT_EQ(err("PutParameter", R"({"Name":"/aws/x","Value":"v","Type":"String"})").aws_type, "ValidationException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"ssm-x","Value":"v","Type":"String"})").aws_type, "ValidationException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"a/b","Value":"v","Type":"String"})").aws_type, "ValidationException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/a b","Value":"v","Type":"String"})").aws_type, "ValidationException");
  std::string deep;
  for (int i = 0; i < 16; ++i) deep += "/l" + std::to_string(i);
  EXPECT_EQ(err("PutParameter", R"({"Name":")" + deep + R"(","Value":"v","Type":"String"})").aws_type,
            "HierarchyLevelLimitExceededException");
  deep = deep.substr(0, deep.rfind('/'));
  put(deep, "v");  // 15 levels
  put("plain.name_1-x", "v");
  EXPECT_EQ(value("plain.name_1-x"), "v");
}

TEST_F(SsmTest, SecureStringIsStoredOnlyAsCiphertext) {
  const std::string secret = "postgres://user:hunter2@db";
  put("/durableai/dev/db-url", secret, R"("Type":"SecureString")");
  std::string raw = value("/durableai/dev/db-url");
  EXPECT_NE(raw, secret);
  auto blob = kms::base64Decode(raw);
  ASSERT_TRUE(blob);
  EXPECT_EQ(value("/durableai/dev/db-url", true), secret);
  // Nothing in the store holds the plaintext.
  for (std::string_view kind : {"ssm.parameter", "kms.key", "kms.alias"}) {
    auto records = store_->loadAll(kind);
    ASSERT_TRUE(records);
    for (const auto& r : *records) EXPECT_EQ(r.value.find("hunter2"), std::string::npos) << kind;
  }
  auto d = ok("DescribeParameters", "{}");
  EXPECT_EQ(d["Parameters"].as_array()[0].at("KeyId").as_string(), "alias/aws/ssm");
  // The ciphertext is bound to this parameter's ARN.
  auto wrong = kms_->decrypt(*blob, {{"PARAMETER_ARN", "arn:aws:ssm:us-east-1:000000000000:parameter/other"}}, {});
  EXPECT_FALSE(wrong);
  // And survives a restart.
  start();
  EXPECT_EQ(value("/durableai/dev/db-url", true), secret);
}

TEST_F(SsmTest, SecureStringWithACustomKeyAndADisabledKey) {
  auto key = kms_->invoke("CreateKey", bj::object{}, {});
  ASSERT_TRUE(key);
  std::string id(key->as_object().at("KeyMetadata").as_object().at("KeyId").as_string());
  put("/s", "top", R"("Type":"SecureString","KeyId":")" + id + R"(")");
  EXPECT_EQ(value("/s", true), "top");
  ASSERT_TRUE(kms_->invoke("DisableKey", bj::object{{"KeyId", id}}, {}));
  Error e = err("GetParameter", R"({"Name":"/s","WithDecryption":true})");
  EXPECT_EQ(e.aws_type, "InvalidKeyId");
  EXPECT_NE(e.message.find("is disabled."), std::string::npos);
  EXPECT_NE(e.message.find("DisabledException"), std::string::npos);
  value("/s");  // without decryption it still answers
  EXPECT_EQ(err("PutParameter", R"({"Name":"/t","Value":"v","Type":"SecureString","KeyId":"alias/nope"})").aws_type,
            "InvalidKeyId");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/t","Value":"v","Type":"String","KeyId":")" + id + R"("})").aws_type,
            "ValidationException");
}

TEST_F(SsmTest, DecryptionChecksTheCallersKmsPermission) {
  auto key = kms_->invoke("CreateKey", bj::object{}, {});
  ASSERT_TRUE(key);
  std::string id(key->as_object().at("KeyMetadata").as_object().at("KeyId").as_string());
  put("/p", "secret", R"("Type":"SecureString","KeyId":")" + id + R"(")");
  put("/q", "plain");
  put("/default", "via-ssm", R"("Type":"SecureString")");
  std::vector<std::string> asked;
  iam::Caller caller;
  caller.principal_arn = "arn:aws:sts::000000000000:assumed-role/task/abc";
  caller.authorize = [&](std::string_view action, std::string_view resource) -> Status {
    asked.push_back(std::string(action) + " " + std::string(resource));
    if (action == "kms:Decrypt") return fail(ErrorCode::kPermissionDenied, "denied", "AccessDeniedException");
    return {};
  };
  EXPECT_EQ(err("GetParameter", R"({"Name":"/p","WithDecryption":true})", caller).aws_type, "AccessDeniedException");
  ASSERT_FALSE(asked.empty());
  EXPECT_EQ(asked.back(), "kms:Decrypt arn:aws:kms:us-east-1:000000000000:key/" + id);
  // The AWS managed alias/aws/ssm key needs no kms:Decrypt through SSM.
  auto through_ssm = ssm_->invoke("GetParameter", bj::object{{"Name", "/default"}, {"WithDecryption", true}}, caller);
  ASSERT_TRUE(through_ssm);
  EXPECT_EQ(through_ssm->as_object().at("Parameter").as_object().at("Value").as_string(), "via-ssm");
  EXPECT_EQ(ssm_->resolveSecret("/default", caller).value(), "via-ssm");
  for (const auto& a : asked) EXPECT_FALSE(a.starts_with("kms:") && a.find(id) == std::string::npos) << a;
  // KMS's own API still asks, for that key too.
  std::string blob(kms::base64Decode(value("/default")).value());
  EXPECT_FALSE(kms_->decrypt(blob, {{"PARAMETER_ARN", "arn:aws:ssm:us-east-1:000000000000:parameter/default"}}, caller));
  EXPECT_EQ(ssm_->resolveSecret("/q", caller).value(), "plain");
  EXPECT_EQ(asked.back(), "ssm:GetParameters arn:aws:ssm:us-east-1:000000000000:parameter/q");
  EXPECT_FALSE(ssm_->resolveSecret("/p", caller));
  EXPECT_EQ(ssm_->resolveSecret("/p", {}).value(), "secret");
  EXPECT_EQ(ssm_->resolveSecret("arn:aws:ssm:us-east-1:000000000000:parameter/p", {}).value(), "secret");
  put("/p", "secret2", R"("Overwrite":true)");
  EXPECT_EQ(ssm_->resolveSecret("/p:1", {}).value(), "secret");
  EXPECT_EQ(ssm_->resolveSecret("/p", {}).value(), "secret2");
  EXPECT_EQ(ssm_->resolveSecret("/missing", {}).error().aws_type, "ParameterNotFound");
}

TEST_F(SsmTest, GetParametersListsInvalidOnes) {
  put("/a", "1");
  put("/b", "2");
  auto r = ok("GetParameters", R"({"Names":["/a","/b:1","/c","/a:7"]})");
  EXPECT_EQ(r["Parameters"].as_array().size(), 2u);
  EXPECT_EQ(r["InvalidParameters"].as_array().size(), 2u);
  r = ok("GetParameters", R"({"Names":["/a"]})");
  EXPECT_FALSE(r.contains("InvalidParameters"));
}

TEST_F(SsmTest, ByPathRecursionFiltersAndPagination) {
  put("/env/dev/db", "1");
  put("/env/dev/api/key", "2", R"("Type":"SecureString")");
  put("/env/dev/api/url", "3");
  put("/env/prod/db", "4");
  put("/envx/dev", "5");
  auto names = [&](const std::string& input) {
    std::set<std::string> out;
    std::string token;
    for (int i = 0; i < 20; ++i) {
      std::string in = input.substr(0, input.size() - 1) +
                       (token.empty() ? "" : R"(,"NextToken":")" + token + R"(")") + "}";
      auto r = ok("GetParametersByPath", in);
      EXPECT_LE(r["Parameters"].as_array().size(), 2u);
      for (const auto& p : r["Parameters"].as_array()) out.insert(std::string(p.at("Name").as_string()));
      if (!r.contains("NextToken")) break;
      token = std::string(r["NextToken"].as_string());
    }
    return out;
  };
  EXPECT_EQ(names(R"({"Path":"/env/dev","MaxResults":2})"), (std::set<std::string>{"/env/dev/db"}));
  EXPECT_EQ(names(R"({"Path":"/env/dev/","Recursive":true,"MaxResults":2})"),
            (std::set<std::string>{"/env/dev/db", "/env/dev/api/key", "/env/dev/api/url"}));
  EXPECT_EQ(names(R"({"Path":"/","Recursive":true,"MaxResults":2})").size(), 5u);
  EXPECT_EQ(names(R"({"Path":"/env","Recursive":true,"MaxResults":2,)"
                  R"("ParameterFilters":[{"Key":"Type","Option":"Equals","Values":["SecureString"]}]})"),
            (std::set<std::string>{"/env/dev/api/key"}));
  auto r = ok("GetParametersByPath", R"({"Path":"/env/dev/api","WithDecryption":true})");
  for (const auto& p : r["Parameters"].as_array()) {
    if (p.at("Name").as_string() == "/env/dev/api/key") {
      EXPECT_EQ(p.at("Value").as_string(), "2");
    }
  }
  EXPECT_EQ(err("GetParametersByPath", R"({"Path":"/env","ParameterFilters":[{"Key":"Name","Values":["x"]}]})").aws_type,
            "InvalidFilterKey");
  EXPECT_EQ(err("GetParametersByPath", R"({"Path":"/env","NextToken":"bogus"})").aws_type, "InvalidNextToken");
}

TEST_F(SsmTest, DescribeFiltersHistoryAndDelete) {
  put("/x/a", "1");
  put("/x/b", "2", R"("Type":"StringList")");
  put("/y/c", "3");
  auto d = ok("DescribeParameters", R"({"ParameterFilters":[{"Key":"Path","Option":"Recursive","Values":["/x"]}]})");
  EXPECT_EQ(d["Parameters"].as_array().size(), 2u);
  d = ok("DescribeParameters", R"({"ParameterFilters":[{"Key":"Type","Values":["StringList"]}]})");
  EXPECT_EQ(d["Parameters"].as_array().size(), 1u);
  d = ok("DescribeParameters", R"({"Filters":[{"Key":"Name","Values":["/y"]}]})");
  EXPECT_EQ(d["Parameters"].as_array().size(), 1u);
  d = ok("DescribeParameters", R"({"MaxResults":2})");
  EXPECT_EQ(d["Parameters"].as_array().size(), 2u);
  ASSERT_TRUE(d.contains("NextToken"));
  d = ok("DescribeParameters", R"({"MaxResults":2,"NextToken":")" + std::string(d["NextToken"].as_string()) + R"("})");
  EXPECT_EQ(d["Parameters"].as_array().size(), 1u);

  put("/x/a", "1b", R"("Overwrite":true)");
  auto h = ok("GetParameterHistory", R"({"Name":"/x/a"})");
  ASSERT_EQ(h["Parameters"].as_array().size(), 2u);
  EXPECT_EQ(h["Parameters"].as_array()[0].at("Value").as_string(), "1");

  ok("DeleteParameter", R"({"Name":"/x/a"})");
  EXPECT_EQ(err("DeleteParameter", R"({"Name":"/x/a"})").aws_type, "ParameterNotFound");
  auto del = ok("DeleteParameters", R"({"Names":["/x/b","/nope"]})");
  EXPECT_EQ(del["DeletedParameters"].as_array().size(), 1u);
  EXPECT_EQ(del["InvalidParameters"].as_array().size(), 1u);
  start();
  EXPECT_EQ(ssm_->parameterCount(), 1u);
}

TEST_F(SsmTest, LabelsMoveBetweenVersions) {
  put("/l", "1");
  put("/l", "2", R"("Overwrite":true)");
  auto r = ok("LabelParameterVersion", R"({"Name":"/l","ParameterVersion":1,"Labels":["prod","1bad","awsx"]})");
  EXPECT_EQ(r["InvalidLabels"].as_array().size(), 2u);
  EXPECT_EQ(value("/l:prod"), "1");
  ok("LabelParameterVersion", R"({"Name":"/l","Labels":["prod"]})");  // latest
  EXPECT_EQ(value("/l:prod"), "2");
  auto h = ok("GetParameterHistory", R"({"Name":"/l"})");
  EXPECT_FALSE(h["Parameters"].as_array()[0].as_object().contains("Labels"));
  auto u = ok("UnlabelParameterVersion", R"({"Name":"/l","ParameterVersion":2,"Labels":["prod","other"]})");
  EXPECT_EQ(u["RemovedLabels"].as_array().size(), 1u);
  EXPECT_EQ(u["InvalidLabels"].as_array().size(), 1u);
  EXPECT_EQ(err("GetParameter", R"({"Name":"/l:prod"})").aws_type, "ParameterVersionNotFound");
  std::string many = R"({"Name":"/l","ParameterVersion":1,"Labels":[)";
  for (int i = 0; i < 11; ++i) many += std::string(i ? "," : "") + "\"l" + std::to_string(i) + "\"";
  EXPECT_EQ(err("LabelParameterVersion", many + "]}").aws_type, "ParameterVersionLabelLimitExceeded");
}

TEST_F(SsmTest, OnlyAHundredVersionsAreKept) {
  put("/v", "0");
  ok("LabelParameterVersion", R"({"Name":"/v","ParameterVersion":1,"Labels":["keep"]})");
  for (int i = 2; i <= 100; ++i) put("/v", std::to_string(i), R"("Overwrite":true)");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/v","Value":"101","Overwrite":true})").aws_type,
            "ParameterMaxVersionLimitExceeded");
  ok("UnlabelParameterVersion", R"({"Name":"/v","ParameterVersion":1,"Labels":["keep"]})");
  auto r = ok("PutParameter", R"({"Name":"/v","Value":"101","Overwrite":true})");
  EXPECT_EQ(r["Version"].as_int64(), 101);
  EXPECT_EQ(err("GetParameter", R"({"Name":"/v:1"})").aws_type, "ParameterVersionNotFound");
  EXPECT_EQ(value("/v:2"), "2");
}

TEST_F(SsmTest, TiersPatternsPoliciesAndTags) {
  std::string big(5000, 'x');
  EXPECT_EQ(err("PutParameter", R"({"Name":"/big","Value":")" + big + R"(","Type":"String"})").aws_type,
            "ValidationException");
  auto r = ok("PutParameter", R"({"Name":"/big","Value":")" + big + R"(","Type":"String","Tier":"Intelligent-Tiering"})");
  EXPECT_EQ(r["Tier"].as_string(), "Advanced");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/big","Value":"s","Overwrite":true,"Tier":"Standard"})").aws_type,
            "ValidationException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/pat","Value":"abc","Type":"String","AllowedPattern":"^\\d+$"})").aws_type,
            "ParameterPatternMismatchException");
  put("/pat", "123", R"("Type":"String","AllowedPattern":"^\\d+$")");
  // A pattern that backtracks exponentially answers at once; back-references are refused.
  EXPECT_EQ(err("PutParameter", R"({"Name":"/slow","Value":")" + std::string(4000, 'a') +
                                    R"(","Type":"String","AllowedPattern":"^(a+)+b$"})")
                .aws_type,
            "ParameterPatternMismatchException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/br","Value":"aa","Type":"String","AllowedPattern":"^(a)\\1$"})").aws_type,
            "InvalidAllowedPatternException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/pat","Value":"x1","Overwrite":true})").aws_type,
            "ParameterPatternMismatchException");
  EXPECT_EQ(err("PutParameter", R"({"Name":"/pol","Value":"v","Type":"String",)"
                                R"("Policies":"[{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":\"2030-01-01T00:00:00Z\"}}]"})")
                .aws_type,
            "IncompatiblePolicyException");
  put("/pol", "v",
      R"("Type":"String","Tier":"Advanced","Policies":"[{\"Type\":\"Expiration\",\"Version\":\"1.0\",\"Attributes\":{\"Timestamp\":\"2030-01-01T00:00:00Z\"}}]")");
  auto d = ok("DescribeParameters", R"({"ParameterFilters":[{"Key":"Name","Values":["/pol"]}]})");
  EXPECT_EQ(d["Parameters"].as_array()[0].at("Policies").as_array()[0].at("PolicyType").as_string(), "Expiration");

  put("/tagged", "v", R"("Type":"String","Tags":[{"Key":"env","Value":"dev"}])");
  ok("AddTagsToResource", R"({"ResourceType":"Parameter","ResourceId":"/tagged","Tags":[{"Key":"team","Value":"a"}]})");
  auto t = ok("ListTagsForResource", R"({"ResourceType":"Parameter","ResourceId":"/tagged"})");
  EXPECT_EQ(t["TagList"].as_array().size(), 2u);
  ok("RemoveTagsFromResource", R"({"ResourceType":"Parameter","ResourceId":"/tagged","TagKeys":["env"]})");
  t = ok("ListTagsForResource", R"({"ResourceType":"Parameter","ResourceId":"/tagged"})");
  EXPECT_EQ(t["TagList"].as_array().size(), 1u);
  EXPECT_EQ(err("ListTagsForResource", R"({"ResourceType":"Parameter","ResourceId":"/none"})").aws_type,
            "InvalidResourceId");
}

TEST_F(SsmTest, FailedCommitChangesNothing) {
  store::FaultInjectingStore faulty(*store_);
  kms_ = std::make_unique<kms::Kms>(kms::KmsConfig{}, std::string(32, 'm'), faulty, clock_);
  ASSERT_TRUE(kms_->load());
  ssm_ = std::make_unique<Ssm>(SsmConfig{}, *kms_, faulty, clock_);
  ASSERT_TRUE(ssm_->load());
  put("/f", "1");
  faulty.failCommitsFrom(faulty.commitCalls() + 1);
  err("PutParameter", R"({"Name":"/f","Value":"2","Overwrite":true})");
  err("PutParameter", R"({"Name":"/g","Value":"2","Type":"String"})");
  err("DeleteParameter", R"({"Name":"/f"})");
  faulty.clearFaults();
  EXPECT_EQ(value("/f"), "1");
  EXPECT_EQ(ssm_->parameterCount(), 1u);
}

}  // namespace
}  // namespace berth::ssm
