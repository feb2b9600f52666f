#include "aws/query_codec.h"

#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include <gtest/gtest.h>

#include "aws/shape_validator.h"

namespace berth::aws {
namespace {

namespace bj = boost::json;

const ServiceModel& service(std::string_view id) {
  const ServiceModel* m = ServiceModel::byId(id);
  EXPECT_NE(m, nullptr) << id;
  return *m;
}

Result<bj::object> decodeBody(std::string_view id, std::string_view body) {
  auto params = parseFormUrlEncoded(body);
  EXPECT_TRUE(params.has_value());
  std::string action;
  for (const auto& [k, v] : *params) {
    if (k == "Action") action = v;
  }
  const OperationModel* op = service(id).operation(action);
  EXPECT_NE(op, nullptr) << action;
  return decodeQueryInput(service(id), *op, *params);
}

std::string decoded(std::string_view id, std::string_view body) {
  auto result = decodeBody(id, body);
  if (!result) return "error " + result.error().aws_type + ": " + result.error().message;
  return bj::serialize(*result);
}

TEST(ParseFormUrlEncodedTest, Pairs) {
  auto params = parseFormUrlEncoded("a=1&b=x+y&c=%2F%3d&d&&e=&=z&f=%E2%9C%93");
  ASSERT_TRUE(params.has_value());
  QueryParams want = {{"a", "1"}, {"b", "x y"}, {"c", "/="}, {"d", ""}, {"e", ""}, {"", "z"}, {"f", "\xE2\x9C\x93"}};
  EXPECT_EQ(*params, want);
  EXPECT_TRUE(parseFormUrlEncoded("")->empty());
  for (std::string_view bad : {"a=%G1", "a=%2", "%=1", "a=%"}) {
    auto r = parseFormUrlEncoded(bad);
    ASSERT_FALSE(r.has_value()) << bad;
    EXPECT_EQ(r.error().aws_type, "MalformedQueryString");
  }
}

// The bodies below are what botocore 1.43's QuerySerializer / EC2Serializer
// produce for these calls (urlencoded as the SDK sends them).
TEST(DecodeQueryInputTest, IamStructuresAndLists) {
  EXPECT_EQ(decoded("iam",
                    "Action=CreateRole&Version=2010-05-08&RoleName=r1&AssumeRolePolicyDocument=%7B%22a%22%3A1%7D&"
                    "Tags.member.1.Key=k&Tags.member.1.Value=v+w&Tags.member.2.Key=k2&Tags.member.2.Value=&"
                    "MaxSessionDuration=3600"),
            R"({"RoleName":"r1","AssumeRolePolicyDocument":"{\"a\":1}","MaxSessionDuration":3600,)"
            R"("Tags":[{"Key":"k","Value":"v w"},{"Key":"k2","Value":""}]})");
  EXPECT_EQ(decoded("sts",
                    "Action=AssumeRole&Version=2011-06-15&RoleArn=arn%3Aaws%3Aiam%3A%3A123456789012%3Arole%2Fx&"
                    "RoleSessionName=s1&PolicyArns.member.1.arn=arn%3Aaws%3Aiam%3A%3Aaws%3Apolicy%2Fa&"
                    "DurationSeconds=900"),
            R"({"RoleArn":"arn:aws:iam::123456789012:role/x","RoleSessionName":"s1",)"
            R"("PolicyArns":[{"arn":"arn:aws:iam::aws:policy/a"}],"DurationSeconds":900})");
  EXPECT_EQ(decoded("sts", "Action=GetCallerIdentity&Version=2011-06-15"), "{}");
  // Indices are ordered numerically, gaps allowed.
  EXPECT_EQ(decoded("iam",
                    "Action=TagRole&RoleName=r&Tags.member.10.Key=b&Tags.member.10.Value=2&"
                    "Tags.member.9.Key=a&Tags.member.9.Value=1"),
            R"({"RoleName":"r","Tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]})");
}

