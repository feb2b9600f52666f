#include "aws/shape_validator.h"

#include <cmath>
#include <memory>
#include <string>

#include <gtest/gtest.h>

namespace berth::aws {
namespace {

namespace bj = boost::json;

struct Outcome {
  bool ok = false;
  bj::object input;
  std::string type;
  std::string message;
};

Outcome decode(std::string_view service, std::string_view operation, std::string_view body) {
  const ServiceModel* model = ServiceModel::byId(service);
  EXPECT_NE(model, nullptr) << service;
  const OperationModel* op = model ? model->operation(operation) : nullptr;
  EXPECT_NE(op, nullptr) << operation;
  if (!op) return {};
  auto result = decodeJsonInput(*model, *op, body);
  if (result) return {true, std::move(*result), {}, {}};
  EXPECT_EQ(result.error().code, ErrorCode::kInvalidArgument);
  return {false, {}, result.error().aws_type, result.error().message};
}

// --- Request bodies: serialization ------------------------------------------

TEST(DecodeJsonInputTest, EmptyBodyIsEmptyInput) {
  for (std::string_view body : {"", "  \n", "null", "{}"}) {
    Outcome out = decode("ecs", "ListClusters", body);
    EXPECT_TRUE(out.ok) << body;
    EXPECT_TRUE(out.input.empty());
  }
}

TEST(DecodeJsonInputTest, MalformedBodyIsABareSerializationException) {
  for (std::string_view body : {"{", R"({"service":"x",)", "nul", "{\"a\":1}}", "\xEF\xBB\xBF{}"}) {
    Outcome out = decode("ecs", "UpdateService", body);
    EXPECT_FALSE(out.ok) << body;
    EXPECT_EQ(out.type, "SerializationException") << body;
    EXPECT_EQ(out.message, "") << body;
  }
}

TEST(DecodeJsonInputTest, WrongTypesAreSerializationExceptions) {
  struct Case {
    std::string_view service, op, body, message;
  };
  const Case cases[] = {
      // ECS words conversions its own way (aws-cdk-cli#973).
      {"ecs", "UpdateService", R"({"service":"s","desiredCount":"abc"})",
       "STRING_VALUE cannot be converted to Integer"},
      {"ecs", "UpdateService", R"({"service":1})", "NUMBER_VALUE cannot be converted to String"},
      {"ecs", "UpdateService", R"({"service":"s","forceNewDeployment":"yes"})",
       "STRING_VALUE cannot be converted to Boolean"},
      {"ecs", "CreateService", R"({"serviceName":"s","capacityProviderStrategy":["FARGATE"]})", "Expected null"},
      {"ecs", "CreateService", R"({"serviceName":"s","capacityProviderStrategy":"FARGATE"})", "Expected list or null"},
      {"ecs", "CreateService", R"({"serviceName":{"a":1}})", "Start of structure or map found where not expected."},
      {"ecs", "CreateService", R"({"serviceName":["a"]})", "Start of list found where not expected"},
      // Coral's classic wording elsewhere.
      {"logs", "CreateLogGroup", R"({"logGroupName":7})", "NUMBER_VALUE can not be converted to a String"},
      {"logs", "CreateLogGroup", R"({"logGroupName":true})", "TRUE_VALUE can not be converted to a String"},
      {"logs", "GetLogEvents", R"({"logStreamName":"s","limit":"10"})",
       "STRING_VALUE can not be converted to an Integer"},
      {"logs", "GetLogEvents", R"({"logStreamName":"s","startTime":"x"})",
       "STRING_VALUE can not be converted to a Long"},
      {"logs", "GetLogEvents", R"({"logStreamName":"s","startTime":1e30})",
       "NUMBER_VALUE can not be converted to a Long"},
      {"logs", "TagLogGroup", R"({"logGroupName":"g","tags":[1]})", "Start of list found where not expected"},
      {"logs", "TagLogGroup", R"({"logGroupName":"g","tags":"x"})", "Expected map or null"},
      {"ecs", "ListClusters", R"([])", "Start of list found where not expected"},
      {"ecs", "ListClusters", R"("x")", "Expected null"},
  };
  for (const Case& c : cases) {
    Outcome out = decode(c.service, c.op, c.body);
    EXPECT_FALSE(out.ok) << c.body;
    EXPECT_EQ(out.type, "SerializationException") << c.body;
    EXPECT_EQ(out.message, c.message) << c.body;
  }
}

TEST(DecodeJsonInputTest, NormalisesTheInput) {
  Outcome out = decode("ecs", "UpdateService",
                       R"({"service":"s","cluster":null,"desiredCount":2.9,"unknownMember":{"x":[1]},)"
                       R"("deploymentConfiguration":{"maximumPercent":200,"bogus":1}})");
  ASSERT_TRUE(out.ok) << out.message;
  EXPECT_EQ(bj::serialize(out.input),
            R"({"service":"s","desiredCount":2,"deploymentConfiguration":{"maximumPercent":200}})");

  // Timestamps: epoch numbers stay, ISO 8601 strings become numbers.
  Outcome logs = decode("logs", "PutLogEvents",
                        R"({"logGroupName":"g","logStreamName":"s","logEvents":[)"
                        R"({"timestamp":1767225600000,"message":"m"}]})");
  ASSERT_TRUE(logs.ok) << logs.message;
  Outcome ecs_time = decode("ecs", "ListServiceDeployments",
                            R"({"service":"s","createdAt":{"before":"2026-01-01T00:00:00Z","after":1767225600.5}})");
  ASSERT_TRUE(ecs_time.ok) << ecs_time.message;
  const bj::object& created = ecs_time.input.at("createdAt").as_object();
  EXPECT_DOUBLE_EQ(created.at("before").to_number<double>(), 1767225600.0);
  EXPECT_DOUBLE_EQ(created.at("after").to_number<double>(), 1767225600.5);

  // Documents are copied as they are.
  Outcome sd = decode("servicediscovery", "RegisterInstance",
                      R"({"ServiceId":"srv-1","InstanceId":"i","Attributes":{"AWS_INSTANCE_IPV4":"172.31.0.5"}})");
  ASSERT_TRUE(sd.ok) << sd.message;
  EXPECT_EQ(sd.input.at("Attributes").at("AWS_INSTANCE_IPV4"), "172.31.0.5");
}

// --- Request bodies: constraints --------------------------------------------

TEST(DecodeJsonInputTest, EcsMissingMembers) {
  Outcome out = decode("ecs", "UpdateService", R"({"desiredCount":1})");
  EXPECT_EQ(out.type, "InvalidParameterException");
  EXPECT_EQ(out.message, "Service can not be blank.");

  out = decode("ecs", "RegisterTaskDefinition", R"({"containerDefinitions":[{"name":"a","image":"b"}]})");
  EXPECT_EQ(out.type, "ClientException");
  EXPECT_EQ(out.message, "Family can not be blank.");

  out = decode("ecs", "RegisterTaskDefinition", R"({"family":"f","containerDefinitions":[]})");
  EXPECT_EQ(out.type, "ClientException");
  EXPECT_EQ(out.message, "Container list cannot be empty.");

  out = decode("ecs", "DescribeServices", R"({"services":[]})");
  EXPECT_EQ(out.type, "InvalidParameterException");
  EXPECT_EQ(out.message, "Services cannot be empty.");

  out = decode("ecs", "DescribeServices", R"({"services":["a"]})");
  EXPECT_TRUE(out.ok);
}

TEST(DecodeJsonInputTest, EcsConstraintViolations) {
  Outcome out = decode("ecs", "ListTasks", R"({"desiredStatus":"FOO"})");
  EXPECT_EQ(out.type, "InvalidParameterException");
  EXPECT_EQ(out.message,
            "1 validation error detected: Value 'FOO' at 'desiredStatus' failed to satisfy constraint: "
            "Member must satisfy enum value set: [RUNNING, PENDING, STOPPED]");

  out = decode("ecs", "TagResource", R"({"resourceArn":"a","tags":[{"key":"","value":"v"}]})");
  EXPECT_EQ(out.type, "InvalidParameterException");
  EXPECT_EQ(out.message,
            "1 validation error detected: Value '' at 'tags.1.member.key' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1");
}

TEST(DecodeJsonInputTest, LogsReportsEveryViolationCoralStyle) {
  Outcome out = decode("logs", "CreateLogGroup", "{}");
  EXPECT_EQ(out.type, "InvalidParameterException");
  EXPECT_EQ(out.message,
            "1 validation error detected: Value null at 'logGroupName' failed to satisfy constraint: "
            "Member must not be null");

  // Seen from the real service (amazon-genomics-cli#430).
  out = decode("logs", "CreateLogGroup", R"({"logGroupName":""})");
  EXPECT_EQ(out.message,
            "2 validation errors detected: Value '' at 'logGroupName' failed to satisfy constraint: Member must "
            "have length greater than or equal to 1; Value '' at 'logGroupName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");

  // cloudwatch-logs-centralize-logs#5: list paths are 1-based with ".member".
  out = decode("logs", "PutLogEvents", R"({"logGroupName":"g","logStreamName":"s","logEvents":[{"message":"m"}]})");
  EXPECT_EQ(out.message,
            "1 validation error detected: Value null at 'logEvents.1.member.timestamp' failed to satisfy "
            "constraint: Member must not be null");

  // Patterns match the whole value, as Java's matches() does.
  out = decode("logs", "CreateLogGroup", R"({"logGroupName":"a b"})");
  EXPECT_EQ(out.message,
            "1 validation error detected: Value 'a b' at 'logGroupName' failed to satisfy constraint: "
            "Member must satisfy regular expression pattern: [\\.\\-_/#A-Za-z0-9]+");

  out = decode("logs", "GetLogEvents", R"({"logStreamName":"s","limit":0})");
  EXPECT_EQ(out.message,
            "1 validation error detected: Value '0' at 'limit' failed to satisfy constraint: "
            "Member must have value greater than or equal to 1");
}

TEST(DecodeJsonInputTest, OtherServicesNamesAndWording) {
  Outcome out = decode("ecr", "CreateRepository", R"({"repositoryName":"A"})");
  EXPECT_EQ(out.type, "InvalidParameterException");
  EXPECT_EQ(out.message,
            "Invalid parameter at 'repositoryName' failed to satisfy constraint: "
            "'must have length greater than or equal to 2'");

  out = decode("ssm", "GetParameter", R"({"Name":""})");
  EXPECT_EQ(out.type, "ValidationException");
  EXPECT_EQ(out.message,
            "1 validation error detected: Value '' at 'name' failed to satisfy constraint: "
            "Member must have length greater than or equal to 1");

  out = decode("kms", "Encrypt", R"({"Plaintext":"aGk="})");
  EXPECT_EQ(out.type, "ValidationException");

  out = decode("servicediscovery", "GetOperation", "{}");
  EXPECT_EQ(out.type, "InvalidInput");

  out = decode("application-autoscaling", "RegisterScalableTarget",
               R"({"ServiceNamespace":"ecs","ResourceId":"service/c/s","ScalableDimension":"x"})");
  EXPECT_EQ(out.type, "ValidationException");
  EXPECT_NE(out.message.find("at 'scalableDimension' failed to satisfy constraint: Member must satisfy enum value "
                             "set: [ecs:service:DesiredCount, "),
            std::string::npos)
      << out.message;

  out = decode("monitoring", "PutMetricAlarm", R"({"EvaluationPeriods":1})");
  EXPECT_EQ(out.type, "ValidationError");
}

TEST(DecodeJsonInputTest, ValidRequestsPass) {
  EXPECT_TRUE(decode("ecs", "CreateCluster", R"({"clusterName":"dev","tags":[{"key":"env","value":"dev"}]})").ok);
  EXPECT_TRUE(decode("logs", "CreateLogGroup", R"({"logGroupName":"/ecs/backend-dev"})").ok);
  EXPECT_TRUE(decode("logs", "PutRetentionPolicy", R"({"logGroupName":"/ecs/x","retentionInDays":7})").ok);
  EXPECT_TRUE(decode("ecr", "CreateRepository", R"({"repositoryName":"durableai/backend"})").ok);
  EXPECT_TRUE(decode("ssm", "GetParameter", R"({"Name":"/dev/db/password","WithDecryption":true})").ok);
  Outcome td = decode("ecs", "RegisterTaskDefinition",
                      R"({"family":"backend","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],)"
                      R"("cpu":"256","memory":"512","containerDefinitions":[{"name":"backend","image":"b:1",)"
                      R"("essential":true,"portMappings":[{"containerPort":8000,"protocol":"tcp"}],)"
                      R"("healthCheck":{"command":["CMD-SHELL","curl -f localhost:8000/health"],"interval":30},)"
                      R"("logConfiguration":{"logDriver":"awslogs","options":{"awslogs-group":"/ecs/b"}}}]})");
  EXPECT_TRUE(td.ok) << td.message;
}

