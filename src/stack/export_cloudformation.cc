// The CloudFormation exporter (export.h): render.h's resources as one
// template, in CloudFormation's resource types and PascalCase properties.
//
// The template is deployed into an existing VPC (the seed keeps its VPC):
// VpcId and SubnetIds are parameters, the tasks run in those private subnets
// without public addresses. What CloudFormation cannot create, SecureString
// parameters, is listed in the template's Metadata with the command that
// creates it, never with its value.
#include <algorithm>
#include <cmath>
#include <map>
#include <set>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "stack/export.h"
#include "stack/names.h"
#include "stack/render.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

constexpr std::string_view kAccount = "${AWS::AccountId}";
constexpr std::string_view kExecutionPolicy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
constexpr std::string_view kDimension = "ecs:service:DesiredCount";
// berth's Spot fallback (model.h) is a service tag, as render.cc writes it.
// AWS has no such fallback: on AWS the tag only records the intent.
constexpr std::string_view kSpotFallbackTag = "berth:spot-fallback";

// Logical ids are letters and digits only: "durableai/backend" ->
// "DurableaiBackend".
std::string pascal(std::string_view name) {
  std::string out;
  bool upper = true;
  for (char c : name) {
    bool alnum = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    if (!alnum) {
      upper = true;
      continue;
    }
    out += upper && c >= 'a' && c <= 'z' ? static_cast<char>(c - 'a' + 'A') : c;
    upper = false;
  }
  return out;
}

// Hands out logical ids. Names that differ only in punctuation ("a-b",
// "a_b") would map to the same id, so a taken id gets a number; the same
// (kind, name) always gets the same id, whichever resource asks first.
class LogicalIds {
 public:
  explicit LogicalIds(std::vector<std::string> reserved = {}) : taken_(reserved.begin(), reserved.end()) {}

  const std::string& operator()(std::string_view name, std::string_view kind) {
    std::string key = fmt::format("{}\n{}", kind, name);
    if (auto it = by_key_.find(key); it != by_key_.end()) return it->second;
    std::string want = pascal(name) + std::string(kind);
    std::string id = want;
    for (int n = 2; taken_.contains(id); ++n) id = fmt::format("{}{}", want, n);
    taken_.insert(id);
    return by_key_.emplace(std::move(key), std::move(id)).first->second;
  }

 private:
  std::set<std::string> taken_;
  std::map<std::string, std::string> by_key_;
};

bj::object cfnRef(std::string_view id) { return bj::object{{"Ref", id}}; }
bj::object getAtt(std::string_view id, std::string_view attribute) {
  return bj::object{{"Fn::GetAtt", bj::array{bj::value(id), bj::value(attribute)}}};
}

bj::array strings(const std::vector<std::string>& v) {
  bj::array out;
  for (const auto& s : v) out.emplace_back(s);
  return out;
}

// CloudFormation names ECS's properties as the API does with the first
// letter upper-cased (containerPort -> ContainerPort); a log driver's
// options keep their own names (awslogs-group).
bj::value pascalCaseKeys(const bj::value& v) {
  if (v.is_array()) {
    bj::array out;
    for (const auto& item : v.as_array()) out.push_back(pascalCaseKeys(item));
    return out;
  }
  if (!v.is_object()) return v;
  bj::object out;
  for (const auto& [key, value] : v.as_object()) {
    std::string name(key);
    if (!name.empty() && name[0] >= 'a' && name[0] <= 'z') name[0] = static_cast<char>(name[0] - 'a' + 'A');
    out[name] = key == "options" ? value : pascalCaseKeys(value);
  }
  return out;
}

bj::object taskTrust() {
  return bj::object{
      {"Version", "2012-10-17"},
      {"Statement", bj::array{bj::object{{"Effect", "Allow"},
                                         {"Principal", bj::object{{"Service", "ecs-tasks.amazonaws.com"}}},
                                         {"Action", "sts:AssumeRole"}}}}};
}

// What `berth apply` passes as a secret's valueFrom (render.cc): a name
// becomes the parameter's ARN in the environment's region and account.
std::string parameterArn(const Environment& env, const std::string& name) {
  return stack::parameterArn(env, name, {std::string(kAccount)});
}