TEST(DecodeQueryInputTest, CloudWatchTimestampsNumbersAndEmptyLists) {
  EXPECT_EQ(decoded("monitoring",
                    "Action=PutMetricData&Version=2010-08-01&Namespace=ns&MetricData.member.1.MetricName=m&"
                    "MetricData.member.1.Dimensions.member.1.Name=d&MetricData.member.1.Dimensions.member.1.Value=v&"
                    "MetricData.member.1.Timestamp=2026-01-01T00%3A00%3A00.500000Z&MetricData.member.1.Value=1.5&"
                    "MetricData.member.1.Unit=Percent&MetricData.member.1.Values=&"
                    "MetricData.member.1.StorageResolution=60"),
            R"({"Namespace":"ns","MetricData":[{"MetricName":"m","Dimensions":[{"Name":"d","Value":"v"}],)"
            R"("Timestamp":1.7672256005E9,"Value":1.5E0,"Values":[],"Unit":"Percent","StorageResolution":60}]})");
  EXPECT_EQ(decoded("monitoring",
                    "Action=GetMetricStatistics&Version=2010-08-01&Namespace=AWS%2FECS&MetricName=CPUUtilization&"
                    "StartTime=2026-01-01T00%3A00%3A00Z&EndTime=2026-01-01T01%3A00%3A00Z&Period=60&"
                    "Statistics.member.1=Average&Statistics.member.2=Maximum"),
            R"({"Namespace":"AWS/ECS","MetricName":"CPUUtilization","StartTime":1.7672256E9,)"
            R"("EndTime":1.7672292E9,"Period":60,"Statistics":["Average","Maximum"]})");
  auto alarm = decodeBody("monitoring",
                          "Action=PutMetricAlarm&Version=2010-08-01&AlarmName=a&MetricName=CPU&Namespace=AWS%2FECS&"
                          "Statistic=Average&Period=60&EvaluationPeriods=3&Threshold=75.0&"
                          "ComparisonOperator=GreaterThanThreshold&AlarmActions.member.1=arn%3Ax&"
                          "Dimensions.member.1.Name=ClusterName&Dimensions.member.1.Value=c&ActionsEnabled=true&"
                          "Tags.member.1.Key=a&Tags.member.1.Value=b");
  ASSERT_TRUE(alarm.has_value()) << alarm.error().message;
  EXPECT_EQ(alarm->at("ActionsEnabled"), true);
  EXPECT_EQ(alarm->at("Threshold").as_double(), 75.0);
  EXPECT_EQ(alarm->at("AlarmActions").as_array().size(), 1u);
}

TEST(DecodeQueryInputTest, Ec2Names) {
  EXPECT_EQ(decoded("ec2",
                    "Action=DescribeVpcs&Version=2016-11-15&Filter.1.Name=vpc-id&Filter.1.Value.1=vpc-1&"
                    "Filter.1.Value.2=vpc-2&Filter.2.Name=isDefault&Filter.2.Value.1=true&VpcId.1=vpc-1&DryRun=false"),
            R"({"Filters":[{"Name":"vpc-id","Values":["vpc-1","vpc-2"]},{"Name":"isDefault","Values":["true"]}],)"
            R"("VpcIds":["vpc-1"],"DryRun":false})");
  EXPECT_EQ(decoded("ec2",
                    "Action=DescribeSecurityGroups&Version=2016-11-15&GroupId.1=sg-1&GroupName.1=default&"
                    "MaxResults=5"),
            R"({"GroupIds":["sg-1"],"GroupNames":["default"],"MaxResults":5})");
  EXPECT_EQ(decoded("ec2", "Action=DescribeVpcAttribute&Version=2016-11-15&Attribute=enableDnsSupport&VpcId=vpc-1"),
            R"({"Attribute":"enableDnsSupport","VpcId":"vpc-1"})");
}

