#include "api/front_door.h"

#include <algorithm>

#include <zlib.h>

#include <fmt/format.h>

#include "api/authorization.h"
#include "api/registry/routes.h"
#include "aws/query_codec.h"
#include "aws/shape_validator.h"
#include "common/json.h"
#include "common/random.h"

namespace berth::api {
namespace {

namespace bh = boost::beast::http;

std::string_view header(const http::Request& r, std::string_view name) {
  auto it = r.find(name);
  return it == r.end() ? std::string_view() : std::string_view(it->value().data(), it->value().size());
}

// The AWS error type for an Error that did not name one.
std::string defaultType(const aws::ServiceModel* model, ErrorCode code) {
  auto has = [&](std::string_view name) { return model && model->errorShape(name) != nullptr; };
  switch (code) {
    case ErrorCode::kInvalidArgument:
      if (has("InvalidParameterException")) return "InvalidParameterException";
      if (has("InvalidParameterValueException")) return "InvalidParameterValueException";
      return "ValidationException";
    case ErrorCode::kNotFound:
      return "ResourceNotFoundException";
    case ErrorCode::kAlreadyExists:
      return has("ResourceAlreadyExistsException") ? "ResourceAlreadyExistsException" : "ResourceInUseException";
    case ErrorCode::kPermissionDenied:
      return "AccessDeniedException";
    case ErrorCode::kUnauthenticated:
      return "UnrecognizedClientException";
    case ErrorCode::kResourceExhausted:
      return has("LimitExceededException") ? "LimitExceededException" : "ThrottlingException";
    case ErrorCode::kUnimplemented:
      return "UnknownOperationException";
    case ErrorCode::kFailedPrecondition:
      return has("ClientException") ? "ClientException" : "ValidationException";
    case ErrorCode::kIo:
    case ErrorCode::kInternal:
      if (has("ServerException")) return "ServerException";
      return "InternalFailure";
  }
  return "InternalFailure";
}

struct WireError {
  unsigned status = 400;
  std::string type;
  bool sender = true;
};

WireError wireError(const aws::ServiceModel* model, const Error& e) {
  WireError w;
  w.type = e.aws_type.empty() ? defaultType(model, e.code) : e.aws_type;
  bool server = e.code == ErrorCode::kInternal || e.code == ErrorCode::kIo;
  w.status = server ? 500 : 400;
  if (int s = aws::sigv4HttpStatus(w.type); s > 0 && e.code == ErrorCode::kUnauthenticated) w.status = static_cast<unsigned>(s);
  if (w.type == "RequestEntityTooLargeException") w.status = 413;
  if (const aws::ShapeModel* shape = model ? model->errorShape(w.type) : nullptr) {
    if (shape->error_http_status > 0) w.status = static_cast<unsigned>(shape->error_http_status);
    if (shape->fault) w.status = 500;
  }
  w.sender = w.status < 500;
  return w;
}

http::Response makeResponse(unsigned status, std::string_view content_type, std::string body,
                            const std::string& request_id) {
  http::Response r{static_cast<bh::status>(status), 11};
  r.set(bh::field::content_type, content_type);
  r.set("x-amzn-RequestId", request_id);
  r.body() = std::move(body);
  return r;
}

// Inflates a gzip request body (botocore's request compression: CloudWatch
// PutMetricData over 10 KB), to at most `limit` bytes.
Result<std::string> gunzip(std::string_view data, size_t limit) {
  z_stream zs{};
  if (inflateInit2(&zs, 16 + MAX_WBITS) != Z_OK) return fail(ErrorCode::kInternal, "inflateInit2 failed");
  std::string out;
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(data.data()));
  zs.avail_in = static_cast<uInt>(data.size());
  int rc = Z_OK;
  char buf[16384];
  while (rc != Z_STREAM_END) {
    zs.next_out = reinterpret_cast<Bytef*>(buf);
    zs.avail_out = sizeof(buf);
    rc = inflate(&zs, Z_NO_FLUSH);
    if (rc != Z_OK && rc != Z_STREAM_END) break;
    out.append(buf, sizeof(buf) - zs.avail_out);
    if (out.size() > limit) {
      inflateEnd(&zs);
      return fail(ErrorCode::kInvalidArgument, "Request body is larger than the limit.", "RequestEntityTooLargeException");
    }
    if (rc == Z_OK && zs.avail_in == 0 && zs.avail_out != 0) break;  // truncated
  }
  inflateEnd(&zs);
  if (rc != Z_STREAM_END)
    return fail(ErrorCode::kInvalidArgument, "The request body is not valid gzip.", "SerializationException");
  return out;
}

std::string jsonContentType(const aws::ServiceModel* model) {
  std::string version = model && !model->jsonVersion().empty() ? model->jsonVersion() : "1.1";
  return "application/x-amz-json-" + version;
}

}  // namespace