// The repository of the stack an image comes from, or "" for an image of
// another registry.
std::string ownedRepository(const Environment& env, const std::string& image) {
  auto parts = splitImage(image);
  if (!parts || !parts->host.empty()) return "";
  return std::ranges::find(env.ecr_repositories, parts->repository) != env.ecr_repositories.end() ? parts->repository
                                                                                                  : "";
}

// A single quoted shell word, for the commands in Metadata.
std::string shellQuote(std::string_view s) {
  std::string out = "'";
  for (char c : s) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
  return out + "'";
}

// The account is only known when the stack is deployed: every string that
// holds the placeholder becomes Fn::Sub of it. Fn::Sub reads every "${...}"
// as a variable, so any other "${" in the string is escaped as "${!".
void substituteAccount(bj::value& v) {
  if (v.is_object()) {
    for (auto& [_, member] : v.as_object()) substituteAccount(member);
  } else if (v.is_array()) {
    for (auto& element : v.as_array()) substituteAccount(element);
  } else if (v.is_string() && std::string_view(v.as_string()).find(kAccount) != std::string_view::npos) {
    std::string_view s = v.as_string();
    std::string out;
    for (size_t i = 0; i < s.size(); ++i) {
      out += s[i];
      if (s.substr(i).starts_with("${") && !s.substr(i).starts_with(kAccount)) out += "{!", ++i;
    }
    v = bj::object{{"Fn::Sub", out}};
  }
}

void indent(std::string& out, int depth) { out.append(static_cast<size_t>(depth) * 2, ' '); }

// JSON with a 2-space indent, members in insertion order (the order the
// exporter builds them in, so the output is deterministic).
void pretty(const bj::value& v, std::string& out, int depth) {
  switch (v.kind()) {
    case bj::kind::object: {
      const bj::object& o = v.get_object();
      if (o.empty()) {
        out += "{}";
        return;
      }
      out += "{\n";
      bool first = true;
      for (const auto& [key, member] : o) {
        if (!first) out += ",\n";
        first = false;
        indent(out, depth + 1);
        out += bj::serialize(bj::value(key));
        out += ": ";
        pretty(member, out, depth + 1);
      }
      out += "\n";
      indent(out, depth);
      out += "}";
      return;
    }
    case bj::kind::array: {
      const bj::array& a = v.get_array();
      if (a.empty()) {
        out += "[]";
        return;
      }
      out += "[\n";
      for (size_t i = 0; i < a.size(); ++i) {
        if (i > 0) out += ",\n";
        indent(out, depth + 1);
        pretty(a[i], out, depth + 1);
      }
      out += "\n";
      indent(out, depth);
      out += "]";
      return;
    }
    case bj::kind::double_: {
      // Boost.JSON writes 60.0 as "6E1"; a whole target reads better as 60.
      double d = v.get_double();
      if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 1e15)
        out += fmt::format("{}", static_cast<int64_t>(d));
      else
        out += bj::serialize(v);
      return;
    }
    default:
      out += bj::serialize(v);
  }
}

// The template under construction: resources in the order they are added.
class Template {
 public:
  explicit Template(const Environment& env)
      : env_(env), ids_({"VpcId", "SubnetIds", "Cluster", "ExecutionRole", "TaskSecurityGroup", "Namespace"}) {
    for (const auto& [k, v] : env.tags) {
      tag_list_.push_back(bj::object{{"Key", k}, {"Value", v}});
      tag_map_[k] = v;
    }
  }

  std::string build();

 private:
  void add(const std::string& id, std::string_view type, bj::object properties,
           std::vector<std::string> depends_on = {}) {
    bj::object r{{"Type", type}};
    if (!depends_on.empty()) r["DependsOn"] = strings(depends_on);
    r["Properties"] = std::move(properties);
    resources_[id] = std::move(r);
  }
  void output(std::string_view name, std::string_view kind, std::string_view description, bj::value value) {
    outputs_[output_ids_(name, kind)] = bj::object{{"Description", description}, {"Value", std::move(value)}};
  }
  // Tags in the [{Key, Value}] shape most resource types take.
  bj::object tagged(bj::object properties) const {
    if (!tag_list_.empty()) properties["Tags"] = tag_list_;
    return properties;
  }

