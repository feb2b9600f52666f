// KMS (TrentService): symmetric customer and AWS managed keys, aliases, key
// policies, tags, rotation settings, scheduled deletion, and the
// cryptographic operations (Encrypt, Decrypt, ReEncrypt, GenerateDataKey*)
// with real AES-256-GCM (kms/ciphertext.h), as botocore's kms model defines
// them.
//
// The model is kept in memory as AWS-shaped JSON (KeyMetadata, AliasListEntry)
// and written through to the Store (kinds "kms.key", "kms.alias"): a
// mutating call commits before it returns, and nothing changes in memory
// when the commit fails.
//
// Key material: 32 random bytes per key. The store holds it only sealed
// (AES-256-GCM, the key id as AAD) under berthd's master key, which the
// constructor takes (daemon/kms_master_key.h reads or creates it); memory
// holds it in the clear.
//
// Permissions: the front door authorizes each call's own action; beyond
// that, every operation on a key asks caller.check("kms:<Operation>",
// <key ARN>) once the key is resolved, because only here is an alias turned
// into the key it names. Key policies are validated and stored (absent: the
// default policy, which delegates to IAM); of their evaluation only an
// explicit Deny is applied (an Allow naming a principal directly does not
// stand in for IAM's).
//
// Other components encrypt and decrypt through encrypt()/decrypt(), which
// check kms:Encrypt / kms:Decrypt for their caller and the key's state as the
// API does.
//
// Threads: single writer. Every method must be called on the control
// executor.
#pragma once

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "iam/caller.h"
#include "iam/policy.h"
#include "kms/ciphertext.h"
#include "store/store.h"

namespace berth::kms {

namespace bj = boost::json;

struct KmsConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

class Kms {
 public:
  // `master_key` must be kKeySize bytes.
  Kms(KmsConfig config, std::string master_key, store::Store& store, const Clock& clock);

  // Loads keys (unsealing their material) and aliases. Call once, first.
  // Fails if a key's material does not unseal: the wrong master key.
  Status load();

  // Runs one KMS operation; `input` is type-checked against the model by the
  // protocol layer. Unknown operations: kUnimplemented.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input, const iam::Caller& caller);
  bool supports(std::string_view operation) const;

  // Periodic work: deletes keys whose deletion window has passed (and the
  // aliases that name them).
  void tick();

  // In-process use by other services. `key_id` is anything KeyId accepts
  // (id, key ARN, alias name, alias ARN); "alias/aws/<service>" creates that
  // AWS managed key on first use. `via_service` names the service asking on
  // the caller's behalf ("ssm"): its own AWS managed key needs no kms:
  // permission, because that key's policy lets every principal of the
  // account use it through the service (as on AWS, where a task reading an
  // alias/aws/ssm SecureString needs no kms:Decrypt). Any other key needs
  // kms:Encrypt / kms:Decrypt on its ARN.
  struct Encrypted {
    std::string blob;     // raw bytes
    std::string key_arn;  // the key that encrypted
  };
  Result<Encrypted> encrypt(std::string_view key_id, std::string_view plaintext, const EncryptionContext& context,
                            const iam::Caller& caller, std::string_view via_service = {});
  struct Decrypted {
    std::string plaintext;
    std::string key_arn;
  };
  Result<Decrypted> decrypt(std::string_view blob, const EncryptionContext& context, const iam::Caller& caller,
                            std::string_view via_service = {});

  size_t keyCount() const { return keys_.size(); }

 private:
  struct Key {
    bj::object meta;        // KeyMetadata
    std::string material;   // kKeySize bytes, in memory only
    std::string sealed;     // material sealed under the master key (stored)
    std::string policy;     // the "default" key policy document
    std::shared_ptr<const iam::Policy> compiled;  // `policy`, parsed (null if it no longer parses)
    bj::array tags;         // [{TagKey, TagValue}]
    bool rotation = false;  // automatic rotation enabled
    int64_t rotation_days = 365;
    double rotation_since = 0;  // when rotation was last enabled
  };