TEST(DecodeQueryInputTest, Errors) {
  EXPECT_EQ(decoded("ec2", "Action=DescribeVpcAttribute&VpcId=vpc-1"),
            "error MissingParameter: The request must contain the parameter Attribute");
  EXPECT_EQ(decoded("ec2", "Action=DescribeVpcAttribute&VpcId=vpc-1&Attribute=bogus"),
            "error InvalidParameterValue: Value (bogus) for parameter attribute is invalid. Parameter must satisfy "
            "enum value set: [enableDnsSupport, enableDnsHostnames, enableNetworkAddressUsageMetrics]");
  EXPECT_EQ(decoded("ec2", "Action=DescribeVpcs&MaxResults=ten"),
            "error InvalidParameterValue: Value (ten) for parameter MaxResults is invalid. Expected an integer.");
  EXPECT_EQ(decoded("iam", "Action=ListRoles&MaxItems=abc"),
            "error ValidationError: Value 'abc' for parameter MaxItems is invalid. Expected an integer.");
  EXPECT_EQ(decoded("iam", "Action=GetRole"),
            "error ValidationError: 1 validation error detected: Value null at 'roleName' failed to satisfy "
            "constraint: Member must not be null");
  // Paths in messages use Coral's form, as IAM's own do ('tags.6.member.value').
  std::string long_key(200, 'k');
  EXPECT_EQ(decoded("iam", "Action=TagRole&RoleName=r&Tags.member.1.Key=" + long_key + "&Tags.member.1.Value=v"),
            "error ValidationError: 1 validation error detected: Value '" + long_key +
                "' at 'tags.1.member.key' failed to satisfy constraint: Member must have length less than or equal "
                "to 128");
  EXPECT_EQ(decoded("monitoring", "Action=PutMetricAlarm&AlarmName=a&EvaluationPeriods=1&ActionsEnabled=maybe"),
            "error ValidationError: Value 'maybe' for parameter ActionsEnabled is invalid. Expected a boolean.");
  EXPECT_EQ(decoded("monitoring", "Action=GetMetricStatistics&StartTime=yesterday"),
            "error ValidationError: Value 'yesterday' for parameter StartTime is invalid. Expected a timestamp.");
}

TEST(EncodeQueryOutputTest, QueryDocument) {
  const ServiceModel& sts = service("sts");
  std::string xml = encodeQueryOutput(sts, *sts.operation("GetCallerIdentity"),
                                      bj::parse(R"({"UserId":"AIDA","Account":"000000000000",)"
                                                R"("Arn":"arn:aws:iam::000000000000:root","Ignored":1})"),
                                      "req-1");
  EXPECT_EQ(xml,
            "<GetCallerIdentityResponse xmlns=\"https://sts.amazonaws.com/doc/2011-06-15/\"><GetCallerIdentityResult>"
            "<UserId>AIDA</UserId><Account>000000000000</Account><Arn>arn:aws:iam::000000000000:root</Arn>"
            "</GetCallerIdentityResult><ResponseMetadata><RequestId>req-1</RequestId></ResponseMetadata>"
            "</GetCallerIdentityResponse>");

  const ServiceModel& iam = service("iam");
  EXPECT_EQ(encodeQueryOutput(iam, *iam.operation("DeleteRole"), bj::object{}, "r"),
            "<DeleteRoleResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><ResponseMetadata>"
            "<RequestId>r</RequestId></ResponseMetadata></DeleteRoleResponse>");

  std::string tags = encodeQueryOutput(iam, *iam.operation("ListRoleTags"),
                                       bj::parse(R"({"Tags":[{"Key":"a<b","Value":"x&y \"q\" 'z'\r"}],)"
                                                 R"("IsTruncated":false})"),
                                       "r");
  EXPECT_NE(tags.find("<Tags><member><Key>a&lt;b</Key><Value>x&amp;y &quot;q&quot; &apos;z&apos;&#13;</Value>"
                      "</member></Tags><IsTruncated>false</IsTruncated>"),
            std::string::npos)
      << tags;
}

