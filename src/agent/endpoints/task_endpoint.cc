#include "agent/endpoints/task_endpoint.h"

#include <string_view>

#include <fmt/format.h>

#include "agent/endpoints/metadata_json.h"
#include "common/json.h"

namespace berth::agent::endpoints {
namespace {

namespace bj = boost::json;
using http::beast_http::field;
using http::beast_http::status;

http::Response jsonResponse(status code, const bj::value& body, unsigned http_version) {
  http::Response r{code, http_version};
  r.set(field::content_type, "application/json");
  r.body() = json::serialize(body);
  r.prepare_payload();
  return r;
}

// ECS's handlers write error reasons as a JSON string.
http::Response jsonMessage(status code, std::string_view message, unsigned http_version) {
  return jsonResponse(code, bj::value(bj::string(message)), http_version);
}

// Go's http.NotFound.
http::Response goNotFound(unsigned http_version) {
  http::Response r{status::not_found, http_version};
  r.set(field::content_type, "text/plain; charset=utf-8");
  r.set("X-Content-Type-Options", "nosniff");
  r.body() = "404 page not found\n";
  r.prepare_payload();
  return r;
}

// How ECS's agent words a failed endpoint-id lookup, by version and route.
// v4 answers 404; v3 (older code) answers 500.
struct LookupError {
  status code;
  std::string body;
};

LookupError containerLookupError(unsigned version, std::string_view what, const std::string& id) {
  return {version == 4 ? status::not_found : status::internal_server_error,
          fmt::format("V{} {}: unable to get container ID from request: unable to get docker ID from v3 endpoint "
                      "ID: {}",
                      version, what, id)};
}

LookupError taskLookupError(unsigned version, std::string_view what, const std::string& id) {
  return {version == 4 ? status::not_found : status::internal_server_error,
          fmt::format("V{} {}: unable to get task arn from request: unable to get task Arn from v3 endpoint ID: {}",
                      version, what, id)};
}

http::Response lookupFailure(const LookupError& e, unsigned http_version) {
  return jsonMessage(e.code, e.body, http_version);
}

}  // namespace

bool TaskEndpointHandler::fromTask(const std::string& task_arn, const boost::asio::ip::address& peer) const {
  std::shared_ptr<const TaskMetadata> task = registry_.task(task_arn);
  if (!task || peer.is_unspecified()) return false;
  std::string address = peer.to_string();
  for (const ContainerMetadata& c : task->containers)
    for (const NetworkMetadata& n : c.networks)
      for (const std::string& ip : n.ipv4_addresses)
        if (ip == address) return true;
  return false;
}

TaskEndpointHandler::TaskEndpointHandler(TaskMetadataRegistry& registry, StatsSource& stats,
                                         const CredentialsProvider* credentials, const Clock& clock)
    : registry_(registry), stats_(stats), credentials_(credentials), clock_(clock) {}

void TaskEndpointHandler::handle(http::Request request, http::Respond respond) {
  respond(answer(request, respond.peer()));
}

http::Response TaskEndpointHandler::answer(const http::Request& request, const boost::asio::ip::address& peer) {
  unsigned hv = request.version();
  if (request.method() != http::beast_http::verb::get && request.method() != http::beast_http::verb::head) {
    http::Response r{status::method_not_allowed, hv};
    r.set(field::allow, "GET, HEAD");
    r.prepare_payload();
    return r;
  }
  std::string_view path = request.target();
  if (auto q = path.find('?'); q != std::string_view::npos) path = path.substr(0, q);

  constexpr std::string_view kCredentials = "/v2/credentials/";
  if (path.starts_with(kCredentials)) return credentialsFor(std::string(path.substr(kCredentials.size())), peer, hv);

  unsigned version = 0;
  if (path.starts_with("/v4/")) version = 4;
  if (path.starts_with("/v3/")) version = 3;
  if (version == 0) return goNotFound(hv);
  path.remove_prefix(4);
  size_t slash = path.find('/');
  std::string id(path.substr(0, slash));
  std::string rest = slash == std::string_view::npos ? "" : std::string(path.substr(slash));

  http::Response r = goNotFound(hv);
  if (rest.empty() || rest == "/task" || (rest == "/taskWithTags" && version == 4)) {
    r = metadata(version, id, rest, hv);
  } else if (rest == "/stats") {
    r = containerStats(version, id, hv);
  } else if (rest == "/task/stats") {
    r = taskStats(version, id, hv);
  }
  if (request.method() == http::beast_http::verb::head) {
    r.body().clear();
    r.prepare_payload();
  }
  return r;
}

http::Response TaskEndpointHandler::metadata(unsigned version, const std::string& id, const std::string& rest,
                                             unsigned hv) {
  auto view = registry_.lookup(id);
  if (rest.empty()) {
    if (!view) return lookupFailure(containerLookupError(version, "container metadata handler", id), hv);
    return jsonResponse(status::ok, renderContainer(view->container()), hv);
  }
  if (!view) return lookupFailure(taskLookupError(version, "task metadata handler", id), hv);
  return jsonResponse(status::ok, renderTask(*view->task, rest == "/taskWithTags", clock_.now()), hv);
}

std::optional<bj::object> TaskEndpointHandler::sampleStats(const TaskMetadata& task, const ContainerMetadata& c) {
  auto sample = stats_.sample(task.task_arn, c.name);
  if (!sample) return std::nullopt;
  sample->read = clock_.now();
  auto previous = registry_.exchangeStatsSample(task.task_arn, c.name, *sample);
  return renderStats(c, *sample, previous);
}

http::Response TaskEndpointHandler::containerStats(unsigned version, const std::string& id, unsigned hv) {
  auto view = registry_.lookup(id);
  if (!view) return lookupFailure(containerLookupError(version, "container stats handler", id), hv);
  auto stats = sampleStats(*view->task, view->container());
  if (!stats)
    return jsonMessage(status::internal_server_error,
                       fmt::format("Unable to get container stats for: {}", view->container().docker_id), hv);
  return jsonResponse(status::ok, *stats, hv);
}

http::Response TaskEndpointHandler::taskStats(unsigned version, const std::string& id, unsigned hv) {
  auto view = registry_.lookup(id);
  if (!view) return lookupFailure(taskLookupError(version, "task stats handler", id), hv);
  // Containers without stats (not started, or gone) are null, as in ECS.
  bj::object out;
  for (const auto& c : view->task->containers) {
    auto stats = sampleStats(*view->task, c);
    out[c.docker_id] = stats ? bj::value(std::move(*stats)) : bj::value(nullptr);
  }
  return jsonResponse(status::ok, out, hv);
}

http::Response TaskEndpointHandler::credentialsFor(const std::string& id, const boost::asio::ip::address& peer,
                                                   unsigned hv) {
  constexpr std::string_view kPrefix = "CredentialsV2Request: ";
  if (id.empty())
    return jsonResponse(
        status::bad_request,
        credentialsError("NoIdInRequest", fmt::format("{}No Credential ID in the request", kPrefix), 400), hv);
  std::optional<RoleCredentials> found = credentials_ ? credentials_->find(id) : std::nullopt;
  // Another task's id is answered as if it did not exist.
  if (found && !fromTask(found->task_arn, peer)) found.reset();
  if (!found)
    return jsonResponse(status::bad_request,
                        credentialsError("InvalidIdInRequest", fmt::format("{}Credentials not found", kPrefix), 400),
                        hv);
  return jsonResponse(status::ok, renderCredentials(*found), hv);
}

TaskEndpointServer::TaskEndpointServer(boost::asio::io_context& io, TaskMetadataRegistry& registry, StatsSource& stats,
                                       const CredentialsProvider* credentials, const Clock& clock)
    : handler_(registry, stats, credentials, clock) {
  http::ServerOptions options;
  options.body_limit = 64 * 1024;  // GETs only; nothing large comes in
  options.server_name = "berth-task-endpoint";
  server_ = std::make_unique<http::Server>(io, handler_, options);
}

TaskEndpointServer::~TaskEndpointServer() = default;

Result<boost::asio::ip::tcp::endpoint> TaskEndpointServer::listen(const TaskEndpointOptions& options) {
  return server_->listen(options.host, options.port);
}

void TaskEndpointServer::stop() { server_->stop(); }

}  // namespace berth::agent::endpoints