  using Handler = Result<bj::value> (Kms::*)(const bj::object&, const iam::Caller&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  // Keys (kms.cc).
  Result<bj::value> createKey(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> describeKey(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> listKeys(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> enableKey(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> disableKey(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> scheduleKeyDeletion(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> cancelKeyDeletion(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> updateKeyDescription(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> getKeyPolicy(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> putKeyPolicy(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> listKeyPolicies(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> tagResource(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> untagResource(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> listResourceTags(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> enableKeyRotation(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> disableKeyRotation(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> getKeyRotationStatus(const bj::object& in, const iam::Caller& caller);
  // Aliases (aliases.cc).
  Result<bj::value> createAlias(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> updateAlias(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> deleteAlias(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> listAliases(const bj::object& in, const iam::Caller& caller);
  // Cryptography (crypto_ops.cc).
  Result<bj::value> encryptOp(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> decryptOp(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> reEncrypt(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> generateDataKey(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> generateDataKeyWithoutPlaintext(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> generateRandom(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> dataKey(const bj::object& in, const iam::Caller& caller, bool with_plaintext);

  // Shared helpers (kms.cc).
  std::string keyArn(std::string_view key_id) const;
  std::string aliasArn(std::string_view alias_name) const;
  // The key `key_id` names (id, key ARN, alias name or alias ARN). The AWS
  // managed alias of a service berth has (alias/aws/ssm) creates its key the
  // first time it is named, as DescribeKey and Encrypt do on AWS.
  Result<Key*> resolve(std::string_view key_id);
  // resolve(), then caller.check(action, key ARN) and the key policy's
  // explicit denies.
  Result<Key*> authorized(std::string_view key_id, std::string_view action, const iam::Caller& caller);
  // authorized() (unless the key is `via_service`'s own AWS managed key),
  // then the key must be Enabled (DisabledException, KMSInvalidStateException
  // otherwise): for cryptographic operations. IAM sees the condition keys
  // kms:CallerAccount, kms:ViaService ("<service>.<region>.amazonaws.com")
  // and kms:EncryptionContext:<key> for each pair of `context`.
  Result<Key*> usable(std::string_view key_id, std::string_view action, const iam::Caller& caller,
                      std::string_view via_service = {}, const EncryptionContext* context = nullptr);
  // Whether `k` is the AWS managed key alias/aws/<service>.
  bool isAwsManagedKeyOf(const Key& k, std::string_view service) const;
  // Fails when the key policy explicitly denies `action` to the caller.
  Status keyPolicyAllows(const Key& k, std::string_view action, const iam::Caller& caller) const;
  // Fails when the key is pending deletion (KMSInvalidStateException).
  Status notPendingDeletion(const Key& k) const;
  Result<Key*> createAwsManagedKey(std::string_view alias_name);
  // A new key with fresh material; not yet stored.
  Result<Key> newKey(std::string description, std::string key_manager, std::string policy);
  std::string defaultPolicy() const;
  static std::string stateOf(const Key& k);
  static std::string idOf(const Key& k);
  void persist(store::Batch& batch, const Key& k) const;
  void persistAlias(store::Batch& batch, const bj::object& alias) const;
  // Changes one key: `edit` a copy, commit it, then swap it in.
  Result<bj::value> editKey(Key& k, const std::function<Status(Key&)>& edit, bj::value reply = bj::object{});
  // Decrypts a blob after checking kms:<action> and the key's state;
  // `expected_key` (may be empty) must name the blob's key.
  Result<Decrypted> decryptBlob(std::string_view blob, const EncryptionContext& context,
                                std::string_view expected_key, std::string_view action, const iam::Caller& caller,
                                std::string_view via_service = {});
  Result<Encrypted> encryptWith(std::string_view key_id, std::string_view plaintext, const EncryptionContext& context,
                                std::string_view action, const iam::Caller& caller,
                                std::string_view via_service = {});

  KmsConfig config_;
  std::string master_key_;
  store::Store& store_;
  const Clock& clock_;
  std::map<std::string, Key, std::less<>> keys_;            // by key id
  std::map<std::string, bj::object, std::less<>> aliases_;  // by alias name: AliasListEntry
};

}  // namespace berth::kms
