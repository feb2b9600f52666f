// KMS on a memory store and a fake clock: keys and their states, aliases,
// AES-256-GCM round trips with encryption contexts, tampered blobs, the
// deletion window, sealed key material, persistence and permission checks.
#include <set>
#include <string>

#include <gtest/gtest.h>

#include "common/json.h"
#include "control/kms/kms.h"
#include "kms/ciphertext.h"
#include "store/store.h"

namespace berth::kms {
namespace {

namespace bj = boost::json;

const std::string kMaster(32, 'm');

class KmsTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start(std::string master = kMaster) {
    kms_ = std::make_unique<Kms>(KmsConfig{}, master, *store_, clock_);
    ASSERT_TRUE(kms_->load());
  }

  bj::object ok(std::string_view op, const std::string& input, const iam::Caller& caller = {}) {
    auto r = kms_->invoke(op, bj::parse(input).as_object(), caller);
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r && r->is_object() ? r->as_object() : bj::object{};
  }

  Error err(std::string_view op, const std::string& input, const iam::Caller& caller = {}) {
    auto r = kms_->invoke(op, bj::parse(input).as_object(), caller);
    EXPECT_FALSE(r) << op << " succeeded";
    return r ? Error{} : r.error();
  }

  std::string createKey(const std::string& extra = "") {
    auto r = ok("CreateKey", "{" + extra + "}");
    return std::string(r["KeyMetadata"].as_object()["KeyId"].as_string());
  }

  std::string encrypt(const std::string& key, const std::string& plaintext, const std::string& context = "{}") {
    auto r = ok("Encrypt", R"({"KeyId":")" + key + R"(","Plaintext":")" + base64Encode(plaintext) +
                               R"(","EncryptionContext":)" + context + "}");
    return std::string(r["CiphertextBlob"].as_string());
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  FakeClock clock_;
  std::unique_ptr<Kms> kms_;
};

TEST_F(KmsTest, CreateAndDescribeAKeyByIdArnAndAlias) {
  auto r = ok("CreateKey", R"({"Description":"app key","Tags":[{"TagKey":"team","TagValue":"a"}]})");
  const auto& meta = r["KeyMetadata"].as_object();
  std::string id(meta.at("KeyId").as_string());
  EXPECT_EQ(id.size(), 36u);
  EXPECT_EQ(meta.at("Arn").as_string(), "arn:aws:kms:us-east-1:000000000000:key/" + id);
  EXPECT_EQ(meta.at("KeyState").as_string(), "Enabled");
  EXPECT_EQ(meta.at("KeyManager").as_string(), "CUSTOMER");
  EXPECT_EQ(meta.at("KeySpec").as_string(), "SYMMETRIC_DEFAULT");
  EXPECT_EQ(meta.at("Description").as_string(), "app key");

  ok("CreateAlias", R"({"AliasName":"alias/app","TargetKeyId":")" + id + R"("})");
  for (std::string ref : {id, std::string(meta.at("Arn").as_string()), std::string("alias/app"),
                          std::string("arn:aws:kms:us-east-1:000000000000:alias/app")}) {
    auto d = ok("DescribeKey", R"({"KeyId":")" + ref + R"("})");
    EXPECT_EQ(d["KeyMetadata"].as_object()["KeyId"].as_string(), id) << ref;
  }
  auto tags = ok("ListResourceTags", R"({"KeyId":")" + id + R"("})");
  EXPECT_EQ(tags["Tags"].as_array().size(), 1u);

  Error e = err("DescribeKey", R"({"KeyId":"11111111-2222-3333-4444-555555555555"})");
  EXPECT_EQ(e.aws_type, "NotFoundException");
  EXPECT_EQ(e.message, "Key 'arn:aws:kms:us-east-1:000000000000:key/11111111-2222-3333-4444-555555555555' does not exist");
  e = err("DescribeKey", R"({"KeyId":"alias/missing"})");
  EXPECT_EQ(e.message, "Alias arn:aws:kms:us-east-1:000000000000:alias/missing is not found.");
}