  void network();
  void repositoriesAndLogs();
  void roles();
  void parameters();
  void clusterAndNamespace();
  void service(const Service& s);
  bj::object containerDefinition(const Service& s);

  const Environment& env_;
  LogicalIds ids_;
  LogicalIds output_ids_;
  bj::array tag_list_;
  bj::object tag_map_;
  bj::object resources_, outputs_;
  bj::array secure_strings_;
};

void Template::network() {
  add("TaskSecurityGroup", "AWS::EC2::SecurityGroup",
      tagged(bj::object{
          {"GroupDescription", fmt::format("{} {} ECS tasks", env_.project, env_.name)},
          {"VpcId", cfnRef("VpcId")},
          {"SecurityGroupEgress",
           bj::array{bj::object{{"IpProtocol", "-1"}, {"CidrIp", "0.0.0.0/0"}, {"Description", "all outbound"}}}}}));
  // Service to service on each port, from the group itself: separate
  // ingress resources, because a group cannot name itself in its own
  // properties (a reference cycle). One rule per port; a duplicate rule
  // would fail the deployment.
  std::map<int, std::vector<std::string>> ports;
  for (const Service& s : env_.services)
    if (s.port > 0) ports[s.port].push_back(s.name);
  for (const auto& [port, names] : ports) {
    add(fmt::format("TaskSecurityGroupIngress{}", port), "AWS::EC2::SecurityGroupIngress",
        bj::object{{"GroupId", getAtt("TaskSecurityGroup", "GroupId")},
                   {"SourceSecurityGroupId", getAtt("TaskSecurityGroup", "GroupId")},
                   {"IpProtocol", "tcp"},
                   {"FromPort", port},
                   {"ToPort", port},
                   {"Description", fmt::format("{} from the stack's tasks", fmt::join(names, ", "))}});
  }
}

void Template::repositoriesAndLogs() {
  for (const auto& repo : env_.ecr_repositories) {
    const std::string& id = ids_(repo, "Repository");
    add(id, "AWS::ECR::Repository", tagged(bj::object{{"RepositoryName", repo}}));
    // The images are data: deleting the stack keeps them (CloudFormation
    // could not delete a repository that holds images anyway).
    resources_[id].as_object()["DeletionPolicy"] = "Retain";
    resources_[id].as_object()["UpdateReplacePolicy"] = "Retain";
    output(repo, "RepositoryUri", fmt::format("ECR repository {}: push its images before the services start", repo),
           getAtt(id, "RepositoryUri"));
  }
  for (const Service& s : env_.services) {
    const std::string& id = ids_(s.name, "LogGroup");
    add(id, "AWS::Logs::LogGroup",
        tagged(bj::object{{"LogGroupName", logGroupName(env_, s)}, {"RetentionInDays", s.log_retention_days}}));
    // Said explicitly (cfn-lint asks it of stateful resources): the logs go
    // with the stack, as with `berth destroy`.
    resources_[id].as_object()["DeletionPolicy"] = "Delete";
    resources_[id].as_object()["UpdateReplacePolicy"] = "Delete";
    output(s.name, "LogGroupName", fmt::format("{}'s log group", s.name), cfnRef(id));
  }
}

