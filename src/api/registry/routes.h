// The registry's URL space (OCI distribution spec, Docker Registry HTTP API
// v2): which endpoint a request target names. Untrusted input.
//
// Threads: pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace berth::api::registry {

enum class Endpoint {
  kBase,         // /v2/
  kCatalog,      // /v2/_catalog
  kTags,         // /v2/<name>/tags/list
  kManifest,     // /v2/<name>/manifests/<reference>
  kBlob,         // /v2/<name>/blobs/<digest>
  kUploadStart,  // /v2/<name>/blobs/uploads/
  kUpload,       // /v2/<name>/blobs/uploads/<uuid>
};

struct Route {
  Endpoint endpoint = Endpoint::kBase;
  std::string name;       // repository, may contain '/'
  std::string reference;  // tag, digest or upload id
  std::vector<std::pair<std::string, std::string>> query;  // decoded

  // The first value of a query parameter, if present.
  std::optional<std::string> param(std::string_view key) const;
};

// Parses a request target (path and query). nullopt: not a registry URL
// (404 NOT_FOUND). The name and reference are returned as given; the caller
// validates them (NAME_INVALID, TAG_INVALID, DIGEST_INVALID).
std::optional<Route> parseRoute(std::string_view target);

// True for targets the registry serves: "/v2" and everything under "/v2/".
bool isRegistryTarget(std::string_view target);

}  // namespace berth::api::registry
