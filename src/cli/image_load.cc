// `berth image load FILE`: an OCI layout tarball or a docker save archive,
// pushed to berthd under the names it carries (or --tag).
#include <fmt/format.h>

#include "cli/berthd_session.h"
#include "cli/image_cmd.h"
#include "image/image_archive.h"

namespace berth::cli {
namespace {

// Where `image` goes. A bare OCI ref.name ("latest", "v1") is only a tag:
// the archive does not say which repository, so --tag must.
Result<std::vector<RegistryTarget>> targetsOf(const image::ArchiveImage& image, const ImageLoadFlags& flags,
                                              size_t image_count) {
  std::vector<RegistryTarget> targets;
  if (!flags.tag.empty()) {
    if (image_count != 1) {
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("--tag needs an archive of one image; this one has {}", image_count));
    }
    targets.push_back(BERTH_TRY(registryTarget(flags.tag)));
  } else {
    for (const std::string& name : image.names) {
      if (name.find_first_of(":/") == std::string::npos) continue;  // a bare tag
      targets.push_back(BERTH_TRY(registryTarget(name)));
      break;  // io.containerd.image.name and ref.name name the same image
    }
  }
  if (targets.empty()) {
    return fail(ErrorCode::kInvalidArgument, "the archive does not name its image; give one with --tag REPO:TAG");
  }
  for (const RegistryTarget& t : targets) {
    if (!t.digest.empty()) return fail(ErrorCode::kInvalidArgument, "load names an image by REPO:TAG, not a digest");
  }
  return targets;
}

}  // namespace

Result<std::vector<std::string>> loadImages(const Connection& c, const ImageLoadFlags& flags) {
  ScratchDir scratch = BERTH_TRY(ScratchDir::create("berth-load"));
  image::ExtractedArchive files = BERTH_TRY(image::extractImageArchive(flags.file, scratch.path()));
  image::ImageArchive archive = BERTH_TRY(image::readImageArchive(files));
  // Every name is checked before anything is pushed.
  std::vector<std::vector<RegistryTarget>> targets;
  for (const image::ArchiveImage& img : archive.images) {
    targets.push_back(BERTH_TRY(targetsOf(img, flags, archive.images.size())));
  }

  auto session = BERTH_TRY(BerthdSession::open(c, targets.front().front().region));
  RegistryClient* registry = BERTH_TRY(session->registry());
  std::vector<std::string> loaded;
  for (size_t i = 0; i < archive.images.size(); ++i) {
    const image::ArchiveImage& img = archive.images[i];
    for (const RegistryTarget& target : targets[i]) {
      BERTH_TRY(session->ecr().ensureRepository(target.repository));
      std::string digest;
      for (size_t m = 0; m < img.manifests.size(); ++m) {
        const image::ArchiveManifest& manifest = img.manifests[m];
        std::vector<PushBlob> blobs;
        for (const std::string& d : manifest.blobs) blobs.push_back({d, archive.blobs.at(d).path, {}});
        bool top = m + 1 == img.manifests.size();
        digest = BERTH_TRY(pushManifest(*registry, target.repository, top ? target.tag : manifest.digest,
                                        manifest.media_type, manifest.bytes, blobs));
      }
      loaded.push_back(fmt::format("{} {}", target.str(), digest));
    }
  }
  return loaded;
}

}  // namespace berth::cli
