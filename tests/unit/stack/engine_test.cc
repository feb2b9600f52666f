#include "stack/engine.h"

#include <filesystem>
#include <fstream>
#include <map>

#include <gtest/gtest.h>

#include "common/json.h"
#include "stack/aws_api.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

// Refuses every call: the fake types below never make one.
class NoAws final : public AwsApi {
 public:
  Result<bj::object> json(std::string_view, std::string_view op, const bj::object&) override {
    return fail(ErrorCode::kUnimplemented, std::string(op));
  }
  Result<XmlElement> query(std::string_view, std::string_view op, const QueryParams&) override {
    return fail(ErrorCode::kUnimplemented, std::string(op));
  }
};

// Everything the fake types hold, and the calls they saw.
struct World {
  std::map<std::string, LiveResource> things;  // "type/name" -> resource
  std::vector<std::string> calls;              // "create thing.a", ...
  int serial = 0;
};

// An in-memory type: the id is the name; "zone" forces replacement; outputs
// arn (stable) and version (changes on update).
class FakeType final : public ResourceType {
 public:
  FakeType(std::string type, World& world) : type_(std::move(type)), world_(world) {}
  std::string_view type() const override { return type_; }
  bool forcesReplacement(std::string_view k) const override { return k == "zone"; }
  bool outputChangesOnUpdate(std::string_view attr) const override { return attr == "version"; }

  Result<std::optional<LiveResource>> read(AwsApi&, const std::string& name, const std::string& id,
                                           const bj::object*) override {
    auto it = world_.things.find(type_ + "/" + (id.empty() ? name : id));
    if (it == world_.things.end()) return std::nullopt;
    return it->second;
  }
  Result<LiveResource> create(AwsApi&, const std::string& name, const bj::object& props) override {
    world_.calls.push_back("create " + type_ + "." + name);
    LiveResource r{name, props, {{"arn", "arn:fake:" + type_ + ":" + name}, {"version", ++world_.serial}}};
    world_.things[type_ + "/" + name] = r;
    return r;
  }
  Result<LiveResource> update(AwsApi&, const std::string& name, const LiveResource& live, const bj::object& props,
                              const std::vector<std::string>& changed) override {
    std::string keys;
    for (const auto& k : changed) keys += " " + k;
    world_.calls.push_back("update " + type_ + "." + name + keys);
    LiveResource r = live;
    for (const auto& k : changed) {
      if (const bj::value* v = props.if_contains(k)) {
        r.properties[k] = *v;
      } else {
        r.properties.erase(k);  // removed from the stack file
      }
    }
    r.outputs["version"] = ++world_.serial;
    world_.things[type_ + "/" + name] = r;
    return r;
  }
  Status remove(AwsApi&, const LiveResource& live) override {
    world_.calls.push_back("delete " + type_ + "." + live.id);
    world_.things.erase(type_ + "/" + live.id);
    return {};
  }

 private:
  std::string type_;
  World& world_;
};

ResourceSpec spec(std::string type, std::string name, bj::object props, std::vector<std::string> deps = {}) {
  return ResourceSpec{std::move(type), std::move(name), std::move(props), std::move(deps), {}};
}

class EngineTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-engine-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }

  Engine engine() {
    ResourceTypes types;
    for (const char* t : {"thing", "widget"}) types.emplace(t, std::make_unique<FakeType>(t, world_));
    return Engine(api_, (dir_ / "state.json").string(), std::move(types));
  }
  // plan + apply; the plan.
  Plan converge(const std::vector<ResourceSpec>& desired) {
    Engine e = engine();
    auto plan = e.plan(desired);
    EXPECT_TRUE(plan) << plan.error().message;
    auto applied = e.apply(*plan, desired);
    EXPECT_TRUE(applied) << applied.error().message;
    return *plan;
  }

  std::filesystem::path dir_;
  NoAws api_;
  World world_;
};

const Change* findChange(const Plan& p, std::string_view address) {
  for (const auto& c : p.changes)
    if (c.address == address) return &c;
  return nullptr;
}