TEST(EncodeQueryOutputTest, Ec2Document) {
  const ServiceModel& ec2 = service("ec2");
  std::string xml = encodeQueryOutput(ec2, *ec2.operation("DescribeVpcs"),
                                      bj::parse(R"({"Vpcs":[{"VpcId":"vpc-1","CidrBlock":"172.31.0.0/16",)"
                                                R"("IsDefault":true,"State":"available"}]})"),
                                      "req-2");
  // Model order; EC2 output names are the locationNames; lists are <item>s.
  EXPECT_EQ(xml,
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<DescribeVpcsResponse "
            "xmlns=\"http://ec2.amazonaws.com/doc/2016-11-15\"><requestId>req-2</requestId><vpcSet><item>"
            "<isDefault>true</isDefault><vpcId>vpc-1</vpcId><state>available</state>"
            "<cidrBlock>172.31.0.0/16</cidrBlock></item></vpcSet></DescribeVpcsResponse>");
}

TEST(EncodeQueryErrorTest, BothStyles) {
  EXPECT_EQ(encodeQueryError(service("iam"), "NoSuchEntity", "The role with name x cannot be found.", false, "r1"),
            "<ErrorResponse xmlns=\"https://iam.amazonaws.com/doc/2010-05-08/\"><Error><Type>Sender</Type>"
            "<Code>NoSuchEntity</Code><Message>The role with name x cannot be found.</Message></Error>"
            "<RequestId>r1</RequestId></ErrorResponse>");
  EXPECT_EQ(encodeQueryError(service("ec2"), "InvalidVpcID.NotFound", "The vpc ID 'vpc-9' does not exist", false, "r2"),
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Response><Errors><Error><Code>InvalidVpcID.NotFound</Code>"
            "<Message>The vpc ID &apos;vpc-9&apos; does not exist</Message></Error></Errors>"
            "<RequestID>r2</RequestID></Response>");
  std::string fault = encodeQueryError(service("sts"), Error{ErrorCode::kInternal, "boom", {}, 0}, "r3");
  EXPECT_NE(fault.find("<Type>Receiver</Type><Code>InternalFailure</Code><Message>boom</Message>"), std::string::npos)
      << fault;
  std::string invalid = encodeQueryError(service("iam"), Error{ErrorCode::kInvalidArgument, "bad", {}, 0}, "r4");
  EXPECT_NE(invalid.find("<Type>Sender</Type><Code>ValidationError</Code>"), std::string::npos) << invalid;
}

TEST(EncodeQueryOutputTest, InvalidTextIsReplaced) {
  const ServiceModel& sts = service("sts");
  std::string xml = encodeQueryOutput(sts, *sts.operation("GetCallerIdentity"),
                                      bj::object{{"UserId", std::string("a\x01"
                                                                        "b\xFF"
                                                                        "c\xC3\xA9")}},
                                      "r");
  EXPECT_NE(xml.find("<UserId>a\xEF\xBF\xBD"
                     "b\xEF\xBF\xBD"
                     "c\xC3\xA9</UserId>"),
            std::string::npos)
      << xml;
}

// --- botocore reads what berth writes ---------------------------------------

struct XmlCase {
  std::string service;
  std::string operation;
  std::string output;    // JSON
  std::string expected;  // JSON, when botocore's parse differs from `output`
};

std::filesystem::path checkerScript() {
  std::filesystem::path here = std::filesystem::path(__FILE__).parent_path() / "check_query_xml.py";
  if (std::filesystem::exists(here)) return here;
  if (const char* src = std::getenv("BERTH_SOURCE_DIR")) {
    return std::filesystem::path(src) / "tests/unit/aws/check_query_xml.py";
  }
  return here;
}