TEST_F(KmsTest, DefaultAndCustomKeyPolicies) {
  std::string id = createKey();
  auto p = ok("GetKeyPolicy", R"({"KeyId":")" + id + R"("})");
  EXPECT_NE(std::string(p["Policy"].as_string()).find("\"AWS\" : \"arn:aws:iam::000000000000:root\""),
            std::string::npos);
  EXPECT_EQ(p["PolicyName"].as_string(), "default");
  Error e = err("CreateKey", R"({"Policy":"{not json"})");
  EXPECT_EQ(e.aws_type, "MalformedPolicyDocumentException");
  size_t keys = kms_->keyCount();
  e = err("PutKeyPolicy", R"({"KeyId":")" + id + R"(","Policy":"[]"})");
  EXPECT_EQ(e.aws_type, "MalformedPolicyDocumentException");
  EXPECT_EQ(kms_->keyCount(), keys);
  auto names = ok("ListKeyPolicies", R"({"KeyId":")" + id + R"("})");
  EXPECT_EQ(names["PolicyNames"].as_array().size(), 1u);
}

TEST_F(KmsTest, EncryptDecryptRoundTripWithContext) {
  std::string id = createKey();
  std::string blob = encrypt(id, "s3cr3t", R"({"b":"2","a":"1"})");
  // The context's order does not matter; its content does.
  auto d = ok("Decrypt", R"({"CiphertextBlob":")" + blob + R"(","EncryptionContext":{"a":"1","b":"2"}})");
  EXPECT_EQ(base64Decode(d["Plaintext"].as_string()).value(), "s3cr3t");
  EXPECT_EQ(d["KeyId"].as_string(), "arn:aws:kms:us-east-1:000000000000:key/" + id);
  EXPECT_EQ(err("Decrypt", R"({"CiphertextBlob":")" + blob + R"(","EncryptionContext":{"a":"1"}})").aws_type,
            "InvalidCiphertextException");
  EXPECT_EQ(err("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})").aws_type, "InvalidCiphertextException");
  // Decrypt names the key itself; a different KeyId is refused.
  std::string other = createKey();
  EXPECT_EQ(err("Decrypt", R"({"CiphertextBlob":")" + blob + R"(","KeyId":")" + other +
                               R"(","EncryptionContext":{"a":"1","b":"2"}})")
                .aws_type,
            "IncorrectKeyException");
  ok("Decrypt", R"({"CiphertextBlob":")" + blob + R"(","KeyId":")" + id + R"(","EncryptionContext":{"a":"1","b":"2"}})");
}

TEST_F(KmsTest, TamperedAndForeignBlobsAreInvalidCiphertext) {
  std::string id = createKey();
  std::string raw = base64Decode(encrypt(id, "hello world")).value();
  for (size_t i = 0; i < raw.size(); ++i) {
    std::string bad = raw;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    Error e = err("Decrypt", R"({"CiphertextBlob":")" + base64Encode(bad) + R"("})");
    EXPECT_EQ(e.aws_type, "InvalidCiphertextException") << "byte " << i;
  }
  EXPECT_EQ(err("Decrypt", R"({"CiphertextBlob":")" + base64Encode("garbage") + R"("})").aws_type,
            "InvalidCiphertextException");
  EXPECT_EQ(err("Decrypt", R"({"CiphertextBlob":")" + base64Encode(raw.substr(0, raw.size() - 1)) + R"("})").aws_type,
            "InvalidCiphertextException");
}