void Template::roles() {
  // The execution role: ECR pulls and log writes (AWS's managed policy), and
  // the parameters any container takes as `secrets`.
  bj::object execution{{"RoleName", env_.execution_role},
                       {"AssumeRolePolicyDocument", taskTrust()},
                       {"ManagedPolicyArns", bj::array{bj::value(kExecutionPolicy)}}};
  std::vector<std::string> secret_arns;
  for (const Service& s : env_.services)
    for (const auto& [_, name] : s.secrets) secret_arns.push_back(parameterArn(env_, name));
  std::sort(secret_arns.begin(), secret_arns.end());
  secret_arns.erase(std::unique(secret_arns.begin(), secret_arns.end()), secret_arns.end());
  if (!secret_arns.empty()) {
    bj::array statements{bj::object{
        {"Effect", "Allow"}, {"Action", bj::array{"ssm:GetParameters"}}, {"Resource", strings(secret_arns)}}};
    // SecureStrings are encrypted with the aws/ssm key; its id is not known
    // before deployment, so the grant is limited to decryption through SSM.
    bool secure = std::any_of(env_.parameters.begin(), env_.parameters.end(),
                              [](const Parameter& p) { return p.type == "SecureString"; });
    if (secure)
      statements.push_back(bj::object{
          {"Effect", "Allow"},
          {"Action", bj::array{"kms:Decrypt"}},
          {"Resource", "*"},
          {"Condition", bj::object{{"StringEquals", bj::object{{"kms:ViaService",
                                                                fmt::format("ssm.{}.amazonaws.com", env_.region)}}}}}});
    execution["Policies"] = bj::array{
        bj::object{{"PolicyName", "secrets"},
                   {"PolicyDocument", bj::object{{"Version", "2012-10-17"}, {"Statement", std::move(statements)}}}}};
  }
  add("ExecutionRole", "AWS::IAM::Role", tagged(std::move(execution)));

  for (const Service& s : env_.services) {
    if (s.task_role_policy.empty()) continue;
    bj::array statements;
    for (const auto& st : s.task_role_policy)
      statements.push_back(
          bj::object{{"Effect", "Allow"}, {"Action", strings(st.actions)}, {"Resource", strings(st.resources)}});
    bj::object role{
        {"RoleName", taskRoleName(env_, s)},
        {"AssumeRolePolicyDocument", taskTrust()},
        {"Policies", bj::array{bj::object{{"PolicyName", s.name},
                                          {"PolicyDocument", bj::object{{"Version", "2012-10-17"},
                                                                        {"Statement", std::move(statements)}}}}}}};
    add(ids_(s.name, "TaskRole"), "AWS::IAM::Role", tagged(std::move(role)));
  }
}

void Template::parameters() {
  for (const Parameter& p : env_.parameters) {
    if (p.type == "SecureString") {
      // AWS::SSM::Parameter creates String and StringList only. The value
      // stays out of the template: a template is read by whoever deploys it
      // and kept by CloudFormation.
      bj::object entry{{"Name", p.name}};
      if (!p.description.empty()) entry["Description"] = p.description;
      entry["Create"] = fmt::format("aws ssm put-parameter --region {} --type SecureString --name {} --value {}",
                                    env_.region, shellQuote(p.name), shellQuote("<value>"));
      secure_strings_.push_back(std::move(entry));
      continue;
    }
    bj::object props{{"Name", p.name}, {"Type", p.type}, {"Value", p.value}};
    if (!p.description.empty()) props["Description"] = p.description;
    // SSM takes its tags as a map, not a list.
    if (!tag_map_.empty()) props["Tags"] = tag_map_;
    add(ids_(p.name, "Parameter"), "AWS::SSM::Parameter", std::move(props));
  }
}

void Template::clusterAndNamespace() {
  add("Cluster", "AWS::ECS::Cluster",
      tagged(bj::object{
          {"ClusterName", env_.cluster},
          {"ClusterSettings", bj::array{bj::object{{"Name", "containerInsights"},
                                                   {"Value", env_.container_insights ? "enabled" : "disabled"}}}},
          {"CapacityProviders", bj::array{"FARGATE", "FARGATE_SPOT"}}}));
  output("Cluster", "Name", "The ECS cluster", cfnRef("Cluster"));
  if (std::none_of(env_.services.begin(), env_.services.end(), [](const Service& s) { return s.discovery; })) return;
  add("Namespace", "AWS::ServiceDiscovery::PrivateDnsNamespace",
      tagged(bj::object{{"Name", env_.namespace_name},
                        {"Vpc", cfnRef("VpcId")},
                        {"Description", fmt::format("{} {} services", env_.project, env_.name)}}));
}