TEST(QueryXmlBotocoreTest, BotocoreParsesWhatBerthWrites) {
  const XmlCase successes[] = {
      {"sts", "GetCallerIdentity",
       R"({"UserId":"AIDAEXAMPLE","Account":"000000000000","Arn":"arn:aws:iam::000000000000:root"})", ""},
      {"sts", "AssumeRole",
       R"({"Credentials":{"AccessKeyId":"ASIAEXAMPLEEXAMPLE01","SecretAccessKey":"s","SessionToken":"t","Expiration":1767229200.25},)"
       R"("AssumedRoleUser":{"AssumedRoleId":"AROAEXAMPLEEXAMPLE01:s1","Arn":"arn:aws:sts::000000000000:assumed-role/r/s1"},)"
       R"("PackedPolicySize":6})",
       ""},
      {"iam", "GetRole",
       R"({"Role":{"Path":"/","RoleName":"ecsTaskExecutionRole","RoleId":"AROAEXAMPLEEXAMPLE02","Arn":"arn:aws:iam::000000000000:role/ecsTaskExecutionRole",)"
       R"("CreateDate":1767225600,"AssumeRolePolicyDocument":"%7B%7D","MaxSessionDuration":3600,)"
       R"("Tags":[{"Key":"env","Value":"dev <&> \"x\""},{"Key":"empty","Value":""}]}})",
       ""},
      {"iam", "ListRoles",
       R"({"Roles":[{"Path":"/","RoleName":"a","RoleId":"AROAEXAMPLEEXAMPLE03","Arn":"arn:aws:iam::000000000000:role/a","CreateDate":1767225600.5},)"
       R"({"Path":"/x/","RoleName":"b","RoleId":"AROAEXAMPLEEXAMPLE04","Arn":"arn:aws:iam::000000000000:role/x/b","CreateDate":1767225601}],"IsTruncated":true,"Marker":"m"})",
       ""},
      {"iam", "ListRoles", R"({"Roles":[],"IsTruncated":false})", ""},
      {"iam", "CreatePolicy",
       R"({"Policy":{"PolicyName":"p","PolicyId":"ANPAEXAMPLEEXAMPLE01","Arn":"arn:aws:iam::000000000000:policy/p","Path":"/",)"
       R"("DefaultVersionId":"v1","AttachmentCount":0,"IsAttachable":true,"CreateDate":1767225600,"UpdateDate":1767225600}})",
       ""},
      {"ec2", "DescribeVpcs",
       R"({"Vpcs":[{"VpcId":"vpc-1","CidrBlock":"172.31.0.0/16","IsDefault":true,"State":"available",)"
       R"("OwnerId":"000000000000","InstanceTenancy":"default","DhcpOptionsId":"dopt-1",)"
       R"("CidrBlockAssociationSet":[{"AssociationId":"a1","CidrBlock":"172.31.0.0/16","CidrBlockState":{"State":"associated"}}],)"
       R"("Tags":[{"Key":"Name","Value":"default"}]}]})",
       ""},
      {"ec2", "DescribeSubnets",
       R"({"Subnets":[{"SubnetId":"subnet-1","VpcId":"vpc-1","CidrBlock":"172.31.0.0/20","AvailabilityZone":"us-east-1a",)"
       R"("AvailableIpAddressCount":4091,"DefaultForAz":true,"MapPublicIpOnLaunch":false,"State":"available"}]})",
       ""},
      {"ec2", "DescribeVpcAttribute", R"({"VpcId":"vpc-1","EnableDnsSupport":{"Value":true}})", ""},
      {"ec2", "DescribeAvailabilityZones",
       R"({"AvailabilityZones":[{"ZoneName":"us-east-1a","ZoneId":"use1-az1","RegionName":"us-east-1","State":"available"}]})",
       ""},
      {"ec2", "DescribeAccountAttributes",
       R"({"AccountAttributes":[{"AttributeName":"supported-platforms","AttributeValues":[{"AttributeValue":"VPC"}]}]})",
       ""},
      {"ec2", "DescribeSecurityGroups",
       R"({"SecurityGroups":[{"GroupId":"sg-1","GroupName":"default","VpcId":"vpc-1","Description":"default VPC security group",)"
       R"("OwnerId":"000000000000","IpPermissions":[{"IpProtocol":"-1","IpRanges":[{"CidrIp":"0.0.0.0/0"}]}]}]})",
       ""},
      {"monitoring", "GetMetricStatistics",
       R"({"Label":"CPUUtilization","Datapoints":[{"Timestamp":1767225600,"Average":12.5,"Maximum":40,"Unit":"Percent",)"
       R"("ExtendedStatistics":{"p90":30.5,"p99":39}}]})",
       R"({"Label":"CPUUtilization","Datapoints":[{"Timestamp":1767225600,"Average":12.5,"Maximum":40.0,"Unit":"Percent",)"
       R"("ExtendedStatistics":{"p90":30.5,"p99":39.0}}]})"},
      {"monitoring", "DescribeAlarms",
       R"({"MetricAlarms":[{"AlarmName":"TargetTracking-service/c/s-AlarmHigh-1","ActionsEnabled":true,)"
       R"("AlarmActions":["arn:aws:autoscaling:us-east-1:000000000000:scalingPolicy:x"],"StateValue":"OK",)"
       R"("StateUpdatedTimestamp":1767225600.123,"MetricName":"CPUUtilization","Namespace":"AWS/ECS","Statistic":"Average",)"
       R"("Dimensions":[{"Name":"ClusterName","Value":"c"},{"Name":"ServiceName","Value":"s"}],"Period":60,)"
       R"("EvaluationPeriods":3,"Threshold":75.5,"ComparisonOperator":"GreaterThanThreshold"}]})",
       ""},
  };
  bj::array cases;
  for (const XmlCase& c : successes) {
    const ServiceModel& svc = service(c.service);
    const OperationModel* op = svc.operation(c.operation);
    ASSERT_NE(op, nullptr) << c.operation;
    bj::value output = bj::parse(c.output);
    auto valid = validateOutput(svc, *op, output);
    EXPECT_TRUE(valid.has_value()) << valid.error().message;
    bj::object entry;
    entry["service"] = c.service;
    entry["operation"] = c.operation;
    entry["protocol"] = svc.protocol() == Protocol::kEc2 ? "ec2" : "query";
    entry["request_id"] = "req-" + c.operation;
    entry["xml"] = encodeQueryOutput(svc, *op, output, "req-" + c.operation);
    entry["expected"] = c.expected.empty() ? output : bj::parse(c.expected);
    cases.push_back(std::move(entry));
  }
  struct ErrorCase {
    std::string service, operation, code, message;
    bool fault;
  };
  const ErrorCase errors[] = {
      {"iam", "GetRole", "NoSuchEntity", "The role with name x cannot be found.", false},
      {"sts", "AssumeRole", "AccessDenied", "User: arn:aws:iam::0:user/u is not authorized <&>", false},
      {"monitoring", "PutMetricData", "InternalFailure", "boom \xE2\x9C\x93", true},
      {"ec2", "DescribeVpcs", "InvalidVpcID.NotFound", "The vpc ID 'vpc-9' does not exist", false},
  };
  for (const ErrorCase& e : errors) {
    bj::object entry;
    entry["service"] = e.service;
    entry["operation"] = e.operation;
    entry["protocol"] = e.service == "ec2" ? "ec2" : "query";
    entry["request_id"] = "req-err-" + e.code;
    entry["xml"] = encodeQueryError(service(e.service), e.code, e.message, e.fault, "req-err-" + e.code);
    bj::object error{{"code", e.code}, {"message", e.message}};
    if (e.service != "ec2") error["type"] = e.fault ? "Receiver" : "Sender";
    entry["error"] = std::move(error);
    cases.push_back(std::move(entry));
  }

  std::filesystem::path script = checkerScript();
  ASSERT_TRUE(std::filesystem::exists(script)) << script;
  std::filesystem::path file =
      std::filesystem::temp_directory_path() / ("berth_query_xml_" + std::to_string(::getpid()) + ".json");
  {
    std::ofstream out(file);
    out << bj::serialize(cases);
  }
  std::string command = "python3 '" + script.string() + "' '" + file.string() + "' 2>&1";
  std::string output;
  FILE* pipe = ::popen(command.c_str(), "r");
  ASSERT_NE(pipe, nullptr);
  char buffer[4096];
  while (size_t n = std::fread(buffer, 1, sizeof(buffer), pipe)) output.append(buffer, n);
  int status = ::pclose(pipe);
  std::filesystem::remove(file);
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  if (code == 77 || code == 127) GTEST_SKIP() << "botocore unavailable: " << output;
  EXPECT_EQ(code, 0) << output;
  std::printf("%s", output.c_str());
}

}  // namespace
}  // namespace berth::aws