TEST_F(KmsTest, DisabledAndPendingDeletionKeysRefuseCryptography) {
  std::string id = createKey();
  std::string arn = "arn:aws:kms:us-east-1:000000000000:key/" + id;
  std::string blob = encrypt(id, "x");
  ok("DisableKey", R"({"KeyId":")" + id + R"("})");
  Error e = err("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})");
  EXPECT_EQ(e.aws_type, "DisabledException");
  EXPECT_EQ(e.message, arn + " is disabled.");
  EXPECT_EQ(err("Encrypt", R"({"KeyId":")" + id + R"(","Plaintext":"eA=="})").aws_type, "DisabledException");
  ok("EnableKey", R"({"KeyId":")" + id + R"("})");
  ok("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})");

  EXPECT_EQ(err("ScheduleKeyDeletion", R"({"KeyId":")" + id + R"(","PendingWindowInDays":6})").aws_type,
            "ValidationException");
  auto s = ok("ScheduleKeyDeletion", R"({"KeyId":")" + id + R"(","PendingWindowInDays":7})");
  EXPECT_EQ(s["KeyState"].as_string(), "PendingDeletion");
  EXPECT_EQ(s["PendingWindowInDays"].as_int64(), 7);
  e = err("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})");
  EXPECT_EQ(e.aws_type, "KMSInvalidStateException");
  EXPECT_EQ(e.message, arn + " is pending deletion.");
  EXPECT_EQ(err("EnableKey", R"({"KeyId":")" + id + R"("})").aws_type, "KMSInvalidStateException");

  ok("CancelKeyDeletion", R"({"KeyId":")" + id + R"("})");
  auto d = ok("DescribeKey", R"({"KeyId":")" + id + R"("})");
  EXPECT_EQ(d["KeyMetadata"].as_object()["KeyState"].as_string(), "Disabled");
  EXPECT_FALSE(d["KeyMetadata"].as_object().contains("DeletionDate"));
}

TEST_F(KmsTest, KeyIsDeletedWhenTheWindowPasses) {
  std::string id = createKey();
  ok("CreateAlias", R"({"AliasName":"alias/doomed","TargetKeyId":")" + id + R"("})");
  ok("ScheduleKeyDeletion", R"({"KeyId":")" + id + R"("})");  // 30 days
  clock_.advance(std::chrono::hours(24 * 29));
  kms_->tick();
  ok("DescribeKey", R"({"KeyId":")" + id + R"("})");
  clock_.advance(std::chrono::hours(24) + std::chrono::seconds(1));
  kms_->tick();
  EXPECT_EQ(err("DescribeKey", R"({"KeyId":")" + id + R"("})").aws_type, "NotFoundException");
  EXPECT_EQ(ok("ListAliases", "{}")["Aliases"].as_array().size(), 0u);
  start();  // and it stays deleted
  EXPECT_EQ(err("DescribeKey", R"({"KeyId":")" + id + R"("})").aws_type, "NotFoundException");
}

TEST_F(KmsTest, AliasRules) {
  std::string a = createKey(), b = createKey();
  EXPECT_EQ(err("CreateAlias", R"({"AliasName":"app","TargetKeyId":")" + a + R"("})").aws_type,
            "InvalidAliasNameException");
  EXPECT_EQ(err("CreateAlias", R"({"AliasName":"alias/aws/mine","TargetKeyId":")" + a + R"("})").aws_type,
            "InvalidAliasNameException");
  ok("CreateAlias", R"({"AliasName":"alias/app","TargetKeyId":")" + a + R"("})");
  EXPECT_EQ(err("CreateAlias", R"({"AliasName":"alias/app","TargetKeyId":")" + b + R"("})").aws_type,
            "AlreadyExistsException");
  ok("UpdateAlias", R"({"AliasName":"alias/app","TargetKeyId":")" + b + R"("})");
  auto d = ok("DescribeKey", R"({"KeyId":"alias/app"})");
  EXPECT_EQ(d["KeyMetadata"].as_object()["KeyId"].as_string(), b);
  auto filtered = ok("ListAliases", R"({"KeyId":")" + a + R"("})");
  EXPECT_EQ(filtered["Aliases"].as_array().size(), 0u);
  ok("DeleteAlias", R"({"AliasName":"alias/app"})");
  EXPECT_EQ(err("DeleteAlias", R"({"AliasName":"alias/app"})").aws_type, "NotFoundException");
}

