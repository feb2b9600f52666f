#include "agent/container_plan.h"

#include <algorithm>
#include <cctype>
#include <csignal>
#include <map>
#include <set>

#include <fmt/format.h>

#include "common/json.h"

namespace berth::agent {
namespace {

namespace bj = boost::json;

std::chrono::seconds clampSeconds(std::optional<int64_t> value, int64_t fallback, int64_t lo, int64_t hi) {
  return std::chrono::seconds(std::clamp(value.value_or(fallback), lo, hi));
}

std::optional<std::vector<std::string>> optStringList(const bj::object& o, std::string_view key) {
  if (!json::getArray(o, key)) return std::nullopt;
  return json::stringList(o, key);
}

void appendEnvironment(const bj::object& o, std::vector<std::pair<std::string, std::string>>& out) {
  if (const auto* env = json::getArray(o, "environment"))
    for (const auto& e : *env)
      if (e.is_object())
        out.emplace_back(json::stringOr(e.get_object(), "name"), json::stringOr(e.get_object(), "value"));
}

// Task cpu and memory arrive normalised ("256", "512") from the control plane.
int64_t parseUnits(const bj::object& o, std::string_view key) {
  const bj::value* v = json::find(o, key);
  if (!v) return 0;
  if (v->is_int64()) return v->as_int64();
  if (v->is_string()) {
    try {
      return std::stoll(std::string(v->as_string()));
    } catch (...) {
      return 0;
    }
  }
  return 0;
}

std::optional<DependencyCondition> parseCondition(std::string_view text) {
  if (text == "START") return DependencyCondition::kStart;
  if (text == "COMPLETE") return DependencyCondition::kComplete;
  if (text == "SUCCESS") return DependencyCondition::kSuccess;
  if (text == "HEALTHY") return DependencyCondition::kHealthy;
  return std::nullopt;
}

std::optional<HealthCheckSpec> parseHealthCheck(const bj::object& def) {
  const bj::object* hc = json::getObject(def, "healthCheck");
  if (!hc) return std::nullopt;
  HealthCheckSpec spec;
  spec.command = json::stringList(*hc, "command");
  if (spec.command.empty() || spec.command[0] == "NONE") return std::nullopt;
  spec.interval = clampSeconds(json::getInt(*hc, "interval"), 30, 5, 300);
  spec.timeout = clampSeconds(json::getInt(*hc, "timeout"), 5, 2, 60);
  spec.start_period = clampSeconds(json::getInt(*hc, "startPeriod"), 0, 0, 300);
  spec.retries = static_cast<int>(std::clamp<int64_t>(json::getInt(*hc, "retries").value_or(3), 1, 10));
  return spec;
}

const bj::object* findOverride(const bj::object& overrides, const std::string& name) {
  if (const auto* list = json::getArray(overrides, "containerOverrides"))
    for (const auto& o : *list)
      if (o.is_object() && json::stringOr(o.get_object(), "name") == name) return &o.get_object();
  return nullptr;
}

ContainerPlan planContainer(const bj::object& def, const bj::object* override) {
  ContainerPlan c;
  c.name = json::stringOr(def, "name");
  c.image = json::stringOr(def, "image");
  c.essential = json::getBool(def, "essential").value_or(true);
  c.entry_point = optStringList(def, "entryPoint");
  c.command = optStringList(def, "command");
  appendEnvironment(def, c.environment);
  c.working_directory = json::stringOr(def, "workingDirectory");
  c.user = json::stringOr(def, "user");
  c.read_only_rootfs = json::getBool(def, "readonlyRootFilesystem").value_or(false);
  if (const auto* lp = json::getObject(def, "linuxParameters"))
    c.init_process = json::getBool(*lp, "initProcessEnabled").value_or(false);
  bool nofile = false;
  if (const auto* ulimits = json::getArray(def, "ulimits"))
    for (const auto& u : *ulimits) {
      if (!u.is_object()) continue;
      const auto& uo = u.get_object();
      runtime::Ulimit limit{json::stringOr(uo, "name"),
                            static_cast<uint64_t>(json::getInt(uo, "softLimit").value_or(0)),
                            static_cast<uint64_t>(json::getInt(uo, "hardLimit").value_or(0))};
      nofile |= limit.name == "nofile";
      c.ulimits.push_back(std::move(limit));
    }
  // Fargate's default open-files limit (soft and hard 65535).
  if (!nofile) {
    c.ulimits.push_back(runtime::Ulimit{"nofile", 65535, 65535});
    c.default_nofile = true;
  }
  c.cpu = static_cast<int>(json::getInt(def, "cpu").value_or(0));
  c.memory_mib = json::getInt(def, "memory").value_or(0);
  c.memory_reservation_mib = json::getInt(def, "memoryReservation").value_or(0);
  if (const auto* deps = json::getArray(def, "dependsOn"))
    for (const auto& d : *deps) {
      if (!d.is_object()) continue;
      auto condition = parseCondition(json::stringOr(d.get_object(), "condition"));
      if (condition) c.depends_on.push_back(Dependency{json::stringOr(d.get_object(), "containerName"), *condition});
    }
  if (auto t = json::getInt(def, "startTimeout")) c.start_timeout = clampSeconds(t, 0, 2, 120);
  c.stop_timeout = clampSeconds(json::getInt(def, "stopTimeout"), 30, 2, 120);
  c.health_check = parseHealthCheck(def);
  if (const auto* log = json::getObject(def, "logConfiguration")) {
    c.log_driver = json::stringOr(*log, "logDriver");
    if (const auto* options = json::getObject(*log, "options"))
      for (const auto& [key, value] : *options)
        if (value.is_string()) c.log_options[std::string(key)] = std::string(value.get_string());
  }

  if (override) {
    if (auto command = optStringList(*override, "command")) c.command = std::move(command);
    appendEnvironment(*override, c.environment);
    if (auto cpu = json::getInt(*override, "cpu")) c.cpu = static_cast<int>(*cpu);
    if (auto m = json::getInt(*override, "memory")) c.memory_mib = *m;
    if (auto m = json::getInt(*override, "memoryReservation")) c.memory_reservation_mib = *m;
  }
  return c;
}

// Sets `key` to `value`, keeping the position of an earlier entry of the name.
void setEnv(std::vector<std::string>& env, std::map<std::string, size_t>& index, const std::string& key,
            const std::string& value) {
  std::string entry = key + "=" + value;
  if (auto it = index.find(key); it != index.end()) {
    env[it->second] = std::move(entry);
    return;
  }
  index[key] = env.size();
  env.push_back(std::move(entry));
}

}  // namespace

const char* dependencyConditionName(DependencyCondition c) {
  switch (c) {
    case DependencyCondition::kStart:
      return "START";
    case DependencyCondition::kComplete:
      return "COMPLETE";
    case DependencyCondition::kSuccess:
      return "SUCCESS";
    case DependencyCondition::kHealthy:
      return "HEALTHY";
  }
  return "START";
}

std::vector<std::string> HealthCheckSpec::argv() const {
  if (command.empty()) return {};
  if (command[0] == "CMD") return {command.begin() + 1, command.end()};
  if (command[0] == "CMD-SHELL") {
    std::string script;
    for (size_t i = 1; i < command.size(); ++i) script += (i > 1 ? " " : "") + command[i];
    return {"/bin/sh", "-c", script};
  }
  return command;
}

Result<TaskPlan> planTask(const bj::object& task_definition, const bj::object& overrides) {
  TaskPlan plan;
  plan.cpu_units = static_cast<int>(parseUnits(task_definition, "cpu"));
  plan.memory_mib = parseUnits(task_definition, "memory");
  if (int64_t cpu = parseUnits(overrides, "cpu")) plan.cpu_units = static_cast<int>(cpu);
  if (int64_t memory = parseUnits(overrides, "memory")) plan.memory_mib = memory;
  plan.has_task_role =
      !json::stringOr(overrides, "taskRoleArn").empty() || !json::stringOr(task_definition, "taskRoleArn").empty();
  if (const auto* defs = json::getArray(task_definition, "containerDefinitions"))
    for (const auto& def : *defs)
      if (def.is_object()) {
        std::string name = json::stringOr(def.get_object(), "name");
        plan.containers.push_back(planContainer(def.get_object(), findOverride(overrides, name)));
      }
  if (plan.containers.empty()) return fail(ErrorCode::kInvalidArgument, "the task definition has no containers");

  std::set<std::string> names;
  for (const auto& c : plan.containers) names.insert(c.name);
  for (const auto& c : plan.containers)
    for (const auto& d : c.depends_on)
      if (!names.contains(d.container))
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("container '{}' depends on unknown container '{}'", c.name, d.container));
  if (startOrder(plan).size() != plan.containers.size())
    return fail(ErrorCode::kInvalidArgument, "the containers' dependsOn form a cycle");
  return plan;
}

