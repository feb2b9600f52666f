#include "api/authorization.h"

#include <fmt/format.h>

namespace berth::api {

namespace bj = boost::json;

namespace {

std::string_view str(const bj::object& input, std::string_view member) {
  const bj::value* v = input.if_contains(member);
  return v && v->is_string() ? std::string_view(v->get_string()) : std::string_view();
}

std::vector<std::string_view> strs(const bj::object& input, std::string_view member) {
  std::vector<std::string_view> out;
  const bj::value* v = input.if_contains(member);
  if (v && v->is_array())
    for (const bj::value& e : v->get_array())
      if (e.is_string()) out.emplace_back(e.get_string());
  return out;
}

bool isArn(std::string_view s) { return s.starts_with("arn:"); }

// ECS names things by short name or ARN; ARNs pass through.
struct EcsArns {
  std::string_view region, account;
  std::string cluster(std::string_view c) const {
    if (isArn(c)) return std::string(c);
    return fmt::format("arn:aws:ecs:{}:{}:cluster/{}", region, account, c.empty() ? "default" : c);
  }
  std::string clusterName(std::string_view c) const {
    if (!isArn(c)) return std::string(c.empty() ? "default" : c);
    return std::string(c.substr(c.rfind('/') + 1));
  }
  std::string service(std::string_view c, std::string_view s) const {
    if (isArn(s)) return std::string(s);
    return fmt::format("arn:aws:ecs:{}:{}:service/{}/{}", region, account, clusterName(c), s);
  }
  std::string task(std::string_view c, std::string_view t) const {
    if (isArn(t)) return std::string(t);
    return fmt::format("arn:aws:ecs:{}:{}:task/{}/{}", region, account, clusterName(c), t);
  }
  // "family" alone means its latest revision, which only ECS knows: every
  // revision's ARN pattern is what a policy for the family names.
  std::string taskDefinition(std::string_view td) const {
    if (isArn(td)) return std::string(td);
    if (td.find(':') == std::string_view::npos)
      return fmt::format("arn:aws:ecs:{}:{}:task-definition/{}:*", region, account, td);
    return fmt::format("arn:aws:ecs:{}:{}:task-definition/{}", region, account, td);
  }
};

void describeEcs(std::string_view op, const bj::object& input, const EcsArns& arns, IamRequest& out) {
  std::string_view cluster = str(input, "cluster");
  if (!str(input, "resourceArn").empty()) {
    out.resources.emplace_back(str(input, "resourceArn"));
    return;
  }
  if (op == "RunTask" || op == "StartTask") {
    out.resources.push_back(arns.taskDefinition(str(input, "taskDefinition")));
    out.keys.emplace_back("ecs:cluster", arns.cluster(cluster));
    return;
  }
  if (op == "CreateService") {
    out.resources.push_back(arns.service(cluster, str(input, "serviceName")));
    out.keys.emplace_back("ecs:cluster", arns.cluster(cluster));
    return;
  }
  if (!str(input, "service").empty()) {
    out.resources.push_back(arns.service(cluster, str(input, "service")));
    out.keys.emplace_back("ecs:cluster", arns.cluster(cluster));
    return;
  }
  if (auto services = strs(input, "services"); !services.empty()) {
    for (std::string_view s : services) out.resources.push_back(arns.service(cluster, s));
    out.keys.emplace_back("ecs:cluster", arns.cluster(cluster));
    return;
  }
  if (!str(input, "task").empty()) {
    out.resources.push_back(arns.task(cluster, str(input, "task")));
    out.keys.emplace_back("ecs:cluster", arns.cluster(cluster));
    return;
  }
  if (auto tasks = strs(input, "tasks"); !tasks.empty()) {
    for (std::string_view t : tasks) out.resources.push_back(arns.task(cluster, t));
    out.keys.emplace_back("ecs:cluster", arns.cluster(cluster));
    return;
  }
  if (auto clusters = strs(input, "clusters"); !clusters.empty()) {
    for (std::string_view c : clusters) out.resources.push_back(arns.cluster(c));
    return;
  }
  if (op == "CreateCluster") {
    out.resources.push_back(arns.cluster(str(input, "clusterName")));
    return;
  }
  // Operations on a cluster, and listings within one.
  if (input.contains("cluster") || op == "ListTasks" || op == "ListServices" || op == "DeleteCluster" ||
      op == "UpdateCluster" || op == "UpdateClusterSettings" || op == "PutClusterCapacityProviders") {
    out.resources.push_back(arns.cluster(cluster));
    return;
  }
  out.resources.emplace_back("*");
}

void describeLogs(const bj::object& input, std::string_view region, std::string_view account, IamRequest& out) {
  if (!str(input, "resourceArn").empty()) {
    out.resources.emplace_back(str(input, "resourceArn"));
    return;
  }
  std::string_view group = str(input, "logGroupName");
  if (group.empty()) group = str(input, "logGroupIdentifier");
  if (group.empty()) {
    out.resources.emplace_back("*");
    return;
  }
  std::string group_arn =
      isArn(group) ? std::string(group) : fmt::format("arn:aws:logs:{}:{}:log-group:{}", region, account, group);
  if (group_arn.ends_with(":*")) group_arn.resize(group_arn.size() - 2);
  std::string_view stream = str(input, "logStreamName");
  out.resources.push_back(stream.empty() ? group_arn : fmt::format("{}:log-stream:{}", group_arn, stream));
}

void describeEcr(const bj::object& input, std::string_view region, std::string_view account, IamRequest& out) {
  if (!str(input, "resourceArn").empty()) {
    out.resources.emplace_back(str(input, "resourceArn"));
    return;
  }
  std::string_view repo = str(input, "repositoryName");
  if (repo.empty()) {
    out.resources.emplace_back("*");
    return;
  }
  std::string_view registry = str(input, "registryId");
  out.resources.push_back(
      fmt::format("arn:aws:ecr:{}:{}:repository/{}", region, registry.empty() ? account : registry, repo));
}

std::string ssmParameterArn(std::string_view name, std::string_view region, std::string_view account) {
  // GetParameter's selectors "name:3" and "name:label" (also on an ARN)
  // name the parameter's ARN.
  if (isArn(name)) {
    size_t at = name.find(":parameter/");
    if (at == std::string_view::npos) return std::string(name);
    size_t colon = name.find(':', at + 1);
    return std::string(colon == std::string_view::npos ? name : name.substr(0, colon));
  }
  if (auto colon = name.find(':'); colon != std::string_view::npos) name = name.substr(0, colon);
  if (name.starts_with('/')) name.remove_prefix(1);
  return fmt::format("arn:aws:ssm:{}:{}:parameter/{}", region, account, name);
}

void describeSsm(const bj::object& input, std::string_view region, std::string_view account, IamRequest& out) {
  if (std::string_view name = str(input, "Name"); !name.empty()) {
    out.resources.push_back(ssmParameterArn(name, region, account));
  } else if (auto names = strs(input, "Names"); !names.empty()) {
    for (std::string_view n : names) out.resources.push_back(ssmParameterArn(n, region, account));
  } else if (std::string_view path = str(input, "Path"); !path.empty()) {
    std::string p(path);
    while (p.size() > 1 && p.ends_with('/')) p.pop_back();
    out.resources.push_back(ssmParameterArn(p, region, account));
  } else if (str(input, "ResourceType") == "Parameter" && !str(input, "ResourceId").empty()) {
    out.resources.push_back(ssmParameterArn(str(input, "ResourceId"), region, account));
  } else {
    out.resources.emplace_back("*");
  }
}

void describeIam(const bj::object& input, std::string_view account, IamRequest& out) {
  if (std::string_view policy = str(input, "PolicyArn"); !policy.empty()) out.resources.emplace_back(policy);
  if (std::string_view role = str(input, "RoleName"); !role.empty())
    out.resources.push_back(fmt::format("arn:aws:iam::{}:role/{}", account, role));
  if (std::string_view user = str(input, "UserName"); !user.empty())
    out.resources.push_back(fmt::format("arn:aws:iam::{}:user/{}", account, user));
  if (out.resources.empty()) out.resources.emplace_back("*");
}

}  // namespace

std::string iamServicePrefix(const aws::ServiceModel& model) {
  if (model.signingName() == "monitoring") return "cloudwatch";
  return model.signingName();
}

IamRequest describeIamRequest(const aws::ServiceModel& model, const aws::OperationModel& operation,
                              const bj::object& input, std::string_view region, std::string_view account) {
  IamRequest out;
  std::string prefix = iamServicePrefix(model);
  out.action = prefix + ":" + operation.name;
  std::string_view op = operation.name;
  if (prefix == "ecs") {
    describeEcs(op, input, EcsArns{region, account}, out);
  } else if (prefix == "logs") {
    describeLogs(input, region, account, out);
  } else if (prefix == "ecr") {
    describeEcr(input, region, account, out);
  } else if (prefix == "ssm") {
    describeSsm(input, region, account, out);
  } else if (prefix == "iam") {
    describeIam(input, account, out);
  } else if (prefix == "sts") {
    // GetCallerIdentity and GetSessionToken need no permission on AWS (an
    // explicit Deny does not stop them): nothing to check.
    if (op == "GetCallerIdentity" || op == "GetSessionToken") return out;
    std::string_view role = str(input, "RoleArn");
    out.resources.emplace_back(role.empty() ? std::string_view("*") : role);
  } else if (prefix == "kms") {
    // Alias names resolve only inside KMS; it checks key operations itself.
    out.deferred =
        input.contains("KeyId") || input.contains("DestinationKeyId") || op == "Decrypt" || op == "ReEncrypt";
    out.resources.emplace_back("*");
  } else {
    out.resources.emplace_back("*");
  }
  return out;
}

}  // namespace berth::api