bj::object Template::containerDefinition(const Service& s) {
  // render.h's container with CloudFormation's property names; the log
  // group by reference, so the task definition follows it.
  bj::object c = pascalCaseKeys(stack::containerDefinition(env_, s, {std::string(kAccount)})).as_object();
  c["LogConfiguration"].as_object()["Options"].as_object()["awslogs-group"] = cfnRef(ids_(s.name, "LogGroup"));
  return c;
}

void Template::service(const Service& s) {
  // What a Ref or GetAtt does not already order: the image's repository
  // and the String parameters the secrets name (their ARNs are plain text).
  std::vector<std::string> td_deps;
  if (std::string repo = ownedRepository(env_, s.image); !repo.empty()) td_deps.push_back(ids_(repo, "Repository"));
  for (const Parameter& p : env_.parameters)
    for (const auto& [_, name] : s.secrets)
      if (name == p.name && p.type != "SecureString") td_deps.push_back(ids_(p.name, "Parameter"));
  bj::object td{{"Family", taskFamily(env_, s)},
                {"Cpu", std::to_string(s.cpu)},
                {"Memory", std::to_string(s.memory)},
                {"NetworkMode", "awsvpc"},
                {"RequiresCompatibilities", bj::array{"FARGATE"}},
                {"ExecutionRoleArn", getAtt("ExecutionRole", "Arn")}};
  if (!s.task_role_policy.empty()) td["TaskRoleArn"] = getAtt(ids_(s.name, "TaskRole"), "Arn");
  td["ContainerDefinitions"] = bj::array{containerDefinition(s)};
  const std::string& td_id = ids_(s.name, "TaskDefinition");
  add(td_id, "AWS::ECS::TaskDefinition", tagged(std::move(td)), std::move(td_deps));

  std::string discovery_name = fmt::format("{}.{}", s.name, env_.namespace_name);
  if (s.discovery) {
    bj::object sd{{"Name", s.name},
                  {"Description", discovery_name},
                  {"NamespaceId", getAtt("Namespace", "Id")},
                  {"DnsConfig", bj::object{{"DnsRecords", bj::array{bj::object{{"Type", "A"}, {"TTL", 60}}}},
                                           {"RoutingPolicy", "MULTIVALUE"}}},
                  {"HealthCheckCustomConfig", bj::object{{"FailureThreshold", 1}}}};
    add(ids_(s.name, "DiscoveryService"), "AWS::ServiceDiscovery::Service", tagged(std::move(sd)));
  }

  // No LaunchType: CloudFormation rejects it beside a capacity provider
  // strategy. The Ref to the cluster orders the service after the cluster,
  // which is created with its capacity providers.
  bj::object svc{{"ServiceName", ecsServiceName(env_, s)},
                 {"Cluster", cfnRef("Cluster")},
                 {"TaskDefinition", cfnRef(td_id)},
                 {"DesiredCount", s.count},
                 {"CapacityProviderStrategy",
                  bj::array{bj::object{{"CapacityProvider", s.capacity_provider}, {"Weight", 1}, {"Base", 0}}}},
                 {"DeploymentConfiguration",
                  bj::object{{"DeploymentCircuitBreaker", bj::object{{"Enable", s.deployment.circuit_breaker},
                                                                     {"Rollback", s.deployment.rollback}}},
                             {"MinimumHealthyPercent", s.deployment.min_healthy_percent},
                             {"MaximumPercent", s.deployment.max_percent}}},
                 {"NetworkConfiguration",
                  bj::object{{"AwsvpcConfiguration",
                              bj::object{{"Subnets", cfnRef("SubnetIds")},
                                         {"SecurityGroups", bj::array{getAtt("TaskSecurityGroup", "GroupId")}},
                                         {"AssignPublicIp", "DISABLED"}}}}}};
  if (s.discovery)
    svc["ServiceRegistries"] = bj::array{bj::object{{"RegistryArn", getAtt(ids_(s.name, "DiscoveryService"), "Arn")}}};
  bj::array service_tags;
  std::map<std::string, std::string> tags = env_.tags;
  if (s.spot_fallback && s.capacity_provider == "FARGATE_SPOT") tags[std::string(kSpotFallbackTag)] = "FARGATE";
  for (const auto& [k, v] : tags) service_tags.push_back(bj::object{{"Key", k}, {"Value", v}});
  if (!service_tags.empty()) {
    svc["PropagateTags"] = "SERVICE";
    svc["Tags"] = std::move(service_tags);
  }
  const std::string& svc_id = ids_(s.name, "Service");
  add(svc_id, "AWS::ECS::Service", std::move(svc));
  output(s.name, "ServiceName", fmt::format("{}'s ECS service", s.name), getAtt(svc_id, "Name"));
  if (s.discovery)
    output(s.name, "DiscoveryName", fmt::format("{}'s DNS name in the VPC", s.name),
           bj::value(bj::string_view(discovery_name)));

  if (!s.autoscaling) return;
  const Autoscaling& a = *s.autoscaling;
  // service/<cluster>/<service>, from the resources themselves; referencing
  // the service also makes the target wait for it.
  bj::object resource_id{{"Fn::Join", bj::array{"/", bj::array{"service", cfnRef("Cluster"), getAtt(svc_id, "Name")}}}};
  const std::string& target_id = ids_(s.name, "ScalableTarget");
  add(target_id, "AWS::ApplicationAutoScaling::ScalableTarget",
      bj::object{{"ServiceNamespace", "ecs"},
                 {"ResourceId", std::move(resource_id)},
                 {"ScalableDimension", kDimension},
                 {"MinCapacity", a.min},
                 {"MaxCapacity", a.max}});
  auto policy = [&](std::string_view kind, std::string_view metric, double target) {
    add(ids_(s.name, fmt::format("{}ScalingPolicy", kind)), "AWS::ApplicationAutoScaling::ScalingPolicy",
        bj::object{
            {"PolicyName", fmt::format("{}-{}-{}", s.name, kind == "Cpu" ? "cpu" : "memory", static_cast<int>(target))},
            {"PolicyType", "TargetTrackingScaling"},
            {"ScalingTargetId", cfnRef(target_id)},
            {"TargetTrackingScalingPolicyConfiguration",
             bj::object{{"TargetValue", target},
                        {"PredefinedMetricSpecification", bj::object{{"PredefinedMetricType", metric}}},
                        {"ScaleOutCooldown", a.scale_out_cooldown},
                        {"ScaleInCooldown", a.scale_in_cooldown}}}});
  };
  if (a.cpu_target) policy("Cpu", "ECSServiceAverageCPUUtilization", *a.cpu_target);
  if (a.memory_target) policy("Memory", "ECSServiceAverageMemoryUtilization", *a.memory_target);
}