std::string runtimeIdFor(std::string_view task_id, std::string_view container) {
  return fmt::format("{}-{}", task_id, container);
}

std::vector<std::string> containerArgv(const ContainerPlan& plan, const image::ImageConfig& image) {
  std::vector<std::string> argv;
  if (plan.entry_point) {
    // An entryPoint override resets the image's Cmd (Docker's rule).
    argv = *plan.entry_point;
    if (plan.command) argv.insert(argv.end(), plan.command->begin(), plan.command->end());
    return argv;
  }
  argv = image.entrypoint;
  const auto& cmd = plan.command ? *plan.command : image.cmd;
  argv.insert(argv.end(), cmd.begin(), cmd.end());
  return argv;
}

std::vector<std::string> containerEnv(const ContainerPlan& plan, const image::ImageConfig& image,
                                      const TaskContext& task) {
  std::vector<std::string> env;
  std::map<std::string, size_t> index;
  for (const auto& entry : image.env) {
    auto eq = entry.find('=');
    if (eq == std::string::npos) continue;
    setEnv(env, index, entry.substr(0, eq), entry.substr(eq + 1));
  }
  if (!index.contains("PATH"))
    setEnv(env, index, "PATH", "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin");
  setEnv(env, index, "AWS_REGION", task.region);
  setEnv(env, index, "AWS_DEFAULT_REGION", task.region);
  setEnv(env, index, "AWS_EXECUTION_ENV", "AWS_ECS_FARGATE");
  if (!task.endpoint_url.empty()) setEnv(env, index, "AWS_ENDPOINT_URL", task.endpoint_url);
  for (const auto& [key, value] : plan.environment) setEnv(env, index, key, value);
  auto endpoint = task.endpoint_ids.find(plan.name);
  std::string id = endpoint != task.endpoint_ids.end() ? endpoint->second : runtimeIdFor(task.task_id, plan.name);
  setEnv(env, index, "ECS_CONTAINER_METADATA_URI", fmt::format("http://{}/v3/{}", task.metadata_host, id));
  setEnv(env, index, "ECS_CONTAINER_METADATA_URI_V4", fmt::format("http://{}/v4/{}", task.metadata_host, id));
  if (!task.credentials_id.empty())
    setEnv(env, index, "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI",
           fmt::format("/v2/credentials/{}", task.credentials_id));
  return env;
}