TEST(StackDiffTest, NestedPathsArraysAndNumbers) {
  bj::object live =
      json::parse(R"({"a":1,"b":{"c":"x","d":[1,2,{"e":true}],"extra":5},"f":[1,2],"g":512})")->as_object();
  bj::object want =
      json::parse(R"({"a":1,"b":{"c":"y","d":[1,2,{"e":false}]},"f":[1,2,3],"g":512.0,"h":null})")->as_object();
  auto changes = diffProperties(live, want, {}, {});
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, "b.c");
  EXPECT_EQ(changes[1].path, "b.d[2].e");
  EXPECT_EQ(*changes[1].before, bj::value(true));
  EXPECT_EQ(changes[2].path, "f");  // lengths differ: the whole array
  EXPECT_EQ(changes[2].after->as_array().size(), 3u);
}

TEST(StackDiffTest, MissingLiveIgnoredAndForcesReplacement) {
  bj::object live{{"name", "a"}, {"size", 1}};
  bj::object want{{"name", "b"}, {"size", 2}, {"new", "x"}};
  auto changes = diffProperties(live, want, {"size"}, [](std::string_view k) { return k == "name"; });
  ASSERT_EQ(changes.size(), 2u);
  EXPECT_EQ(changes[0].path, "name");
  EXPECT_TRUE(changes[0].forces_replacement);
  EXPECT_EQ(changes[1].path, "new");
  EXPECT_FALSE(changes[1].before.has_value());
  EXPECT_FALSE(changes[1].forces_replacement);
}

TEST(StackDiffTest, RemovalsFromLastApplied) {
  bj::object live = json::parse(R"({"role":"r1","env":[{"name":"A"}],"c":[{"secrets":[1],"image":"x","cpu":0}],)"
                                R"("def":5,"dc":null,"ign":1,"gone":2})")
                        ->as_object();
  bj::object applied =
      json::parse(R"({"role":"r1","env":[{"name":"A"},{"name":"B"}],"c":[{"secrets":[1],"image":"x"}],)"
                  R"("dc":null,"ign":1,"gone":2,"notlive":3})")
          ->as_object();
  bj::object want = json::parse(R"({"env":[{"name":"A"}],"c":[{"image":"x"}]})")->as_object();
  auto changes = diffProperties(
      live, want, {"ign"}, [](std::string_view k) { return k == "role"; }, &applied);
  // c[0].secrets and the top-level role and gone; not def (never applied),
  // dc (null: don't care), ign (ignored), notlive (not live).
  ASSERT_EQ(changes.size(), 3u);
  EXPECT_EQ(changes[0].path, "c[0].secrets");
  EXPECT_EQ(changes[0].before, bj::value(bj::array{1}));
  EXPECT_FALSE(changes[0].after.has_value());
  EXPECT_FALSE(changes[0].forces_replacement);
  EXPECT_EQ(changes[1].path, "role");
  EXPECT_TRUE(changes[1].forces_replacement);
  EXPECT_EQ(changes[2].path, "gone");
  // Without what was applied, nothing only live counts.
  EXPECT_TRUE(diffProperties(live, want, {}, {}).empty());
  // An element removed from an array: the lengths differ, the whole array.
  auto shorter = diffProperties(live, json::parse(R"({"env":[]})")->as_object(), {}, {}, &applied);
  ASSERT_FALSE(shorter.empty());
  EXPECT_EQ(shorter[0].path, "env");
  EXPECT_EQ(shorter[0].after, bj::value(bj::array{}));
}

TEST(StackReferencesTest, ResolveWholeEmbeddedAndUnknown) {
  std::map<std::string, bj::object> outputs{{"thing.a", {{"arn", "arn:1"}, {"count", 3}}}};
  bj::value v =
      json::parse(
          R"({"x":"${thing.a.arn}","n":"${thing.a.count}","y":"svc/${thing.a.arn}/z","u":"${thing.b.arn}","l":["${thing.a.nope}"]})")
          .value();
  bj::value r = resolveReferences(v, outputs);
  EXPECT_EQ(r.at("x"), bj::value("arn:1"));
  EXPECT_EQ(r.at("n"), bj::value(3));
  EXPECT_EQ(r.at("y"), bj::value("svc/arn:1/z"));
  EXPECT_EQ(r.at("u"), bj::value(kKnownAfterApply));
  EXPECT_EQ(r.at("l").as_array()[0], bj::value(kKnownAfterApply));
  EXPECT_TRUE(containsUnknown(r));
  EXPECT_FALSE(containsUnknown(r.at("y")));
  auto refs = referencedAddresses(v);
  EXPECT_EQ(refs, (std::vector<std::string>{"thing.a", "thing.b"}));
}

