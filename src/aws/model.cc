#include "aws/model.h"

#include <algorithm>
#include <array>

#include <boost/json.hpp>

#include "aws/embedded_models.h"

namespace berth::aws {

namespace bj = boost::json;

namespace {

constexpr uint8_t bit(Protocol p) { return static_cast<uint8_t>(1u << static_cast<unsigned>(p)); }

std::optional<Protocol> parseProtocol(std::string_view name) {
  if (name == "json") return Protocol::kJson;
  if (name == "query") return Protocol::kQuery;
  if (name == "ec2") return Protocol::kEc2;
  if (name == "rest-json") return Protocol::kRestJson;
  if (name == "rest-xml") return Protocol::kRestXml;
  return std::nullopt;  // smithy-rpc-v2-cbor and future ones: berth does not speak them
}

std::string stringAt(const bj::object& obj, std::string_view key) {
  if (const bj::value* v = obj.if_contains(key); v && v->is_string()) return std::string(v->get_string());
  return {};
}

bool boolAt(const bj::object& obj, std::string_view key) {
  const bj::value* v = obj.if_contains(key);
  return v && v->is_bool() && v->get_bool();
}

std::optional<double> numberAt(const bj::object& obj, std::string_view key) {
  const bj::value* v = obj.if_contains(key);
  if (!v) return std::nullopt;
  if (v->is_int64()) return static_cast<double>(v->get_int64());
  if (v->is_uint64()) return static_cast<double>(v->get_uint64());
  if (v->is_double()) return v->get_double();
  return std::nullopt;
}

std::optional<ShapeType> parseShapeType(std::string_view name) {
  static constexpr std::pair<std::string_view, ShapeType> kTypes[] = {
      {"structure", ShapeType::kStructure},
      {"list", ShapeType::kList},
      {"map", ShapeType::kMap},
      {"string", ShapeType::kString},
      {"integer", ShapeType::kInteger},
      {"long", ShapeType::kLong},
      {"boolean", ShapeType::kBoolean},
      {"double", ShapeType::kDouble},
      {"float", ShapeType::kFloat},
      {"timestamp", ShapeType::kTimestamp},
      {"blob", ShapeType::kBlob},
      // Types botocore knows that none of berth's models use today.
      {"character", ShapeType::kString},
      {"byte", ShapeType::kInteger},
      {"short", ShapeType::kInteger},
      {"bigInteger", ShapeType::kLong},
      {"bigDecimal", ShapeType::kDouble},
  };
  for (const auto& [n, t] : kTypes) {
    if (n == name) return t;
  }
  return std::nullopt;
}

TimestampFormat parseTimestampFormat(std::string_view name) {
  if (name == "iso8601") return TimestampFormat::kIso8601;
  if (name == "unixTimestamp") return TimestampFormat::kUnixTimestamp;
  if (name == "rfc822") return TimestampFormat::kRfc822;
  return TimestampFormat::kDefault;
}

// Finds the value of the leading "metadata" member without parsing the rest
// of the model: gen-models.py writes it first. Returns an empty view when the
// text does not start that way.
std::string_view metadataText(std::string_view model) {
  constexpr std::string_view kPrefix = "{\"metadata\":";
  if (!model.starts_with(kPrefix)) return {};
  size_t start = kPrefix.size();
  if (start >= model.size() || model[start] != '{') return {};
  int depth = 0;
  bool in_string = false;
  for (size_t i = start; i < model.size(); ++i) {
    char c = model[i];
    if (in_string) {
      if (c == '\\') {
        ++i;
      } else if (c == '"') {
        in_string = false;
      }
      continue;
    }
    if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if (c == '}' || c == ']') {
      if (--depth == 0) return model.substr(start, i + 1 - start);
    }
  }
  return {};
}

std::unexpected<Error> modelError(std::string_view id, std::string what) {
  return fail(ErrorCode::kInternal, "service model " + std::string(id) + ": " + what);
}

}  // namespace

const char* protocolName(Protocol protocol) {
  switch (protocol) {
    case Protocol::kJson:
      return "json";
    case Protocol::kQuery:
      return "query";
    case Protocol::kEc2:
      return "ec2";
    case Protocol::kRestJson:
      return "rest-json";
    case Protocol::kRestXml:
      return "rest-xml";
  }
  return "unknown";
}

const char* shapeTypeName(ShapeType type) {
  switch (type) {
    case ShapeType::kStructure:
      return "structure";
    case ShapeType::kList:
      return "list";
    case ShapeType::kMap:
      return "map";
    case ShapeType::kString:
      return "string";
    case ShapeType::kInteger:
      return "integer";
    case ShapeType::kLong:
      return "long";
    case ShapeType::kBoolean:
      return "boolean";
    case ShapeType::kDouble:
      return "double";
    case ShapeType::kFloat:
      return "float";
    case ShapeType::kTimestamp:
      return "timestamp";
    case ShapeType::kBlob:
      return "blob";
  }
  return "unknown";
}

const MemberModel* ShapeModel::findMember(std::string_view member_name) const {
  for (const MemberModel& m : members) {
    if (m.name == member_name) return &m;
  }
  return nullptr;
}

namespace {

const ShapeModel* findShape(const std::vector<ShapeModel>& sorted, std::string_view name) {
  auto it = std::lower_bound(sorted.begin(), sorted.end(), name,
                             [](const ShapeModel& s, std::string_view n) { return s.name < n; });
  return it != sorted.end() && it->name == name ? &*it : nullptr;
}

Status resolveRef(const std::vector<ShapeModel>& shapes, std::string_view id, const bj::object& ref, std::string name,
                  MemberModel& out) {
  std::string target = stringAt(ref, "shape");
  const ShapeModel* shape = findShape(shapes, target);
  if (!shape) return modelError(id, "unknown shape '" + target + "' referenced by '" + name + "'");
  out.name = std::move(name);
  out.shape = shape;
  out.location_name = stringAt(ref, "locationName");
  if (out.location_name.empty()) out.location_name = shape->location_name;
  out.query_name = stringAt(ref, "queryName");
  out.location = stringAt(ref, "location");
  if (const bj::value* ns = ref.if_contains("xmlNamespace"); ns && ns->is_object()) {
    out.xml_namespace = stringAt(ns->get_object(), "uri");
  }
  out.timestamp_format = parseTimestampFormat(stringAt(ref, "timestampFormat"));
  if (out.timestamp_format == TimestampFormat::kDefault) out.timestamp_format = shape->timestamp_format;
  out.flattened = boolAt(ref, "flattened") || shape->flattened;
  out.xml_attribute = boolAt(ref, "xmlAttribute");
  out.idempotency_token = boolAt(ref, "idempotencyToken");
  out.json_value = boolAt(ref, "jsonvalue");
  return {};
}

}  // namespace

// The parsed operations and shapes of one service. Shapes live in a vector
// reserved up front and sorted by name, so the pointers in MemberModel stay
// valid and lookups are binary searches.
struct ServiceModel::Parsed {
  std::vector<ShapeModel> shapes;                                         // sorted by name
  std::vector<OperationModel> operations;                                 // sorted by name
  std::vector<std::pair<std::string, const ShapeModel*>> errors_by_code;  // sorted
};

Result<std::unique_ptr<ServiceModel::Parsed>> ServiceModel::parse(std::string_view id, std::string_view text) {
  boost::system::error_code ec;
  bj::monotonic_resource arena;
  bj::value root = bj::parse(text, ec, &arena);
  if (ec || !root.is_object()) return modelError(id, "not a JSON object: " + ec.message());
  const bj::object& model = root.get_object();
  const bj::value* shapes_v = model.if_contains("shapes");
  const bj::value* ops_v = model.if_contains("operations");
  if (!shapes_v || !shapes_v->is_object() || !ops_v || !ops_v->is_object()) {
    return modelError(id, "missing shapes or operations");
  }
  const bj::object& shapes = shapes_v->get_object();
  const bj::object& ops = ops_v->get_object();

  auto parsed = std::make_unique<ServiceModel::Parsed>();

  // Pass 1: every shape with its own traits, so that references can be
  // resolved (and merged with the target's traits) in pass 2.
  std::vector<std::pair<std::string_view, const bj::object*>> sources;
  sources.reserve(shapes.size());
  for (const auto& [name, v] : shapes) {
    if (!v.is_object()) return modelError(id, "shape '" + std::string(name) + "' is not an object");
    sources.emplace_back(name, &v.get_object());
  }
  std::sort(sources.begin(), sources.end());
  parsed->shapes.reserve(sources.size());
  for (const auto& [name, src] : sources) {
    ShapeModel& s = parsed->shapes.emplace_back();
    s.name = std::string(name);
    auto type = parseShapeType(stringAt(*src, "type"));
    if (!type) return modelError(id, "shape '" + s.name + "' has unknown type '" + stringAt(*src, "type") + "'");
    s.type = *type;
    if (const bj::value* e = src->if_contains("enum"); e && e->is_array()) {
      for (const bj::value& item : e->get_array()) {
        if (item.is_string()) s.enum_values.emplace_back(item.get_string());
      }
    }
    s.min = numberAt(*src, "min");
    s.max = numberAt(*src, "max");
    s.pattern = stringAt(*src, "pattern");
    s.location_name = stringAt(*src, "locationName");
    s.timestamp_format = parseTimestampFormat(stringAt(*src, "timestampFormat"));
    s.flattened = boolAt(*src, "flattened");
    s.sensitive = boolAt(*src, "sensitive");
    s.is_union = boolAt(*src, "union");
    s.document = boolAt(*src, "document");
    s.streaming = boolAt(*src, "streaming");
    s.event_stream = boolAt(*src, "eventstream");
    s.exception = boolAt(*src, "exception");
    s.fault = boolAt(*src, "fault");
    if (const bj::value* err = src->if_contains("error"); err && err->is_object()) {
      const bj::object& e = err->get_object();
      s.error_code = stringAt(e, "code");
      if (auto status = numberAt(e, "httpStatusCode")) s.error_http_status = static_cast<int>(*status);
      s.sender_fault = boolAt(e, "senderFault");
    }
  }

  // Pass 2: members, list members, map keys and values.
  for (size_t i = 0; i < sources.size(); ++i) {
    const bj::object& src = *sources[i].second;
    ShapeModel& s = parsed->shapes[i];
    switch (s.type) {
      case ShapeType::kStructure: {
        const bj::value* members = src.if_contains("members");
        if (!members || !members->is_object()) break;
        s.members.reserve(members->get_object().size());
        for (const auto& [mname, ref] : members->get_object()) {
          if (!ref.is_object()) return modelError(id, "member '" + std::string(mname) + "' of '" + s.name + "'");
          MemberModel& m = s.members.emplace_back();
          BERTH_TRY(resolveRef(parsed->shapes, id, ref.get_object(), std::string(mname), m));
        }
        if (const bj::value* req = src.if_contains("required"); req && req->is_array()) {
          for (const bj::value& r : req->get_array()) {
            if (!r.is_string()) continue;
            for (MemberModel& m : s.members) {
              if (m.name == r.get_string()) m.required = true;
            }
          }
        }
        break;
      }
      case ShapeType::kList: {
        const bj::value* member = src.if_contains("member");
        if (!member || !member->is_object()) return modelError(id, "list '" + s.name + "' has no member");
        BERTH_TRY(resolveRef(parsed->shapes, id, member->get_object(), "member", s.member));
        break;
      }
      case ShapeType::kMap: {
        const bj::value* key = src.if_contains("key");
        const bj::value* value = src.if_contains("value");
        if (!key || !key->is_object() || !value || !value->is_object()) {
          return modelError(id, "map '" + s.name + "' lacks key or value");
        }
        BERTH_TRY(resolveRef(parsed->shapes, id, key->get_object(), "key", s.key));
        BERTH_TRY(resolveRef(parsed->shapes, id, value->get_object(), "value", s.value));
        break;
      }
      default:
        break;
    }
  }

  for (const ShapeModel& s : parsed->shapes) {
    if (!s.exception) continue;
    parsed->errors_by_code.emplace_back(s.name, &s);
    if (!s.error_code.empty() && s.error_code != s.name) parsed->errors_by_code.emplace_back(s.error_code, &s);
  }
  std::sort(parsed->errors_by_code.begin(), parsed->errors_by_code.end(),
            [](const auto& a, const auto& b) { return a.first < b.first; });

  parsed->operations.reserve(ops.size());
  for (const auto& [oname, v] : ops) {
    if (!v.is_object()) return modelError(id, "operation '" + std::string(oname) + "' is not an object");
    const bj::object& src = v.get_object();
    OperationModel& op = parsed->operations.emplace_back();
    op.name = std::string(oname);
    if (const bj::value* http = src.if_contains("http"); http && http->is_object()) {
      std::string method = stringAt(http->get_object(), "method");
      std::string uri = stringAt(http->get_object(), "requestUri");
      if (!method.empty()) op.http_method = std::move(method);
      if (!uri.empty()) op.request_uri = std::move(uri);
    }
    if (const bj::value* in = src.if_contains("input"); in && in->is_object()) {
      op.input_shape_name = stringAt(in->get_object(), "shape");
      op.input = findShape(parsed->shapes, op.input_shape_name);
      if (!op.input) return modelError(id, op.name + ": unknown input shape '" + op.input_shape_name + "'");
    }
    if (const bj::value* out = src.if_contains("output"); out && out->is_object()) {
      op.output_shape_name = stringAt(out->get_object(), "shape");
      op.result_wrapper = stringAt(out->get_object(), "resultWrapper");
      op.output = findShape(parsed->shapes, op.output_shape_name);
      if (!op.output) return modelError(id, op.name + ": unknown output shape '" + op.output_shape_name + "'");
    }
    if (const bj::value* errs = src.if_contains("errors"); errs && errs->is_array()) {
      for (const bj::value& e : errs->get_array()) {
        if (!e.is_object()) continue;
        std::string name = stringAt(e.get_object(), "shape");
        const ShapeModel* shape = findShape(parsed->shapes, name);
        if (!shape) return modelError(id, op.name + ": unknown error shape '" + name + "'");
        op.error_shape_names.push_back(std::move(name));
        op.errors.push_back(shape);
      }
    }
    if (const bj::value* auth = src.if_contains("auth"); auth && auth->is_array()) {
      for (const bj::value& a : auth->get_array()) {
        if (a.is_string() && a.get_string() == "smithy.api#noAuth") op.unsigned_request = true;
      }
    }
    if (stringAt(src, "authtype") == "none") op.unsigned_request = true;
    if (const bj::value* rc = src.if_contains("requestcompression"); rc && rc->is_object()) {
      if (const bj::value* enc = rc->get_object().if_contains("encodings"); enc && enc->is_array()) {
        for (const bj::value& e : enc->get_array()) {
          if (e.is_string() && e.get_string() == "gzip") op.gzip_request = true;
        }
      }
    }
  }
  std::sort(parsed->operations.begin(), parsed->operations.end(),
            [](const OperationModel& a, const OperationModel& b) { return a.name < b.name; });
  return parsed;
}

// The embedded services, built on first use from their metadata only.
struct ServiceModel::Registry {
  std::vector<std::unique_ptr<ServiceModel>> owned;
  std::vector<const ServiceModel*> sorted;

