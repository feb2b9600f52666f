// The stack model: what a berth.yaml stack file declares (docs/stack-file.md).
//
// Two layers:
//   - the parsed file (StackFile): the top-level service definitions plus, per
//     environment, the overrides it declares (EnvironmentSpec), with `${...}`
//     placeholders still in the strings;
//   - one resolved environment (Environment): defaults and that
//     environment's overrides applied, `${env}`/`${project}`/`${region}`/
//     `${account}` substituted. This is what plan/apply and the resource
//     engine consume; it is valid by construction (stack_file.h validates).
//
// Plain values, no behaviour; safe to copy between threads.
#pragma once

#include <map>
#include <optional>
#include <string>
#include <vector>

namespace berth::stack {

// Where something was written: for messages "FILE:LINE:COLUMN: ...".
// line and column are 1-based; 0 when unknown.
struct Location {
  std::string file;
  int line = 0, column = 0;
};

// A container health check. Either `path` (an HTTP GET on the service's port,
// rendered as CMD-SHELL "wget -q -O /dev/null http://localhost:<port><path> ||
// exit 1") or an explicit `command` (the ECS healthCheck.command array, e.g.
// {"CMD-SHELL", "..."}). Exactly one is set. Times in seconds.
struct HealthCheck {
  std::string path;
  std::vector<std::string> command;
  int interval = 30, timeout = 5, retries = 3, start_period = 0;
};

// Target tracking on ECS service metrics (Application Auto Scaling).
// Targets are percentages (1-100); at least one is set. min <= max.
struct Autoscaling {
  std::optional<double> cpu_target, memory_target;
  int min = 1, max = 1;
  int scale_out_cooldown = 300, scale_in_cooldown = 300;  // seconds
};

// ECS deploymentConfiguration.
struct Deployment {
  bool circuit_breaker = true, rollback = true;
  int min_healthy_percent = 100, max_percent = 200;
};

// One Allow statement of a task role's inline policy.
struct PolicyStatement {
  std::vector<std::string> actions, resources;
};

struct Service {
  std::string name;
  // An ECR repository name the stack owns, built from the examples
  // ("durableai/backend", optionally ":tag"; no tag means "latest"), or a
  // full image reference whose first component is a registry host
  // ("public.ecr.aws/nginx/nginx:1.27", "localhost:5000/x").
  std::string image;
  int port = 0;  // container port; 0: none (then no path health check)
  int cpu = 256, memory = 512;
  int count = 1;                              // desired count
  std::string capacity_provider = "FARGATE";  // FARGATE | FARGATE_SPOT
  // berth's extension, not AWS's (docs/services.md): while Fargate Spot has
  // no capacity, a FARGATE_SPOT service places its tasks on FARGATE and
  // moves them back when Spot returns. Rendered as the service tag
  // berth:spot-fallback=FARGATE; no effect with capacity FARGATE.
  bool spot_fallback = false;
  std::optional<HealthCheck> health_check;
  std::map<std::string, std::string> environment;
  std::map<std::string, std::string> secrets;  // env var -> SSM parameter name
  bool discovery = true;                       // <name>.<namespace> in Cloud Map
  std::optional<Autoscaling> autoscaling;
  Deployment deployment;
  std::vector<PolicyStatement> task_role_policy;  // least privilege; empty: no task role
  int log_retention_days = 7;                     // from `logs` at the top level or the environment's
  Location where;                                 // the service's key
};

struct Parameter {
  std::string name;
  std::string type = "String";  // String | SecureString (KMS alias/aws/ssm)
  std::string value, description;
  Location where;
};

// One environment, resolved (defaults + overrides applied, placeholders
// substituted).
struct Environment {
  std::string project, name, region;  // region default us-east-1
  std::string cluster;                // default "<project>-<env>-cluster"
  bool container_insights = false;
  std::string namespace_name;                 // default "<env>.local"
  std::vector<std::string> ecr_repositories;  // repositories the stack owns, sorted
  std::vector<Service> services;              // in file order
  std::vector<Parameter> parameters;          // in file order (top level, then the environment's)
  std::map<std::string, std::string> tags;    // plus Project/Environment/ManagedBy=berth
  // Role names: execution role "<project>-<env>-execution"; a service's task
  // role is task_role_prefix + "-" + service name (default prefix
  // "<project>-<env>", so "<project>-<env>-<service>-task" via taskRoleName).
  std::string execution_role, task_role_prefix;
};

// The name of a service's task role in an environment.
inline std::string taskRoleName(const Environment& env, const Service& s) {
  return env.task_role_prefix + "-" + s.name + "-task";
}

// Per-environment overrides of one service (unset: the top-level value).
struct ServiceOverride {
  std::string name;
  std::optional<std::string> image;
  std::optional<int> cpu, memory, count;
  std::optional<std::string> capacity_provider;
  std::optional<bool> spot_fallback;
  std::optional<Autoscaling> autoscaling;
  bool autoscaling_disabled = false;               // `autoscaling: false`
  std::map<std::string, std::string> environment;  // merged over the top level's
  Location where;
};

// One environment as written in the file.
struct EnvironmentSpec {
  std::string name;
  std::optional<std::string> cluster, namespace_name, region;
  std::optional<bool> container_insights;
  std::map<std::string, std::string> tags;  // merged over the top level's
  std::optional<int> log_retention_days;
  std::vector<Parameter> parameters;  // added; same name replaces the top level's
  std::vector<ServiceOverride> services;
  Location where;
};

// A parsed and validated stack file. Strings may still hold ${...}.
struct StackFile {
  std::string path, project;
  std::vector<std::string> environments;  // names, in file order
  std::string region = "us-east-1";
  std::map<std::string, std::string> tags;
  std::vector<Service> services;  // in file order
  std::vector<Parameter> parameters;
  std::optional<int> log_retention_days;
  std::vector<std::string> repositories;           // explicit; else derived from images
  std::vector<EnvironmentSpec> environment_specs;  // parallel to environments
};

}  // namespace berth::stack