TEST(StackOrderTest, DependenciesFirstAndCyclesRejected) {
  std::vector<ResourceSpec> specs{spec("thing", "c", {{"r", "${thing.b.arn}"}}), spec("thing", "b", {}, {"thing.a"}),
                                  spec("thing", "a", {})};
  auto order = orderByDependencies(specs);
  ASSERT_TRUE(order);
  std::vector<std::string> names;
  for (const auto* s : *order) names.push_back(s->address());
  EXPECT_EQ(names, (std::vector<std::string>{"thing.a", "thing.b", "thing.c"}));

  specs[2].depends_on = {"thing.c"};
  auto cycle = orderByDependencies(specs);
  ASSERT_FALSE(cycle);
  EXPECT_NE(cycle.error().message.find("dependency cycle"), std::string::npos) << cycle.error().message;

  auto unknown = orderByDependencies({spec("thing", "a", {{"r", "${widget.z.arn}"}})});
  ASSERT_FALSE(unknown);
  EXPECT_NE(unknown.error().message.find("widget.z"), std::string::npos);
  EXPECT_FALSE(orderByDependencies({spec("thing", "a", {}), spec("thing", "a", {})}));
}

TEST_F(EngineTest, CreateThenNoChangesThenUpdate) {
  std::vector<ResourceSpec> desired{spec("widget", "w", {{"owner", "${thing.t.arn}"}, {"size", 1}}),
                                    spec("thing", "t", {{"size", 1}, {"tags", bj::object{{"a", "1"}}}})};
  Plan first = converge(desired);
  EXPECT_EQ(first.count(Action::kCreate), 2);
  EXPECT_EQ(world_.calls, (std::vector<std::string>{"create thing.t", "create widget.w"}));
  const Change* w = findChange(first, "widget.w");
  ASSERT_TRUE(w);
  EXPECT_EQ(w->attributes[0].after, bj::value(kKnownAfterApply));  // t's arn unknown at plan time
  EXPECT_EQ(world_.things["widget/w"].properties.at("owner"), bj::value("arn:fake:thing:t"));

  auto again = engine().plan(desired);
  ASSERT_TRUE(again);
  EXPECT_TRUE(again->empty());
  EXPECT_EQ(renderPlan(*again, false), "No changes. Your infrastructure matches the configuration.\n");

  desired[1].properties["tags"] = bj::object{{"a", "2"}};
  auto update = engine().plan(desired);
  ASSERT_TRUE(update);
  ASSERT_EQ(update->count(Action::kUpdate), 1);
  const Change* t = findChange(*update, "thing.t");
  ASSERT_EQ(t->attributes.size(), 1u);
  EXPECT_EQ(t->attributes[0].path, "tags.a");
  std::string text = renderPlan(*update, false);
  EXPECT_NE(text.find("~ thing.t will be updated in-place"), std::string::npos) << text;
  EXPECT_NE(text.find("tags.a: \"1\" -> \"2\""), std::string::npos) << text;
  EXPECT_NE(text.find("Plan: 0 to add, 1 to change, 0 to destroy."), std::string::npos) << text;
  world_.calls.clear();
  ASSERT_TRUE(engine().apply(*update, desired));
  EXPECT_EQ(world_.calls, (std::vector<std::string>{"update thing.t tags"}));
  EXPECT_TRUE(engine().plan(desired)->empty());
}

TEST_F(EngineTest, OutputsThatChangeOnUpdateAreUnknownDownstream) {
  std::vector<ResourceSpec> desired{spec("thing", "t", {{"size", 1}}),
                                    spec("widget", "w", {{"v", "${thing.t.version}"}, {"a", "${thing.t.arn}"}})};
  converge(desired);
  desired[0].properties["size"] = 2;
  auto plan = engine().plan(desired);
  ASSERT_TRUE(plan);
  const Change* w = findChange(*plan, "widget.w");
  ASSERT_EQ(w->action, Action::kUpdate);
  ASSERT_EQ(w->attributes.size(), 1u);  // the arn stays known and equal
  EXPECT_EQ(w->attributes[0].path, "v");
  ASSERT_TRUE(engine().apply(*plan, desired));
  EXPECT_TRUE(engine().plan(desired)->empty());
}