TEST_F(KmsTest, AwsManagedSsmKeyIsCreatedOnFirstUse) {
  EXPECT_EQ(kms_->keyCount(), 0u);
  auto e = kms_->encrypt("alias/aws/ssm", "v", {{"PARAMETER_ARN", "p"}}, {});
  ASSERT_TRUE(e) << e.error().message;
  EXPECT_EQ(kms_->keyCount(), 1u);
  auto d = ok("DescribeKey", R"({"KeyId":"alias/aws/ssm"})");
  EXPECT_EQ(d["KeyMetadata"].as_object()["KeyManager"].as_string(), "AWS");
  EXPECT_EQ(d["KeyMetadata"].as_object()["Description"].as_string(),
            "Default key that protects my SSM parameters when no other key is defined");
  EXPECT_EQ(err("DisableKey", R"({"KeyId":"alias/aws/ssm"})").aws_type, "UnsupportedOperationException");
  EXPECT_EQ(err("DescribeKey", R"({"KeyId":"alias/aws/nothing"})").aws_type, "NotFoundException");
  EXPECT_EQ(kms_->keyCount(), 1u);
  auto p = kms_->decrypt(e->blob, {{"PARAMETER_ARN", "p"}}, {});
  ASSERT_TRUE(p);
  EXPECT_EQ(p->plaintext, "v");
  EXPECT_FALSE(kms_->decrypt(e->blob, {{"PARAMETER_ARN", "q"}}, {}));
}

TEST_F(KmsTest, DataKeysAndReEncrypt) {
  std::string a = createKey(), b = createKey();
  auto dk = ok("GenerateDataKey", R"({"KeyId":")" + a + R"(","KeySpec":"AES_256"})");
  std::string plain = base64Decode(dk["Plaintext"].as_string()).value();
  EXPECT_EQ(plain.size(), 32u);
  auto d = ok("Decrypt", R"({"CiphertextBlob":")" + std::string(dk["CiphertextBlob"].as_string()) + R"("})");
  EXPECT_EQ(base64Decode(d["Plaintext"].as_string()).value(), plain);
  auto small = ok("GenerateDataKeyWithoutPlaintext", R"({"KeyId":")" + a + R"(","NumberOfBytes":16})");
  EXPECT_FALSE(small.contains("Plaintext"));
  EXPECT_EQ(err("GenerateDataKey", R"({"KeyId":")" + a + R"("})").aws_type, "ValidationException");

  std::string blob = encrypt(a, "move me", R"({"k":"v"})");
  auto re = ok("ReEncrypt", R"({"CiphertextBlob":")" + blob + R"(","SourceEncryptionContext":{"k":"v"},)" +
                                R"("DestinationKeyId":")" + b + R"("})");
  EXPECT_EQ(re["SourceKeyId"].as_string(), "arn:aws:kms:us-east-1:000000000000:key/" + a);
  auto back = ok("Decrypt", R"({"CiphertextBlob":")" + std::string(re["CiphertextBlob"].as_string()) + R"("})");
  EXPECT_EQ(back["KeyId"].as_string(), "arn:aws:kms:us-east-1:000000000000:key/" + b);
  EXPECT_EQ(base64Decode(back["Plaintext"].as_string()).value(), "move me");
}

TEST_F(KmsTest, MaterialIsSealedInTheStoreAndSurvivesARestart) {
  std::string id = createKey();
  std::string blob = encrypt(id, "persisted");
  auto rec = store_->get("kms.key", id);
  ASSERT_TRUE(rec && *rec);
  auto stored = json::parse(**rec);
  std::string sealed = base64Decode(stored->as_object()["material"].as_string()).value();
  EXPECT_EQ(sealed.size(), kIvSize + kTagSize + kKeySize);
  start();
  auto d = ok("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})");
  EXPECT_EQ(base64Decode(d["Plaintext"].as_string()).value(), "persisted");
  // Another master key cannot unseal it.
  Kms wrong(KmsConfig{}, std::string(32, 'x'), *store_, clock_);
  EXPECT_FALSE(wrong.load());
}