  static const Registry& instance() {
    static const Registry registry = [] {
      Registry r;
      for (size_t i = 0; i < kEmbeddedModelCount; ++i) {
        const EmbeddedModel& em = kEmbeddedModels[i];
        auto model = fromMetadata(em.id, std::string_view(em.json, em.size));
        // A broken embedded model is a build bug; the service is then
        // simply unknown, and the model tests fail loudly.
        if (model) r.owned.push_back(std::move(*model));
      }
      std::sort(r.owned.begin(), r.owned.end(), [](const auto& a, const auto& b) { return a->id_ < b->id_; });
      for (const auto& m : r.owned) r.sorted.push_back(m.get());
      return r;
    }();
    return registry;
  }

  template <typename Pred>
  const ServiceModel* find(Pred pred) const {
    for (const ServiceModel* m : sorted) {
      if (pred(*m)) return m;
    }
    return nullptr;
  }
};

Result<std::unique_ptr<ServiceModel>> ServiceModel::fromMetadata(std::string_view id, std::string_view text) {
  std::string_view meta_text = metadataText(text);
  boost::system::error_code ec;
  bj::value meta_root;
  if (!meta_text.empty()) {
    meta_root = bj::parse(meta_text, ec);
  } else {
    // Not in gen-models.py's layout: parse it all to find the metadata.
    bj::value all = bj::parse(text, ec);
    if (!ec && all.is_object()) {
      if (const bj::value* m = all.get_object().if_contains("metadata")) meta_root = *m;
    }
  }
  if (ec || !meta_root.is_object()) return modelError(id, "no metadata");
  const bj::object& meta = meta_root.get_object();

  std::unique_ptr<ServiceModel> model(new ServiceModel());
  model->id_ = std::string(id);
  model->json_version_ = stringAt(meta, "jsonVersion");
  model->target_prefix_ = stringAt(meta, "targetPrefix");
  model->endpoint_prefix_ = stringAt(meta, "endpointPrefix");
  model->signing_name_ = stringAt(meta, "signingName");
  if (model->signing_name_.empty()) model->signing_name_ = model->endpoint_prefix_;
  model->api_version_ = stringAt(meta, "apiVersion");
  model->xml_namespace_ = stringAt(meta, "xmlNamespace");
  model->service_id_ = stringAt(meta, "serviceId");
  model->botocore_version_ = stringAt(meta, "botocoreVersion");
  model->aws_query_compatible_ = meta.contains("awsQueryCompatible");

  if (const bj::value* list = meta.if_contains("protocols"); list && list->is_array()) {
    for (const bj::value& p : list->get_array()) {
      if (!p.is_string()) continue;
      if (auto proto = parseProtocol(p.get_string())) model->protocol_mask_ |= bit(*proto);
    }
  }
  if (auto proto = parseProtocol(stringAt(meta, "protocol"))) model->protocol_mask_ |= bit(*proto);
  // botocore's PRIORITY_ORDERED_SUPPORTED_PROTOCOLS, less the ones berth
  // does not speak.
  static constexpr Protocol kPriority[] = {Protocol::kJson, Protocol::kRestJson, Protocol::kRestXml, Protocol::kQuery,
                                           Protocol::kEc2};
  bool found = false;
  for (Protocol p : kPriority) {
    if (model->protocol_mask_ & bit(p)) {
      model->protocol_ = p;
      found = true;
      break;
    }
  }
  if (!found) return modelError(id, "no protocol berth speaks");
  model->json_ = text;
  return model;
}

Result<std::unique_ptr<ServiceModel>> ServiceModel::fromJson(std::string json_text) {
  std::string_view meta_text = metadataText(json_text);
  std::string id;
  {
    boost::system::error_code ec;
    bj::value v = bj::parse(meta_text.empty() ? std::string_view(json_text) : meta_text, ec);
    const bj::object* meta = nullptr;
    if (!ec && v.is_object()) {
      meta = &v.get_object();
      if (meta_text.empty()) {
        const bj::value* m = meta->if_contains("metadata");
        meta = m && m->is_object() ? &m->get_object() : nullptr;
      }
    }
    if (meta) id = stringAt(*meta, "id");
    if (id.empty() && meta) id = stringAt(*meta, "endpointPrefix");
  }
  auto model = BERTH_TRY(fromMetadata(id.empty() ? "unnamed" : id, json_text));
  model->owned_json_ = std::move(json_text);
  model->json_ = model->owned_json_;
  BERTH_TRY(model->loaded());
  return model;
}

ServiceModel::~ServiceModel() = default;

const ServiceModel* ServiceModel::byId(std::string_view id) {
  return Registry::instance().find([&](const ServiceModel& m) { return m.id_ == id; });
}

const ServiceModel* ServiceModel::byTargetPrefix(std::string_view prefix) {
  if (prefix.empty()) return nullptr;
  return Registry::instance().find([&](const ServiceModel& m) { return m.target_prefix_ == prefix; });
}

const ServiceModel* ServiceModel::bySigningName(std::string_view name) {
  if (name.empty()) return nullptr;
  return Registry::instance().find([&](const ServiceModel& m) { return m.signing_name_ == name; });
}

const ServiceModel* ServiceModel::byEndpointPrefix(std::string_view prefix) {
  if (prefix.empty()) return nullptr;
  return Registry::instance().find([&](const ServiceModel& m) { return m.endpoint_prefix_ == prefix; });
}

std::span<const ServiceModel* const> ServiceModel::all() { return Registry::instance().sorted; }

bool ServiceModel::speaks(Protocol protocol) const { return (protocol_mask_ & bit(protocol)) != 0; }

const ServiceModel::Parsed* ServiceModel::parsed() const {
  std::call_once(parse_once_, [this] {
    auto result = parse(id_, json_);
    if (result) {
      parsed_ = std::move(*result);
    } else {
      parse_error_ = std::move(result).error();
    }
  });
  return parsed_.get();
}

Status ServiceModel::loaded() const {
  if (parsed()) return {};
  return std::unexpected(parse_error_);
}

const OperationModel* ServiceModel::operation(std::string_view name) const {
  const Parsed* p = parsed();
  if (!p) return nullptr;
  auto it = std::lower_bound(p->operations.begin(), p->operations.end(), name,
                             [](const OperationModel& o, std::string_view n) { return o.name < n; });
  return it != p->operations.end() && it->name == name ? &*it : nullptr;
}

const ShapeModel* ServiceModel::shape(std::string_view name) const {
  const Parsed* p = parsed();
  return p ? findShape(p->shapes, name) : nullptr;
}

const ShapeModel* ServiceModel::errorShape(std::string_view code) const {
  const Parsed* p = parsed();
  if (!p) return nullptr;
  auto it = std::lower_bound(p->errors_by_code.begin(), p->errors_by_code.end(), code,
                             [](const auto& e, std::string_view c) { return e.first < c; });
  return it != p->errors_by_code.end() && it->first == code ? it->second : nullptr;
}

std::span<const OperationModel> ServiceModel::operations() const {
  const Parsed* p = parsed();
  if (!p) return {};
  return p->operations;
}

}  // namespace berth::aws
