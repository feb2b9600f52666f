// What the image commands share: a session with berthd (HTTP connection,
// ECR API client, registry client), where a reference lands in berthd's
// registry, and a scratch directory.
//
// Thread rules: one thread at a time.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>

#include "cli/cli.h"
#include "cli/ecr_client.h"
#include "cli/http_client.h"
#include "cli/registry_client.h"
#include "common/result.h"

namespace berth::cli {

// A repository and tag in berthd's registry.
struct RegistryTarget {
  std::string repository;
  std::string tag;     // "latest" when the reference gave none
  std::string digest;  // when the reference gave one
  std::string region;  // the ECR reference's region, else defaultRegion()
  std::string str() const { return repository + ":" + tag; }
};

// REPO[:TAG], localhost:PORT/REPO[:TAG], 127.0.0.1:PORT/...,
// <account>.dkr.ecr.<region>.amazonaws.com/REPO[:TAG]; any other reference
// (busybox:1.36, quay.io/org/app) by ImageReference::localRepository(), as
// the image store resolves it.
Result<RegistryTarget> registryTarget(std::string_view reference);

class BerthdSession {
 public:
  // Connects to c.endpoint (no request is sent yet).
  static Result<std::unique_ptr<BerthdSession>> open(const Connection& c, std::string region);

  HttpClient& http() { return http_; }
  EcrClient& ecr() { return ecr_; }
  // The registry client, authenticated on first use.
  Result<RegistryClient*> registry();

 private:
  BerthdSession(Endpoint endpoint, AwsCredentials credentials, std::string region)
      : http_(std::move(endpoint)), ecr_(http_, std::move(credentials), std::move(region)) {}

  HttpClient http_;
  EcrClient ecr_;
  std::unique_ptr<RegistryClient> registry_;
};

// A temporary directory, removed with everything in it on destruction.
class ScratchDir {
 public:
  static Result<ScratchDir> create(std::string_view prefix);
  ScratchDir(ScratchDir&& o) noexcept : path_(std::move(o.path_)) { o.path_.clear(); }
  ScratchDir& operator=(ScratchDir&&) = delete;
  ~ScratchDir();
  const std::filesystem::path& path() const { return path_; }

 private:
  explicit ScratchDir(std::filesystem::path p) : path_(std::move(p)) {}
  std::filesystem::path path_;
};

}  // namespace berth::cli