// --- A synthetic model for the corners real models rarely reach -------------

class SyntheticModelTest : public ::testing::Test {
 protected:
  void SetUp() override {
    auto model = ServiceModel::fromJson(
        R"({"metadata":{"id":"synthetic","protocol":"json","jsonVersion":"1.1",)"
        R"("targetPrefix":"Synthetic"},"operations":{)"
        R"("Op":{"name":"Op","input":{"shape":"In"},"output":{"shape":"Out"}},)"
        R"("NoOutput":{"name":"NoOutput","input":{"shape":"In"}}},"shapes":{)"
        R"("In":{"type":"structure","required":["name"],"members":{)"
        R"("name":{"shape":"Name"},"count":{"shape":"Count"},"ratio":{"shape":"D"},)"
        R"("data":{"shape":"B"},"when":{"shape":"T"},"labels":{"shape":"Labels"},)"
        R"("names":{"shape":"Names"},"flag":{"shape":"Bool"},"big":{"shape":"L"}}},)"
        R"("Out":{"type":"structure","required":["id"],"members":{)"
        R"("id":{"shape":"Name"},"count":{"shape":"Count"},"when":{"shape":"T"},)"
        R"("labels":{"shape":"Labels"},"names":{"shape":"Names"},"kind":{"shape":"Kind"},)"
        R"("data":{"shape":"B"},"ratio":{"shape":"D"},"choice":{"shape":"U"}}},)"
        R"("Name":{"type":"string","min":1,"max":5,"pattern":"^[a-z]+$"},)"
        R"("Kind":{"type":"string","enum":["A","B"]},)"
        R"("Count":{"type":"integer","min":1,"max":10},)"
        R"("L":{"type":"long"},"D":{"type":"double","max":1.5},)"
        R"("B":{"type":"blob","max":3},"T":{"type":"timestamp"},)"
        R"("Bool":{"type":"boolean"},)"
        R"("Labels":{"type":"map","key":{"shape":"Kind"},"value":{"shape":"Name"},"max":2},)"
        R"("Names":{"type":"list","member":{"shape":"Name"},"min":1},)"
        R"("U":{"type":"structure","union":true,"members":{"a":{"shape":"Name"},"b":{"shape":"Count"}}}}})");
    ASSERT_TRUE(model.has_value()) << model.error().message;
    model_ = std::move(*model);
    op_ = model_->operation("Op");
  }

