// STS: who is calling, and temporary credentials (AssumeRole,
// GetSessionToken, and berthd's own task-role sessions).
#include <cctype>

#include <fmt/format.h>

#include "common/json.h"
#include "control/iam/errors.h"
#include "control/iam/iam.h"
#include "control/iam/util.h"

namespace berth::iam {
namespace {

constexpr int64_t kMinDuration = 900;
constexpr int64_t kChainedMaxDuration = 3600;
constexpr int64_t kSessionTokenDefault = 43200;
constexpr int64_t kRootSessionTokenMax = 3600;
constexpr size_t kSessionTokenChars = 356;

std::unexpected<Error> notAuthorized(std::string_view who, std::string_view role_arn) {
  return accessDenied(
      fmt::format("User: {} is not authorized to perform: sts:AssumeRole on resource: {}", who, role_arn));
}

std::unexpected<Error> durationTooShort(int64_t seconds) {
  return validationError(fmt::format(
      "1 validation error detected: Value '{}' at 'durationSeconds' failed to satisfy constraint: Member must have "
      "value greater than or equal to {}",
      seconds, kMinDuration));
}

bool validSessionName(std::string_view name) {
  if (name.size() < 2 || name.size() > 64) return false;
  return std::all_of(name.begin(), name.end(), [](unsigned char c) {
    return std::isalnum(c) || c == '_' || c == '+' || c == '=' || c == ',' || c == '.' || c == '@' || c == '-';
  });
}

WallTime toWallTime(double epoch_seconds) {
  return WallTime(std::chrono::microseconds(static_cast<int64_t>(epoch_seconds * 1e6)));
}

// The request an AssumeRole makes of policies, with the keys berth knows.
RequestContext assumeRequest(std::string_view role_arn, std::string_view principal_arn, std::string_view account,
                             std::string_view session_name, const PrincipalInfo* who) {
  RequestContext ctx;
  ctx.action = "sts:AssumeRole";
  ctx.resource = std::string(role_arn);
  ctx.principal_arn = std::string(principal_arn);
  ctx.principal_account = std::string(account);
  ctx.setKey("aws:PrincipalAccount", {std::string(account)});
  ctx.setKey("aws:PrincipalArn", {who && !who->role_arn.empty() ? who->role_arn : std::string(principal_arn)});
  if (!session_name.empty()) ctx.setKey("sts:RoleSessionName", {std::string(session_name)});
  if (who)
    for (const auto& [k, v] : who->tags) ctx.setKey("aws:PrincipalTag/" + k, {v});
  return ctx;
}

}  // namespace

Iam::Session Iam::newSession(std::string kind, double duration_seconds) const {
  Session s;
  s.access_key_id = "ASIA" + util::randomIdChars(16);
  s.secret = util::randomSecret(40);
  s.token = util::randomSecret(kSessionTokenChars);
  s.created = static_cast<double>(static_cast<int64_t>(clock_.epochSeconds()));
  s.expiration = s.created + duration_seconds;
  s.kind = std::move(kind);
  return s;
}

bj::object Iam::credentialsView(const Session& s) const {
  return bj::object{{"AccessKeyId", s.access_key_id},
                    {"SecretAccessKey", s.secret},
                    {"SessionToken", s.token},
                    {"Expiration", s.expiration}};
}

Result<bj::value> Iam::getCallerIdentity(const bj::object&) {
  auto info = identity_view_.snapshot()->principalForKey(caller().access_key_id);
  if (info) return bj::object{{"UserId", info->user_id}, {"Account", info->account_id}, {"Arn", info->arn}};
  std::string account = caller().account_id.empty() ? config_.account_id : caller().account_id;
  std::string arn =
      caller().principal_arn.empty() ? fmt::format("arn:aws:iam::{}:root", account) : caller().principal_arn;
  return bj::object{{"UserId", account}, {"Account", account}, {"Arn", arn}};
}

Result<bj::value> Iam::assumeRole(const bj::object& in) {
  std::string role_arn = json::stringOr(in, "RoleArn");
  std::string session_name = json::stringOr(in, "RoleSessionName");
  std::string who = caller().principal_arn;
  std::string account = caller().account_id.empty() ? config_.account_id : caller().account_id;
  if (session_name.size() < 2 || session_name.size() > 64)
    return validationError(fmt::format(
        "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy constraint: Member must "
        "have length {} than or equal to {}",
        session_name, session_name.size() < 2 ? "greater" : "less", session_name.size() < 2 ? 2 : 64));
  if (!validSessionName(session_name))
    return validationError(fmt::format(
        "1 validation error detected: Value '{}' at 'roleSessionName' failed to satisfy constraint: Member must "
        "satisfy regular expression pattern: [\\w+=,.@-]*",
        session_name));
  auto snap = identity_view_.snapshot();
  std::shared_ptr<const PrincipalInfo> info = snap->principalForKey(caller().access_key_id);
  RequestContext ctx = assumeRequest(role_arn, who, account, session_name, info.get());
  if (const auto* tags = json::getArray(in, "Tags"))
    for (const auto& t : *tags)
      if (t.is_object())
        ctx.setKey("aws:RequestTag/" + json::stringOr(t.as_object(), "Key"), {json::stringOr(t.as_object(), "Value")});

  // The caller's own policies must allow it (root needs none)...
  if (!callerIsRoot() && (!info || info->decide(ctx) != Decision::kAllow)) return notAuthorized(who, role_arn);
  // ... and the role's trust policy must trust the caller.
  Role* role = roleByArn(role_arn);
  if (!role || !role->trust.policy || role->trust.policy->evaluate(ctx) != Effect::kAllow)
    return notAuthorized(who, role_arn);

  int64_t duration = json::getInt(in, "DurationSeconds").value_or(3600);
  if (duration < kMinDuration) return durationTooShort(duration);
  int64_t max = json::getInt(role->doc, "MaxSessionDuration").value_or(3600);
  bool chained = info && info->kind == PrincipalInfo::Kind::kAssumedRole;
  if (chained && duration > kChainedMaxDuration)
    return validationError(
        "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.");
  if (duration > max)
    return validationError("The requested DurationSeconds exceeds the MaxSessionDuration set for this role.");

  Session s = newSession("role", static_cast<double>(duration));
  s.role_arn = role_arn;
  s.role_id = json::stringOr(role->doc, "RoleId");
  s.session_name = session_name;
  size_t packed = 0;
  if (auto text = json::getString(in, "Policy")) {
    s.session_policies.push_back(BERTH_TRY(parseDocument(*text, PolicyKind::kIdentity)));
    packed += util::policySize(*text);
  }
  if (const auto* arns = json::getArray(in, "PolicyArns"))
    for (const auto& a : *arns) {
      if (!a.is_object()) continue;
      std::string arn = json::stringOr(a.as_object(), "arn");
      if (!policyByArn(arn)) return invalidInput(fmt::format("Policy {} does not exist or is not attachable.", arn));
      s.session_policy_arns.push_back(arn);
      packed += arn.size();
    }
  if (const auto* tags = json::getArray(in, "Tags")) {
    s.tags = *tags;
    for (const auto& t : *tags)
      if (t.is_object())
        packed += json::stringOr(t.as_object(), "Key").size() + json::stringOr(t.as_object(), "Value").size();
  }
  store::Batch batch;
  persist(batch, s);
  BERTH_TRY(commit(batch));
  std::string role_name = role_arn.substr(role_arn.rfind('/') + 1);
  bj::object out{{"Credentials", credentialsView(s)},
                 {"AssumedRoleUser", bj::object{{"AssumedRoleId", s.role_id + ":" + session_name},
                                                {"Arn", fmt::format("arn:aws:sts::{}:assumed-role/{}/{}",
                                                                    config_.account_id, role_name, session_name)}}}};
  // The share of the packed-policy budget the session policies and tags use,
  // in percent (berth's own measure: plain size against 2048).
  if (!s.session_policies.empty() || !s.session_policy_arns.empty() || !s.tags.empty())
    out["PackedPolicySize"] = static_cast<int64_t>((packed * 100 + 2047) / 2048);
  if (auto source = json::getString(in, "SourceIdentity")) out["SourceIdentity"] = *source;
  role_last_used_[s.role_id] = s.created;
  sessions_[s.access_key_id] = std::move(s);
  publish();
  return out;
}

Result<bj::value> Iam::getSessionToken(const bj::object& in) {
  auto info = identity_view_.snapshot()->principalForKey(caller().access_key_id);
  bool root = callerIsRoot() && (!info || info->kind == PrincipalInfo::Kind::kRoot);
  if (info && info->kind != PrincipalInfo::Kind::kUser)
    return accessDenied("Cannot call GetSessionToken with session credentials");
  if (!root && !info) return accessDenied("Cannot call GetSessionToken with session credentials");
  int64_t duration = json::getInt(in, "DurationSeconds").value_or(root ? kRootSessionTokenMax : kSessionTokenDefault);
  if (duration < kMinDuration) return durationTooShort(duration);
  if (root) duration = std::min(duration, kRootSessionTokenMax);
  Session s = newSession(root ? "root" : "user", static_cast<double>(duration));
  if (!root) s.user_name = info->name;
  store::Batch batch;
  persist(batch, s);
  BERTH_TRY(commit(batch));
  bj::object out{{"Credentials", credentialsView(s)}};
  sessions_[s.access_key_id] = std::move(s);
  publish();
  return out;
}

Result<SessionCredentials> Iam::assumeRoleForService(std::string_view role_arn, std::string_view service,
                                                     std::string_view session_name, std::chrono::seconds duration,
                                                     std::string_view source_arn) {
  std::string who = std::string(service);
  Role* role = roleByArn(role_arn);
  if (!validSessionName(session_name))
    return validationError(fmt::format("Invalid role session name {}.", session_name));
  RequestContext ctx = assumeRequest(role_arn, "", "", session_name, nullptr);
  ctx.principal_service = std::string(service);
  if (!source_arn.empty()) {
    ctx.setKey("aws:SourceArn", {std::string(source_arn)});
    // arn:aws:<service>:<region>:<account>:...
    std::string_view rest = source_arn;
    for (int i = 0; i < 4 && rest.find(':') != std::string_view::npos; ++i) rest.remove_prefix(rest.find(':') + 1);
    if (size_t end = rest.find(':'); end != std::string_view::npos)
      ctx.setKey("aws:SourceAccount", {std::string(rest.substr(0, end))});
  }
  if (!role || !role->trust.policy || role->trust.policy->evaluate(ctx) != Effect::kAllow)
    return notAuthorized(who, role_arn);
  int64_t max = json::getInt(role->doc, "MaxSessionDuration").value_or(3600);
  int64_t seconds = std::clamp<int64_t>(duration.count(), kMinDuration, max);
  Session s = newSession("role", static_cast<double>(seconds));
  s.role_arn = std::string(role_arn);
  s.role_id = json::stringOr(role->doc, "RoleId");
  s.session_name = std::string(session_name);
  store::Batch batch;
  persist(batch, s);
  BERTH_TRY(commit(batch));
  std::string role_name(role_arn.substr(role_arn.rfind('/') + 1));
  SessionCredentials out{
      s.access_key_id,
      s.secret,
      s.token,
      toWallTime(s.expiration),
      std::string(role_arn),
      fmt::format("arn:aws:sts::{}:assumed-role/{}/{}", config_.account_id, role_name, session_name)};
  role_last_used_[s.role_id] = s.created;
  sessions_[s.access_key_id] = std::move(s);
  publish();
  return out;
}

}  // namespace berth::iam
