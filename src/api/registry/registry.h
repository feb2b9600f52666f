// The OCI distribution registry under /v2/ (the ECR data plane): blob
// HEAD/GET with ranges, monolithic and chunked uploads, cross-repository
// mounts, manifests by tag and digest, tags list and catalog, with the
// registry's JSON errors and HTTP Basic auth from GetAuthorizationToken.
//
// Blob bytes stream between the socket and the BlobStore on the I/O thread
// (upload sessions keep their BlobWriter, and with it the running hash,
// between requests). Repositories, manifests and tags are the ECR model's:
// those calls are posted to the control executor, which commits before the
// answer is sent.
//
// Threads: handle() and streamBody() run on I/O threads; the upload
// sessions are guarded by a mutex; `ecr` is touched only on `control`.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "common/clock.h"
#include "api/registry/routes.h"
#include "control/ecr/ecr.h"
#include "http/server.h"
#include "registry/blob_store.h"
#include "registry/tokens.h"

namespace berth::api::registry {

struct RegistryOptions {
  // nullptr: no authentication (--auth off).
  const berth::registry::RegistryTokens* tokens = nullptr;
  // Create a repository on its first push (ECR requires CreateRepository).
  bool create_on_push = false;
  // Upload sessions idle this long are dropped.
  std::chrono::seconds upload_idle_timeout{3600};
  std::string realm = "berth";
};

class Registry final : public http::Handler {
 public:
  Registry(RegistryOptions options, berth::registry::BlobStore& blobs, ecr::Ecr& ecr,
           boost::asio::any_io_executor control, const Clock& clock);
  ~Registry() override;

  void handle(http::Request request, http::Respond respond) override;
  std::unique_ptr<http::BodySink> streamBody(const http::RequestHeader& header) override;

  size_t uploadSessions() const;

  struct Session;  // an upload in progress (registry.cc)

 private:
  class UploadSink;
  class ManifestSink;
  class FailedSink;

  // Runs `fn` on the control executor.
  void onControl(std::function<void(ecr::Ecr&)> fn);
  std::shared_ptr<Session> takeSession(const std::string& id, const std::string& repo, Error* error);
  void releaseSession(const std::shared_ptr<Session>& session);
  void dropSession(const std::string& id);
  std::string newSession(const std::string& repo, std::unique_ptr<berth::registry::BlobWriter> writer);
  void expireSessions();

  void getBlob(const Route& route, const http::Request& request, http::Respond respond);
  void putManifest(const Route& route, std::string body, std::string content_type, http::Respond respond);

  RegistryOptions options_;
  berth::registry::BlobStore& blobs_;
  ecr::Ecr& ecr_;
  boost::asio::any_io_executor control_;
  const Clock& clock_;
  mutable std::mutex mu_;
  std::map<std::string, std::shared_ptr<Session>> sessions_;
};

}  // namespace berth::api::registry