  Outcome in(std::string_view body) {
    auto result = decodeJsonInput(*model_, *op_, body);
    if (result) return {true, std::move(*result), {}, {}};
    return {false, {}, result.error().aws_type, result.error().message};
  }

  std::string out(std::string_view json) {
    auto status = validateOutput(*model_, *op_, bj::parse(json));
    if (status) return "ok";
    EXPECT_EQ(status.error().code, ErrorCode::kInternal);
    EXPECT_TRUE(status.error().aws_type.empty());
    return status.error().message;
  }

  std::unique_ptr<ServiceModel> model_;
  const OperationModel* op_ = nullptr;
};

TEST_F(SyntheticModelTest, InputConstraints) {
  EXPECT_TRUE(in(R"({"name":"abc"})").ok);
  Outcome o = in(R"({"name":"abcdef1"})");
  EXPECT_EQ(o.type, "ValidationException");
  EXPECT_EQ(o.message,
            "2 validation errors detected: Value 'abcdef1' at 'name' failed to satisfy constraint: Member must have "
            "length less than or equal to 5; Value 'abcdef1' at 'name' failed to satisfy constraint: Member must "
            "satisfy regular expression pattern: ^[a-z]+$");
  // Length counts code points, not bytes.
  EXPECT_TRUE(in(R"({"name":"\u00e9\u00e9"})").ok) << "non-ASCII values skip the pattern";
  EXPECT_EQ(in(R"({"name":"a","count":11})").message,
            "1 validation error detected: Value '11' at 'count' failed to satisfy constraint: Member must have value "
            "less than or equal to 10");
  EXPECT_EQ(in(R"({"name":"a","ratio":2.5})").message,
            "1 validation error detected: Value '2.5' at 'ratio' failed to satisfy constraint: Member must have value "
            "less than or equal to 1.5");
  EXPECT_NE(in(R"({"name":"a","data":"AAAAAA=="})").message.find("length less than or equal to 3"), std::string::npos);
  EXPECT_TRUE(in(R"({"name":"a","data":"AAAA"})").ok);
  EXPECT_EQ(in(R"({"name":"a","data":"!!"})").type, "SerializationException");
  EXPECT_EQ(in(R"({"name":"a","labels":{"C":"x"}})").message,
            "1 validation error detected: Value 'C' at 'labels.C' failed to satisfy constraint: Member must satisfy "
            "enum value set: [A, B]");
  EXPECT_EQ(in(R"({"name":"a","labels":{"A":null}})").message,
            "1 validation error detected: Value null at 'labels.A' failed to satisfy constraint: Member must not be "
            "null");
  EXPECT_EQ(in(R"({"name":"a","names":[]})").message,
            "1 validation error detected: Value '[]' at 'names' failed to satisfy constraint: Member must have length "
            "greater than or equal to 1");
  EXPECT_EQ(in(R"({"name":"a","names":["x",null]})").message,
            "1 validation error detected: Value null at 'names.2.member' failed to satisfy constraint: Member must not "
            "be null");
  EXPECT_EQ(in(R"({"name":"a","count":2147483648})").message, "NUMBER_VALUE can not be converted to an Integer");
  EXPECT_TRUE(in(R"({"name":"a","big":9007199254740993})").ok);
  EXPECT_EQ(in(R"({"name":"a","when":"yesterday"})").message, "STRING_VALUE can not be converted to a Date");
  EXPECT_EQ(in(R"({"name":"a","flag":1})").message, "NUMBER_VALUE can not be converted to a Boolean");
  EXPECT_TRUE(in(R"({"name":"a","ratio":"NaN"})").ok);
  // Found by fuzz/json_input_fuzz: overflowing literals parse as infinity,
  // which cannot be serialized back to JSON.
  EXPECT_EQ(in(R"({"name":"a","ratio":1e999})").message, "NUMBER_VALUE can not be converted to a Double");
  EXPECT_EQ(in(R"({"name":"a","when":-1e999})").message, "NUMBER_VALUE can not be converted to a Date");
  // Many violations are all reported.
  Outcome many = in(R"({"count":0,"names":[]})");
  EXPECT_EQ(many.message.rfind("3 validation errors detected: Value null at 'name'", 0), 0u) << many.message;
}

