// Fuzzes the image document parsers (src/image/manifest.h, reference.h):
// manifests, indexes, image configs and image references from untrusted
// registries and task definitions. None may crash, hang or throw. Seeds:
// fuzz/corpus/image_manifest_fuzz/.
#include <cstddef>
#include <cstdint>
#include <string_view>

#include "image/manifest.h"
#include "image/reference.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace berth::image;
  std::string_view text(reinterpret_cast<const char*>(data), size);
  (void)manifestKind(text);
  (void)manifestMediaType(text);
  if (auto m = parseManifest(text)) {
    for (const auto& l : m->layers) (void)isSupportedLayerType(l.media_type);
  }
  if (auto index = parseIndex(text)) (void)selectPlatform(*index);
  (void)parseImageConfig(text);
  if (auto ref = parseImageReference(text)) {
    (void)ref->str();
    (void)ref->localRepository();
    (void)offlineDetail(*ref);
  }
  return 0;
}
