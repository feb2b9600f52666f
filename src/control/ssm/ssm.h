// SSM Parameter Store (AmazonSSM): parameters with versions, labels, tiers,
// policies and tags, as botocore's ssm model defines them.
//
// The model is kept in memory as AWS-shaped JSON (one ParameterHistory
// entry per version) and written through to the Store (kind
// "ssm.parameter", one record per parameter holding its kept versions and
// tags): a mutating call commits before it returns, and nothing changes in
// memory when the commit fails.
//
// SecureString values exist only as KMS ciphertext (base64, as
// GetParameter returns them without WithDecryption), encrypted through
// kms::Kms with the encryption context {"PARAMETER_ARN": <parameter ARN>};
// the caller's kms:Encrypt / kms:Decrypt permission on the key is checked
// there for customer managed keys. The default key is the AWS managed
// alias/aws/ssm, created on first use, whose policy lets every principal of
// the account use it through SSM: no kms: permission is needed for it (as on
// AWS, where ECS secrets need kms:Decrypt only for a customer managed key).
//
// Threads: single writer. Every method must be called on the control
// executor (the same one as kms::Kms).
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "control/kms/kms.h"
#include "iam/caller.h"
#include "store/store.h"

namespace berth::ssm {

namespace bj = boost::json;

struct SsmConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
};

inline constexpr size_t kMaxVersions = 100;
inline constexpr size_t kMaxHierarchyLevels = 15;
inline constexpr size_t kStandardValueLimit = 4096;
inline constexpr size_t kAdvancedValueLimit = 8192;
inline constexpr size_t kMaxLabelsPerVersion = 10;

class Ssm {
 public:
  // `kms` must outlive this object.
  Ssm(SsmConfig config, kms::Kms& kms, store::Store& store, const Clock& clock);

  // Loads the parameters from the store. Call once, before anything else.
  Status load();

  // Runs one Parameter Store operation; `input` is type-checked against the
  // model by the protocol layer. Unknown operations: kUnimplemented.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input, const iam::Caller& caller);
  bool supports(std::string_view operation) const;

  // The plaintext value of a parameter for a task's `secrets`: `name_or_arn`
  // is a name, "arn:aws:ssm:<region>:<account>:parameter/<name>", either
  // with ":<version>" or ":<label>". Checks ssm:GetParameters on the
  // parameter's ARN for `caller`, and kms:Decrypt for a SecureString under
  // a customer managed key.
  Result<std::string> resolveSecret(std::string_view name_or_arn, const iam::Caller& caller);

  size_t parameterCount() const { return params_.size(); }

 private:
  struct Parameter {
    std::vector<bj::object> versions;  // ParameterHistory entries, oldest first
    bj::array tags;                    // [{Key, Value}]
  };
  // A name with its optional ":version" / ":label" selector.
  struct Selected {
    std::string name;
    std::string selector;  // "" or ":3" or ":label"
  };

  using Handler = Result<bj::value> (Ssm::*)(const bj::object&, const iam::Caller&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  // Writing (ssm.cc).
  Result<bj::value> putParameter(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> deleteParameter(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> deleteParameters(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> labelParameterVersion(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> unlabelParameterVersion(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> addTagsToResource(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> removeTagsFromResource(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> listTagsForResource(const bj::object& in, const iam::Caller& caller);
  // Reading (queries.cc).
  Result<bj::value> getParameter(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> getParameters(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> getParametersByPath(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> describeParameters(const bj::object& in, const iam::Caller& caller);
  Result<bj::value> getParameterHistory(const bj::object& in, const iam::Caller& caller);

  std::string arn(std::string_view name) const;
  // Splits a requested name (maybe an ARN, maybe with a selector).
  Result<Selected> select(std::string_view requested) const;
  // The version a selector picks (the latest when empty).
  Result<const bj::object*> pick(const Parameter& p, const Selected& s) const;
  // The Parameter shape of version `v`, decrypted when asked.
  Result<bj::object> parameterView(const bj::object& v, std::string_view selector, bool decrypt,
                                   const iam::Caller& caller);
  Result<std::string> decryptValue(const bj::object& v, const iam::Caller& caller);
  Result<Parameter*> findTagged(const bj::object& in);
  Status commit(const std::string& name, const Parameter& p);
  Status commitErase(const std::string& name);

  SsmConfig config_;
  kms::Kms& kms_;
  store::Store& store_;
  const Clock& clock_;
  std::map<std::string, Parameter, std::less<>> params_;  // by name
};

}  // namespace berth::ssm