TEST_F(SyntheticModelTest, LongValuesSkipThePatternButNotTheLength) {
  std::string body = R"({"name":")" + std::string(100000, 'a') + R"("})";
  Outcome o = in(body);
  EXPECT_EQ(o.type, "ValidationException");
  EXPECT_NE(o.message.find("length less than or equal to 5"), std::string::npos);
  EXPECT_EQ(o.message.find("regular expression"), std::string::npos);
  EXPECT_LT(o.message.size(), 1300u) << "rendered values are capped";
}

TEST_F(SyntheticModelTest, OutputChecks) {
  EXPECT_EQ(out(R"({"id":"abc","count":3,"when":1767225600.5,"labels":{"A":"x"},"names":["a"],"kind":"B",)"
                R"("data":"AAA=","ratio":1.0,"choice":{"a":"x"}})"),
            "ok");
  EXPECT_EQ(out(R"({"id":"abc","when":"2026-01-01T00:00:00.000Z"})"), "ok");
  EXPECT_EQ(out(R"({})"), "synthetic Op output: id: required member missing");
  EXPECT_EQ(out(R"({"id":"abc","extra":1})"), "synthetic Op output: extra: not a member of Out");
  EXPECT_EQ(out(R"({"id":"abc","count":"3"})"),
            "synthetic Op output: count: expected integer (a JSON integer), got string");
  EXPECT_EQ(out(R"({"id":"abc","count":3.0})"),
            "synthetic Op output: count: expected integer (a JSON integer), got double");
  EXPECT_EQ(out(R"({"id":"abc","count":0})"), "synthetic Op output: count: 0 is below the minimum 1");
  EXPECT_EQ(out(R"({"id":"abc","kind":"C"})"), "synthetic Op output: kind: 'C' is not one of [A, B]");
  EXPECT_EQ(out(R"({"id":"abc","names":["a",null]})"), "synthetic Op output: names[1]: null (omit the member instead)");
  EXPECT_EQ(out(R"({"id":"abc","names":["a","toolong"]})"),
            "synthetic Op output: names[1]: length 7 is above the maximum 5");
  EXPECT_EQ(out(R"({"id":"abc","labels":{"Z":"x"}})"), "synthetic Op output: labels[\"Z\"]: 'Z' is not one of [A, B]");
  EXPECT_EQ(out(R"({"id":"abc","when":"noon"})"),
            "synthetic Op output: when: expected timestamp (epoch seconds), got string");
  EXPECT_EQ(out(R"({"id":"abc","data":"***"})"), "synthetic Op output: data: blob is not base64");
  EXPECT_EQ(validateOutput(*model_, *op_, bj::object{{"id", "abc"}, {"ratio", HUGE_VAL}}).error().message,
            "synthetic Op output: ratio: not a finite number");
  EXPECT_EQ(out(R"({"id":"abc","choice":{"a":"x","b":1}})"),
            "synthetic Op output: choice: union U must have exactly one member set");
  EXPECT_EQ(out(R"({"id":null})"), "synthetic Op output: id: null (omit the member instead)");
  EXPECT_EQ(out(R"([])"), "synthetic Op output: (top level): expected structure Out, got array");

  const OperationModel* no_output = model_->operation("NoOutput");
  EXPECT_TRUE(validateOutput(*model_, *no_output, bj::object{}).has_value());
  EXPECT_TRUE(validateOutput(*model_, *no_output, nullptr).has_value());
  EXPECT_FALSE(validateOutput(*model_, *no_output, bj::parse(R"({"a":1})")).has_value());
}

