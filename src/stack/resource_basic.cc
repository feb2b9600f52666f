// ecr_repository, log_group, ssm_parameter and ecs_cluster.
#include <chrono>
#include <thread>

#include <fmt/format.h>

#include "stack/resource_common.h"

namespace berth::stack {
namespace {

// ECR: {repositoryName, imageTagMutability?}. Outputs name, arn, uri.
class EcrRepository final : public ResourceType {
 public:
  std::string_view type() const override { return "ecr_repository"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "repositoryName", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view k) const override { return k == "repositoryName"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string repo = id.empty() ? propString(props, "repositoryName", name) : id;
    std::optional<LiveResource> found;
    auto listed = forEachJsonPage(api, "ecr", "DescribeRepositories", {{"repositoryNames", bj::array{bj::value(repo)}}},
                                  "nextToken", [&](const bj::object& out) {
                                    if (const bj::array* repos = json::getArray(out, "repositories"))
                                      for (const auto& r : *repos)
                                        if (r.is_object() && json::stringOr(r.as_object(), "repositoryName") == repo)
                                          found = toLive(r.as_object());
                                    return !found;
                                  });
    if (!listed && isNotFound(listed.error())) return std::nullopt;
    if (!listed) return std::unexpected(listed.error());
    return found;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    bj::object in{{"repositoryName", propString(&props, "repositoryName", name)}};
    if (auto m = json::getString(props, "imageTagMutability")) in["imageTagMutability"] = *m;
    bj::object out = BERTH_TRY(api.json("ecr", "CreateRepository", in));
    const bj::object* repo = json::getObject(out, "repository");
    if (!repo) return fail(ErrorCode::kInternal, "CreateRepository returned no repository");
    return toLive(*repo);
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource& live, const bj::object& props,
                              const std::vector<std::string>&) override {
    BERTH_TRY(api.json("ecr", "PutImageTagMutability",
                       {{"repositoryName", live.id},
                        // Removed from the stack file: back to ECR's default.
                        {"imageTagMutability", propString(&props, "imageTagMutability", "MUTABLE")}}));
    auto now = BERTH_TRY(read(api, name, live.id, &props));
    if (!now) return fail(ErrorCode::kNotFound, fmt::format("repository {} vanished", live.id));
    return *now;
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    auto out = api.json("ecr", "DeleteRepository", {{"repositoryName", live.id}, {"force", true}});
    if (!out && !isNotFound(out.error())) return std::unexpected(out.error());
    return {};
  }

 private:
  static LiveResource toLive(const bj::object& r) {
    std::string name = json::stringOr(r, "repositoryName");
    return LiveResource{
        name,
        {{"repositoryName", name}, {"imageTagMutability", json::stringOr(r, "imageTagMutability")}},
        {{"name", name}, {"arn", json::stringOr(r, "repositoryArn")}, {"uri", json::stringOr(r, "repositoryUri")}}};
  }
};

// Logs: {logGroupName, retentionInDays?}. Outputs name, arn (without ":*").
class LogGroup final : public ResourceType {
 public:
  std::string_view type() const override { return "log_group"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "logGroupName", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view k) const override { return k == "logGroupName"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string group = id.empty() ? propString(props, "logGroupName", name) : id;
    // The prefix also matches longer names, which may fill the first pages.
    std::optional<LiveResource> found;
    BERTH_TRY(forEachJsonPage(api, "logs", "DescribeLogGroups", {{"logGroupNamePrefix", group}}, "nextToken",
                              [&](const bj::object& out) {
                                if (const bj::array* groups = json::getArray(out, "logGroups"))
                                  for (const auto& g : *groups)
                                    if (g.is_object() && json::stringOr(g.as_object(), "logGroupName") == group)
                                      found = toLive(group, g.as_object());
                                return !found;
                              }));
    return found;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    std::string group = propString(&props, "logGroupName", name);
    auto created = api.json("logs", "CreateLogGroup", {{"logGroupName", group}});
    if (!created && created.error().aws_type != "ResourceAlreadyExistsException")
      return std::unexpected(created.error());
    BERTH_TRY(setRetention(api, group, props));
    return reread(api, name, group, props);
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource& live, const bj::object& props,
                              const std::vector<std::string>& changed) override {
    BERTH_TRY(
        setRetention(api, live.id, props, contains(changed, "retentionInDays") && !props.contains("retentionInDays")));
    return reread(api, name, live.id, props);
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    auto out = api.json("logs", "DeleteLogGroup", {{"logGroupName", live.id}});
    if (!out && !isNotFound(out.error())) return std::unexpected(out.error());
    return {};
  }

