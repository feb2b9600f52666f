#include "daemon/task_iam.h"

#include <fmt/format.h>

#include "common/json.h"
#include "daemon/iam_authorizer.h"

namespace berth::daemon {

namespace bj = boost::json;

namespace {

// RunTask's override wins over the task definition.
std::string roleOf(const agent::TaskLaunch& launch, std::string_view member) {
  std::string role = json::stringOr(launch.overrides, member);
  return role.empty() ? json::stringOr(launch.task_definition, member) : role;
}

std::string nameOfRole(std::string_view role_arn) { return std::string(role_arn.substr(role_arn.rfind('/') + 1)); }

std::string accountOf(std::string_view arn) {
  // arn:aws:iam::<account>:role/...
  size_t start = 0;
  for (int i = 0; i < 4 && start != std::string_view::npos; ++i) start = arn.find(':', start + 1);
  if (start == std::string_view::npos) return {};
  size_t end = arn.find(':', start + 1);
  return std::string(arn.substr(start + 1, end == std::string_view::npos ? end : end - start - 1));
}

}  // namespace

TaskIamAgent::TaskIamAgent(agent::Agent& inner, iam::Iam& iam, ssm::Ssm& ssm,
                           agent::endpoints::CredentialsStore& credentials, std::string credentials_key,
                           const Clock& clock)
    : inner_(inner),
      iam_(iam),
      ssm_(ssm),
      credentials_(credentials),
      credentials_key_(std::move(credentials_key)),
      clock_(clock) {}

iam::Caller TaskIamAgent::roleCaller(const std::string& role_arn) const {
  iam::Caller caller;
  caller.account_id = accountOf(role_arn);
  caller.principal_arn =
      fmt::format("arn:aws:sts::{}:assumed-role/{}/berth-agent", caller.account_id, nameOfRole(role_arn));
  std::shared_ptr<const iam::PrincipalInfo> role = iam_.identityView().snapshot()->principal(role_arn);
  std::string principal = caller.principal_arn;
  caller.authorize_keyed = [role, role_arn, principal](std::string_view action, std::string_view resource,
                                                       const iam::ConditionKeys& keys) -> Status {
    iam::Decision d = iam::Decision::kImplicitDeny;
    if (role) {
      iam::RequestContext request;
      request.action = action;
      request.resource = resource;
      for (const auto& [k, v] : keys) request.setKey(k, {v});
      request.principal_arn = principal;
      request.principal_account = role->account_id;
      request.setKey("aws:PrincipalArn", {role_arn});
      request.setKey("aws:PrincipalAccount", {role->account_id});
      request.setKey("aws:PrincipalType", {"AssumedRole"});
      d = role->decide(request);
    }
    if (d == iam::Decision::kAllow) return {};
    return std::unexpected(accessDenied(principal, action, resource, d));
  };
  caller.authorize = [keyed = caller.authorize_keyed](std::string_view action, std::string_view resource) {
    return keyed(action, resource, {});
  };
  return caller;
}

void TaskIamAgent::checkExecutionRole(agent::TaskLaunch& launch) {
  std::string role = roleOf(launch, "executionRoleArn");
  const bj::array* defs = json::getArray(launch.task_definition, "containerDefinitions");
  if (role.empty() || !defs) return;
  if (!iam_.identityView().snapshot()->principal(role)) {
    launch.launch_error = fmt::format(
        "unable to pull secrets or registry auth: execution resource retrieval failed: the execution role '{}' does "
        "not exist",
        role);
    return;
  }
  iam::Caller caller = roleCaller(role);
  // arn:aws:ecs:<region>:<account>:task/...
  std::string region =
      launch.task_arn.size() > 12 ? launch.task_arn.substr(12, launch.task_arn.find(':', 12) - 12) : "";
  for (const bj::value& d : *defs) {
    if (!d.is_object()) continue;
    const bj::object& c = d.as_object();
    // berth's ECR: <account>.dkr.ecr.<region>.amazonaws.com/<repository>[:tag|@digest].
    std::string image = json::stringOr(c, "image");
    size_t slash = image.find('/');
    std::string host = slash == std::string::npos ? "" : image.substr(0, slash);
    if (host.find(".dkr.ecr.") != std::string::npos && host.ends_with(".amazonaws.com")) {
      std::string account = host.substr(0, host.find('.'));
      std::string ecr_region = host.substr(host.find(".dkr.ecr.") + 9);
      ecr_region.resize(ecr_region.size() - std::string_view(".amazonaws.com").size());
      std::string repo = image.substr(slash + 1);
      repo = repo.substr(0, std::min(repo.find('@'), repo.find(':')));
      std::string repo_arn = fmt::format("arn:aws:ecr:{}:{}:repository/{}", ecr_region, account, repo);
      for (auto [action, resource] : {std::pair<std::string_view, std::string_view>{"ecr:GetAuthorizationToken", "*"},
                                      {"ecr:BatchGetImage", repo_arn},
                                      {"ecr:GetDownloadUrlForLayer", repo_arn}}) {
        if (auto ok = caller.check(action, resource); !ok) {
          launch.launch_error = fmt::format(
              "unable to pull secrets or registry auth: execution resource retrieval failed: unable to retrieve "
              "ecr registry auth: service call has been retried 1 time(s): AccessDeniedException: {}",
              ok.error().message);
          return;
        }
      }
    }
    const bj::object* logging = json::getObject(c, "logConfiguration");
    if (!logging || json::stringOr(*logging, "logDriver") != "awslogs") continue;
    const bj::object* options = json::getObject(*logging, "options");
    if (!options) continue;
    std::string group = json::stringOr(*options, "awslogs-group");
    std::string prefix = json::stringOr(*options, "awslogs-stream-prefix");
    std::string group_arn = fmt::format("arn:aws:logs:{}:{}:log-group:{}", region, accountOf(role), group);
    std::string stream_arn = prefix.empty() ? group_arn + ":log-stream:*"
                                            : fmt::format("{}:log-stream:{}/{}/{}", group_arn, prefix,
                                                          json::stringOr(c, "name"), launch.task_id);
    std::vector<std::pair<std::string_view, std::string>> needs{{"logs:CreateLogStream", stream_arn},
                                                                {"logs:PutLogEvents", stream_arn}};
    if (json::stringOr(*options, "awslogs-create-group") == "true")
      needs.emplace_back("logs:CreateLogGroup", group_arn);
    for (const auto& [action, resource] : needs) {
      if (auto ok = caller.check(action, resource); !ok) {
        launch.launch_error = fmt::format(
            "failed to validate logger args: create stream has been retried 1 times: failed to create Cloudwatch log "
            "stream: AccessDeniedException: {} : exit status 1",
            ok.error().message);
        return;
      }
    }
  }
}

void TaskIamAgent::resolveSecrets(agent::TaskLaunch& launch) {
  const bj::array* defs = json::getArray(launch.task_definition, "containerDefinitions");
  if (!defs) return;
  constexpr std::string_view kPrefix = "unable to pull secrets or registry auth: execution resource retrieval failed: ";
  std::string execution_role = roleOf(launch, "executionRoleArn");
  std::optional<iam::Caller> caller;
  for (const bj::value& d : *defs) {
    if (!d.is_object()) continue;
    const bj::array* secrets = json::getArray(d.as_object(), "secrets");
    if (!secrets || secrets->empty()) continue;
    std::string container = json::stringOr(d.as_object(), "name");
    if (execution_role.empty()) {
      launch.launch_error = fmt::format("{}the task definition has secrets but no execution role", kPrefix);
      return;
    }
    if (!caller) caller = roleCaller(execution_role);
    for (const bj::value& s : *secrets) {
      if (!s.is_object()) continue;
      std::string name = json::stringOr(s.as_object(), "name");
      std::string from = json::stringOr(s.as_object(), "valueFrom");
      if (from.starts_with("arn:aws:secretsmanager:")) {
        launch.launch_error = fmt::format(
            "{}unable to retrieve secret from asm: berth does not serve Secrets Manager yet; use an SSM parameter "
            "for secret '{}'",
            kPrefix, name);
        return;
      }
      auto value = ssm_.resolveSecret(from, *caller);
      if (!value) {
        const Error& e = value.error();
        std::string type = e.aws_type.empty() ? (e.code == ErrorCode::kPermissionDenied ? "AccessDeniedException"
                                                                                        : "ValidationException")
                                              : e.aws_type;
        launch.launch_error =
            fmt::format("{}unable to retrieve secrets from ssm: service call has been retried 1 time(s): {}: {}",
                        kPrefix, type, e.message);
        return;
      }
      launch.secrets[container].emplace_back(std::move(name), std::move(*value));
    }
  }
}

Status TaskIamAgent::issue(const std::string& task_arn, Issued& entry) {
  auto session = iam_.assumeRoleForService(entry.role_arn, "ecs-tasks.amazonaws.com", entry.task_id,
                                           std::chrono::hours(6), task_arn);
  if (!session) return std::unexpected(session.error());
  entry.access_key_ids.push_back(session->access_key_id);
  entry.lifetime = std::chrono::duration_cast<std::chrono::seconds>(session->expiration - clock_.now());
  entry.expiration = session->expiration;
  credentials_.put(entry.credentials_id, agent::endpoints::RoleCredentials{
                                             task_arn, entry.role_arn, session->access_key_id,
                                             session->secret_access_key, session->session_token, session->expiration});
  return {};
}

void TaskIamAgent::launch(agent::TaskLaunch launch) {
  checkExecutionRole(launch);
  if (launch.launch_error.empty()) resolveSecrets(launch);
  std::string task_role = roleOf(launch, "taskRoleArn");
  if (launch.launch_error.empty() && !task_role.empty()) {
    Issued entry;
    entry.credentials_id = agent::endpoints::credentialsIdFor(credentials_key_, launch.task_arn);
    entry.role_arn = task_role;
    entry.task_id = launch.task_id;
    if (auto ok = issue(launch.task_arn, entry); !ok) {
      launch.launch_error = fmt::format(
          "ECS was unable to assume the role '{}' that was provided for this task. Please verify that the role "
          "being passed has the proper trust relationship and permissions and that your IAM user has permissions "
          "to pass this role.",
          task_role);
    } else {
      issued_[launch.task_arn] = std::move(entry);
    }
  }
  inner_.launch(std::move(launch));
}

void TaskIamAgent::recover(ecs::Ecs& ecs) {
  ecs::CallContext ctx{"", "berth-recover"};
  for (const std::string& task_arn : inner_.knownTasks()) {
    std::string cluster = task_arn.substr(0, task_arn.rfind('/'));
    cluster = cluster.substr(cluster.rfind('/') + 1);
    auto described =
        ecs.invoke("DescribeTasks", bj::object{{"cluster", cluster}, {"tasks", bj::array{task_arn.c_str()}}}, ctx);
    if (!described) continue;
    const bj::array* tasks = json::getArray(described->as_object(), "tasks");
    if (!tasks || tasks->empty() || !tasks->front().is_object()) continue;
    const bj::object& task = tasks->front().as_object();
    if (json::stringOr(task, "lastStatus") == "STOPPED") continue;
    agent::TaskLaunch launch;
    launch.task_arn = task_arn;
    launch.task_id = task_arn.substr(task_arn.rfind('/') + 1);
    if (const bj::object* overrides = json::getObject(task, "overrides")) launch.overrides = *overrides;
    auto td = ecs.invoke("DescribeTaskDefinition",
                         bj::object{{"taskDefinition", json::stringOr(task, "taskDefinitionArn")}}, ctx);
    if (td)
      if (const bj::object* doc = json::getObject(td->as_object(), "taskDefinition")) launch.task_definition = *doc;
    std::string task_role = roleOf(launch, "taskRoleArn");
    if (task_role.empty()) continue;
    Issued entry;
    entry.credentials_id = agent::endpoints::credentialsIdFor(credentials_key_, task_arn);
    entry.role_arn = task_role;
    entry.task_id = launch.task_id;
    if (issue(task_arn, entry)) issued_[task_arn] = std::move(entry);
  }
}

void TaskIamAgent::onTaskEvent(const agent::TaskEvent& event) {
  if (event.phase != agent::TaskPhase::kStopped) return;
  auto it = issued_.find(event.task_arn);
  if (it == issued_.end()) return;
  credentials_.remove(it->second.credentials_id);
  for (const std::string& key : it->second.access_key_ids) iam_.revokeSession(key);
  issued_.erase(it);
}

void TaskIamAgent::refresh() {
  WallTime now = clock_.now();
  for (auto& [task_arn, entry] : issued_) {
    if (entry.expiration - now > entry.lifetime / 4) continue;
    // A failure (the role was deleted or its trust changed) leaves the
    // current credentials to run out.
    (void)issue(task_arn, entry);
  }
}

}  // namespace berth::daemon