TEST_F(KmsTest, FailedCommitChangesNothing) {
  store::FaultInjectingStore faulty(*store_);
  kms_ = std::make_unique<Kms>(KmsConfig{}, kMaster, faulty, clock_);
  ASSERT_TRUE(kms_->load());
  std::string id = createKey();
  faulty.failCommitsFrom(faulty.commitCalls() + 1);
  err("DisableKey", R"({"KeyId":")" + id + R"("})");
  err("CreateKey", "{}");
  err("CreateAlias", R"({"AliasName":"alias/x","TargetKeyId":")" + id + R"("})");
  faulty.clearFaults();
  EXPECT_EQ(kms_->keyCount(), 1u);
  auto d = ok("DescribeKey", R"({"KeyId":")" + id + R"("})");
  EXPECT_EQ(d["KeyMetadata"].as_object()["KeyState"].as_string(), "Enabled");
  EXPECT_EQ(ok("ListAliases", "{}")["Aliases"].as_array().size(), 0u);
}

TEST_F(KmsTest, CallerPermissionIsCheckedOnTheResolvedKey) {
  std::string id = createKey();
  ok("CreateAlias", R"({"AliasName":"alias/app","TargetKeyId":")" + id + R"("})");
  std::string blob = encrypt(id, "x");
  std::string seen_action, seen_resource;
  iam::Caller denied;
  denied.authorize = [&](std::string_view action, std::string_view resource) -> Status {
    seen_action = action;
    seen_resource = resource;
    return fail(ErrorCode::kPermissionDenied, "no", "AccessDeniedException");
  };
  EXPECT_EQ(err("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})", denied).aws_type, "AccessDeniedException");
  EXPECT_EQ(seen_action, "kms:Decrypt");
  EXPECT_EQ(seen_resource, "arn:aws:kms:us-east-1:000000000000:key/" + id);
  EXPECT_EQ(err("Encrypt", R"({"KeyId":"alias/app","Plaintext":"eA=="})", denied).aws_type, "AccessDeniedException");
  EXPECT_EQ(seen_action, "kms:Encrypt");
  EXPECT_EQ(seen_resource, "arn:aws:kms:us-east-1:000000000000:key/" + id);
  EXPECT_FALSE(kms_->decrypt(base64Decode(blob).value(), {}, denied));
}

TEST_F(KmsTest, AnExplicitDenyInTheKeyPolicyWins) {
  std::string policy = R"({"Version":"2012-10-17","Statement":[)"
                       R"({"Sid":"root","Effect":"Allow","Principal":{"AWS":"arn:aws:iam::000000000000:root"},)"
                       R"("Action":"kms:*","Resource":"*"},)"
                       R"({"Sid":"no-bob","Effect":"Deny","Principal":{"AWS":"arn:aws:iam::000000000000:user/bob"},)"
                       R"("Action":"kms:Decrypt","Resource":"*"}]})";
  auto r = ok("CreateKey", "{\"Policy\":" + bj::serialize(bj::value(policy)) + "}");
  std::string id(r["KeyMetadata"].as_object()["KeyId"].as_string());
  std::string blob = encrypt(id, "x");
  auto as = [](std::string arn) {
    iam::Caller c;
    c.principal_arn = std::move(arn);
    c.account_id = "000000000000";
    c.authorize = [](std::string_view, std::string_view) -> Status { return {}; };  // IAM allows all
    return c;
  };
  Error e = err("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})", as("arn:aws:iam::000000000000:user/bob"));
  EXPECT_EQ(e.aws_type, "AccessDeniedException");
  EXPECT_EQ(e.message, "User: arn:aws:iam::000000000000:user/bob is not authorized to perform: kms:Decrypt on "
                       "resource: arn:aws:kms:us-east-1:000000000000:key/" + id +
                       " with an explicit deny in a resource-based policy");
  ok("DescribeKey", R"({"KeyId":")" + id + R"("})", as("arn:aws:iam::000000000000:user/bob"));
  ok("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})", as("arn:aws:iam::000000000000:user/alice"));
  EXPECT_TRUE(kms_->decrypt(base64Decode(blob).value(), {}, {}));  // berth's own calls
  start();  // the compiled policy is rebuilt on load
  EXPECT_EQ(err("Decrypt", R"({"CiphertextBlob":")" + blob + R"("})", as("arn:aws:iam::000000000000:user/bob")).aws_type,
            "AccessDeniedException");
}