TEST_F(EngineTest, ReplaceDeletesThenCreates) {
  std::vector<ResourceSpec> desired{spec("thing", "t", {{"zone", "a"}})};
  converge(desired);
  desired[0].properties["zone"] = "b";
  auto plan = engine().plan(desired);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->count(Action::kReplace), 1);
  EXPECT_TRUE(plan->changes[0].attributes[0].forces_replacement);
  std::string text = renderPlan(*plan, false);
  EXPECT_NE(text.find("-/+ thing.t must be replaced"), std::string::npos) << text;
  EXPECT_NE(text.find("Plan: 1 to add, 0 to change, 1 to destroy."), std::string::npos) << text;
  world_.calls.clear();
  ASSERT_TRUE(engine().apply(*plan, desired));
  EXPECT_EQ(world_.calls, (std::vector<std::string>{"delete thing.t", "create thing.t"}));
}

TEST_F(EngineTest, ReplacementsDeleteDependentsFirstAndCreateDependenciesFirst) {
  std::vector<ResourceSpec> desired{spec("thing", "base", {{"zone", "a"}}),
                                    spec("widget", "top", {{"zone", "${thing.base.arn}"}, {"ratio", 0.5}})};
  converge(desired);
  desired[0].properties["zone"] = "b";
  desired[1].properties["ratio"] = 60.0;
  auto plan = engine().plan(desired);
  ASSERT_TRUE(plan);
  ASSERT_EQ(plan->count(Action::kReplace), 2);  // the arn is unknown, and zone forces replacement
  std::string text = renderPlan(*plan, false);
  EXPECT_NE(text.find("ratio: 0.5 -> 60\n"), std::string::npos) << text;
  EXPECT_NE(text.find("zone: \"arn:fake:thing:base\" -> (known after apply) # forces replacement"), std::string::npos)
      << text;
  world_.calls.clear();
  ASSERT_TRUE(engine().apply(*plan, desired));
  EXPECT_EQ(world_.calls, (std::vector<std::string>{"delete widget.top", "delete thing.base", "create thing.base",
                                                    "create widget.top"}));
  EXPECT_TRUE(engine().plan(desired)->empty());
}

TEST_F(EngineTest, IgnoredAttributesAreNotReset) {
  ResourceSpec s = spec("thing", "svc", {{"desiredCount", 1}, {"image", "a"}});
  s.ignore_changes = {"desiredCount"};
  converge({s});
  world_.things["thing/svc"].properties["desiredCount"] = 5;  // the autoscaler's doing
  EXPECT_TRUE(engine().plan({s})->empty());
  s.properties["image"] = "b";
  world_.calls.clear();
  converge({s});
  EXPECT_EQ(world_.calls, (std::vector<std::string>{"update thing.svc image"}));
  EXPECT_EQ(world_.things["thing/svc"].properties.at("desiredCount"), bj::value(5));
}

TEST_F(EngineTest, UndesiredAndDestroyedDependentsFirst) {
  std::vector<ResourceSpec> desired{spec("thing", "base", {}), spec("widget", "mid", {{"b", "${thing.base.arn}"}}),
                                    spec("widget", "top", {}, {"widget.mid"})};
  converge(desired);

  auto orphan = engine().plan({desired[0]});
  ASSERT_TRUE(orphan);
  ASSERT_EQ(orphan->count(Action::kDelete), 2);
  EXPECT_EQ(orphan->changes[0].address, "widget.top");
  EXPECT_EQ(orphan->changes[1].address, "widget.mid");

  auto targeted = engine().planDestroy({"thing.base"});
  ASSERT_TRUE(targeted);
  std::vector<std::string> order;
  for (const auto& c : targeted->changes) order.push_back(c.address);
  EXPECT_EQ(order, (std::vector<std::string>{"widget.top", "widget.mid", "thing.base"}));
  EXPECT_FALSE(engine().planDestroy({"thing.nope"}));

  world_.calls.clear();
  auto all = engine().planDestroy();
  ASSERT_TRUE(all);
  std::string text = renderPlan(*all, false);
  EXPECT_NE(text.find("Plan: 0 to add, 0 to change, 3 to destroy."), std::string::npos) << text;
  ASSERT_TRUE(engine().apply(*all, {}));
  EXPECT_EQ(world_.calls, (std::vector<std::string>{"delete widget.top", "delete widget.mid", "delete thing.base"}));
  EXPECT_TRUE(world_.things.empty());
  EXPECT_TRUE(engine().managed()->empty());
  EXPECT_TRUE(engine().planDestroy()->empty());
}

