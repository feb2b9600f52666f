// Answers about what berth's IAM does not have: no instance profiles,
// groups, MFA devices, login profiles, SSH keys, signing certificates or
// service-specific credentials. The entity asked about must exist.
#include <fmt/format.h>

#include "common/json.h"
#include "control/iam/errors.h"
#include "control/iam/iam.h"

namespace berth::iam {
namespace {

bj::object emptyList(std::string_view member) { return bj::object{{member, bj::array{}}, {"IsTruncated", false}}; }

}  // namespace

Result<bj::value> Iam::listInstanceProfilesForRole(const bj::object& in) {
  BERTH_TRY(findRole(json::stringOr(in, "RoleName")));
  return emptyList("InstanceProfiles");
}

Result<bj::value> Iam::listGroupsForUser(const bj::object& in) {
  BERTH_TRY(findUser(json::stringOr(in, "UserName")));
  return emptyList("Groups");
}

Result<bj::value> Iam::listMfaDevices(const bj::object& in) {
  if (auto name = json::getString(in, "UserName")) BERTH_TRY(findUser(*name));
  return emptyList("MFADevices");
}

Result<bj::value> Iam::getLoginProfile(const bj::object& in) {
  std::string name = json::stringOr(in, "UserName");
  BERTH_TRY(findUser(name));
  return noSuchEntity(fmt::format("Login Profile for User {} cannot be found.", name));
}

Result<bj::value> Iam::listSshPublicKeys(const bj::object& in) {
  if (auto name = json::getString(in, "UserName")) BERTH_TRY(findUser(*name));
  return emptyList("SSHPublicKeys");
}

Result<bj::value> Iam::listSigningCertificates(const bj::object& in) {
  if (auto name = json::getString(in, "UserName")) BERTH_TRY(findUser(*name));
  return emptyList("Certificates");
}

Result<bj::value> Iam::listServiceSpecificCredentials(const bj::object& in) {
  if (auto name = json::getString(in, "UserName")) BERTH_TRY(findUser(*name));
  return emptyList("ServiceSpecificCredentials");
}

}  // namespace berth::iam