TEST_F(KmsTest, RotationAndPagination) {
  std::string id = createKey();
  auto s = ok("GetKeyRotationStatus", R"({"KeyId":")" + id + R"("})");
  EXPECT_FALSE(s["KeyRotationEnabled"].as_bool());
  ok("EnableKeyRotation", R"({"KeyId":")" + id + R"(","RotationPeriodInDays":180})");
  s = ok("GetKeyRotationStatus", R"({"KeyId":")" + id + R"("})");
  EXPECT_TRUE(s["KeyRotationEnabled"].as_bool());
  EXPECT_EQ(s["RotationPeriodInDays"].as_int64(), 180);
  for (int i = 0; i < 4; ++i) createKey();
  std::set<std::string> seen;
  std::string marker;
  for (int page = 0; page < 10; ++page) {
    auto r = ok("ListKeys", marker.empty() ? R"({"Limit":2})" : R"({"Limit":2,"Marker":")" + marker + R"("})");
    for (const auto& k : r["Keys"].as_array()) seen.insert(std::string(k.at("KeyId").as_string()));
    if (!r["Truncated"].as_bool()) break;
    marker = std::string(r["NextMarker"].as_string());
  }
  EXPECT_EQ(seen.size(), 5u);
}

TEST(KmsCiphertextTest, BlobFormatAndBase64) {
  std::string key(32, 'k');
  auto blob = sealBlob(key, "11111111-2222-3333-4444-555555555555", "data", {{"a", "b"}});
  ASSERT_TRUE(blob);
  auto parsed = parseCiphertext(*blob);
  ASSERT_TRUE(parsed);
  EXPECT_EQ(parsed->key_id, "11111111-2222-3333-4444-555555555555");
  EXPECT_EQ(parsed->ciphertext.size(), 4u);
  EXPECT_EQ(openBlob(key, *parsed, {{"a", "b"}}).value(), "data");
  EXPECT_FALSE(openBlob(key, *parsed, {{"a", "c"}}));
  EXPECT_FALSE(openBlob(std::string(32, 'j'), *parsed, {{"a", "b"}}));
  // Pairs that concatenate alike still differ canonically.
  EXPECT_NE(canonicalContext({{"ab", "c"}}), canonicalContext({{"a", "bc"}}));
  EXPECT_FALSE(parseCiphertext(""));
  EXPECT_FALSE(parseCiphertext(std::string("\x02\x01x", 3)));
  EXPECT_EQ(base64Decode(base64Encode("hello!?")).value(), "hello!?");
  EXPECT_FALSE(base64Decode("ab=c"));
  EXPECT_FALSE(base64Decode("abc"));
  EXPECT_EQ(base64Decode("").value(), "");
}

// Found by kms_ciphertext_fuzz: base64 whose last character sets unused
// bits decodes (as most decoders allow) but encodes back differently.
TEST(KmsCiphertextTest, Base64WithUnusedTrailingBitsDecodesToTheCanonicalBytes) {
  auto decoded = base64Decode("pfffffffffffffffAff=");
  ASSERT_TRUE(decoded);
  std::string canonical = base64Encode(*decoded);
  EXPECT_NE(canonical, "pfffffffffffffffAff=");
  EXPECT_EQ(canonical.size(), 20u);
  EXPECT_EQ(base64Decode(canonical), decoded);
}

}  // namespace
}  // namespace berth::kms