TEST_F(EngineTest, AdoptsExistingResourcesIntoState) {
  world_.things["thing/pre"] = LiveResource{"pre", {{"size", 1}}, {{"arn", "arn:pre"}}};
  auto plan = engine().plan({spec("thing", "pre", {{"size", 1}})});
  ASSERT_TRUE(plan);
  EXPECT_TRUE(plan->empty());
  ASSERT_TRUE(engine().apply(*plan, {spec("thing", "pre", {{"size", 1}})}));
  EXPECT_EQ(*engine().managed(), (std::vector<std::string>{"thing.pre"}));
}

TEST_F(EngineTest, OldStateWithoutPropertiesThenRemovalDetected) {
  std::vector<ResourceSpec> desired{spec("thing", "t", {{"size", 1}, {"zone", "a"}, {"extra", "x"}})};
  converge(desired);
  // A state file from before properties were recorded.
  auto path = dir_ / "state.json";
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  in.close();
  bj::value doc = json::parse(text).value();
  ASSERT_TRUE(doc.at("resources").at("thing.t").as_object().contains("properties")) << text;
  doc.at("resources").at("thing.t").as_object().erase("properties");
  std::ofstream(path) << json::serialize(doc);

  auto same = engine().plan(desired);
  ASSERT_TRUE(same);
  EXPECT_EQ(renderPlan(*same, false), "No changes. Your infrastructure matches the configuration.\n");
  std::vector<ResourceSpec> fewer{spec("thing", "t", {{"size", 1}, {"zone", "a"}})};
  auto unknown = engine().plan(fewer);  // what was applied is not known: no removal
  ASSERT_TRUE(unknown);
  EXPECT_TRUE(unknown->empty());

  world_.calls.clear();
  ASSERT_TRUE(engine().apply(*same, desired));  // a no-op apply records the properties
  EXPECT_TRUE(world_.calls.empty());
  auto removed = engine().plan(fewer);
  ASSERT_TRUE(removed);
  ASSERT_EQ(removed->count(Action::kUpdate), 1);
  const Change* t = findChange(*removed, "thing.t");
  ASSERT_EQ(t->attributes.size(), 1u);
  EXPECT_EQ(t->attributes[0].path, "extra");
  EXPECT_FALSE(t->attributes[0].after.has_value());
  std::string rendered = renderPlan(*removed, false);
  EXPECT_NE(rendered.find("      - extra: \"x\"\n"), std::string::npos) << rendered;
  ASSERT_TRUE(engine().apply(*removed, fewer));
  EXPECT_EQ(world_.calls, (std::vector<std::string>{"update thing.t extra"}));
  EXPECT_FALSE(world_.things["thing/t"].properties.contains("extra"));
  EXPECT_TRUE(engine().plan(fewer)->empty());

  // Removing a property that forces replacement replaces.
  auto replace = engine().plan({spec("thing", "t", {{"size", 1}})});
  ASSERT_TRUE(replace);
  EXPECT_EQ(replace->count(Action::kReplace), 1);
  rendered = renderPlan(*replace, false);
  EXPECT_NE(rendered.find("- zone: \"a\" # forces replacement"), std::string::npos) << rendered;
}

TEST_F(EngineTest, UnknownTypeIsAnError) {
  auto plan = engine().plan({spec("gizmo", "g", {})});
  ASSERT_FALSE(plan);
  EXPECT_NE(plan.error().message.find("unknown resource type"), std::string::npos);
}

