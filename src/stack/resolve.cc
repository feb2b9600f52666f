// resolve(): one environment of a parsed stack file (stack_file.h).
#include <algorithm>
#include <set>

#include <fmt/format.h>

#include "stack/names.h"
#include "stack/stack_file.h"

namespace berth::stack {

Result<Environment> resolve(const StackFile& file, std::string_view env_name, std::string_view account) {
  auto spec_it =
      std::ranges::find_if(file.environment_specs, [&](const EnvironmentSpec& e) { return e.name == env_name; });
  if (spec_it == file.environment_specs.end()) {
    std::string names;
    for (const std::string& n : file.environments) names += (names.empty() ? "" : ", ") + n;
    return fail(ErrorCode::kNotFound,
                fmt::format("{}: no environment '{}' (environments: {})", file.path, env_name, names));
  }
  const EnvironmentSpec& spec = *spec_it;
  Environment env;
  env.project = file.project;
  env.name = spec.name;
  env.region = spec.region.value_or(file.region);
  const std::map<std::string, std::string, std::less<>> values{
      {"env", env.name}, {"project", env.project}, {"region", env.region}, {"account", std::string(account)}};
  auto sub = [&](std::string_view s) { return substitute(s, values); };
  std::string prefix = env.project + "-" + env.name;
  env.cluster = spec.cluster ? sub(*spec.cluster) : prefix + "-cluster";
  env.container_insights = spec.container_insights.value_or(false);
  env.namespace_name = spec.namespace_name ? sub(*spec.namespace_name) : env.name + ".local";
  env.execution_role = prefix + "-execution";
  env.task_role_prefix = prefix;
  int retention = spec.log_retention_days.value_or(file.log_retention_days.value_or(7));

  std::set<std::string> repositories;
  for (const std::string& r : file.repositories) repositories.insert(sub(r));
  for (const Service& base : file.services) {
    Service s = base;
    auto o = std::ranges::find_if(spec.services, [&](const ServiceOverride& x) { return x.name == s.name; });
    if (o != spec.services.end()) {
      if (o->image) s.image = *o->image;
      if (o->cpu) s.cpu = *o->cpu;
      if (o->memory) s.memory = *o->memory;
      if (o->count) s.count = *o->count;
      if (o->capacity_provider) s.capacity_provider = *o->capacity_provider;
      if (o->spot_fallback) s.spot_fallback = *o->spot_fallback;
      if (o->autoscaling) s.autoscaling = o->autoscaling;
      if (o->autoscaling_disabled) s.autoscaling.reset();
      for (const auto& [k, v] : o->environment) s.environment[k] = v;
    }
    s.image = sub(s.image);
    for (auto& [_, v] : s.environment) v = sub(v);
    for (auto& [_, v] : s.secrets) v = sub(v);
    if (s.health_check) {
      s.health_check->path = sub(s.health_check->path);
      for (std::string& c : s.health_check->command) c = sub(c);
    }
    for (PolicyStatement& st : s.task_role_policy) {
      for (std::string& a : st.actions) a = sub(a);
      for (std::string& r : st.resources) r = sub(r);
    }
    s.log_retention_days = retention;
    if (file.repositories.empty()) {
      if (auto parts = splitImage(s.image); parts && parts->host.empty()) repositories.insert(parts->repository);
    }
    env.services.push_back(std::move(s));
  }
  env.ecr_repositories.assign(repositories.begin(), repositories.end());

  for (const Parameter& p : file.parameters) {
    if (std::ranges::none_of(spec.parameters, [&](const Parameter& q) { return sub(q.name) == sub(p.name); })) {
      env.parameters.push_back(p);
    }
  }
  env.parameters.insert(env.parameters.end(), spec.parameters.begin(), spec.parameters.end());
  for (Parameter& p : env.parameters) {
    p.name = sub(p.name);
    p.value = sub(p.value);
    p.description = sub(p.description);
  }

  env.tags = file.tags;
  for (const auto& [k, v] : spec.tags) env.tags[k] = v;
  for (auto& [_, v] : env.tags) v = sub(v);
  env.tags["Project"] = env.project;
  env.tags["Environment"] = env.name;
  env.tags["ManagedBy"] = "berth";
  return env;
}

}  // namespace berth::stack
