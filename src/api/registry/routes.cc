#include "api/registry/routes.h"

#include <boost/url/parse.hpp>

namespace berth::api::registry {
namespace {

// Splits "<name>/<marker><rest>" at the last occurrence of `marker`; the
// name may itself contain slashes.
bool splitAt(std::string_view path, std::string_view marker, std::string* name, std::string* rest) {
  auto pos = path.rfind(marker);
  if (pos == std::string_view::npos || pos == 0) return false;
  *name = std::string(path.substr(0, pos));
  *rest = std::string(path.substr(pos + marker.size()));
  return true;
}

}  // namespace

std::optional<std::string> Route::param(std::string_view key) const {
  for (const auto& [k, v] : query)
    if (k == key) return v;
  return std::nullopt;
}

bool isRegistryTarget(std::string_view target) {
  return target == "/v2" || target.starts_with("/v2/") || target.starts_with("/v2?");
}

std::optional<Route> parseRoute(std::string_view target) {
  auto url = boost::urls::parse_origin_form(target);
  if (!url) return std::nullopt;
  Route route;
  for (const auto& p : url->params()) route.query.emplace_back(p.key, p.has_value ? p.value : std::string());
  std::string path = url->path();  // percent-decoded
  if (path == "/v2" || path == "/v2/") return route;
  if (!path.starts_with("/v2/")) return std::nullopt;
  std::string_view p = std::string_view(path).substr(4);
  if (p == "_catalog") {
    route.endpoint = Endpoint::kCatalog;
    return route;
  }
  if (p.ends_with("/tags/list")) {
    route.endpoint = Endpoint::kTags;
    route.name = std::string(p.substr(0, p.size() - 10));
    return route.name.empty() ? std::nullopt : std::optional(route);
  }
  std::string rest;
  if (p.ends_with("/blobs/uploads") || p.ends_with("/blobs/uploads/")) {
    route.endpoint = Endpoint::kUploadStart;
    route.name = std::string(p.substr(0, p.rfind("/blobs/uploads")));
    return route.name.empty() ? std::nullopt : std::optional(route);
  }
  if (splitAt(p, "/blobs/uploads/", &route.name, &rest)) {
    if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
    route.endpoint = Endpoint::kUpload;
    route.reference = std::move(rest);
    return route;
  }
  if (splitAt(p, "/manifests/", &route.name, &rest)) {
    if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
    route.endpoint = Endpoint::kManifest;
    route.reference = std::move(rest);
    return route;
  }
  if (splitAt(p, "/blobs/", &route.name, &rest)) {
    if (rest.empty() || rest.find('/') != std::string::npos) return std::nullopt;
    route.endpoint = Endpoint::kBlob;
    route.reference = std::move(rest);
    return route;
  }
  return std::nullopt;
}

}  // namespace berth::api::registry