runtime::ContainerConfig containerConfig(const ContainerPlan& plan, const image::ImageConfig& image,
                                         const TaskContext& task) {
  runtime::ContainerConfig c;
  c.task_id = task.task_id;
  c.name = plan.name;
  c.runtime_id = runtimeIdFor(task.task_id, plan.name);
  c.argv = containerArgv(plan, image);
  c.env = containerEnv(plan, image, task);
  c.cwd = !plan.working_directory.empty() ? plan.working_directory
          : !image.working_dir.empty()    ? image.working_dir
                                          : "/";
  c.user = !plan.user.empty() ? plan.user : image.user;
  c.read_only_rootfs = plan.read_only_rootfs;
  c.init_process_enabled = plan.init_process;
  c.ulimits = plan.ulimits;
  c.cpu_shares = plan.cpu;
  c.memory_mib = plan.memory_mib;
  c.memory_reservation_mib = plan.memory_reservation_mib;
  return c;
}

int parseStopSignal(std::string_view text) {
  static const std::map<std::string, int, std::less<>> kSignals = {
      {"HUP", SIGHUP},   {"INT", SIGINT},   {"QUIT", SIGQUIT}, {"KILL", SIGKILL},   {"USR1", SIGUSR1},
      {"USR2", SIGUSR2}, {"TERM", SIGTERM}, {"STOP", SIGSTOP}, {"WINCH", SIGWINCH}, {"PWR", SIGPWR}};
  if (text.empty()) return SIGTERM;
  if (std::all_of(text.begin(), text.end(), [](char ch) { return ch >= '0' && ch <= '9'; })) {
    int n = 0;
    for (char ch : text) n = n * 10 + (ch - '0');
    return n > 0 && n < 65 ? n : SIGTERM;
  }
  std::string name(text);
  std::transform(name.begin(), name.end(), name.begin(), [](unsigned char ch) { return std::toupper(ch); });
  if (name.starts_with("SIG")) name = name.substr(3);
  auto it = kSignals.find(name);
  return it == kSignals.end() ? SIGTERM : it->second;
}

std::vector<size_t> startOrder(const TaskPlan& plan) {
  std::vector<size_t> order;
  std::vector<bool> placed(plan.containers.size(), false);
  auto indexOf = [&](const std::string& name) -> size_t {
    for (size_t i = 0; i < plan.containers.size(); ++i)
      if (plan.containers[i].name == name) return i;
    return plan.containers.size();
  };
  // Repeated passes: small task definitions (at most 10 containers on ECS).
  bool progress = true;
  while (progress && order.size() < plan.containers.size()) {
    progress = false;
    for (size_t i = 0; i < plan.containers.size(); ++i) {
      if (placed[i]) continue;
      bool ready = true;
      for (const auto& d : plan.containers[i].depends_on) {
        size_t j = indexOf(d.container);
        if (j < placed.size() && !placed[j]) ready = false;
      }
      if (!ready) continue;
      placed[i] = true;
      order.push_back(i);
      progress = true;
    }
  }
  return order;
}

}  // namespace berth::agent
