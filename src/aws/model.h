// Service models: botocore's description of each AWS service berth speaks,
// read from the models compiled into the binary (aws/embedded_models.h).
//
// A ServiceModel knows its wire metadata (protocol, JSON version, target
// prefix, signing name, XML namespace) from the start; its operations and
// shapes are parsed from the embedded JSON on first use, once per service.
// berthd must start in under 50 ms, so nothing is parsed until a request for
// that service arrives (ECS: see docs/protocols.md for the measured cost).
//
// Thread rules: everything here is immutable once built. The registry
// (byId and friends) and each service's lazy load are thread-safe; the
// pointers returned stay valid for the life of the process (or of the
// ServiceModel, for models made with fromJson).
#pragma once

#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::aws {

// The wire protocols of botocore's models. CloudWatch lists several
// ("smithy-rpc-v2-cbor", "json", "query"); see ServiceModel::protocol().
enum class Protocol { kJson, kQuery, kEc2, kRestJson, kRestXml };

const char* protocolName(Protocol protocol);

enum class ShapeType {
  kStructure,
  kList,
  kMap,
  kString,
  kInteger,
  kLong,
  kBoolean,
  kDouble,
  kFloat,
  kTimestamp,
  kBlob,
};

const char* shapeTypeName(ShapeType type);

// timestampFormat; kDefault means the protocol's default (epoch seconds for
// JSON, ISO 8601 for Query and EC2).
enum class TimestampFormat { kDefault, kIso8601, kUnixTimestamp, kRfc822 };

struct ShapeModel;

// A use of a shape: a structure member, a list's member or a map's key or
// value. Carries the serialization traits that the reference sets, merged
// with the referenced shape's own (the reference wins), as botocore does.
struct MemberModel {
  std::string name;  // member name: the JSON key
  const ShapeModel* shape = nullptr;
  std::string location_name;  // locationName: XML element / query key
  std::string query_name;     // queryName (EC2 input)
  std::string location;       // REST: "header", "uri", "querystring", ...
  std::string xml_namespace;  // xmlNamespace.uri
  TimestampFormat timestamp_format = TimestampFormat::kDefault;
  bool required = false;  // listed in the parent's "required"
  bool flattened = false;
  bool xml_attribute = false;
  bool idempotency_token = false;
  bool json_value = false;
};

struct ShapeModel {
  std::string name;
  ShapeType type = ShapeType::kString;

  std::vector<MemberModel> members;  // structure, in model order
  MemberModel member;                // list element
  MemberModel key;                   // map key
  MemberModel value;                 // map value

  std::vector<std::string> enum_values;  // string enums; empty if none
  // Length (string, blob, list, map) or value (numbers) bounds.
  std::optional<double> min;
  std::optional<double> max;
  std::string pattern;  // as botocore has it (Java regex syntax)

  std::string location_name;  // rare shape-level locationName
  TimestampFormat timestamp_format = TimestampFormat::kDefault;
  bool flattened = false;
  bool sensitive = false;
  bool is_union = false;
  bool document = false;  // a free-form JSON document
  bool streaming = false;
  bool event_stream = false;

  // Error traits, for shapes that are exceptions.
  bool exception = false;
  bool fault = false;         // a server fault (5xx)
  std::string error_code;     // "error.code" when it differs from the name
  int error_http_status = 0;  // "error.httpStatusCode", 0 if unset
  bool sender_fault = false;  // "error.senderFault"

  // The structure member named `name`, or nullptr.
  const MemberModel* findMember(std::string_view member_name) const;
  bool isScalar() const { return type != ShapeType::kStructure && type != ShapeType::kList && type != ShapeType::kMap; }
};

struct OperationModel {
  std::string name;
  std::string http_method = "POST";
  std::string request_uri = "/";
  std::string input_shape_name;   // empty when the operation takes no input
  std::string output_shape_name;  // empty when it returns nothing
  std::string result_wrapper;     // Query protocol: <XResult> element name
  std::vector<std::string> error_shape_names;

