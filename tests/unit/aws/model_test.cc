#include "aws/model.h"

#include <algorithm>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include <gtest/gtest.h>

#include "aws/embedded_models.h"

namespace berth::aws {
namespace {

std::string embeddedText(std::string_view id) {
  for (size_t i = 0; i < kEmbeddedModelCount; ++i) {
    if (id == kEmbeddedModels[i].id) return std::string(kEmbeddedModels[i].json, kEmbeddedModels[i].size);
  }
  return {};
}

TEST(ModelTest, EveryEmbeddedServiceLoads) {
  std::vector<std::string> ids;
  for (const ServiceModel* m : ServiceModel::all()) {
    ids.push_back(m->id());
    auto status = m->loaded();
    EXPECT_TRUE(status.has_value()) << m->id() << ": " << status.error().message;
    EXPECT_FALSE(m->operations().empty()) << m->id();
    EXPECT_FALSE(m->botocoreVersion().empty()) << m->id();
    EXPECT_FALSE(m->apiVersion().empty()) << m->id();
  }
  EXPECT_EQ(ids, (std::vector<std::string>{"application-autoscaling", "berth", "ec2", "ecr", "ecs", "iam", "kms", "logs",
                                           "monitoring", "servicediscovery", "ssm", "sts"}));
}

TEST(ModelTest, LooksServicesUpByWireNames) {
  EXPECT_EQ(ServiceModel::byTargetPrefix("AmazonEC2ContainerServiceV20141113"), ServiceModel::byId("ecs"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("Logs_20140328"), ServiceModel::byId("logs"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("Route53AutoNaming_v20170314"), ServiceModel::byId("servicediscovery"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("AnyScaleFrontendService"), ServiceModel::byId("application-autoscaling"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("AmazonSSM"), ServiceModel::byId("ssm"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("TrentService"), ServiceModel::byId("kms"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("AmazonEC2ContainerRegistry_V20150921"), ServiceModel::byId("ecr"));
  EXPECT_EQ(ServiceModel::byTargetPrefix("GraniteServiceVersion20100801"), ServiceModel::byId("monitoring"));
  EXPECT_EQ(ServiceModel::byTargetPrefix(""), nullptr);
  EXPECT_EQ(ServiceModel::byTargetPrefix("Nope"), nullptr);

  // ECR signs as "ecr" but lives at api.ecr.
  ASSERT_NE(ServiceModel::byId("ecr"), nullptr);
  EXPECT_EQ(ServiceModel::bySigningName("ecr"), ServiceModel::byId("ecr"));
  EXPECT_EQ(ServiceModel::byEndpointPrefix("api.ecr"), ServiceModel::byId("ecr"));
  EXPECT_EQ(ServiceModel::byEndpointPrefix("ecr"), nullptr);
  // Logs has no signingName in its model: it defaults to the endpoint prefix.
  EXPECT_EQ(ServiceModel::bySigningName("logs"), ServiceModel::byId("logs"));
  EXPECT_EQ(ServiceModel::bySigningName("monitoring"), ServiceModel::byId("monitoring"));
  EXPECT_EQ(ServiceModel::bySigningName("iam"), ServiceModel::byId("iam"));
  EXPECT_EQ(ServiceModel::byId("cloudwatch"), nullptr);
}

TEST(ModelTest, Protocols) {
  const ServiceModel* ecs = ServiceModel::byId("ecs");
  ASSERT_NE(ecs, nullptr);
  EXPECT_EQ(ecs->protocol(), Protocol::kJson);
  EXPECT_EQ(ecs->jsonVersion(), "1.1");
  EXPECT_FALSE(ecs->speaks(Protocol::kQuery));

  const ServiceModel* iam = ServiceModel::byId("iam");
  EXPECT_EQ(iam->protocol(), Protocol::kQuery);
  EXPECT_EQ(iam->xmlNamespace(), "https://iam.amazonaws.com/doc/2010-05-08/");

  EXPECT_EQ(ServiceModel::byId("ec2")->protocol(), Protocol::kEc2);

  // CloudWatch: current SDKs use JSON 1.0, older ones Query; CBOR is not
  // spoken.
  const ServiceModel* cw = ServiceModel::byId("monitoring");
  EXPECT_EQ(cw->protocol(), Protocol::kJson);
  EXPECT_EQ(cw->jsonVersion(), "1.0");
  EXPECT_TRUE(cw->speaks(Protocol::kQuery));
  EXPECT_TRUE(cw->awsQueryCompatible());
  EXPECT_EQ(cw->xmlNamespace(), "http://monitoring.amazonaws.com/doc/2010-08-01/");
  EXPECT_STREQ(protocolName(Protocol::kEc2), "ec2");
}

TEST(ModelTest, Operations) {
  const ServiceModel* ecs = ServiceModel::byId("ecs");
  const OperationModel* op = ecs->operation("CreateService");
  ASSERT_NE(op, nullptr);
  EXPECT_EQ(op->name, "CreateService");
  EXPECT_EQ(op->input_shape_name, "CreateServiceRequest");
  EXPECT_EQ(op->output_shape_name, "CreateServiceResponse");
  ASSERT_NE(op->input, nullptr);
  EXPECT_EQ(op->input->name, "CreateServiceRequest");
  EXPECT_EQ(op->http_method, "POST");
  EXPECT_EQ(op->request_uri, "/");
  EXPECT_NE(std::find(op->error_shape_names.begin(), op->error_shape_names.end(), "ClusterNotFoundException"),
            op->error_shape_names.end());
  EXPECT_EQ(op->errors.size(), op->error_shape_names.size());
  EXPECT_EQ(ecs->operation("NoSuchOperation"), nullptr);
  EXPECT_TRUE(std::is_sorted(ecs->operations().begin(), ecs->operations().end(),
                             [](const auto& a, const auto& b) { return a.name < b.name; }));

  const OperationModel* get_role = ServiceModel::byId("iam")->operation("GetRole");
  ASSERT_NE(get_role, nullptr);
  EXPECT_EQ(get_role->result_wrapper, "GetRoleResult");

  EXPECT_TRUE(ServiceModel::byId("sts")->operation("AssumeRoleWithWebIdentity")->unsigned_request);
  EXPECT_FALSE(ServiceModel::byId("sts")->operation("AssumeRole")->unsigned_request);
  EXPECT_TRUE(ServiceModel::byId("monitoring")->operation("PutMetricData")->gzip_request);

  // EC2 keeps only what berth answers.
  const ServiceModel* ec2 = ServiceModel::byId("ec2");
  EXPECT_EQ(ec2->operations().size(), 7u);
  EXPECT_NE(ec2->operation("DescribeVpcAttribute"), nullptr);
  EXPECT_EQ(ec2->operation("RunInstances"), nullptr);
}

TEST(ModelTest, Shapes) {
  const ServiceModel* ecs = ServiceModel::byId("ecs");
  const ShapeModel* launch = ecs->shape("LaunchType");
  ASSERT_NE(launch, nullptr);
  EXPECT_EQ(launch->type, ShapeType::kString);
  EXPECT_NE(std::find(launch->enum_values.begin(), launch->enum_values.end(), "FARGATE"), launch->enum_values.end());

  const ShapeModel* req = ecs->shape("RegisterTaskDefinitionRequest");
  ASSERT_NE(req, nullptr);
  const MemberModel* family = req->findMember("family");
  ASSERT_NE(family, nullptr);
  EXPECT_TRUE(family->required);
  EXPECT_EQ(family->shape->type, ShapeType::kString);
  const MemberModel* containers = req->findMember("containerDefinitions");
  ASSERT_NE(containers, nullptr);
  EXPECT_EQ(containers->shape->type, ShapeType::kList);
  EXPECT_EQ(containers->shape->member.shape->name, "ContainerDefinition");
  EXPECT_EQ(req->findMember("nope"), nullptr);

  const ShapeModel* tags = ecs->shape("Tags");
  ASSERT_NE(tags, nullptr);
  EXPECT_EQ(tags->max, 50);
  EXPECT_EQ(ecs->shape("TagKey")->min, 1);

  // EC2 serialization traits: locationName on references, merged.
  const ShapeModel* vpcs = ServiceModel::byId("ec2")->shape("DescribeVpcsRequest");
  ASSERT_NE(vpcs, nullptr);
  EXPECT_EQ(vpcs->findMember("Filters")->location_name, "Filter");
  const ShapeModel* vpc_list = ServiceModel::byId("ec2")->shape("VpcList");
  EXPECT_EQ(vpc_list->member.location_name, "item");

  const ShapeModel* tag_map = ServiceModel::byId("logs")->shape("Tags");
  ASSERT_NE(tag_map, nullptr);
  EXPECT_EQ(tag_map->type, ShapeType::kMap);
  EXPECT_EQ(tag_map->key.shape->type, ShapeType::kString);
}

TEST(ModelTest, ErrorShapes) {
  const ShapeModel* not_found = ServiceModel::byId("ecs")->errorShape("ClusterNotFoundException");
  ASSERT_NE(not_found, nullptr);
  EXPECT_TRUE(not_found->exception);

  // IAM's wire code differs from the shape name.
  const ServiceModel* iam = ServiceModel::byId("iam");
  const ShapeModel* no_such = iam->errorShape("NoSuchEntity");
  ASSERT_NE(no_such, nullptr);
  EXPECT_EQ(no_such->name, "NoSuchEntityException");
  EXPECT_EQ(no_such->error_http_status, 404);
  EXPECT_TRUE(no_such->sender_fault);
  EXPECT_EQ(iam->errorShape("NoSuchEntityException"), no_such);
  EXPECT_EQ(iam->errorShape("ServiceFailure")->error_http_status, 500);
  EXPECT_EQ(iam->errorShape("Bogus"), nullptr);
}

TEST(ModelTest, FromJsonRejectsBrokenModels) {
  auto missing_shape =
      ServiceModel::fromJson(R"({"metadata":{"id":"t","protocol":"json","jsonVersion":"1.1","targetPrefix":"T"},)"
                             R"("operations":{"Op":{"name":"Op","input":{"shape":"In"}}},"shapes":{}})");
  ASSERT_FALSE(missing_shape.has_value());
  EXPECT_NE(missing_shape.error().message.find("In"), std::string::npos);

  auto bad_ref = ServiceModel::fromJson(R"({"metadata":{"id":"t","protocol":"json"},"operations":{},)"
                                        R"("shapes":{"S":{"type":"structure","members":{"a":{"shape":"Missing"}}}}})");
  EXPECT_FALSE(bad_ref.has_value());

  EXPECT_FALSE(ServiceModel::fromJson("not json").has_value());
  EXPECT_FALSE(ServiceModel::fromJson(R"({"metadata":{"protocol":"smithy-rpc-v2-cbor"},"operations":{},"shapes":{}})")
                   .has_value());

  auto ok = ServiceModel::fromJson(
      R"({"metadata":{"id":"t","protocol":"json","jsonVersion":"1.0","targetPrefix":"T"},)"
      R"("operations":{"Op":{"name":"Op","input":{"shape":"In"}}},)"
      R"("shapes":{"In":{"type":"structure","required":["a"],"members":{"a":{"shape":"S"}}},"S":{"type":"string"}}})");
  ASSERT_TRUE(ok.has_value()) << ok.error().message;
  EXPECT_EQ((*ok)->id(), "t");
  EXPECT_TRUE((*ok)->operation("Op")->input->members[0].required);
  // Not registered: only embedded models are.
  EXPECT_EQ(ServiceModel::byId("t"), nullptr);
}

TEST(ModelTest, ConcurrentFirstUseParsesOnce) {
  const ServiceModel* kms = ServiceModel::byId("kms");
  std::vector<const OperationModel*> seen(8, nullptr);
  std::vector<std::thread> threads;
  for (size_t i = 0; i < seen.size(); ++i) {
    threads.emplace_back([&, i] { seen[i] = kms->operation("Encrypt"); });
  }
  for (auto& t : threads) t.join();
  ASSERT_NE(seen[0], nullptr);
  for (const OperationModel* op : seen) EXPECT_EQ(op, seen[0]);
}

// berthd must start in < 50 ms: the registry reads metadata only, and a
// service's operations and shapes are parsed on its first request.
TEST(ModelTest, LazyParseCost) {
  std::string ecs = embeddedText("ecs");
  ASSERT_FALSE(ecs.empty());
  auto start = std::chrono::steady_clock::now();
  auto model = ServiceModel::fromJson(ecs);
  auto elapsed = std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count();
  ASSERT_TRUE(model.has_value());
  RecordProperty("ecs_parse_ms", std::to_string(elapsed));
  std::printf("ECS model (%zu bytes) parsed in %.2f ms\n", ecs.size(), elapsed);
  // Generous bound: sanitizer and debug builds are several times slower.
  EXPECT_LT(elapsed, 250.0);
}

}  // namespace
}  // namespace berth::aws
