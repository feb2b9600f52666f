#include "cli/berthd_session.h"

#include <cstdlib>

#include <fmt/format.h>

#include "image/reference.h"

namespace berth::cli {

Result<RegistryTarget> registryTarget(std::string_view text) {
  image::ImageReference ref = BERTH_TRY(image::parseImageReference(text));
  RegistryTarget t;
  t.repository = ref.kind == image::RegistryKind::kExternal ? ref.localRepository() : ref.repository;
  t.tag = ref.tag;
  t.digest = ref.digest;
  t.region = ref.kind == image::RegistryKind::kEcr ? ref.region : defaultRegion();
  return t;
}

Result<std::unique_ptr<BerthdSession>> BerthdSession::open(const Connection& c, std::string region) {
  Endpoint endpoint = BERTH_TRY(parseEndpoint(c.endpoint));
  return std::unique_ptr<BerthdSession>(
      new BerthdSession(std::move(endpoint), findCredentials(c.data_dir), std::move(region)));
}

Result<RegistryClient*> BerthdSession::registry() {
  if (!registry_) registry_ = BERTH_TRY(RegistryClient::connect(http_, ecr_));
  return registry_.get();
}

Result<ScratchDir> ScratchDir::create(std::string_view prefix) {
  std::string tmpl = (std::filesystem::temp_directory_path() / fmt::format("{}-XXXXXX", prefix)).string();
  if (!::mkdtemp(tmpl.data())) return failErrno("mkdtemp " + tmpl, errno);
  return ScratchDir(tmpl);
}

ScratchDir::~ScratchDir() {
  if (path_.empty()) return;
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

}  // namespace berth::cli