 private:
  static LiveResource toLive(const std::string& group, const bj::object& g) {
    LiveResource live{group, {{"logGroupName", group}}, {{"name", group}}};
    std::string arn = json::stringOr(g, "arn");
    if (arn.ends_with(":*")) arn.resize(arn.size() - 2);
    live.outputs["arn"] = arn;
    // 0: never expire (no retention policy).
    live.properties["retentionInDays"] = json::getInt(g, "retentionInDays").value_or(0);
    return live;
  }
  // `removed`: retentionInDays was removed from the stack file, which means
  // never expire again (as when created without it).
  Status setRetention(AwsApi& api, const std::string& group, const bj::object& props, bool removed = false) {
    auto days = json::getInt(props, "retentionInDays");
    if (days && *days > 0) {
      BERTH_TRY(api.json("logs", "PutRetentionPolicy", {{"logGroupName", group}, {"retentionInDays", *days}}));
    } else if (days || removed) {  // 0: never expire
      BERTH_TRY(api.json("logs", "DeleteRetentionPolicy", {{"logGroupName", group}}));
    }
    return {};
  }
  Result<LiveResource> reread(AwsApi& api, const std::string& name, const std::string& id, const bj::object& props) {
    auto live = BERTH_TRY(read(api, name, id, &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("log group {} vanished", id));
    return *live;
  }
};

// SSM: {Name, Type (String|StringList|SecureString), Value, Description?}.
// SecureString uses the account's default key. Outputs name, arn.
class SsmParameter final : public ResourceType {
 public:
  std::string_view type() const override { return "ssm_parameter"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "Name", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view k) const override { return k == "Name"; }
  // GetParameter does not return the description, and PutParameter without
  // one keeps it: a removed Description is left as is.
  bool resetsWhenRemoved(std::string_view k) const override { return k != "Description"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string param = id.empty() ? propString(props, "Name", name) : id;
    auto out = api.json("ssm", "GetParameter", {{"Name", param}, {"WithDecryption", true}});
    if (!out && isNotFound(out.error())) return std::nullopt;
    if (!out) return std::unexpected(out.error());
    const bj::object* p = json::getObject(*out, "Parameter");
    if (!p) return std::nullopt;
    LiveResource live{param,
                      {{"Name", param}, {"Type", json::stringOr(*p, "Type")}, {"Value", json::stringOr(*p, "Value")}},
                      {{"name", param}, {"arn", json::stringOr(*p, "ARN")}}};
    // GetParameter does not return the description: compare what was last put.
    if (props && props->contains("Description")) live.properties["Description"] = props->at("Description");
    return live;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    return put(api, name, props);
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource&, const bj::object& props,
                              const std::vector<std::string>&) override {
    return put(api, name, props);
  }
  Status remove(AwsApi& api, const LiveResource& live) override {
    auto out = api.json("ssm", "DeleteParameter", {{"Name", live.id}});
    if (!out && !isNotFound(out.error())) return std::unexpected(out.error());
    return {};
  }

 private:
  Result<LiveResource> put(AwsApi& api, const std::string& name, const bj::object& props) {
    std::string param = propString(&props, "Name", name);
    bj::object in{{"Name", param},
                  {"Type", propString(&props, "Type", "String")},
                  {"Value", propString(&props, "Value")},
                  {"Overwrite", true}};
    if (auto d = json::getString(props, "Description")) in["Description"] = *d;
    BERTH_TRY(api.json("ssm", "PutParameter", in));
    auto live = BERTH_TRY(read(api, name, param, &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("parameter {} vanished", param));
    return *live;
  }
};

// ECS cluster: {clusterName, containerInsights? ("enabled"|"disabled"),
// capacityProviders? (["FARGATE", "FARGATE_SPOT"])}. Outputs name, arn.
class EcsCluster final : public ResourceType {
 public:
  std::string_view type() const override { return "ecs_cluster"; }
  bj::object plannedOutputs(const std::string& name, const bj::object& p) const override {
    std::string n = propString(&p, "clusterName", name);
    return {{"name", n}};
  }
  bool forcesReplacement(std::string_view k) const override { return k == "clusterName"; }