TEST(ValidateOutputTest, RealEcsResponses) {
  const ServiceModel* ecs = ServiceModel::byId("ecs");
  const OperationModel* op = ecs->operation("DescribeServices");
  bj::value good =
      bj::parse(R"({"services":[{"serviceName":"backend","desiredCount":2,"launchType":"FARGATE",)"
                R"("createdAt":1767225600.123,"deployments":[{"id":"ecs-svc/1234567890123456789",)"
                R"("status":"PRIMARY","rolloutState":"COMPLETED","createdAt":1767225600}]}],)"
                R"("failures":[{"arn":"arn:aws:ecs:us-east-1:000000000000:service/c/x","reason":"MISSING"}]})");
  EXPECT_TRUE(validateOutput(*ecs, *op, good).has_value());
  bj::value bad = bj::parse(R"({"services":[{"serviceName":"b","deployments":[{"rolloutState":"DONE"}]}]})");
  auto status = validateOutput(*ecs, *op, bad);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().message,
            "ecs DescribeServices output: services[0].deployments[0].rolloutState: 'DONE' is not one of "
            "[COMPLETED, FAILED, IN_PROGRESS]");
}

TEST(ValidationErrorTypeTest, PerService) {
  EXPECT_EQ(validationErrorType(*ServiceModel::byId("ecs"), nullptr), "InvalidParameterException");
  EXPECT_EQ(
      validationErrorType(*ServiceModel::byId("ecs"), ServiceModel::byId("ecs")->operation("RegisterTaskDefinition")),
      "ClientException");
  EXPECT_EQ(validationErrorType(*ServiceModel::byId("logs"), nullptr), "InvalidParameterException");
  EXPECT_EQ(validationErrorType(*ServiceModel::byId("ssm"), nullptr), "ValidationException");
  EXPECT_EQ(validationErrorType(*ServiceModel::byId("iam"), nullptr), "ValidationError");
  EXPECT_EQ(validationErrorType(*ServiceModel::byId("servicediscovery"), nullptr), "InvalidInput");
}

TEST(ParseTimestampTextTest, Formats) {
  EXPECT_EQ(parseTimestampText("2026-01-01T00:00:00Z"), 1767225600.0);
  EXPECT_EQ(parseTimestampText("2026-01-01T00:00:00.500000Z"), 1767225600.5);
  EXPECT_EQ(parseTimestampText("2026-01-01T01:00:00+01:00"), 1767225600.0);
  EXPECT_EQ(parseTimestampText("2026-01-01T00:00Z"), 1767225600.0);
  EXPECT_EQ(parseTimestampText("2026-01-01"), 1767225600.0);
  EXPECT_EQ(parseTimestampText("1767225600.25"), 1767225600.25);
  EXPECT_EQ(parseTimestampText("1969-12-31T23:59:59Z"), -1.0);
  EXPECT_FALSE(parseTimestampText(""));
  EXPECT_FALSE(parseTimestampText("2026-02-30T00:00:00Z"));
  EXPECT_FALSE(parseTimestampText("2026-01-01T00:00:00Zjunk"));
  EXPECT_FALSE(parseTimestampText("soon"));
  EXPECT_FALSE(parseTimestampText("inf"));
}

}  // namespace
}  // namespace berth::aws
