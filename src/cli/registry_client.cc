#include "cli/registry_client.h"

#include <fcntl.h>

#include <fmt/format.h>

#include "common/json.h"
#include "image/digest.h"
#include "image/manifest.h"

namespace berth::cli {
namespace {

constexpr std::string_view kManifestAccept =
    "application/vnd.oci.image.manifest.v1+json, application/vnd.oci.image.index.v1+json, "
    "application/vnd.docker.distribution.manifest.v2+json, "
    "application/vnd.docker.distribution.manifest.list.v2+json";

// The registry's {"errors":[{"code","message"}]} as an Error.
std::unexpected<Error> registryError(std::string_view what, const HttpResponse& r) {
  std::string code, message;
  if (auto doc = json::parse(r.body); doc && doc->is_object()) {
    if (const auto* errors = json::getArray(doc->as_object(), "errors");
        errors && !errors->empty() && (*errors)[0].is_object()) {
      code = json::stringOr((*errors)[0].as_object(), "code");
      message = json::stringOr((*errors)[0].as_object(), "message");
    }
  }
  ErrorCode ec = r.status == 404                      ? ErrorCode::kNotFound
                 : r.status == 401 || r.status == 403 ? ErrorCode::kUnauthenticated
                                                      : ErrorCode::kInvalidArgument;
  if (code.empty()) return fail(ec, fmt::format("{}: HTTP {}", what, r.status));
  return fail(ec, fmt::format("{}: {}: {}", what, code, message), code);
}

}  // namespace

Result<std::unique_ptr<RegistryClient>> RegistryClient::connect(HttpClient& http, EcrClient& ecr) {
  HttpResponse anonymous = BERTH_TRY(http.request("GET", "/v2/", {}));
  if (anonymous.status == 200) return std::unique_ptr<RegistryClient>(new RegistryClient(http, ""));
  if (anonymous.status != 401) return registryError("GET /v2/", anonymous);
  std::string token = BERTH_TRY(ecr.authorizationToken());
  auto client = std::unique_ptr<RegistryClient>(new RegistryClient(http, "Basic " + token));
  HttpResponse check = BERTH_TRY(http.request("GET", "/v2/", client->headers()));
  if (check.status != 200) return registryError("GET /v2/ with ECR's token", check);
  return client;
}

Headers RegistryClient::headers(Headers extra) const {
  if (!authorization_.empty()) extra.emplace_back("Authorization", authorization_);
  return extra;
}

Result<bool> RegistryClient::hasBlob(std::string_view repo, std::string_view digest) {
  HttpResponse r = BERTH_TRY(http_.request("HEAD", fmt::format("/v2/{}/blobs/{}", repo, digest), headers()));
  if (r.status == 200) return true;
  if (r.status == 404) return false;
  return registryError(fmt::format("HEAD blob {}", digest), r);
}

Status RegistryClient::uploadBlob(std::string_view repo, std::string_view digest, const std::filesystem::path& file,
                                  std::string_view bytes) {
  HttpResponse start = BERTH_TRY(http_.request("POST", fmt::format("/v2/{}/blobs/uploads/", repo), headers()));
  if (start.status != 202) return registryError("start upload", start);
  std::string location = start.header("location");
  if (location.empty()) return fail(ErrorCode::kInternal, "the registry gave no upload Location");
  if (location.starts_with("http://")) {  // absolute: keep the path
    size_t slash = location.find('/', 7);
    location = slash == std::string::npos ? "/" : location.substr(slash);
  }
  std::string target =
      fmt::format("{}{}digest={}", location, location.find('?') == std::string::npos ? '?' : '&', digest);
  Headers h = headers({{"Content-Type", "application/octet-stream"}});
  HttpResponse done = file.empty() ? BERTH_TRY(http_.request("PUT", target, h, std::string(bytes)))
                                   : BERTH_TRY(http_.requestWithFile("PUT", target, h, file));
  if (done.status != 201) return registryError(fmt::format("upload {}", digest), done);
  return {};
}

Result<std::string> RegistryClient::putManifest(std::string_view repo, std::string_view reference,
                                                std::string_view media_type, std::string bytes) {
  HttpResponse r = BERTH_TRY(http_.request("PUT", fmt::format("/v2/{}/manifests/{}", repo, reference),
                                           headers({{"Content-Type", std::string(media_type)}}), std::move(bytes)));
  if (r.status != 201) return registryError(fmt::format("push manifest {}:{}", repo, reference), r);
  return r.header("docker-content-digest");
}

Result<image::FetchedManifest> RegistryClient::getManifest(std::string_view repo, std::string_view reference) {
  HttpResponse r = BERTH_TRY(http_.request("GET", fmt::format("/v2/{}/manifests/{}", repo, reference),
                                           headers({{"Accept", std::string(kManifestAccept)}})));
  if (r.status != 200) return registryError(fmt::format("get manifest {}:{}", repo, reference), r);
  return image::FetchedManifest{r.header("content-type"), std::move(r.body)};
}

Status RegistryClient::downloadBlob(std::string_view repo, std::string_view digest, const std::filesystem::path& out) {
  HttpResponse r = BERTH_TRY(http_.requestToFile("GET", fmt::format("/v2/{}/blobs/{}", repo, digest), headers(), out));
  if (r.status != 200) return registryError(fmt::format("get blob {}", digest), r);
  return {};
}

Result<std::string> pushManifest(RegistryClient& registry, std::string_view repo, std::string_view reference,
                                 std::string_view media_type, std::string manifest,
                                 const std::vector<PushBlob>& blobs) {
  for (const PushBlob& b : blobs) {
    if (BERTH_TRY(registry.hasBlob(repo, b.digest))) continue;
    BERTH_TRY(registry.uploadBlob(repo, b.digest, b.file, b.bytes));
  }
  return registry.putManifest(repo, reference, media_type, std::move(manifest));
}

Result<image::FetchedManifest> RemoteRegistrySource::getManifest(std::string_view repository,
                                                                 std::string_view reference) {
  return registry_.getManifest(repository, reference);
}

std::filesystem::path RemoteRegistrySource::fetchedPath(std::string_view digest) const {
  auto hex = image::digestHex(digest);
  if (!hex) return {};
  std::filesystem::path p = scratch_ / *hex;
  return std::filesystem::exists(p) ? p : std::filesystem::path();
}

Result<std::unique_ptr<image::ByteStream>> RemoteRegistrySource::openBlob(std::string_view repository,
                                                                          std::string_view digest) {
  std::string hex = BERTH_TRY(image::digestHex(digest));
  std::filesystem::path path = scratch_ / hex;
  if (!std::filesystem::exists(path)) {
    std::filesystem::path tmp = scratch_ / (hex + ".part");
    BERTH_TRY(registry_.downloadBlob(repository, digest, tmp));
    std::error_code ec;
    std::filesystem::rename(tmp, path, ec);
    if (ec) return failErrno("rename " + tmp.string(), ec.value());
  }
  image::UniqueFd fd(::open(path.c_str(), O_RDONLY | O_CLOEXEC));
  if (!fd) return failErrno("open " + path.string(), errno);
  return std::unique_ptr<image::ByteStream>(std::make_unique<image::FdByteStream>(std::move(fd)));
}

}  // namespace berth::cli
