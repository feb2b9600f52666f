// The Terraform export (export.h): one module for every environment of a
// stack file, whatever differs between them a variable.
//
// What differs is decided by the model, not by comparing environments: an
// environment may override a service's image, cpu, memory, count, capacity,
// autoscaling and environment variables, and has its own cluster, namespace,
// region, Container Insights, log retention, tags and parameters; those are
// variables, set per environment in environments/<env>.tfvars. Everything
// else (ports, health checks, secrets, deployment settings, task role
// policies, discovery) is the same everywhere and written in main.tf from the
// file's own strings, their placeholders turned into references
// (${env} -> ${var.environment}, ${account} -> the caller's account id).
//
// The tfvars hold resolved values; the account is not known when exporting,
// so values are resolved with the account "${account}", written "$${account}"
// (literal in HCL), and main.tf replaces it where such a variable is used.
#include <algorithm>
#include <filesystem>
#include <map>
#include <set>

#include <fmt/format.h>

#include "stack/export.h"
#include "stack/hcl.h"
#include "stack/render.h"
#include "stack/stack_file.h"

namespace berth::stack {
namespace {

using hcl::Body;
using hcl::Value;
using Entries = std::vector<std::pair<std::string, Value>>;

constexpr std::string_view kAccountId = "data.aws_caller_identity.current.account_id";
constexpr std::string_view kExecutionPolicy = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy";
constexpr std::string_view kDimension = "ecs:service:DesiredCount";

// The module's own variables: a service's variable may not take these names
// (nor Terraform's reserved ones).
const std::set<std::string, std::less<>> kTakenNames{"project",
                                                     "environment",
                                                     "region",
                                                     "cluster_name",
                                                     "namespace",
                                                     "container_insights",
                                                     "log_retention_days",
                                                     "tags",
                                                     "vpc_id",
                                                     "subnet_ids",
                                                     "parameters",
                                                     "source",
                                                     "version",
                                                     "providers",
                                                     "count",
                                                     "for_each",
                                                     "lifecycle",
                                                     "depends_on",
                                                     "locals"};

// A string of the stack file as the body of an HCL template: its
// placeholders become references, everything else stays literal.
std::string templateBody(std::string_view raw) {
  static const std::map<std::string_view, std::string_view> kRefs{
      {"env", "var.environment"}, {"project", "var.project"}, {"region", "var.region"}, {"account", kAccountId}};
  std::string out;
  size_t i = 0;
  while (i < raw.size()) {
    size_t open = raw.find("${", i);
    if (open == std::string_view::npos) break;
    size_t close = raw.find('}', open + 2);
    if (close == std::string_view::npos) break;
    auto ref = kRefs.find(raw.substr(open + 2, close - open - 2));
    if (ref == kRefs.end()) {
      out += hcl::escape(raw.substr(i, close + 1 - i));
    } else {
      std::string literal = hcl::escape(raw.substr(i, open - i));
      // "$" right before an interpolation would read as the escape "$${".
      if (literal.ends_with('$')) literal.replace(literal.size() - 1, 1, "${\"$\"}");
      out += literal + "${" + std::string(ref->second) + "}";
    }
    i = close + 1;
  }
  return out + hcl::escape(raw.substr(i));
}

Value translated(std::string_view raw) { return Value::templ(templateBody(raw)); }

Value translatedList(const std::vector<std::string>& raw) {
  std::vector<Value> out;
  for (const auto& s : raw) out.push_back(translated(s));
  return Value::list(std::move(out));
}

// A variable's string that may hold the "${account}" of resolve().
std::string withAccount(std::string_view expr) {
  return fmt::format("replace({}, \"$${{account}}\", {})", expr, kAccountId);
}

Value ref(std::string expr) { return Value::expr(std::move(expr)); }

Value strings(const std::vector<std::string>& v) {
  std::vector<Value> out;
  for (const auto& s : v) out.push_back(Value::string(s));
  return Value::list(std::move(out));
}

// "${var.project}-${var.environment}": how render.h prefixes names.
std::string prefix() { return "${var.project}-${var.environment}"; }

// A full image reference names a registry host first (as render.cc decides).
bool isFullReference(std::string_view image) {
  size_t slash = image.find('/');
  if (slash == std::string_view::npos) return false;
  std::string_view first = image.substr(0, slash);
  return first.find('.') != std::string_view::npos || first.find(':') != std::string_view::npos || first == "localhost";
}

// The repository of an image the stack owns: the reference without tag or
// digest.
std::string repositoryOf(std::string_view image) {
  size_t slash = image.rfind('/');
  size_t from = slash == std::string_view::npos ? 0 : slash;
  size_t end = std::min(image.find(':', from), image.find('@', from));
  return std::string(image.substr(0, end));
}

// A placeholder-free name for identifiers: "${env}/x" -> "env/x".
std::string withoutPlaceholders(std::string_view raw) {
  std::string out;
  for (char c : raw)
    if (c != '$' && c != '{' && c != '}') out += c;
  return out;
}

Value taskTrust() {
  return Value::call(
      "jsonencode",
      Value::object(
          {{"Version", Value::string("2012-10-17")},
           {"Statement", Value::list({Value::object(
                             {{"Effect", Value::string("Allow")},
                              {"Principal", Value::object({{"Service", Value::string("ecs-tasks.amazonaws.com")}})},
                              {"Action", Value::string("sts:AssumeRole")}})})}}));
}

// What the module knows about one service across every environment.
struct ServiceInfo {
  const Service* base;  // the file's definition, strings unresolved
  std::string id;       // its resource names
  std::string var;      // its variable
  bool autoscaled = false, cpu_policy = false, memory_policy = false;
};

class Exporter {
 public:
  Exporter(const StackFile& file, std::vector<Environment> envs) : file_(file), envs_(std::move(envs)) {
    for (const Service& s : file_.services) {
      ServiceInfo info{&s, hcl::identifier(s.name), hcl::identifier(s.name)};
      if (kTakenNames.contains(info.var)) info.var += "_service";
      for (const Environment& env : envs_)
        for (const Service& r : env.services) {
          if (r.name != s.name || !r.autoscaling) continue;
          info.autoscaled = true;
          info.cpu_policy |= r.autoscaling->cpu_target.has_value();
          info.memory_policy |= r.autoscaling->memory_target.has_value();
        }
      discovery_ |= s.discovery;
      services_.push_back(std::move(info));
    }
    for (const Environment& env : envs_)
      for (const Parameter& p : env.parameters) {
        has_parameters_ = true;
        secure_parameters_ |= p.type == "SecureString";
      }
  }