  Result<std::optional<LiveResource>> read(AwsApi& api, const std::string& name, const std::string& id,
                                           const bj::object* props) override {
    std::string cluster = id.empty() ? propString(props, "clusterName", name) : id;
    bj::object out = BERTH_TRY(
        api.json("ecs", "DescribeClusters",
                 {{"clusters", bj::array{bj::value(cluster)}}, {"include", bj::array{bj::value("SETTINGS")}}}));
    const bj::array* clusters = json::getArray(out, "clusters");
    if (!clusters || clusters->empty() || !(*clusters)[0].is_object()) return std::nullopt;
    const bj::object& c = (*clusters)[0].as_object();
    if (json::stringOr(c, "status") == "INACTIVE") return std::nullopt;
    std::string cname = json::stringOr(c, "clusterName");
    LiveResource live{cname, {{"clusterName", cname}}, {{"name", cname}, {"arn", json::stringOr(c, "clusterArn")}}};
    live.properties["containerInsights"] = "disabled";
    if (const bj::array* settings = json::getArray(c, "settings"))
      for (const auto& s : *settings)
        if (s.is_object() && json::stringOr(s.as_object(), "name") == "containerInsights")
          live.properties["containerInsights"] = json::stringOr(s.as_object(), "value");
    live.properties["capacityProviders"] =
        orderLike(json::stringList(c, "capacityProviders"), props ? props->if_contains("capacityProviders") : nullptr);
    return live;
  }
  Result<LiveResource> create(AwsApi& api, const std::string& name, const bj::object& props) override {
    bj::object in{{"clusterName", propString(&props, "clusterName", name)}};
    if (auto ci = json::getString(props, "containerInsights"))
      in["settings"] = bj::array{bj::object{{"name", "containerInsights"}, {"value", *ci}}};
    if (const bj::array* cps = json::getArray(props, "capacityProviders")) in["capacityProviders"] = *cps;
    bj::object out = BERTH_TRY(api.json("ecs", "CreateCluster", in));
    return reread(api, name, json::stringOr(in, "clusterName"), props);
  }
  Result<LiveResource> update(AwsApi& api, const std::string& name, const LiveResource& live, const bj::object& props,
                              const std::vector<std::string>& changed) override {
    if (contains(changed, "containerInsights"))
      BERTH_TRY(api.json(
          "ecs", "UpdateClusterSettings",
          {{"cluster", live.id},
           {"settings", bj::array{bj::object{{"name", "containerInsights"},
                                             // removed: the default
                                             {"value", propString(&props, "containerInsights", "disabled")}}}}}));
    if (contains(changed, "capacityProviders")) {
      const bj::array* cps = json::getArray(props, "capacityProviders");
      BERTH_TRY(api.json("ecs", "PutClusterCapacityProviders",
                         {{"cluster", live.id},
                          {"capacityProviders", cps ? *cps : bj::array{}},
                          {"defaultCapacityProviderStrategy", bj::array{}}}));
    }
    return reread(api, name, live.id, props);
  }
  // The services were deleted first, but their tasks may still be stopping
  // (ECS refuses with ClusterContainsTasksException until they are gone):
  // retried for up to two minutes, as Terraform's provider does.
  Status remove(AwsApi& api, const LiveResource& live) override {
    for (int attempt = 0;; ++attempt) {
      auto out = api.json("ecs", "DeleteCluster", {{"cluster", live.id}});
      if (out || isNotFound(out.error())) return {};
      bool busy = out.error().aws_type == "ClusterContainsTasksException" ||
                  out.error().aws_type == "ClusterContainsServicesException";
      if (!busy || attempt >= 240) return std::unexpected(out.error());
      std::this_thread::sleep_for(std::chrono::milliseconds(500));
    }
  }

 private:
  Result<LiveResource> reread(AwsApi& api, const std::string& name, const std::string& id, const bj::object& props) {
    auto live = BERTH_TRY(read(api, name, id, &props));
    if (!live) return fail(ErrorCode::kNotFound, fmt::format("cluster {} vanished", id));
    return *live;
  }
};

}  // namespace

std::unique_ptr<ResourceType> makeEcrRepository() { return std::make_unique<EcrRepository>(); }
std::unique_ptr<ResourceType> makeLogGroup() { return std::make_unique<LogGroup>(); }
std::unique_ptr<ResourceType> makeSsmParameter() { return std::make_unique<SsmParameter>(); }
std::unique_ptr<ResourceType> makeEcsCluster() { return std::make_unique<EcsCluster>(); }

}  // namespace berth::stack