// Just enough ECS, CloudWatch Logs and IAM for the real resource types:
// task definitions register revisions (ECS adds fields of its own); lists
// come back `page_size` items at a time.
class FakeAws final : public AwsApi {
 public:
  Result<bj::object> json(std::string_view service, std::string_view op, const bj::object& in) override {
    calls.push_back(std::string(service) + " " + std::string(op));
    if (op == "RegisterTaskDefinition") {
      registered.push_back(in);
      bj::object td = in;
      std::string family = json::stringOr(in, "family");
      int revision = ++revisions[family];
      td["revision"] = revision;
      td["status"] = "ACTIVE";
      td["taskDefinitionArn"] = "arn:aws:ecs:r:1:task-definition/" + family + ":" + std::to_string(revision);
      td["registeredAt"] = 1.5;
      for (auto& c : td["containerDefinitions"].as_array()) {
        bj::object& o = c.as_object();
        for (const char* k : {"environment", "mountPoints", "volumesFrom"})
          if (!o.contains(k)) o[k] = bj::array{};
      }
      latest[family] = td;
      return bj::object{{"taskDefinition", td}};
    }
    if (op == "DescribeTaskDefinition") {
      auto it = latest.find(json::stringOr(in, "taskDefinition"));
      if (it == latest.end()) return fail(ErrorCode::kInvalidArgument, "no such family", "ClientException");
      return bj::object{{"taskDefinition", it->second}};
    }
    if (op == "DescribeLogGroups") {
      std::string prefix = json::stringOr(in, "logGroupNamePrefix");
      size_t from = json::getString(in, "nextToken") ? std::stoul(json::stringOr(in, "nextToken")) : 0;
      bj::array page;
      size_t i = from;
      for (; i < log_groups.size() && page.size() < page_size; ++i)
        if (json::stringOr(log_groups[i], "logGroupName").starts_with(prefix)) page.push_back(log_groups[i]);
      bj::object out{{"logGroups", page}};
      if (i < log_groups.size()) out["nextToken"] = std::to_string(i);
      return out;
    }
    return fail(ErrorCode::kUnimplemented, std::string(op));
  }
  Result<XmlElement> query(std::string_view service, std::string_view action, const QueryParams& params) override {
    calls.push_back(std::string(service) + " " + std::string(action));
    std::string marker;
    for (const auto& [k, v] : params)
      if (k == "Marker") marker = v;
    auto listed = [&](const std::vector<std::string>& items, std::string_view list, auto member) {
      size_t from = marker.empty() ? 0 : std::stoul(marker);
      std::string xml =
          "<" + std::string(action) + "Response><" + std::string(action) + "Result><" + std::string(list) + ">";
      size_t i = from;
      for (; i < items.size() && i < from + page_size; ++i) xml += "<member>" + member(items[i]) + "</member>";
      xml += "</" + std::string(list) + ">";
      if (i < items.size()) xml += "<IsTruncated>true</IsTruncated><Marker>" + std::to_string(i) + "</Marker>";
      xml += "</" + std::string(action) + "Result></" + std::string(action) + "Response>";
      return parseXml(xml);
    };
    if (action == "GetRole")
      return parseXml(
          "<GetRoleResponse><GetRoleResult><Role><Arn>arn:role</Arn><Path>/</Path>"
          "<AssumeRolePolicyDocument>%7B%7D</AssumeRolePolicyDocument></Role></GetRoleResult></GetRoleResponse>");
    if (action == "ListRolePolicies")
      return listed(inline_policies, "PolicyNames", [](const std::string& n) { return n; });
    if (action == "GetRolePolicy")
      return parseXml(
          "<GetRolePolicyResponse><GetRolePolicyResult><PolicyDocument>%7B%22v%22%3A1%7D</PolicyDocument>"
          "</GetRolePolicyResult></GetRolePolicyResponse>");
    if (action == "ListAttachedRolePolicies")
      return listed(managed_policies, "AttachedPolicies",
                    [](const std::string& arn) { return "<PolicyArn>" + arn + "</PolicyArn>"; });
    return fail(ErrorCode::kUnimplemented, std::string(action));
  }

  size_t page_size = 1;
  std::vector<std::string> calls;
  std::vector<bj::object> registered;  // RegisterTaskDefinition inputs
  std::map<std::string, int> revisions;
  std::map<std::string, bj::object> latest;  // family -> latest revision
  std::vector<bj::object> log_groups;
  std::vector<std::string> inline_policies, managed_policies;
};

class StackAwsTest : public ::testing::Test {
 protected:
  void SetUp() override {
    dir_ = std::filesystem::temp_directory_path() / ("berth-stack-aws-test-" + std::to_string(::getpid()) + "-" +
                                                     ::testing::UnitTest::GetInstance()->current_test_info()->name());
    std::filesystem::create_directories(dir_);
  }
  void TearDown() override { std::filesystem::remove_all(dir_); }
  Engine engine() { return Engine(aws_, (dir_ / "state.json").string()); }