  std::string mainTf() const;
  std::string variablesTf() const;
  std::string outputsTf() const;
  std::string tfvars(const Environment& env) const;

 private:
  std::string header(std::string_view what) const {
    return fmt::format("{}: {}, written by `berth export terraform` from {}.", file_.project, what,
                       std::filesystem::path(file_.path).filename().string());
  }
  // The ECR repositories, as raw names (placeholders kept), sorted.
  std::vector<std::string> repositories() const;
  Body executionRole() const;
  void addService(Body& main, const ServiceInfo& s) const;
  Value containerDefinition(const ServiceInfo& s) const;

  const StackFile& file_;
  std::vector<Environment> envs_;  // every environment of the file, in file order
  std::vector<ServiceInfo> services_;
  bool discovery_ = false, has_parameters_ = false, secure_parameters_ = false;
};

std::vector<std::string> Exporter::repositories() const {
  std::set<std::string> out;
  if (!file_.repositories.empty()) return {file_.repositories.begin(), file_.repositories.end()};
  auto add = [&out](const std::string& image) {
    if (!isFullReference(image)) out.insert(repositoryOf(image));
  };
  for (const Service& s : file_.services) add(s.image);
  for (const EnvironmentSpec& spec : file_.environment_specs)
    for (const ServiceOverride& o : spec.services)
      if (o.image) add(*o.image);
  return {out.begin(), out.end()};
}

Body Exporter::executionRole() const {
  Body role;
  role.attribute("name", Value::templ(prefix() + "-execution"));
  role.attribute("assume_role_policy", taskTrust());
  return role;
}

Value Exporter::containerDefinition(const ServiceInfo& info) const {
  const Service& s = *info.base;
  const std::string var = "var." + info.var;
  Entries c{{"name", Value::string(s.name)},
            {"image", ref(withAccount(var + ".image"))},
            {"essential", Value::boolean(true)}};
  if (s.port > 0)
    c.emplace_back("portMappings", Value::list({Value::object({{"containerPort", Value::number(s.port)},
                                                               {"hostPort", Value::number(s.port)},
                                                               {"protocol", Value::string("tcp")}})}));
  c.emplace_back("environment",
                 ref(fmt::format("[for k, v in {}.environment : {{ name = k, value = {} }}]", var, withAccount("v"))));
  if (!s.secrets.empty()) {
    std::vector<Value> secrets;
    for (const auto& [name, parameter] : s.secrets) {
      Value from =
          parameter.starts_with("arn:")
              ? translated(parameter)
              : Value::templ(fmt::format("arn:aws:ssm:${{var.region}}:${{{}}}:parameter/{}", kAccountId,
                                         templateBody(parameter.starts_with("/") ? parameter.substr(1) : parameter)));
      secrets.push_back(Value::object({{"name", Value::string(name)}, {"valueFrom", std::move(from)}}));
    }
    c.emplace_back("secrets", Value::list(std::move(secrets)));
  }
  if (s.health_check) {
    const HealthCheck& h = *s.health_check;
    Value command = h.command.empty()
                        ? Value::list({Value::string("CMD-SHELL"),
                                       Value::templ(fmt::format("wget -q -O /dev/null http://localhost:{}{} || exit 1",
                                                                s.port, templateBody(h.path.empty() ? "/" : h.path)))})
                        : translatedList(h.command);
    Entries check{{"command", std::move(command)},
                  {"interval", Value::number(h.interval)},
                  {"timeout", Value::number(h.timeout)},
                  {"retries", Value::number(h.retries)}};
    if (h.start_period > 0) check.emplace_back("startPeriod", Value::number(h.start_period));
    c.emplace_back("healthCheck", Value::object(std::move(check)));
  }
  c.emplace_back(
      "logConfiguration",
      Value::object(
          {{"logDriver", Value::string("awslogs")},
           {"options", Value::object({{"awslogs-group", ref(fmt::format("aws_cloudwatch_log_group.{}.name", info.id))},
                                      {"awslogs-region", ref("var.region")},
                                      {"awslogs-stream-prefix", Value::string(s.name)}})}}));
  return Value::call("jsonencode", Value::list({Value::object(std::move(c))}));
}

void Exporter::addService(Body& main, const ServiceInfo& info) const {
  const Service& s = *info.base;
  const std::string var = "var." + info.var;
  const std::string name = prefix() + "-" + templateBody(s.name);

  Body log_group;
  log_group.attribute("name", Value::templ("/ecs/" + prefix() + "/" + templateBody(s.name)));
  log_group.attribute("retention_in_days", ref("var.log_retention_days"));
  main.block("resource", {"aws_cloudwatch_log_group", info.id}, std::move(log_group));

  if (!s.task_role_policy.empty()) {
    Body role;
    role.attribute("name", Value::templ(name + "-task"));
    role.attribute("assume_role_policy", taskTrust());
    main.block("resource", {"aws_iam_role", info.id + "_task"}, std::move(role));
    std::vector<Value> statements;
    for (const PolicyStatement& st : s.task_role_policy)
      statements.push_back(Value::object({{"Effect", Value::string("Allow")},
                                          {"Action", translatedList(st.actions)},
                                          {"Resource", translatedList(st.resources)}}));
    Body policy;
    policy.attribute("name", Value::string(s.name));
    policy.attribute("role", ref(fmt::format("aws_iam_role.{}_task.id", info.id)));
    policy.attribute("policy", Value::call("jsonencode", Value::object({{"Version", Value::string("2012-10-17")},
                                                                        {"Statement", Value::list(statements)}})));
    main.block("resource", {"aws_iam_role_policy", info.id + "_task"}, std::move(policy));
  }

  Body td;
  td.attribute("family", Value::templ(name));
  td.attribute("cpu", ref(var + ".cpu"));
  td.attribute("memory", ref(var + ".memory"));
  td.attribute("network_mode", Value::string("awsvpc"));
  td.attribute("requires_compatibilities", strings({"FARGATE"}));
  td.attribute("execution_role_arn", ref("aws_iam_role.execution.arn"));
  if (!s.task_role_policy.empty()) td.attribute("task_role_arn", ref(fmt::format("aws_iam_role.{}_task.arn", info.id)));
  td.attribute("container_definitions", containerDefinition(info));
  if (!s.secrets.empty() && has_parameters_)
    td.attribute("depends_on", Value::list({ref("aws_ssm_parameter.parameters")}));
  main.block("resource", {"aws_ecs_task_definition", info.id}, std::move(td));

  if (s.discovery) {
    Body records;
    records.attribute("ttl", Value::number(10LL));
    records.attribute("type", Value::string("A"));
    Body dns;
    dns.attribute("namespace_id", ref("aws_service_discovery_private_dns_namespace.main.id"));
    dns.attribute("routing_policy", Value::string("MULTIVALUE"));
    dns.block("dns_records", {}, std::move(records));
    Body health;
    health.attribute("failure_threshold", Value::number(1LL));
    Body sd;
    sd.attribute("name", Value::string(s.name));
    sd.block("dns_config", {}, std::move(dns));
    sd.block("health_check_custom_config", {}, std::move(health));
    main.block("resource", {"aws_service_discovery_service", info.id}, std::move(sd));
  }

  Body svc;
  svc.attribute("name", Value::templ(name));
  svc.attribute("cluster", ref("aws_ecs_cluster.main.id"));
  svc.attribute("task_definition", ref(fmt::format("aws_ecs_task_definition.{}.arn", info.id)));
  svc.attribute("desired_count", ref(var + ".desired_count"));
  svc.attribute("deployment_minimum_healthy_percent", Value::number(s.deployment.min_healthy_percent));
  svc.attribute("deployment_maximum_percent", Value::number(s.deployment.max_percent));
  svc.attribute("propagate_tags", Value::string("SERVICE"));
  svc.attribute("tags", ref("local.tags"));
  Body strategy;
  strategy.attribute("capacity_provider", ref(var + ".capacity_provider"));
  strategy.attribute("weight", Value::number(1LL));
  strategy.attribute("base", Value::number(0LL));
  svc.block("capacity_provider_strategy", {}, std::move(strategy));
  Body breaker;
  breaker.attribute("enable", Value::boolean(s.deployment.circuit_breaker));
  breaker.attribute("rollback", Value::boolean(s.deployment.rollback));
  svc.block("deployment_circuit_breaker", {}, std::move(breaker));
  Body network;
  network.attribute("subnets", ref("var.subnet_ids"));
  network.attribute("security_groups", Value::list({ref("aws_security_group.tasks.id")}));
  network.attribute("assign_public_ip", Value::boolean(false));
  svc.block("network_configuration", {}, std::move(network));
  if (s.discovery) {
    Body registry;
    registry.attribute("registry_arn", ref(fmt::format("aws_service_discovery_service.{}.arn", info.id)));
    svc.block("service_registries", {}, std::move(registry));
  }
  svc.attribute("depends_on", Value::list({ref("aws_ecs_cluster_capacity_providers.main")}));
  if (info.autoscaled) {
    // Application Auto Scaling owns the desired count where it scales the
    // service (render.cc ignores it the same way).
    Body lifecycle;
    lifecycle.attribute("ignore_changes", Value::list({ref("desired_count")}));
    svc.block("lifecycle", {}, std::move(lifecycle));
  }
  main.block("resource", {"aws_ecs_service", info.id}, std::move(svc));

  if (!info.autoscaled) return;
  const std::string scaling = var + ".autoscaling";
  Body target;
  target.attribute("count", ref(fmt::format("{} == null ? 0 : 1", scaling)));
  target.attribute("service_namespace", Value::string("ecs"));
  target.attribute("resource_id", Value::templ(fmt::format(
                                      "service/${{aws_ecs_cluster.main.name}}/${{aws_ecs_service.{}.name}}", info.id)));
  target.attribute("scalable_dimension", Value::string(kDimension));
  target.attribute("min_capacity", ref(scaling + ".min"));
  target.attribute("max_capacity", ref(scaling + ".max"));
  main.block("resource", {"aws_appautoscaling_target", info.id}, std::move(target));
  auto policy = [&](std::string_view kind, std::string_view metric) {
    const std::string target_value = fmt::format("{}.{}_target", scaling, kind);
    const std::string scaled = fmt::format("aws_appautoscaling_target.{}[0]", info.id);
    Body metric_spec;
    metric_spec.attribute("predefined_metric_type", Value::string(metric));
    Body config;
    config.attribute("target_value", ref(target_value));
    config.attribute("scale_out_cooldown", ref(scaling + ".scale_out_cooldown"));
    config.attribute("scale_in_cooldown", ref(scaling + ".scale_in_cooldown"));
    config.block("predefined_metric_specification", {}, std::move(metric_spec));
    Body p;
    p.attribute("count", ref(fmt::format("try({}, null) == null ? 0 : 1", target_value)));
    p.attribute("name", Value::templ(fmt::format("{}-{}-${{floor({})}}", hcl::escape(s.name), kind, target_value)));
    p.attribute("policy_type", Value::string("TargetTrackingScaling"));
    p.attribute("service_namespace", ref(scaled + ".service_namespace"));
    p.attribute("resource_id", ref(scaled + ".resource_id"));
    p.attribute("scalable_dimension", ref(scaled + ".scalable_dimension"));
    p.block("target_tracking_scaling_policy_configuration", {}, std::move(config));
    main.block("resource", {"aws_appautoscaling_policy", fmt::format("{}_{}", info.id, kind)}, std::move(p));
  };
  if (info.cpu_policy) policy("cpu", "ECSServiceAverageCPUUtilization");
  if (info.memory_policy) policy("memory", "ECSServiceAverageMemoryUtilization");
}

std::string Exporter::mainTf() const {
  Body main;
  main.comment(header("the module") + "\n" +
               "One module for every environment: terraform plan -var-file=environments/<env>.tfvars");
  main.blank();
  Body providers;
  providers.attribute(
      "aws", Value::object({{"source", Value::string("hashicorp/aws")}, {"version", Value::string("~> 5.0")}}));
  Body terraform;
  terraform.block("required_providers", {}, std::move(providers));
  main.block("terraform", {}, std::move(terraform));
  Body provider;
  provider.attribute("region", ref("var.region"));
  main.block("provider", {"aws"}, std::move(provider));
  main.block("data", {"aws_caller_identity", "current"}, Body());
  Body locals;
  locals.comment("Tags of the ECS services, propagated to the tasks they start.");
  locals.attribute("tags", ref(fmt::format("{{ for k, v in var.tags : k => {} }}", withAccount("v"))));
  main.block("locals", {}, std::move(locals));

  for (const std::string& repo : repositories()) {
    Body r;
    r.attribute("name", translated(repo));
    main.block("resource", {"aws_ecr_repository", hcl::identifier(withoutPlaceholders(repo))}, std::move(r));
  }

  // The execution role: ECR pulls and log writes, and the parameters the
  // containers take as secrets.
  main.block("resource", {"aws_iam_role", "execution"}, executionRole());
  Body attachment;
  attachment.attribute("role", ref("aws_iam_role.execution.name"));
  attachment.attribute("policy_arn", Value::string(kExecutionPolicy));
  main.block("resource", {"aws_iam_role_policy_attachment", "execution"}, std::move(attachment));
  std::set<std::string> secret_arns;
  for (const Service& s : file_.services)
    for (const auto& [_, parameter] : s.secrets) {
      std::string path = parameter.starts_with("/") ? parameter.substr(1) : parameter;
      secret_arns.insert(parameter.starts_with("arn:") ? templateBody(parameter)
                                                       : fmt::format("arn:aws:ssm:${{var.region}}:${{{}}}:parameter/{}",
                                                                     kAccountId, templateBody(path)));
    }
  if (!secret_arns.empty()) {
    std::vector<Value> resources;
    for (const auto& arn : secret_arns) resources.push_back(Value::templ(arn));
    Body secrets;
    secrets.attribute("name", Value::string("secrets"));
    secrets.attribute("role", ref("aws_iam_role.execution.id"));
    secrets.attribute(
        "policy",
        Value::call(
            "jsonencode",
            Value::object({{"Version", Value::string("2012-10-17")},
                           {"Statement", Value::list({Value::object({{"Effect", Value::string("Allow")},
                                                                     {"Action", strings({"ssm:GetParameters"})},
                                                                     {"Resource", Value::list(resources)}})})}})));
    main.block("resource", {"aws_iam_role_policy", "execution_secrets"}, std::move(secrets));
  }

  if (has_parameters_) {
    Body p;
    // Parameter names are not secret; their values may be.
    p.attribute("for_each",
                ref(secure_parameters_ ? "nonsensitive(toset(keys(var.parameters)))" : "toset(keys(var.parameters))"));
    p.attribute("name", ref("each.key"));
    p.attribute("type", ref("var.parameters[each.key].type"));
    p.attribute("value", ref(withAccount("var.parameters[each.key].value")));
    p.attribute("description", ref("var.parameters[each.key].description"));
    main.block("resource", {"aws_ssm_parameter", "parameters"}, std::move(p));
  }

  Body cluster;
  cluster.attribute("name", ref("var.cluster_name"));
  Body insights;
  insights.attribute("name", Value::string("containerInsights"));
  insights.attribute("value", ref("var.container_insights ? \"enabled\" : \"disabled\""));
  cluster.block("setting", {}, std::move(insights));
  main.block("resource", {"aws_ecs_cluster", "main"}, std::move(cluster));
  Body capacity;
  capacity.attribute("cluster_name", ref("aws_ecs_cluster.main.name"));
  capacity.attribute("capacity_providers", strings({"FARGATE", "FARGATE_SPOT"}));
  main.block("resource", {"aws_ecs_cluster_capacity_providers", "main"}, std::move(capacity));

  // The tasks' network: the services reach each other on their ports, and
  // the world (ECR, CloudWatch, SSM) through whatever the subnets route to.
  Body sg;
  sg.attribute("name", Value::templ(prefix() + "-tasks"));
  sg.attribute("description", Value::templ("The tasks of " + prefix()));
  sg.attribute("vpc_id", ref("var.vpc_id"));
  main.block("resource", {"aws_security_group", "tasks"}, std::move(sg));
  for (const ServiceInfo& info : services_) {
    if (info.base->port <= 0) continue;
    Body rule;
    rule.attribute("security_group_id", ref("aws_security_group.tasks.id"));
    rule.attribute("referenced_security_group_id", ref("aws_security_group.tasks.id"));
    rule.attribute("ip_protocol", Value::string("tcp"));
    rule.attribute("from_port", Value::number(info.base->port));
    rule.attribute("to_port", Value::number(info.base->port));
    rule.attribute("description", Value::templ(templateBody(info.base->name) + " from the other tasks"));
    main.block("resource", {"aws_vpc_security_group_ingress_rule", info.id}, std::move(rule));
  }
  Body egress;
  egress.attribute("security_group_id", ref("aws_security_group.tasks.id"));
  egress.attribute("ip_protocol", Value::string("-1"));
  egress.attribute("cidr_ipv4", Value::string("0.0.0.0/0"));
  main.block("resource", {"aws_vpc_security_group_egress_rule", "all"}, std::move(egress));

  if (discovery_) {
    Body ns;
    ns.attribute("name", ref("var.namespace"));
    ns.attribute("vpc", ref("var.vpc_id"));
    main.block("resource", {"aws_service_discovery_private_dns_namespace", "main"}, std::move(ns));
  }
  for (const ServiceInfo& info : services_) addService(main, info);
  return main.render();
}

Body variable(std::string_view description, Value type) {
  Body v;
  v.attribute("description", Value::string(description));
  v.attribute("type", std::move(type));
  return v;
}

std::string Exporter::variablesTf() const {
  Body out;
  out.comment(header("the variables") + "\n" +
              "environments/<env>.tfvars sets them for each environment, except vpc_id and subnet_ids.");
  out.blank();
  Body project = variable("The stack's project", ref("string"));
  project.attribute("default", Value::string(file_.project));
  out.block("variable", {"project"}, std::move(project));
  out.block("variable", {"environment"}, variable("The environment: dev, prod, ...", ref("string")));
  out.block("variable", {"region"}, variable("The AWS region", ref("string")));
  out.block("variable", {"cluster_name"}, variable("The ECS cluster's name", ref("string")));
  out.block("variable", {"namespace"}, variable("The Cloud Map private DNS namespace (dev.local)", ref("string")));
  out.block("variable", {"container_insights"}, variable("CloudWatch Container Insights on the cluster", ref("bool")));
  out.block("variable", {"log_retention_days"}, variable("How long the services' logs are kept", ref("number")));
  out.block(
      "variable", {"tags"},
      variable("Tags of the ECS services and their tasks (\"${account}\" is the account id)", ref("map(string)")));
  out.block("variable", {"vpc_id"}, variable("The VPC the tasks run in (not made by this module)", ref("string")));
  out.block(
      "variable", {"subnet_ids"},
      variable("The subnets of the tasks, private ones with a route to ECR, CloudWatch and SSM", ref("list(string)")));
  Body parameters =
      variable("SSM parameters by name (\"${account}\" in a value is the account id)",
               Value::call("map", Value::call("object", Value::object({{"type", ref("string")},
                                                                       {"value", ref("string")},
                                                                       {"description", ref("string")}}))));
  if (secure_parameters_) parameters.attribute("sensitive", Value::boolean(true));
  out.block("variable", {"parameters"}, std::move(parameters));

  for (const ServiceInfo& info : services_) {
    Value autoscaling = Value::call("object", Value::object({{"cpu_target", ref("number")},
                                                             {"memory_target", ref("number")},
                                                             {"min", ref("number")},
                                                             {"max", ref("number")},
                                                             {"scale_out_cooldown", ref("number")},
                                                             {"scale_in_cooldown", ref("number")}}));
    Value type = Value::call("object", Value::object({{"image", ref("string")},
                                                      {"cpu", ref("number")},
                                                      {"memory", ref("number")},
                                                      {"desired_count", ref("number")},
                                                      {"capacity_provider", ref("string")},
                                                      {"environment", ref("map(string)")},
                                                      {"autoscaling", std::move(autoscaling)}}));
    Body v = variable(fmt::format("The {} service in this environment (autoscaling null: a fixed count; "
                                  "\"${{account}}\" in the image or environment is the account id)",
                                  info.base->name),
                      std::move(type));
    Body validation;
    validation.attribute(
        "condition", ref(fmt::format("contains([\"FARGATE\", \"FARGATE_SPOT\"], var.{}.capacity_provider)", info.var)));
    validation.attribute("error_message", Value::string("capacity_provider is FARGATE or FARGATE_SPOT."));
    v.block("validation", {}, std::move(validation));
    out.block("variable", {info.var}, std::move(v));
  }
  return out.render();
}

std::string Exporter::outputsTf() const {
  Body out;
  out.comment(header("the outputs"));
  out.blank();
  auto output = [&out](std::string name, std::string_view description, Value value) {
    Body o;
    o.attribute("description", Value::string(description));
    o.attribute("value", std::move(value));
    out.block("output", {std::move(name)}, std::move(o));
  };
  output("cluster_name", "The ECS cluster", ref("aws_ecs_cluster.main.name"));
  Entries services, logs, discovery, repos;
  for (const ServiceInfo& info : services_) {
    services.emplace_back(info.base->name, ref(fmt::format("aws_ecs_service.{}.name", info.id)));
    logs.emplace_back(info.base->name, ref(fmt::format("aws_cloudwatch_log_group.{}.name", info.id)));
    if (info.base->discovery)
      discovery.emplace_back(
          info.base->name,
          Value::templ(fmt::format("${{aws_service_discovery_service.{}.name}}.${{aws_service_discovery_private_dns_"
                                   "namespace.main.name}}",
                                   info.id)));
  }
  for (const std::string& repo : repositories())
    repos.emplace_back(withoutPlaceholders(repo), ref(fmt::format("aws_ecr_repository.{}.repository_url",
                                                                  hcl::identifier(withoutPlaceholders(repo)))));
  output("service_names", "The ECS services, by the stack's service names", Value::object(std::move(services)));
  output("ecr_repository_urls", "Where to push the images", Value::object(std::move(repos)));
  output("log_group_names", "The services' CloudWatch log groups", Value::object(std::move(logs)));
  if (discovery_)
    output("discovery_names", "The services' names in Cloud Map DNS", Value::object(std::move(discovery)));
  return out.render();
}

std::string Exporter::tfvars(const Environment& env) const {
  const EnvironmentSpec& spec =
      *std::ranges::find_if(file_.environment_specs, [&](const EnvironmentSpec& e) { return e.name == env.name; });
  Body out;
  out.comment(header(fmt::format("the {} environment", env.name)) + "\n" +
              fmt::format("terraform plan -var-file=environments/{}.tfvars", env.name) + "\n" +
              "\"$${account}\" stands for the account id: the module puts it in.\n\n" +
              "The VPC is not the stack's: name it here or with -var.\n" + "vpc_id     = \"vpc-0123456789abcdef0\"\n" +
              "subnet_ids = [\"subnet-0123456789abcdef0\", \"subnet-0fedcba9876543210\"]");
  out.blank();
  out.attribute("environment", Value::string(env.name));
  out.attribute("region", Value::string(env.region));
  out.attribute("cluster_name", Value::string(env.cluster));
  out.attribute("namespace", Value::string(env.namespace_name));
  out.attribute("container_insights", Value::boolean(env.container_insights));
  out.attribute(
      "log_retention_days",
      Value::number(static_cast<long long>(spec.log_retention_days.value_or(file_.log_retention_days.value_or(7)))));
  Entries tags;
  for (const auto& [k, v] : env.tags) tags.emplace_back(k, Value::string(v));
  out.attribute("tags", Value::object(std::move(tags)));
  out.blank();
  Entries parameters;
  for (const Parameter& p : env.parameters)
    parameters.emplace_back(
        p.name, Value::object({{"type", Value::string(p.type)},
                               {"value", Value::string(p.value)},
                               {"description", p.description.empty() ? Value::null() : Value::string(p.description)}}));
  out.attribute("parameters", Value::object(std::move(parameters)));

  for (const ServiceInfo& info : services_) {
    const Service& s = *std::ranges::find_if(env.services, [&](const Service& x) { return x.name == info.base->name; });
    Entries environment;
    for (const auto& [k, v] : s.environment) environment.emplace_back(k, Value::string(v));
    Value autoscaling = Value::null();
    if (s.autoscaling) {
      const Autoscaling& a = *s.autoscaling;
      auto target = [](const std::optional<double>& t) { return t ? Value::number(*t) : Value::null(); };
      autoscaling = Value::object({{"cpu_target", target(a.cpu_target)},
                                   {"memory_target", target(a.memory_target)},
                                   {"min", Value::number(static_cast<long long>(a.min))},
                                   {"max", Value::number(static_cast<long long>(a.max))},
                                   {"scale_out_cooldown", Value::number(static_cast<long long>(a.scale_out_cooldown))},
                                   {"scale_in_cooldown", Value::number(static_cast<long long>(a.scale_in_cooldown))}});
    }
    out.blank();
    out.attribute(info.var,
                  Value::object({{"image", Value::string(imageUri(env, s.image, RenderOptions{"${account}"}))},
                                 {"cpu", Value::number(static_cast<long long>(s.cpu))},
                                 {"memory", Value::number(static_cast<long long>(s.memory))},
                                 {"desired_count", Value::number(static_cast<long long>(s.count))},
                                 {"capacity_provider", Value::string(s.capacity_provider)},
                                 {"environment", Value::object(std::move(environment))},
                                 {"autoscaling", std::move(autoscaling)}}));
  }
  return out.render();
}

}  // namespace

Result<std::vector<ExportedFile>> exportTerraform(const StackFile& file, const std::vector<std::string>& environments) {
  // The module covers every environment; the tfvars only those asked for.
  std::vector<Environment> envs;
  for (const std::string& name : file.environments) envs.push_back(BERTH_TRY(resolve(file, name, "${account}")));
  std::vector<std::string> wanted;
  for (const std::string& name : environments.empty() ? file.environments : environments) {
    if (std::ranges::find(wanted, name) != wanted.end()) continue;
    if (std::ranges::find(file.environments, name) == file.environments.end()) {
      // kNotFound, naming the environments there are.
      if (auto missing = resolve(file, name); !missing) return std::unexpected(missing.error());
    }
    wanted.push_back(name);
  }
  Exporter exporter(file, envs);
  std::vector<ExportedFile> out{
      {"main.tf", exporter.mainTf()}, {"variables.tf", exporter.variablesTf()}, {"outputs.tf", exporter.outputsTf()}};
  for (const std::string& name : wanted)
    for (const Environment& env : envs)
      if (env.name == name) out.push_back({fmt::format("environments/{}.tfvars", name), exporter.tfvars(env)});
  return out;
}

}  // namespace berth::stack