  const ShapeModel* input = nullptr;
  const ShapeModel* output = nullptr;
  std::vector<const ShapeModel*> errors;

  bool unsigned_request = false;  // auth is smithy.api#noAuth: no SigV4
  bool gzip_request = false;      // requestcompression: client may gzip the body
};

class ServiceModel {
 public:
  // The embedded model for berth's service id ("ecs", "logs", "monitoring",
  // ...), or nullptr. Never parses operations or shapes.
  static const ServiceModel* byId(std::string_view id);
  // By the JSON protocols' X-Amz-Target prefix ("AmazonEC2ContainerServiceV20141113").
  static const ServiceModel* byTargetPrefix(std::string_view prefix);
  // By the service in a SigV4 credential scope ("ecs", "monitoring", "ecr").
  static const ServiceModel* bySigningName(std::string_view name);
  // By the endpoint prefix ("api.ecr", "monitoring").
  static const ServiceModel* byEndpointPrefix(std::string_view prefix);
  // Every embedded service, sorted by id.
  static std::span<const ServiceModel* const> all();

  // A model from JSON in data/models/ form, parsed now; for tests and tools.
  static Result<std::unique_ptr<ServiceModel>> fromJson(std::string json);

  ~ServiceModel();
  ServiceModel(const ServiceModel&) = delete;
  ServiceModel& operator=(const ServiceModel&) = delete;

  const std::string& id() const { return id_; }
  // The protocol a current SDK uses with this service: botocore's priority
  // order restricted to what berth speaks (JSON before Query; CloudWatch's
  // CBOR is skipped).
  Protocol protocol() const { return protocol_; }
  // Whether the model lists `protocol` (CloudWatch: JSON and Query).
  bool speaks(Protocol protocol) const;
  const std::string& jsonVersion() const { return json_version_; }  // "1.1", "1.0" or ""
  const std::string& targetPrefix() const { return target_prefix_; }
  const std::string& signingName() const { return signing_name_; }  // defaults to endpointPrefix
  const std::string& endpointPrefix() const { return endpoint_prefix_; }
  const std::string& apiVersion() const { return api_version_; }
  const std::string& xmlNamespace() const { return xml_namespace_; }
  const std::string& serviceId() const { return service_id_; }  // "ECS", "CloudWatch Logs"
  const std::string& botocoreVersion() const { return botocore_version_; }
  // awsQueryCompatible: JSON errors also carry the Query error code.
  bool awsQueryCompatible() const { return aws_query_compatible_; }

  // Operations and shapes; the first call parses the model (thread-safe).
  // nullptr when unknown, or when the embedded model is broken (see loaded()).
  const OperationModel* operation(std::string_view name) const;
  const ShapeModel* shape(std::string_view name) const;
  // The exception shape for an error code (shape name or its error.code).
  const ShapeModel* errorShape(std::string_view code) const;
  // All operations, sorted by name.
  std::span<const OperationModel> operations() const;
  // Parses the model if not yet done; the error if it is broken.
  Status loaded() const;

 private:
  ServiceModel() = default;
  struct Registry;
  struct Parsed;

  static Result<std::unique_ptr<ServiceModel>> fromMetadata(std::string_view id, std::string_view json);
  static Result<std::unique_ptr<Parsed>> parse(std::string_view id, std::string_view json);
  const Parsed* parsed() const;

  std::string id_;
  Protocol protocol_ = Protocol::kJson;
  uint8_t protocol_mask_ = 0;
  std::string json_version_;
  std::string target_prefix_;
  std::string signing_name_;
  std::string endpoint_prefix_;
  std::string api_version_;
  std::string xml_namespace_;
  std::string service_id_;
  std::string botocore_version_;
  bool aws_query_compatible_ = false;

  std::string_view json_;  // the model text; owned_json_ or embedded
  std::string owned_json_;
  mutable std::once_flag parse_once_;
  mutable std::unique_ptr<Parsed> parsed_;
  mutable Error parse_error_;
};

}  // namespace berth::aws
