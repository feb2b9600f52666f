#include "cli/cli.h"

#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <vector>

#include <fmt/format.h>
#include <fmt/ranges.h>
#include <CLI/CLI.hpp>

#include "cli/image_cmd.h"
#include "cli/spot_cmd.h"
#include "cli/stack_cmd.h"
#include "stack/stack_file.h"

namespace berth::cli {
namespace {

constexpr const char* kDefaultEndpoint = "http://127.0.0.1:4566";

// Runs the aws CLI against berthd: `berth aws ecs list-clusters`.
int runAws(const Connection& c, const std::vector<std::string>& args) {
  if (!c.data_dir.empty()) {
    std::string file = c.data_dir + "/credentials";
    setenv("AWS_SHARED_CREDENTIALS_FILE", file.c_str(), 1);
    unsetenv("AWS_ACCESS_KEY_ID");
    unsetenv("AWS_SECRET_ACCESS_KEY");
    unsetenv("AWS_SESSION_TOKEN");
    unsetenv("AWS_PROFILE");
  }
  if (!getenv("AWS_DEFAULT_REGION") && !getenv("AWS_REGION")) setenv("AWS_DEFAULT_REGION", "us-east-1", 1);
  std::vector<std::string> argv_s{"aws", "--endpoint-url", c.endpoint};
  argv_s.insert(argv_s.end(), args.begin(), args.end());
  std::vector<char*> argv;
  for (auto& s : argv_s) argv.push_back(s.data());
  argv.push_back(nullptr);
  const char* aws = getenv("BERTH_AWS_CLI");
  execvp(aws ? aws : "aws", argv.data());
  fmt::print(stderr, "berth: cannot run the aws CLI: {}\n", strerror(errno));
  return 127;
}

// `berth validate`: parses and checks a stack file, all environments or one.
int runValidate(const std::string& file, const std::string& env) {
  auto stack = stack::loadStackFile(file);
  if (!stack) {
    fmt::print(stderr, "{}\n", stack.error().message);
    return 1;
  }
  if (!env.empty()) {
    auto resolved = stack::resolve(*stack, env);
    if (!resolved) {
      fmt::print(stderr, "{}\n", resolved.error().message);
      return 1;
    }
    fmt::print("{} is valid (environment: {}, cluster {}, namespace {})\n", file, env, resolved->cluster,
               resolved->namespace_name);
    for (const stack::Service& s : resolved->services) {
      fmt::print("  {}: {} cpu {} memory {} count {} on {}{}\n", s.name, s.image, s.cpu, s.memory, s.count,
                 s.capacity_provider,
                 s.autoscaling ? fmt::format(", autoscaling {}-{}", s.autoscaling->min, s.autoscaling->max) : "");
    }
    return 0;
  }
  fmt::print("{} is valid (environments: {})\n", file, fmt::join(stack->environments, ", "));
  return 0;
}

}  // namespace

std::string resolveEndpoint(const std::string& flag_value, const std::string& data_dir) {
  if (!flag_value.empty()) return flag_value;
  if (const char* env = getenv("BERTH_ENDPOINT"); env && *env) return env;
  if (!data_dir.empty()) {
    std::ifstream in(data_dir + "/endpoint");
    std::string line;
    if (std::getline(in, line) && !line.empty()) return line;
  }
  return kDefaultEndpoint;
}

int run(int argc, char** argv) {
  CLI::App app{"berth: AWS ECS on Fargate, on one Linux machine"};
  app.require_subcommand(1);
  std::string endpoint_flag, data_dir;
  app.add_option(
      "--endpoint", endpoint_flag,
      "berthd's URL (default $BERTH_ENDPOINT or http://127.0.0.1:4566), or `aws` for real AWS (stack commands)");
  app.add_option("--data-dir", data_dir, "use the root credentials of a local berthd's data directory");

  auto* aws = app.add_subcommand("aws", "run the aws CLI against berthd");
  // Everything after `aws` goes to the aws CLI as it is, in order.
  aws->prefix_command();

  ImageFlags image_flags;
  auto* image = addImageCommands(app, image_flags);

  SpotFlags spot_flags;
  auto* spot = addSpotCommands(app, spot_flags);

  auto* validate = app.add_subcommand("validate", "check a stack file (berth.yaml)");
  std::string stack_path = "berth.yaml", stack_env;
  validate->add_option("-f,--file", stack_path, "the stack file (default ./berth.yaml)");
  validate->add_option("--env", stack_env, "resolve and show one environment");

  StackFlags stack_flags;
  addStackCommands(app, stack_flags);

  auto* version = app.add_subcommand("version", "print the version");
  CLI11_PARSE(app, argc, argv);

  Connection c{resolveEndpoint(endpoint_flag, data_dir), data_dir};
  if (version->parsed()) {
    fmt::print("berth 0.1.0\n");
    return 0;
  }
  if (validate->parsed()) return runValidate(stack_path, stack_env);
  if (int rc = runStackCommand(c, app, stack_flags); rc >= 0) return rc;
  if (image->parsed()) return runImage(c, *image, image_flags);
  if (spot->parsed()) return runSpot(c, *spot, spot_flags);
  if (aws->parsed()) {
    std::vector<std::string> args = aws->remaining();
    if (args.empty()) {
      fmt::print(stderr, "berth aws: give the aws CLI's arguments, e.g. berth aws ecs list-clusters\n");
      return 2;
    }
    return runAws(c, args);
  }
  return 0;
}

}  // namespace berth::cli
