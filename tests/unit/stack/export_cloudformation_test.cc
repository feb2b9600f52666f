// The CloudFormation export of the seed's stack file: which resources, their
// key properties, references that resolve inside the template, Fn::Sub
// exactly where the account is, and no SecureString value anywhere.
#include <algorithm>
#include <map>
#include <set>

#include <fmt/format.h>
#include <gtest/gtest.h>

#include "common/json.h"
#include "stack/export.h"
#include "stack/stack_file.h"

namespace berth::stack {
namespace {

namespace bj = boost::json;

constexpr std::string_view kAccount = "${AWS::AccountId}";

// The environment as `berth export cloudformation` resolves it.
Environment example(std::string_view env) {
  std::string path =
      std::string(getenv("BERTH_SOURCE_DIR") ? getenv("BERTH_SOURCE_DIR") : ".") + "/examples/durableai/berth.yaml";
  auto file = loadStackFile(path);
  EXPECT_TRUE(file) << (file ? "" : file.error().message);
  if (!file) return {};
  auto resolved = resolve(*file, env, kAccount);
  EXPECT_TRUE(resolved) << (resolved ? "" : resolved.error().message);
  return resolved ? *resolved : Environment{};
}

bj::object parseTemplate(const std::string& text) {
  auto v = json::parse(text);
  EXPECT_TRUE(v && v->is_object()) << text;
  return v && v->is_object() ? v->as_object() : bj::object{};
}

std::map<std::string, int> typeCounts(const bj::object& t) {
  std::map<std::string, int> out;
  for (const auto& [_, r] : t.at("Resources").as_object()) ++out[std::string(r.at("Type").as_string())];
  return out;
}

const bj::object& props(const bj::object& t, std::string_view id) {
  return t.at("Resources").at(id).at("Properties").as_object();
}

// Every name a Ref, Fn::GetAtt, DependsOn or Fn::Sub variable uses, and every
// string, split into the ones in Fn::Sub and the plain ones.
struct Walk {
  std::set<std::string> names, sub_strings, plain_strings;