http::Response errorResponse(aws::Protocol protocol, const aws::ServiceModel* model, const Error& error,
                             const std::string& request_id) {
  WireError w = wireError(model, error);
  if (protocol == aws::Protocol::kQuery || protocol == aws::Protocol::kEc2) {
    std::string code = w.type;
    if (error.code == ErrorCode::kUnauthenticated) {
      // Query services name signature errors differently, and answer 403.
      code = std::string(aws::sigv4QueryErrorCode(w.type));
      if (int s = aws::sigv4HttpStatus(code); s > 0) w.status = static_cast<unsigned>(s);
    }
    else if (const aws::ShapeModel* shape = model ? model->errorShape(w.type) : nullptr; shape && !shape->error_code.empty())
      code = shape->error_code;
    // IAM and STS refuse with 403 AccessDenied (the JSON services' 400
    // AccessDeniedException has no Query form).
    if (code == "AccessDenied" || code == "AccessDeniedException") {
      code = "AccessDenied";
      w.status = 403;
    }
    // Without a model (the service could not be told) the plain Query form is used.
    const aws::ServiceModel* format = model ? model : aws::ServiceModel::byId("sts");
    std::string body = aws::encodeQueryError(*format, code, error.message, !w.sender, request_id);
    return makeResponse(w.status, "text/xml", std::move(body), request_id);
  }
  boost::json::object body{{"__type", w.type}, {"message", error.message}};
  http::Response r = makeResponse(w.status, jsonContentType(model), json::serialize(body), request_id);
  r.set("x-amzn-ErrorType", w.type);
  // awsQueryCompatible services (CloudWatch) also name the Query error code,
  // which clients report instead of __type: "InvalidParameterValue;Sender".
  if (model && model->awsQueryCompatible()) {
    const aws::ShapeModel* shape = model->errorShape(w.type);
    std::string code = shape && !shape->error_code.empty() ? shape->error_code : w.type;
    r.set("x-amzn-query-error", code + (w.sender ? ";Sender" : ";Receiver"));
  }
  return r;
}

FrontDoor::FrontDoor(FrontDoorOptions options, aws::CredentialLookup credentials, const Clock& clock)
    : options_(std::move(options)), credentials_(std::move(credentials)), clock_(clock) {}

void FrontDoor::addService(AwsService* service) { services_[std::string(service->modelId())] = service; }

http::Response FrontDoor::reject(bh::status status, std::string_view reason) {
  std::string request_id = randomUuid();
  Error e{ErrorCode::kInvalidArgument, std::string(reason), "SerializationException", 0};
  if (status == bh::status::payload_too_large) {
    e.aws_type = "RequestEntityTooLargeException";
    e.message = "Request body is larger than the limit.";
  } else if (status == bh::status::request_header_fields_too_large) {
    e.aws_type = "RequestHeaderFieldsTooLarge";
    e.message = "Request headers are larger than the limit.";
  }
  http::Response r = errorResponse(aws::Protocol::kJson, nullptr, e, request_id);
  r.result(status);
  return r;
}

std::unique_ptr<http::BodySink> FrontDoor::streamBody(const http::RequestHeader& header) {
  if (registry_ && registry::isRegistryTarget(header.target())) return registry_->streamBody(header);
  return nullptr;
}

void FrontDoor::handle(http::Request request, http::Respond respond) {
  std::string_view target = request.target();
  if (registry_ && registry::isRegistryTarget(target)) return registry_->handle(std::move(request), std::move(respond));
  if (request.method() == bh::verb::get && (target == "/health" || target == "/_berth/health")) {
    std::string id = randomUuid();
    return respond(makeResponse(200, "application/json", R"({"status":"ok"})", id));
  }
  handleAws(std::move(request), std::move(respond));
}