std::string Template::build() {
  network();
  repositoriesAndLogs();
  roles();
  parameters();
  clusterAndNamespace();
  for (const Service& s : env_.services) service(s);
  bj::value resources = std::move(resources_), outputs = std::move(outputs_);
  substituteAccount(resources);
  substituteAccount(outputs);

  bj::object berth{{"Project", env_.project}, {"Environment", env_.name}, {"Region", env_.region}};
  if (!secure_strings_.empty()) berth["SecureStringParameters"] = std::move(secure_strings_);
  bj::object t{
      {"AWSTemplateFormatVersion", "2010-09-09"},
      {"Description", fmt::format("berth stack {}, environment {} ({}): ECS on Fargate in an existing VPC",
                                  env_.project, env_.name, env_.region)},
      {"Metadata", bj::object{{"berth", std::move(berth)}}},
      {"Parameters",
       bj::object{{"VpcId", bj::object{{"Type", "AWS::EC2::VPC::Id"}, {"Description", "The VPC the tasks run in"}}},
                  {"SubnetIds", bj::object{{"Type", "List<AWS::EC2::Subnet::Id>"},
                                           {"Description",
                                            "Private subnets of that VPC (tasks get no public address: they need a "
                                            "NAT gateway or VPC endpoints to reach ECR, CloudWatch Logs and SSM)"}}}}},
      {"Resources", std::move(resources)},
      {"Outputs", std::move(outputs)}};
  std::string out;
  pretty(t, out, 0);
  return out + "\n";
}

}  // namespace

std::string exportCloudFormation(const Environment& env) { return Template(env).build(); }

}  // namespace berth::stack
