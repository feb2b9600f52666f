#include "stack/stack_file.h"

#include <gmock/gmock.h>
#include <gtest/gtest.h>

#include <filesystem>

#include "stack/fargate.h"

namespace berth::stack {
namespace {

using ::testing::ElementsAre;
using ::testing::HasSubstr;
using ::testing::Pair;

std::string examplePath() {
  auto here = std::filesystem::path(__FILE__).parent_path() / "../../../examples/durableai/berth.yaml";
  if (std::filesystem::exists(here)) return here.string();
  if (const char* src = std::getenv("BERTH_SOURCE_DIR")) {
    return (std::filesystem::path(src) / "examples/durableai/berth.yaml").string();
  }
  return here.string();
}

// The problems reported for `yaml`, one "f.yaml:L:C: text" per line.
std::string errorsOf(std::string_view yaml) {
  auto file = parseStackFile(yaml, "f.yaml");
  if (file) return "(no errors)";
  EXPECT_EQ(file.error().code, ErrorCode::kInvalidArgument);
  return file.error().message;
}

// A valid file with one service, to which the tests append.
constexpr std::string_view kHeader =
    "project: demo\n"            // 1
    "services:\n"                // 2
    "  backend:\n"               // 3
    "    image: demo/backend\n"  // 4
    "    port: 8000\n";          // 5
constexpr std::string_view kEnvironments =
    "environments:\n"
    "  dev:\n";

std::string withService(std::string_view service_lines, std::string_view rest = kEnvironments) {
  return std::string(kHeader) + std::string(service_lines) + std::string(rest);
}

Environment resolveOrDie(const StackFile& file, std::string_view env) {
  auto r = resolve(file, env);
  EXPECT_TRUE(r) << r.error().message;
  return r ? *r : Environment{};
}

const Service& service(const Environment& env, std::string_view name) {
  for (const Service& s : env.services) {
    if (s.name == name) return s;
  }
  static const Service kNone;
  ADD_FAILURE() << "no service " << name;
  return kNone;
}

// ---------------------------------------------------------------------------
// The durableai example expresses the seed exactly.

TEST(StackFileTest, ExampleDevMatchesTheSeed) {
  auto file = loadStackFile(examplePath());
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_EQ(file->project, "durableai");
  EXPECT_THAT(file->environments, ElementsAre("dev", "prod"));
  Environment dev = resolveOrDie(*file, "dev");
  EXPECT_EQ(dev.cluster, "durableai-dev-cluster");
  EXPECT_FALSE(dev.container_insights);
  EXPECT_EQ(dev.namespace_name, "dev.local");
  EXPECT_EQ(dev.region, "us-east-1");
  EXPECT_THAT(dev.ecr_repositories, ElementsAre("durableai/backend", "durableai/frontend"));
  EXPECT_EQ(dev.execution_role, "durableai-dev-execution");
  ASSERT_EQ(dev.services.size(), 2u);
  EXPECT_EQ(dev.services[0].name, "backend");
  EXPECT_EQ(dev.services[1].name, "frontend");

  const Service& backend = service(dev, "backend");
  EXPECT_EQ(backend.image, "durableai/backend:latest");
  EXPECT_EQ(backend.port, 8000);
  EXPECT_EQ(backend.cpu, 256);
  EXPECT_EQ(backend.memory, 512);
  EXPECT_EQ(backend.count, 1);
  EXPECT_EQ(backend.capacity_provider, "FARGATE_SPOT");
  ASSERT_TRUE(backend.health_check);
  EXPECT_EQ(backend.health_check->path, "/health");
  EXPECT_FALSE(backend.autoscaling);
  EXPECT_TRUE(backend.discovery);
  EXPECT_TRUE(backend.deployment.circuit_breaker);
  EXPECT_TRUE(backend.deployment.rollback);
  EXPECT_EQ(backend.log_retention_days, 7);
  EXPECT_EQ(taskRoleName(dev, backend), "durableai-dev-backend-task");
  ASSERT_EQ(backend.task_role_policy.size(), 1u);
  EXPECT_THAT(backend.task_role_policy[0].actions, ElementsAre("ssm:GetParameter"));
  EXPECT_THAT(backend.task_role_policy[0].resources,
              ElementsAre("arn:aws:ssm:us-east-1:000000000000:parameter/durableai/dev/greeting"));
  EXPECT_EQ(backend.environment.at("GREETING_PARAMETER"), "/durableai/dev/greeting");

  const Service& frontend = service(dev, "frontend");
  EXPECT_EQ(frontend.port, 3000);
  EXPECT_EQ(frontend.cpu, 256);
  EXPECT_EQ(frontend.memory, 512);
  EXPECT_EQ(frontend.count, 1);
  EXPECT_EQ(frontend.capacity_provider, "FARGATE_SPOT");
  ASSERT_TRUE(frontend.health_check);
  EXPECT_EQ(frontend.health_check->path, "/");
  EXPECT_TRUE(frontend.task_role_policy.empty());
  EXPECT_TRUE(frontend.deployment.circuit_breaker);

  ASSERT_EQ(dev.parameters.size(), 1u);
  EXPECT_EQ(dev.parameters[0].name, "/durableai/dev/greeting");
  EXPECT_EQ(dev.parameters[0].type, "SecureString");
  EXPECT_EQ(dev.tags.at("Project"), "durableai");
  EXPECT_EQ(dev.tags.at("Environment"), "dev");
  EXPECT_EQ(dev.tags.at("ManagedBy"), "berth");
}

TEST(StackFileTest, ExampleProdMatchesTheSeed) {
  auto file = loadStackFile(examplePath());
  ASSERT_TRUE(file) << file.error().message;
  Environment prod = resolveOrDie(*file, "prod");
  EXPECT_EQ(prod.cluster, "durableai-prod-cluster");
  EXPECT_TRUE(prod.container_insights);
  EXPECT_EQ(prod.namespace_name, "prod.local");
  const Service& backend = service(prod, "backend");
  EXPECT_EQ(backend.cpu, 512);
  EXPECT_EQ(backend.memory, 1024);
  EXPECT_EQ(backend.count, 2);
  EXPECT_EQ(backend.capacity_provider, "FARGATE");
  EXPECT_EQ(backend.log_retention_days, 30);
  ASSERT_TRUE(backend.autoscaling);
  EXPECT_EQ(backend.autoscaling->cpu_target, 60.0);
  EXPECT_FALSE(backend.autoscaling->memory_target);
  EXPECT_EQ(backend.autoscaling->min, 1);
  EXPECT_EQ(backend.autoscaling->max, 4);
  EXPECT_EQ(backend.autoscaling->scale_out_cooldown, 120);
  EXPECT_EQ(backend.autoscaling->scale_in_cooldown, 300);
  EXPECT_THAT(backend.task_role_policy[0].resources,
              ElementsAre("arn:aws:ssm:us-east-1:000000000000:parameter/durableai/prod/greeting"));
  const Service& frontend = service(prod, "frontend");
  EXPECT_EQ(frontend.cpu, 256);
  EXPECT_EQ(frontend.memory, 512);
  EXPECT_EQ(frontend.count, 2);
  EXPECT_EQ(frontend.capacity_provider, "FARGATE");
  EXPECT_EQ(frontend.log_retention_days, 30);
  ASSERT_TRUE(frontend.autoscaling);
  EXPECT_EQ(frontend.autoscaling->max, 4);
  EXPECT_EQ(prod.parameters[0].name, "/durableai/prod/greeting");
  EXPECT_EQ(prod.parameters[0].value, "hello from durableai prod");
}

// ---------------------------------------------------------------------------
// Defaults, overrides and substitution.

TEST(StackFileTest, DefaultsFollowTheProjectAndEnvironment) {
  auto file = parseStackFile(withService(""), "f.yaml");
  ASSERT_TRUE(file) << file.error().message;
  Environment dev = resolveOrDie(*file, "dev");
  EXPECT_EQ(dev.region, "us-east-1");
  EXPECT_EQ(dev.cluster, "demo-dev-cluster");
  EXPECT_EQ(dev.namespace_name, "dev.local");
  EXPECT_FALSE(dev.container_insights);
  EXPECT_EQ(dev.execution_role, "demo-dev-execution");
  EXPECT_EQ(dev.task_role_prefix, "demo-dev");
  EXPECT_THAT(dev.ecr_repositories, ElementsAre("demo/backend"));
  EXPECT_THAT(dev.tags, ElementsAre(Pair("Environment", "dev"), Pair("ManagedBy", "berth"), Pair("Project", "demo")));
  const Service& s = dev.services.at(0);
  EXPECT_EQ(s.cpu, 256);
  EXPECT_EQ(s.memory, 512);
  EXPECT_EQ(s.count, 1);
  EXPECT_EQ(s.capacity_provider, "FARGATE");
  EXPECT_EQ(s.log_retention_days, 7);
  EXPECT_EQ(s.deployment.min_healthy_percent, 100);
  EXPECT_EQ(s.deployment.max_percent, 200);
  EXPECT_EQ(s.where.line, 3);
  EXPECT_EQ(s.where.column, 3);
}

TEST(StackFileTest, SubstitutesPlaceholders) {
  auto file = parseStackFile(
      "project: shop\n"
      "region: eu-west-1\n"
      "tags: {Stage: '${env}'}\n"
      "services:\n"
      "  api:\n"
      "    image: 123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:${env}\n"
      "    environment: {DB: '/${project}/${env}/db', WHERE: '${region}'}\n"
      "    secrets: {TOKEN: '/${project}/${env}/token'}\n"
      "    task_role_policy:\n"
      "      - actions: ssm:GetParameter\n"
      "        resources: 'arn:aws:ssm:${region}:${account}:parameter/${project}/${env}/token'\n"
      "parameters:\n"
      "  /${project}/${env}/db: {value: 'db.${env}.local', description: 'for ${env}'}\n"
      "environments:\n"
      "  staging:\n"
      "    region: us-west-2\n"
      "    cluster: ${project}-${env}\n"
      "    namespace: ${env}.${project}.internal\n",
      "f.yaml");
  ASSERT_TRUE(file) << file.error().message;
  auto env = resolve(*file, "staging", "111122223333");
  ASSERT_TRUE(env) << env.error().message;
  EXPECT_EQ(env->region, "us-west-2");
  EXPECT_EQ(env->cluster, "shop-staging");
  EXPECT_EQ(env->namespace_name, "staging.shop.internal");
  EXPECT_EQ(env->tags.at("Stage"), "staging");
  const Service& api = env->services.at(0);
  EXPECT_EQ(api.image, "123456789012.dkr.ecr.eu-west-1.amazonaws.com/shop/api:staging");
  EXPECT_TRUE(env->ecr_repositories.empty());  // a full reference: not owned
  EXPECT_EQ(api.environment.at("DB"), "/shop/staging/db");
  EXPECT_EQ(api.environment.at("WHERE"), "us-west-2");
  EXPECT_EQ(api.secrets.at("TOKEN"), "/shop/staging/token");
  EXPECT_THAT(api.task_role_policy.at(0).resources,
              ElementsAre("arn:aws:ssm:us-west-2:111122223333:parameter/shop/staging/token"));
  ASSERT_EQ(env->parameters.size(), 1u);
  EXPECT_EQ(env->parameters[0].name, "/shop/staging/db");
  EXPECT_EQ(env->parameters[0].type, "String");
  EXPECT_EQ(env->parameters[0].value, "db.staging.local");
  EXPECT_EQ(env->parameters[0].description, "for staging");
}

TEST(StackFileTest, EnvironmentOverridesMergeOverTheTopLevel) {
  auto file = parseStackFile(withService("    environment: {A: '1', B: '2'}\n"
                                         "    autoscaling: {cpu_target: 50, max: 3}\n",
                                         "parameters:\n"
                                         "  /p: top\n"
                                         "  /q: {type: SecureString, value: s}\n"
                                         "tags: {Team: a, Tier: web}\n"
                                         "logs: {retention_days: 14}\n"
                                         "environments:\n"
                                         "  dev:\n"
                                         "    tags: {Team: b}\n"
                                         "    parameters: {/p: env}\n"
                                         "    services:\n"
                                         "      backend:\n"
                                         "        image: other/image:2\n"
                                         "        environment: {B: '3'}\n"
                                         "        autoscaling: false\n"
                                         "  prod:\n"
                                         "    logs: {retention_days: 90}\n"
                                         "    services:\n"
                                         "      backend: {memory: 2048, autoscaling: {memory_target: 75.5, min: 2, "
                                         "max: 6}}\n"),
                             "f.yaml");
  ASSERT_TRUE(file) << file.error().message;
  Environment dev = resolveOrDie(*file, "dev");
  const Service& d = dev.services.at(0);
  EXPECT_EQ(d.image, "other/image:2");
  EXPECT_THAT(d.environment, ElementsAre(Pair("A", "1"), Pair("B", "3")));
  EXPECT_FALSE(d.autoscaling);
  EXPECT_EQ(d.log_retention_days, 14);
  EXPECT_THAT(dev.ecr_repositories, ElementsAre("other/image"));
  EXPECT_EQ(dev.tags.at("Team"), "b");
  EXPECT_EQ(dev.tags.at("Tier"), "web");
  ASSERT_EQ(dev.parameters.size(), 2u);
  EXPECT_EQ(dev.parameters[0].name, "/q");
  EXPECT_EQ(dev.parameters[1].name, "/p");
  EXPECT_EQ(dev.parameters[1].value, "env");

  Environment prod = resolveOrDie(*file, "prod");
  const Service& p = prod.services.at(0);
  EXPECT_EQ(p.cpu, 256);
  EXPECT_EQ(p.memory, 2048);
  EXPECT_EQ(p.log_retention_days, 90);
  ASSERT_TRUE(p.autoscaling);
  EXPECT_FALSE(p.autoscaling->cpu_target);
  EXPECT_EQ(p.autoscaling->memory_target, 75.5);
  EXPECT_EQ(p.autoscaling->min, 2);
  EXPECT_EQ(p.autoscaling->max, 6);
}

TEST(StackFileTest, SpotFallbackIsOffUnlessSetAndEnvironmentsMayOverrideIt) {
  auto file = parseStackFile(withService("    capacity: FARGATE_SPOT\n"
                                         "    spot_fallback: true\n",
                                         "environments:\n"
                                         "  dev: {}\n"
                                         "  prod:\n"
                                         "    services:\n"
                                         "      backend: {spot_fallback: false}\n"),
                             "f.yaml");
  ASSERT_TRUE(file) << file.error().message;
  EXPECT_TRUE(resolveOrDie(*file, "dev").services.at(0).spot_fallback);
  EXPECT_FALSE(resolveOrDie(*file, "prod").services.at(0).spot_fallback);
  auto plain = parseStackFile(withService(""), "f.yaml");
  ASSERT_TRUE(plain) << plain.error().message;
  EXPECT_FALSE(resolveOrDie(*plain, "dev").services.at(0).spot_fallback);
  EXPECT_THAT(errorsOf(withService("    spot_fallback: sometimes\n")), HasSubstr("f.yaml:6:20: 'spot_fallback'"));
  EXPECT_THAT(errorsOf(withService("    spot_falback: true\n")), HasSubstr("did you mean 'spot_fallback'?"));
}

TEST(StackFileTest, HealthCheckCommandsAndTimings) {
  auto file = parseStackFile(withService("    discovery: false\n"
                                         "    health_check:\n"
                                         "      command: curl -f http://localhost:8000/ || exit 1\n"
                                         "      interval: 10\n"
                                         "      timeout: 3\n"
                                         "      retries: 5\n"
                                         "      start_period: 60\n"),
                             "f.yaml");
  ASSERT_TRUE(file) << file.error().message;
  const Service& s = file->services.at(0);
  ASSERT_TRUE(s.health_check);
  EXPECT_THAT(s.health_check->command, ElementsAre("CMD-SHELL", "curl -f http://localhost:8000/ || exit 1"));
  EXPECT_EQ(s.health_check->interval, 10);
  EXPECT_EQ(s.health_check->timeout, 3);
  EXPECT_EQ(s.health_check->retries, 5);
  EXPECT_EQ(s.health_check->start_period, 60);
  EXPECT_FALSE(s.discovery);
}

TEST(StackFileTest, ResolveUnknownEnvironmentIsNotFound) {
  auto file = parseStackFile(withService(""), "f.yaml");
  ASSERT_TRUE(file);
  auto env = resolve(*file, "prod");
  ASSERT_FALSE(env);
  EXPECT_EQ(env.error().code, ErrorCode::kNotFound);
  EXPECT_EQ(env.error().message, "f.yaml: no environment 'prod' (environments: dev)");
}

TEST(StackFileTest, LoadMissingFileIsIo) {
  auto file = loadStackFile("/nonexistent/berth.yaml");
  ASSERT_FALSE(file);
  EXPECT_EQ(file.error().code, ErrorCode::kIo);
}

// ---------------------------------------------------------------------------
// Errors: each kind, with its exact message and position.

TEST(StackFileErrorsTest, ServicesAndEnvironmentsMustBeNonEmptyMappings) {
  EXPECT_EQ(errorsOf("project: demo\nservices: []\nenvironments: {}\n"),
            "f.yaml:2:11: 'services' must be a mapping of service names to services\n"
            "f.yaml:3:15: 'environments' must be a mapping of environment names (like dev and prod) to their "
            "settings");
}

TEST(StackFileErrorsTest, YamlSyntaxWithPosition) {
  EXPECT_EQ(errorsOf("project: demo\nservices: [unclosed\n"),
            "f.yaml:3:1: invalid YAML: end of sequence flow not found");
  EXPECT_EQ(errorsOf("a: b\n  c: d\n"), "f.yaml:2:4: invalid YAML: illegal map value");
}

TEST(StackFileErrorsTest, NotAMappingAndMissingSections) {
  EXPECT_EQ(errorsOf(""), "f.yaml:1:1: the stack file must be a mapping with 'project', 'services' and 'environments'");
  EXPECT_EQ(errorsOf("- a\n"),
            "f.yaml:1:1: the stack file must be a mapping with 'project', 'services' and 'environments'");
  EXPECT_EQ(errorsOf("region: us-east-1\n"),
            "f.yaml:1:1: the stack file has no 'environments'\n"
            "f.yaml:1:1: the stack file has no 'project'\n"
            "f.yaml:1:1: the stack file has no 'services'");
  EXPECT_EQ(errorsOf("project: demo\nservices:\n  backend:\n    port: 80\nenvironments: {dev: }\n"),
            "f.yaml:3:3: service 'backend' has no 'image'");
}

TEST(StackFileErrorsTest, UnknownKeysAllReportedWithSuggestions) {
  EXPECT_EQ(errorsOf("projet: demo\n"
                     "services:\n"
                     "  backend:\n"
                     "    image: demo/backend\n"
                     "    memroy: 512\n"
                     "    helth_check: {path: /}\n"
                     "    zzzzzz: 1\n"
                     "    deployment: {circuitbreaker: true}\n"
                     "environments:\n"
                     "  dev:\n"
                     "    clustr: x\n"
                     "    services:\n"
                     "      backend: {cuont: 2}\n"),
            "f.yaml:1:1: the stack file has no 'project'\n"
            "f.yaml:1:1: unknown key 'projet' in the stack file; did you mean 'project'?\n"
            "f.yaml:5:5: unknown key 'memroy' in service 'backend'; did you mean 'memory'?\n"
            "f.yaml:6:5: unknown key 'helth_check' in service 'backend'; did you mean 'health_check'?\n"
            "f.yaml:7:5: unknown key 'zzzzzz' in service 'backend'\n"
            "f.yaml:8:18: unknown key 'circuitbreaker' in deployment of service 'backend'; did you mean "
            "'circuit_breaker'?\n"
            "f.yaml:11:5: unknown key 'clustr' in environment 'dev'; did you mean 'cluster'?\n"
            "f.yaml:13:17: unknown key 'cuont' in service 'backend' of environment 'dev'; did you mean 'count'?");
}

TEST(StackFileErrorsTest, DuplicateKeys) {
  EXPECT_EQ(errorsOf(withService("    port: 80\n")), "f.yaml:6:5: duplicate key 'port' in service 'backend'");
}

TEST(StackFileErrorsTest, WrongTypes) {
  EXPECT_EQ(errorsOf(withService("    cpu: lots\n"
                                 "    discovery: yes\n"
                                 "    environment: [A]\n"
                                 "    deployment: 3\n"
                                 "    health_check: {path: [/]}\n")),
            "f.yaml:6:10: 'cpu' in service 'backend' must be an integer, not 'lots'\n"
            "f.yaml:7:16: 'discovery' in service 'backend' must be true or false, not 'yes'\n"
            "f.yaml:8:18: 'environment' in service 'backend' must be a mapping\n"
            "f.yaml:9:17: deployment of service 'backend' must be a mapping\n"
            "f.yaml:10:26: 'path' in health_check of service 'backend' must be a string");
}

TEST(StackFileErrorsTest, FargateSizes) {
  EXPECT_EQ(errorsOf(withService("    cpu: 300\n")),
            "f.yaml:6:10: Invalid 'cpu' setting for task: 300 in service 'backend'; Fargate's CPU values are 256, "
            "512, 1024, 2048, 4096, 8192, 16384");
  EXPECT_EQ(errorsOf(withService("    cpu: 256\n    memory: 4096\n")),
            "f.yaml:7:13: service 'backend': No Fargate configuration exists for given values: 256 CPU, 4096 memory. "
            "See the Amazon ECS documentation for the valid values. With 256 CPU, memory may be 512 (0.5 GB), 1024 "
            "(1 GB), 2048 (2 GB).");
  // An override is checked against the top level's other half, at the override.
  EXPECT_EQ(errorsOf(withService("", "environments:\n  prod:\n    services:\n      backend: {cpu: 1024}\n")),
            "f.yaml:9:22: service 'backend' in environment 'prod': No Fargate configuration exists for given values: "
            "1024 CPU, 512 memory. See the Amazon ECS documentation for the valid values. With 1024 CPU, memory may "
            "be 2048 (2 GB) to 8192 (8 GB) in steps of 1024.");
  // A top-level size every environment overrides is not checked.
  EXPECT_EQ(errorsOf(withService("    memory: 8192\n",
                                 "environments:\n  prod:\n    services:\n      backend: {cpu: 1024, memory: 2048}\n")),
            "(no errors)");
}

TEST(StackFileErrorsTest, Ranges) {
  EXPECT_EQ(errorsOf("project: demo\n"
                     "services:\n"
                     "  backend:\n"
                     "    image: demo/backend\n"
                     "    port: 0\n"
                     "    count: -1\n"
                     "    capacity: SPOT\n"
                     "    deployment: {min_healthy_percent: 101, max_percent: 99}\n"
                     "    health_check: {path: /, interval: 1, retries: 11}\n"
                     "environments: {dev: }\n"),
            "f.yaml:5:11: 'port' in service 'backend' must be between 1 and 65535, not 0\n"
            "f.yaml:6:12: 'count' in service 'backend' must be between 0 and 5000, not -1\n"
            "f.yaml:7:15: 'capacity' in service 'backend' must be FARGATE or FARGATE_SPOT, not 'SPOT'\n"
            "f.yaml:8:39: 'min_healthy_percent' in deployment of service 'backend' must be between 0 and 100, not 101\n"
            "f.yaml:8:57: 'max_percent' in deployment of service 'backend' must be between 100 and 200, not 99\n"
            "f.yaml:9:39: 'interval' in health_check of service 'backend' must be between 5 and 300, not 1\n"
            "f.yaml:9:51: 'retries' in health_check of service 'backend' must be between 1 and 10, not 11");
}

TEST(StackFileErrorsTest, Autoscaling) {
  EXPECT_EQ(errorsOf(withService("    autoscaling: {cpu_target: 60, min: 5, max: 4}\n")),
            "f.yaml:6:18: autoscaling of service 'backend': min (5) must not be greater than max (4)");
  EXPECT_EQ(errorsOf(withService("    autoscaling: {cpu_target: 0, memory_target: 100.5}\n")),
            "f.yaml:6:31: 'cpu_target' in autoscaling of service 'backend' must be between 1 and 100, not 0\n"
            "f.yaml:6:49: 'memory_target' in autoscaling of service 'backend' must be between 1 and 100, not 100.5");
  EXPECT_EQ(errorsOf(withService("    autoscaling: {max: 4}\n")),
            "f.yaml:6:18: autoscaling of service 'backend' needs 'cpu_target' or 'memory_target' (a percentage)");
  EXPECT_EQ(errorsOf(withService("", "environments:\n  prod:\n    services:\n      backend: {autoscaling: true}\n")),
            "f.yaml:9:30: 'autoscaling' in service 'backend' of environment 'prod' must be a mapping, or false to "
            "turn it off");
}

TEST(StackFileErrorsTest, Names) {
  EXPECT_EQ(errorsOf("project: Demo\n"
                     "services:\n"
                     "  Backend_1: {image: demo/backend}\n"
                     "environments:\n"
                     "  Dev: {}\n"),
            "f.yaml:1:10: project name 'Demo' must be 1-32 characters of a-z, 0-9 and '-', starting with a letter\n"
            "f.yaml:3:3: service name 'Backend_1' must be 1-255 characters of a-z, 0-9 and '-', starting with a "
            "letter\n"
            "f.yaml:5:3: environment name 'Dev' must be 1-32 characters of a-z, 0-9 and '-', starting with a letter");
  std::string long_name(256, 'a');
  EXPECT_THAT(errorsOf("project: demo\nservices:\n  " + long_name + ": {image: demo/x}\nenvironments: {dev: }\n"),
              HasSubstr("f.yaml:3:3: service name '" + long_name.substr(0, 255) + "' must be 1-255 characters"));
}

TEST(StackFileErrorsTest, OverridesOfUnknownServices) {
  EXPECT_EQ(errorsOf(withService("",
                                 "environments:\n  prod:\n    services:\n      backnd: {count: 2}\n"
                                 "      other: {count: 2}\n")),
            "f.yaml:9:7: environment 'prod' overrides unknown service 'backnd'; did you mean 'backend'?\n"
            "f.yaml:10:7: environment 'prod' overrides unknown service 'other'");
}

TEST(StackFileErrorsTest, Placeholders) {
  EXPECT_EQ(errorsOf(withService("    environment: {A: '${stage}', B: '${env'}\n")),
            "f.yaml:6:22: unknown placeholder '${stage}' in 'A' of 'environment' of service 'backend'; use ${env}, "
            "${project}, ${region} or ${account}\n"
            "f.yaml:6:37: unterminated placeholder in 'B' of 'environment' of service 'backend'");
  EXPECT_EQ(errorsOf("project: ${env}\nservices: {a: {image: x/a}}\nenvironments: {dev: }\n"),
            "f.yaml:1:10: 'project' in the stack file cannot use placeholders");
}

TEST(StackFileErrorsTest, ParametersImagesTagsAndLogs) {
  EXPECT_EQ(errorsOf(withService("    image: Demo/Backend\n",
                                 "parameters:\n"
                                 "  db-url/x: {type: StringList, value: a}\n"
                                 "  /ok: {description: no value}\n"
                                 "tags: {Project: x, 'aws:x': y}\n"
                                 "logs: {retention_days: 10}\n"
                                 "environments: {dev: }\n")),
            "f.yaml:6:5: duplicate key 'image' in service 'backend'\n"
            "f.yaml:8:3: 'db-url/x' is not a valid SSM parameter name: use letters, digits and _.-/, starting with '/' "
            "when hierarchical\n"
            "f.yaml:8:20: 'type' of parameter 'db-url/x' must be String or SecureString, not 'StringList'\n"
            "f.yaml:9:3: parameter '/ok' has no 'value'\n"
            "f.yaml:10:7: tag 'Project' in the stack file is set by berth\n"
            "f.yaml:10:7: tag 'aws:x' in the stack file: the aws: prefix is reserved\n"
            "f.yaml:11:24: 'retention_days' in logs of the stack file must be one of CloudWatch Logs' values (1, 3, 5, "
            "7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827, 2192, 2557, 2922, 3288, 3653), not 10");
  EXPECT_EQ(errorsOf("project: demo\nservices: {web: {image: 'Demo/Web:v 1'}}\nenvironments: {dev: }\n"),
            "f.yaml:2:25: 'image' in service 'web' is not a valid image reference: 'Demo/Web:v 1'");
}

TEST(StackFileErrorsTest, HealthChecksAndPolicies) {
  EXPECT_EQ(errorsOf(withService("    health_check: {path: /, command: 'true'}\n"
                                 "    deployment: {circuit_breaker: false}\n"
                                 "    task_role_policy:\n"
                                 "      - actions: [GetParameter]\n"
                                 "        resources: [parameter/x]\n"
                                 "      - {}\n")),
            "f.yaml:6:19: health_check of service 'backend' sets both 'path' and 'command'; use one\n"
            "f.yaml:7:17: deployment of service 'backend': 'rollback' needs 'circuit_breaker' (set rollback: false)\n"
            "f.yaml:9:18: 'GetParameter' in statement 1 of task_role_policy of service 'backend' is not an IAM action "
            "(like ssm:GetParameter)\n"
            "f.yaml:10:20: resource 'parameter/x' in statement 1 of task_role_policy of service 'backend' must be an "
            "ARN or '*'\n"
            "f.yaml:11:9: statement 2 of task_role_policy of service 'backend' needs 'actions'\n"
            "f.yaml:11:9: statement 2 of task_role_policy of service 'backend' needs 'resources'");
  EXPECT_EQ(errorsOf("project: demo\nservices:\n  web:\n    image: demo/web\n    health_check: {path: /}\n"
                     "environments: {dev: }\n"),
            "f.yaml:3:3: the health_check path of service 'web' needs the service's 'port'");
}

TEST(StackFileErrorsTest, EnvironmentSettings) {
  EXPECT_EQ(errorsOf(withService("",
                                 "environments:\n"
                                 "  dev:\n"
                                 "    cluster: 'my cluster'\n"
                                 "    namespace: Dev_Local\n"
                                 "    region: mars-1\n"
                                 "    container_insights: on\n")),
            "f.yaml:8:14: cluster name 'my cluster' in environment 'dev' must be 1-255 letters, digits, '-' and '_'\n"
            "f.yaml:9:16: namespace 'Dev_Local' in environment 'dev' must be a lowercase DNS name (like dev.local)\n"
            "f.yaml:10:13: 'mars-1' is not an AWS region name (like us-east-1)\n"
            "f.yaml:11:25: 'container_insights' in environment 'dev' must be true or false, not 'on'");
}

TEST(StackFileErrorsTest, HostileInputIsRejectedNotCrashed) {
  EXPECT_THAT(errorsOf(std::string(1000, '[')), HasSubstr("invalid YAML"));
  EXPECT_THAT(errorsOf(std::string((1 << 20) + 1, '#')), HasSubstr("f.yaml:1:1: the file is larger than"));
  EXPECT_THAT(errorsOf("a: &a [x, x]\nb: &b [*a, *a]\nc: [*b, *b]\n"), HasSubstr("unknown key 'a'"));
}

TEST(StackFileErrorsTest, AliasExpansionIsBounded) {
  std::string yaml = "project: demo\nservices:\n  s0:\n    image: x/x\n    environment: &e {";
  for (int i = 0; i < 500; ++i) yaml += (i ? ", A" : "A") + std::to_string(i) + ": a";
  yaml += "}\n";
  for (int i = 1; i < 500; ++i) yaml += "  s" + std::to_string(i) + ": {image: x/x, environment: *e}\n";
  yaml += "environments: {dev: }\n";
  EXPECT_EQ(errorsOf(yaml), "f.yaml:1:1: the file expands to more than 200000 values (through aliases?)");
}

// Found by stack_file_fuzz: a quoted key spanning lines put a newline into a
// message, which must stay one line per problem.
TEST(StackFileErrorsTest, ControlCharactersInMessagesAreEscaped) {
  EXPECT_EQ(errorsOf("project: demo\n\"a\\nb\\t\": 1\nservices: {x: {image: x/x}}\nenvironments: {dev: }\n"),
            "f.yaml:2:1: unknown key 'a\\nb\\x09' in the stack file");
}

// ---------------------------------------------------------------------------
// The Fargate table.

TEST(StackFargateTest, AcceptsExactlyTheTable) {
  int valid = 0;
  for (int cpu : kFargateCpuValues) {
    for (int memory = 512; memory <= 122880; memory += 512) {
      if (!checkFargateSize(cpu, memory)) ++valid;
    }
  }
  // 3 + 4 + 7 + 13 + 23 + 12 + 12
  EXPECT_EQ(valid, 74);
  EXPECT_FALSE(checkFargateSize(256, 512));
  EXPECT_FALSE(checkFargateSize(512, 1024));
  EXPECT_FALSE(checkFargateSize(4096, 30720));
  EXPECT_FALSE(checkFargateSize(8192, 20480));
  EXPECT_FALSE(checkFargateSize(16384, 122880));
  EXPECT_TRUE(checkFargateSize(256, 3072));
  EXPECT_TRUE(checkFargateSize(512, 512));
  EXPECT_TRUE(checkFargateSize(8192, 18432));
  EXPECT_TRUE(checkFargateSize(300, 1024));
  EXPECT_EQ(fargateMemoryChoices(16384), "32768 (32 GB) to 122880 (120 GB) in steps of 8192");
  EXPECT_EQ(fargateMemoryChoices(3), "");
}

}  // namespace
}  // namespace berth::stack