  void operator()(const bj::value& v) {
    if (v.is_string()) {
      plain_strings.insert(std::string(v.as_string()));
    } else if (v.is_array()) {
      for (const auto& e : v.as_array()) (*this)(e);
    } else if (v.is_object()) {
      for (const auto& [key, member] : v.as_object()) {
        if (key == "Ref") {
          names.insert(std::string(member.as_string()));
        } else if (key == "Fn::GetAtt") {
          names.insert(std::string(member.as_array()[0].as_string()));
        } else if (key == "DependsOn") {
          for (const auto& d : member.as_array()) names.insert(std::string(d.as_string()));
        } else if (key == "Fn::Sub") {
          std::string s(member.as_string());
          sub_strings.insert(s);
          for (size_t at = s.find("${"); at != std::string::npos; at = s.find("${", at + 2)) {
            if (s[at + 2] == '!') continue;  // an escaped literal
            names.insert(s.substr(at + 2, s.find('}', at) - at - 2));
          }
        } else {
          (*this)(member);
        }
      }
    }
  }
};

void expectReferencesResolve(const bj::object& t) {
  Walk walk;
  walk(t.at("Resources"));
  walk(t.at("Outputs"));
  ASSERT_FALSE(walk.names.empty());
  for (const auto& name : walk.names) {
    if (name.starts_with("AWS::")) continue;  // pseudo parameters
    EXPECT_TRUE(t.at("Resources").as_object().contains(name) || t.at("Parameters").as_object().contains(name))
        << name << " is neither a resource nor a parameter";
  }
}

// Fn::Sub where the account is, and only there.
void expectSubExactlyForTheAccount(const bj::object& t) {
  Walk walk;
  walk(t);
  EXPECT_FALSE(walk.sub_strings.empty());
  for (const auto& s : walk.sub_strings) EXPECT_NE(s.find(kAccount), std::string::npos) << s;
  for (const auto& s : walk.plain_strings) EXPECT_EQ(s.find("AWS::AccountId"), std::string::npos) << s;
}

TEST(CloudFormationExportTest, ProdHasTheSeedsResourcesAndScaling) {
  std::string text = exportCloudFormation(example("prod"));
  bj::object t = parseTemplate(text);
  EXPECT_EQ(t.at("AWSTemplateFormatVersion"), "2010-09-09");
  EXPECT_NE(std::string_view(t.at("Description").as_string()).find("durableai"), std::string_view::npos);
  EXPECT_EQ(t.at("Parameters").at("VpcId").at("Type"), "AWS::EC2::VPC::Id");
  EXPECT_EQ(t.at("Parameters").at("SubnetIds").at("Type"), "List<AWS::EC2::Subnet::Id>");
  EXPECT_EQ(typeCounts(t), (std::map<std::string, int>{
                               {"AWS::ApplicationAutoScaling::ScalableTarget", 2},
                               {"AWS::ApplicationAutoScaling::ScalingPolicy", 2},
                               {"AWS::EC2::SecurityGroup", 1},
                               {"AWS::EC2::SecurityGroupIngress", 2},
                               {"AWS::ECR::Repository", 2},
                               {"AWS::ECS::Cluster", 1},
                               {"AWS::ECS::Service", 2},
                               {"AWS::ECS::TaskDefinition", 2},
                               {"AWS::IAM::Role", 2},  // execution, backend's task role
                               {"AWS::Logs::LogGroup", 2},
                               {"AWS::ServiceDiscovery::PrivateDnsNamespace", 1},
                               {"AWS::ServiceDiscovery::Service", 2},
                           }));

  EXPECT_EQ(props(t, "Cluster").at("ClusterName"), "durableai-prod-cluster");
  EXPECT_EQ(props(t, "Cluster").at("ClusterSettings"),
            (bj::array{bj::object{{"Name", "containerInsights"}, {"Value", "enabled"}}}));
  EXPECT_EQ(props(t, "BackendLogGroup").at("RetentionInDays"), 30);

  const bj::object& td = props(t, "BackendTaskDefinition");
  EXPECT_EQ(td.at("Family"), "durableai-prod-backend");
  EXPECT_EQ(td.at("Cpu"), "512");
  EXPECT_EQ(td.at("Memory"), "1024");
  EXPECT_EQ(td.at("TaskRoleArn"), (bj::object{{"Fn::GetAtt", bj::array{"BackendTaskRole", "Arn"}}}));
  EXPECT_FALSE(props(t, "FrontendTaskDefinition").contains("TaskRoleArn"));
  const bj::object& c = td.at("ContainerDefinitions").as_array()[0].as_object();
  EXPECT_EQ(c.at("Image"),
            (bj::object{{"Fn::Sub", "${AWS::AccountId}.dkr.ecr.us-east-1.amazonaws.com/durableai/backend:latest"}}));
  EXPECT_EQ(c.at("HealthCheck").at("Command").as_array()[1],
            "wget -q -O /dev/null http://localhost:8000/health || exit 1");
  EXPECT_EQ(c.at("LogConfiguration").at("Options").at("awslogs-group"), (bj::object{{"Ref", "BackendLogGroup"}}));

  const bj::object& svc = props(t, "BackendService");
  EXPECT_EQ(svc.at("ServiceName"), "durableai-prod-backend");
  EXPECT_EQ(svc.at("DesiredCount"), 2);
  EXPECT_EQ(svc.at("CapacityProviderStrategy").as_array()[0].at("CapacityProvider"), "FARGATE");
  EXPECT_FALSE(svc.contains("LaunchType"));  // CloudFormation rejects it beside a strategy
  EXPECT_EQ(svc.at("NetworkConfiguration").at("AwsvpcConfiguration").at("AssignPublicIp"), "DISABLED");
  EXPECT_EQ(svc.at("NetworkConfiguration").at("AwsvpcConfiguration").at("Subnets"), (bj::object{{"Ref", "SubnetIds"}}));
  EXPECT_EQ(svc.at("PropagateTags"), "SERVICE");
  EXPECT_EQ(svc.at("Tags"), props(t, "Cluster").at("Tags"));  // on FARGATE the fallback tag is moot

  const bj::object& policy = props(t, "BackendCpuScalingPolicy");
  EXPECT_EQ(policy.at("PolicyType"), "TargetTrackingScaling");
  EXPECT_EQ(policy.at("ScalingTargetId"), (bj::object{{"Ref", "BackendScalableTarget"}}));
  const bj::object& config = policy.at("TargetTrackingScalingPolicyConfiguration").as_object();
  EXPECT_EQ(config.at("TargetValue").to_number<double>(), 60.0);
  EXPECT_EQ(config.at("PredefinedMetricSpecification").at("PredefinedMetricType"), "ECSServiceAverageCPUUtilization");
  EXPECT_EQ(config.at("ScaleOutCooldown"), 120);
  EXPECT_EQ(props(t, "BackendScalableTarget").at("MaxCapacity"), 4);

  const bj::object& outputs = t.at("Outputs").as_object();
  EXPECT_EQ(outputs.at("BackendDiscoveryName").at("Value"), "backend.prod.local");
  EXPECT_TRUE(outputs.contains("ClusterName"));
  EXPECT_TRUE(outputs.contains("DurableaiBackendRepositoryUri"));
  EXPECT_TRUE(outputs.contains("FrontendLogGroupName"));

  expectReferencesResolve(t);
  expectSubExactlyForTheAccount(t);
}

TEST(CloudFormationExportTest, DevRunsOnSpotWithoutScaling) {
  bj::object t = parseTemplate(exportCloudFormation(example("dev")));
  auto counts = typeCounts(t);
  EXPECT_EQ(counts.size(), 10u);
  EXPECT_FALSE(counts.contains("AWS::ApplicationAutoScaling::ScalableTarget"));
  EXPECT_FALSE(counts.contains("AWS::ApplicationAutoScaling::ScalingPolicy"));
  EXPECT_EQ(counts["AWS::ECS::Service"], 2);
  EXPECT_EQ(props(t, "Cluster").at("ClusterSettings").as_array()[0].at("Value"), "disabled");
  EXPECT_EQ(props(t, "BackendTaskDefinition").at("Cpu"), "256");
  for (std::string_view id : {"BackendService", "FrontendService"}) {
    EXPECT_EQ(props(t, id).at("CapacityProviderStrategy").as_array()[0].at("CapacityProvider"), "FARGATE_SPOT");
    EXPECT_EQ(props(t, id).at("DesiredCount"), 1);
  }
  EXPECT_EQ(props(t, "Namespace").at("Name"), "dev.local");
  // berth's Spot fallback travels as render.cc's service tag.
  const bj::array& tags = props(t, "BackendService").at("Tags").as_array();
  EXPECT_NE(
      std::find(tags.begin(), tags.end(), bj::value(bj::object{{"Key", "berth:spot-fallback"}, {"Value", "FARGATE"}})),
      tags.end());
  expectReferencesResolve(t);
  expectSubExactlyForTheAccount(t);
}

TEST(CloudFormationExportTest, SecureStringsAreListedNeverCreatedNorShown) {
  for (std::string_view env : {"dev", "prod"}) {
    std::string text = exportCloudFormation(example(env));
    EXPECT_EQ(text.find("hello from durableai"), std::string::npos) << env;
    bj::object t = parseTemplate(text);
    EXPECT_FALSE(typeCounts(t).contains("AWS::SSM::Parameter"));
    const bj::array& listed = t.at("Metadata").at("berth").at("SecureStringParameters").as_array();
    ASSERT_EQ(listed.size(), 1u);
    EXPECT_EQ(std::string_view(listed[0].at("Name").as_string()), fmt::format("/durableai/{}/greeting", env));
    EXPECT_NE(std::string_view(listed[0].at("Create").as_string()).find("put-parameter"), std::string_view::npos);
  }
}

TEST(CloudFormationExportTest, OutputIsDeterministicAndIndented) {
  Environment env = example("prod");
  std::string text = exportCloudFormation(env);
  EXPECT_EQ(text, exportCloudFormation(env));
  EXPECT_TRUE(text.starts_with("{\n  \"AWSTemplateFormatVersion\": \"2010-09-09\",\n")) << text.substr(0, 80);
  EXPECT_TRUE(text.ends_with("}\n"));
}

// Secrets from a String parameter the template creates and from a
// SecureString it cannot; names that collide once punctuation is dropped.
TEST(CloudFormationExportTest, SecretsStringParametersAndIdCollisions) {
  Environment env;
  env.project = "p";
  env.name = "dev";
  env.region = "eu-west-1";
  env.cluster = "p-dev-cluster";
  env.namespace_name = "dev.local";
  env.execution_role = "p-dev-execution";
  env.task_role_prefix = "p-dev";
  env.tags = {{"Project", "p"}};
  env.parameters = {Parameter{"/p/dev/url", "String", "https://x.example/${AWS::AccountId}", "", {}},
                    Parameter{"/p/dev/token", "SecureString", "s3cr3t-token-value", "the token", {}}};
  Service a;
  a.name = "a-b";
  a.image = "public.ecr.aws/nginx/nginx:1.27";
  a.port = 80;
  a.environment = {{"TEMPLATE", "${HOME}/x"}};
  a.secrets = {{"URL", "/p/dev/url"}, {"TOKEN", "/p/dev/token"}};
  Service b = a;
  b.name = "a_b";
  b.secrets.clear();
  b.discovery = false;
  env.services = {a, b};

  std::string text = exportCloudFormation(env);
  EXPECT_EQ(text.find("s3cr3t-token-value"), std::string::npos);
  bj::object t = parseTemplate(text);
  expectReferencesResolve(t);
  expectSubExactlyForTheAccount(t);

  // The String parameter is created, tagged with SSM's map, its value a Sub.
  const bj::object& url = props(t, "PDevUrlParameter");
  EXPECT_EQ(url.at("Type"), "String");
  EXPECT_EQ(url.at("Value"), (bj::object{{"Fn::Sub", "https://x.example/${AWS::AccountId}"}}));
  EXPECT_EQ(url.at("Tags"), (bj::object{{"Project", "p"}}));
  EXPECT_EQ(typeCounts(t)["AWS::SSM::Parameter"], 1);

  // Distinct ids for "a-b" and "a_b"; one ingress rule for their shared port.
  EXPECT_TRUE(t.at("Resources").as_object().contains("ABService"));
  EXPECT_TRUE(t.at("Resources").as_object().contains("ABService2"));
  EXPECT_EQ(typeCounts(t)["AWS::EC2::SecurityGroupIngress"], 1);
  EXPECT_FALSE(t.at("Resources").as_object().contains("ABDiscoveryService2"));

  const bj::object& td = t.at("Resources").at("ABTaskDefinition").as_object();
  EXPECT_EQ(td.at("DependsOn"), (bj::array{"PDevUrlParameter"}));  // nginx is not a repository of the stack
  const bj::object& c = td.at("Properties").at("ContainerDefinitions").as_array()[0].as_object();
  EXPECT_EQ(c.at("Image"), "public.ecr.aws/nginx/nginx:1.27");
  EXPECT_EQ(c.at("Environment").as_array()[0].at("Value"), "${HOME}/x");  // plain: no Fn::Sub to escape for
  EXPECT_EQ(c.at("Secrets").as_array()[0],
            (bj::object{{"Name", "TOKEN"},
                        {"ValueFrom",
                         bj::object{{"Fn::Sub", "arn:aws:ssm:eu-west-1:${AWS::AccountId}:parameter/p/dev/token"}}}}));

  // The execution role reads both parameters and may decrypt through SSM.
  const bj::array& statements =
      props(t, "ExecutionRole").at("Policies").as_array()[0].at("PolicyDocument").at("Statement").as_array();
  ASSERT_EQ(statements.size(), 2u);
  EXPECT_EQ(statements[0].at("Action"), (bj::array{"ssm:GetParameters"}));
  EXPECT_EQ(statements[0].at("Resource").as_array().size(), 2u);
  EXPECT_EQ(statements[1].at("Action"), (bj::array{"kms:Decrypt"}));
  EXPECT_EQ(statements[1].at("Condition").at("StringEquals").at("kms:ViaService"), "ssm.eu-west-1.amazonaws.com");

  const bj::array& listed = t.at("Metadata").at("berth").at("SecureStringParameters").as_array();
  ASSERT_EQ(listed.size(), 1u);
  EXPECT_EQ(listed[0].at("Description"), "the token");
}

// A string with the account and another "${...}" keeps the other literal.
TEST(CloudFormationExportTest, SubEscapesOtherPlaceholders) {
  Environment env;
  env.project = "p";
  env.name = "dev";
  env.region = "us-east-1";
  env.cluster = "c";
  env.execution_role = "r";
  env.task_role_prefix = "p-dev";
  Service s;
  s.name = "api";
  s.image = "public.ecr.aws/x/y";
  s.discovery = false;
  s.environment = {{"WHERE", "${AWS::AccountId}/${HOME}"}};
  env.services = {s};
  bj::object t = parseTemplate(exportCloudFormation(env));
  const bj::object& c = props(t, "ApiTaskDefinition").at("ContainerDefinitions").as_array()[0].as_object();
  EXPECT_EQ(c.at("Environment").as_array()[0].at("Value"), (bj::object{{"Fn::Sub", "${AWS::AccountId}/${!HOME}"}}));
  EXPECT_FALSE(t.at("Resources").as_object().contains("Namespace"));  // no service is discoverable
  EXPECT_FALSE(t.at("Metadata").at("berth").as_object().contains("SecureStringParameters"));
  expectReferencesResolve(t);
}

}  // namespace
}  // namespace berth::stack