  std::filesystem::path dir_;
  FakeAws aws_;
};

TEST_F(StackAwsTest, RemovedEnvironmentVariableReRegistersTaskDefinitionWithoutIt) {
  bj::object props = json::parse(R"({"family":"web","cpu":"256","memory":"512","taskRoleArn":"arn:task-role",
    "containerDefinitions":[{"name":"app","image":"nginx",
      "environment":[{"name":"A","value":"1"},{"name":"B","value":"2"}],
      "secrets":[{"name":"S","valueFrom":"arn:secret"}]}]})")
                         ->as_object();
  std::vector<ResourceSpec> desired{spec("ecs_task_definition", "web", props)};
  auto first = engine().plan(desired);
  ASSERT_TRUE(first) << first.error().message;
  ASSERT_TRUE(engine().apply(*first, desired));
  ASSERT_EQ(aws_.registered.size(), 1u);
  auto again = engine().plan(desired);
  ASSERT_TRUE(again) << again.error().message;
  EXPECT_TRUE(again->empty()) << renderPlan(*again, false);

  // B, the secrets and the task role go.
  bj::object& c = desired[0].properties["containerDefinitions"].as_array()[0].as_object();
  c["environment"].as_array().pop_back();
  c.erase("secrets");
  desired[0].properties.erase("taskRoleArn");
  auto plan = engine().plan(desired);
  ASSERT_TRUE(plan) << plan.error().message;
  ASSERT_EQ(plan->count(Action::kUpdate), 1);
  std::vector<std::string> paths;
  for (const auto& a : plan->changes[0].attributes) paths.push_back(a.path);
  EXPECT_EQ(paths, (std::vector<std::string>{"containerDefinitions[0].environment", "containerDefinitions[0].secrets",
                                             "taskRoleArn"}));
  std::string text = renderPlan(*plan, false);
  EXPECT_NE(
      text.find(
          R"(~ containerDefinitions[0].environment: [{"name":"A","value":"1"},{"name":"B","value":"2"}] -> [{"name":"A","value":"1"}])"),
      std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(- containerDefinitions[0].secrets: [{"name":"S","valueFrom":"arn:secret"}])"),
            std::string::npos)
      << text;
  EXPECT_NE(text.find(R"(- taskRoleArn: "arn:task-role")"), std::string::npos) << text;

  ASSERT_TRUE(engine().apply(*plan, desired));
  ASSERT_EQ(aws_.registered.size(), 2u);
  const bj::object& sent = aws_.registered.back();
  EXPECT_FALSE(sent.contains("taskRoleArn"));
  const bj::object& sent_c = sent.at("containerDefinitions").as_array()[0].as_object();
  EXPECT_FALSE(sent_c.contains("secrets"));
  EXPECT_EQ(sent_c.at("environment").as_array().size(), 1u);
  auto after = engine().plan(desired);
  ASSERT_TRUE(after);
  EXPECT_TRUE(after->empty()) << renderPlan(*after, false);
}

TEST_F(StackAwsTest, LogGroupOnTheSecondPageIsFound) {
  aws_.log_groups = {bj::object{{"logGroupName", "/app-old"}, {"arn", "arn:lg:/app-old:*"}},
                     bj::object{{"logGroupName", "/app"}, {"arn", "arn:lg:/app:*"}, {"retentionInDays", 7}}};
  auto types = awsResourceTypes();
  bj::object props{{"logGroupName", "/app"}, {"retentionInDays", 7}};
  auto live = types.at("log_group")->read(aws_, "app", "", &props);
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_TRUE(live->has_value());
  EXPECT_EQ((*live)->outputs.at("arn"), bj::value("arn:lg:/app"));
  EXPECT_EQ((*live)->properties.at("retentionInDays"), bj::value(7));
  EXPECT_EQ(std::count(aws_.calls.begin(), aws_.calls.end(), "logs DescribeLogGroups"), 2);
  // And a plan adopts it rather than creating it.
  auto plan = engine().plan({spec("log_group", "app", props)});
  ASSERT_TRUE(plan) << plan.error().message;
  EXPECT_TRUE(plan->empty()) << renderPlan(*plan, false);
}