void FrontDoor::handleAws(http::Request request, http::Respond respond) {
  std::string request_id = randomUuid();
  Route route;
  std::vector<std::pair<std::string, std::string>> query_params;

  auto fail_with = [&](aws::Protocol protocol, const aws::ServiceModel* model, Error e) {
    respond(errorResponse(protocol, model, e, request_id));
  };

  // 0. A compressed body (Content-Encoding: gzip): SigV4 covers the bytes
  // sent; the protocol codecs read the inflated ones.
  std::string inflated;
  std::string_view body = request.body();
  if (header(request, "Content-Encoding").find("gzip") != std::string_view::npos) {
    auto plain = gunzip(body, 10 * 1024 * 1024);
    if (!plain)
      return fail_with(header(request, "X-Amz-Target").empty() ? aws::Protocol::kQuery : aws::Protocol::kJson, nullptr,
                       plain.error());
    inflated = std::move(*plain);
    body = inflated;
  }

  // 1. Which service and operation.
  std::string_view amz_target = header(request, "X-Amz-Target");
  if (!amz_target.empty()) {
    auto dot = amz_target.rfind('.');
    std::string_view prefix = dot == std::string_view::npos ? amz_target : amz_target.substr(0, dot);
    std::string_view op_name = dot == std::string_view::npos ? std::string_view() : amz_target.substr(dot + 1);
    route.model = aws::ServiceModel::byTargetPrefix(prefix);
    route.protocol = aws::Protocol::kJson;
    if (route.model) route.operation = route.model->operation(op_name);
    if (!route.model || !route.operation || !services_.contains(route.model->id()))
      return fail_with(aws::Protocol::kJson, route.model,
                       Error{ErrorCode::kUnimplemented, "", "UnknownOperationException", 0});
  } else {
    // Query protocol: form body (POST) or query string (GET).
    std::string_view form;
    std::string_view content_type = header(request, "Content-Type");
    if (request.method() == bh::verb::post && content_type.starts_with("application/x-www-form-urlencoded")) {
      form = body;
    } else if (request.method() == bh::verb::get) {
      std::string_view t = request.target();
      auto qpos = t.find('?');
      form = qpos == std::string_view::npos ? std::string_view() : t.substr(qpos + 1);
    }
    auto params = aws::parseFormUrlEncoded(form);
    std::string action, version;
    if (params) {
      for (const auto& [k, v] : *params) {
        if (k == "Action") action = v;
        if (k == "Version") version = v;
      }
      query_params = std::move(*params);
    }
    if (action.empty()) {
      Error e{ErrorCode::kNotFound, "Unknown request: no X-Amz-Target header and no Action.", "UnknownOperationException", 0};
      auto r = errorResponse(aws::Protocol::kJson, nullptr, e, request_id);
      r.result(bh::status::not_found);
      return respond(std::move(r));
    }
    // The service is named by the SigV4 scope (Authorization header or
    // presigned query).
    std::string_view scope_service;
    std::string_view auth = header(request, "Authorization");
    std::string credential_holder;
    if (!auth.empty()) {
      if (auto parsed = aws::parseAuthorizationHeader(auth); parsed)
        if (auto scope = aws::parseCredentialScope(parsed->credential); scope) {
          credential_holder = std::string(scope->service);
          scope_service = credential_holder;
        }
    } else {
      for (const auto& [k, v] : query_params)
        if (k == "X-Amz-Credential")
          if (auto scope = aws::parseCredentialScope(v); scope) {
            credential_holder = std::string(scope->service);
            scope_service = credential_holder;
          }
    }
    if (scope_service.empty())
      return fail_with(aws::Protocol::kQuery, nullptr,
                       Error{ErrorCode::kUnauthenticated, "Missing Authentication Token",
                             "MissingAuthenticationTokenException", 0});
    route.model = aws::ServiceModel::bySigningName(scope_service);
    if (!route.model || !services_.contains(route.model->id()))
      return fail_with(aws::Protocol::kQuery, route.model,
                       Error{ErrorCode::kUnimplemented, fmt::format("Could not find operation {}.", action),
                             "InvalidAction", 0});
    route.protocol = route.model->protocol() == aws::Protocol::kEc2 ? aws::Protocol::kEc2 : aws::Protocol::kQuery;
    route.operation = route.model->operation(action);
    if (!route.operation)
      return fail_with(route.protocol, route.model,
                       Error{ErrorCode::kUnimplemented,
                             fmt::format("The action {} is not valid for this web service.", action), "InvalidAction", 0});
  }

  // 2. Who is calling.
  aws::SignedRequest signed_request;
  signed_request.method = request.method_string();
  signed_request.target = request.target();
  for (const auto& field : request)
    signed_request.headers.emplace_back(field.name_string(), field.value());
  signed_request.body = request.body();
  auto identity = aws::verifySigV4(signed_request, credentials_, clock_.now(), options_.auth, options_.account_id);
  if (!identity) return fail_with(route.protocol, route.model, identity.error());
  if (options_.auth == aws::AuthMode::kSigV4)
    if (auto ok = aws::checkCredentialService(*identity, route.model->signingName()); !ok)
      return fail_with(route.protocol, route.model, ok.error());

  // 3. The input, type-checked against the model.
  Result<boost::json::object> input = route.protocol == aws::Protocol::kJson
                                          ? aws::decodeJsonInput(*route.model, *route.operation, body)
                                          : aws::decodeQueryInput(*route.model, *route.operation, query_params);
  if (!input) return fail_with(route.protocol, route.model, input.error());

  AwsCall call;
  call.model = route.model;
  call.operation = route.operation;
  call.input = std::move(*input);
  call.principal = {identity->access_key_id, identity->account_id, identity->principal_arn};
  call.caller.principal_arn = identity->principal_arn;
  call.caller.account_id = identity->account_id;
  call.caller.access_key_id = identity->access_key_id;
  call.request_id = request_id;
  call.region = identity->region.empty() ? options_.region : identity->region;

  // 4. IAM: the call's own action on the resources it names; the service
  // checks what lies behind it through call.caller.
  if (authorizer_) {
    if (CallerCheck who = authorizer_->forCaller(*identity, call.region); who.check) {
      IamRequest wants = describeIamRequest(*route.model, *route.operation, call.input, call.region,
                                            identity->account_id);
      // ECS and SSM know their resources' tags: with policies that ask for
      // them, they check the call themselves (api/ecs, api/ssm).
      bool tags_known = route.model->id() == "ecs" || route.model->id() == "ssm";
      if (who.needs_resource_tags && tags_known && !wants.deferred) {
        call.iam_request = std::move(wants);
      } else if (!wants.deferred) {
        for (const std::string& resource : wants.resources)
          if (auto ok = who.check(wants.action, resource, wants.keys); !ok)
            return fail_with(route.protocol, route.model, ok.error());
      }
      call.caller.authorize = [check = who.check](std::string_view action, std::string_view resource) {
        return check(action, resource, {});
      };
      call.caller.authorize_keyed = who.check;
    }
  }

  const aws::ShapeModel* output = route.operation->output;
  bool event_stream = output && std::any_of(output->members.begin(), output->members.end(),
                                            [](const auto& m) { return m.shape && m.shape->event_stream; });
  if (event_stream && route.protocol == aws::Protocol::kJson) {
    call.open_event_stream = [respond, request_id](std::function<void()> on_close) {
      return respond.open(makeResponse(200, "application/vnd.amazon.eventstream", "", request_id), std::move(on_close));
    };
  }

  AwsService* service = services_.find(route.model->id())->second;
  bool check = options_.check_responses;
  service->call(std::move(call), [route, request_id, check, respond = std::move(respond)](AwsReply reply) {
    if (!reply) return respond(errorResponse(route.protocol, route.model, reply.error(), request_id));
    if (check) {
      if (auto ok = aws::validateOutput(*route.model, *route.operation, *reply); !ok) {
        Error e{ErrorCode::kInternal, "berth produced a response its model rejects: " + ok.error().message,
                "InternalFailure", 0};
        return respond(errorResponse(route.protocol, route.model, e, request_id));
      }
    }
    if (route.protocol == aws::Protocol::kJson) {
      std::string body = reply->is_null() ? "{}" : json::serialize(*reply);
      return respond(makeResponse(200, jsonContentType(route.model), std::move(body), request_id));
    }
    std::string body = aws::encodeQueryOutput(*route.model, *route.operation, *reply, request_id);
    respond(makeResponse(200, "text/xml", std::move(body), request_id));
  });
}

}  // namespace berth::api