TEST_F(StackAwsTest, IamPoliciesOverTwoPages) {
  aws_.inline_policies = {"p1", "p2"};
  aws_.managed_policies = {"arn:m1", "arn:m2", "arn:m3"};
  auto types = awsResourceTypes();
  auto live = types.at("iam_role")->read(aws_, "r", "r", nullptr);
  ASSERT_TRUE(live) << live.error().message;
  ASSERT_TRUE(live->has_value());
  const bj::object& inline_policies = (*live)->properties.at("InlinePolicies").as_object();
  EXPECT_EQ(inline_policies.size(), 2u);
  EXPECT_TRUE(inline_policies.contains("p2"));
  EXPECT_EQ((*live)->properties.at("ManagedPolicyArns"), (bj::array{"arn:m1", "arn:m2", "arn:m3"}));
  EXPECT_EQ(std::count(aws_.calls.begin(), aws_.calls.end(), "iam ListRolePolicies"), 2);
  EXPECT_EQ(std::count(aws_.calls.begin(), aws_.calls.end(), "iam ListAttachedRolePolicies"), 3);
}

TEST(StackPagingTest, RepeatedTokenIsAnError) {
  class Looping final : public AwsApi {
   public:
    Result<bj::object> json(std::string_view, std::string_view, const bj::object&) override {
      return bj::object{{"NextToken", "same"}};
    }
    Result<XmlElement> query(std::string_view, std::string_view, const QueryParams&) override {
      return parseXml("<XResponse><XResult><IsTruncated>true</IsTruncated><Marker>m</Marker></XResult></XResponse>");
    }
  } api;
  int pages = 0;
  auto json_pages = forEachJsonPage(api, "svc", "List", {}, "NextToken", [&](const bj::object&) { return ++pages; });
  EXPECT_FALSE(json_pages);
  EXPECT_EQ(pages, 2);
  pages = 0;
  EXPECT_FALSE(forEachQueryPage(api, "iam", "X", {}, [&](const XmlElement&) { return ++pages > 0; }));
  EXPECT_EQ(pages, 2);
}

TEST(StackXmlTest, ParsesQueryAnswers) {
  auto doc = parseXml(R"(<?xml version="1.0" encoding="UTF-8"?>
<GetRoleResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/">
  <GetRoleResult><Role><Arn>arn:aws:iam::1:role/r</Arn>
    <AssumeRolePolicyDocument>%7B%22Version%22%3A%222012-10-17%22%7D</AssumeRolePolicyDocument>
    <Description>a &amp; b &lt;c&gt; &#233;&#x41;</Description><Empty/><Tags><member><Key>k</Key></member><member><Key>l</Key></member></Tags>
  </Role></GetRoleResult>
  <!-- comment --><ResponseMetadata><RequestId>x</RequestId></ResponseMetadata>
</GetRoleResponse>)");
  ASSERT_TRUE(doc) << doc.error().message;
  EXPECT_EQ(doc->name, "GetRoleResponse");
  EXPECT_EQ(doc->textAt("GetRoleResult/Role/Arn"), "arn:aws:iam::1:role/r");
  EXPECT_EQ(doc->textAt("GetRoleResult/Role/Description"),
            "a & b <c> \xC3\xA9"
            "A");
  EXPECT_EQ(urlDecode(doc->textAt("GetRoleResult/Role/AssumeRolePolicyDocument")), R"({"Version":"2012-10-17"})");
  EXPECT_EQ(doc->find("GetRoleResult/Role/Tags")->all("member").size(), 2u);
  EXPECT_EQ(doc->textAt("GetRoleResult/Role/Nope"), "");
  EXPECT_FALSE(parseXml("<a><b></a>"));
  EXPECT_FALSE(parseXml("<a>&bogus;</a>"));
  EXPECT_FALSE(parseXml("<a>"));
  EXPECT_FALSE(parseXml(""));
}

TEST(StackXmlTest, UrlEncoding) {
  EXPECT_EQ(urlEncode("a b/{\"x\"}~"), "a%20b%2F%7B%22x%22%7D~");
  EXPECT_EQ(urlDecode(urlEncode("{\"Statement\": [1, \"é\"]}")), "{\"Statement\": [1, \"é\"]}");
  EXPECT_EQ(urlDecode("a+b%2"), "a b%2");
}

}  // namespace
}  // namespace berth::stack
