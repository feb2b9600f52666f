// Fuzzes registry::parseManifest (src/registry/manifest.h), the parser of
// manifests pushed to /v2/ and PutImage. The first byte picks the
// Content-Type the manifest arrives with; the rest is the body. It must never
// crash, hang or throw, and an accepted manifest must be consistent: its
// digest is the body's, a stored media type is one of the four, every
// descriptor digest is well-formed and sizes are not negative.
// Seeds: fuzz/corpus/manifest_fuzz/.
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

#include "registry/blob_store.h"
#include "registry/manifest.h"

namespace reg = berth::registry;

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  if (size == 0) return 0;
  static constexpr std::string_view kTypes[] = {
      "", "application/json", reg::kOciManifest, reg::kOciIndex, reg::kDockerManifest, reg::kDockerManifestList,
      "application/vnd.oci.image.manifest.v1+json; charset=utf-8", "text/plain"};
  std::string_view content_type = kTypes[data[0] % (sizeof(kTypes) / sizeof(kTypes[0]))];
  std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  auto m = reg::parseManifest(body, content_type);
  if (!m) return 0;
  if (m->digest != reg::digestOf(body)) std::abort();
  if (!reg::isManifestMediaType(m->media_type)) std::abort();
  auto check = [](const reg::Descriptor& d) {
    if (!reg::isDigest(d.digest) || d.size < 0) std::abort();
  };
  if (!m->isIndex()) check(m->config);
  for (const auto& d : m->layers) check(d);
  for (const auto& d : m->manifests) check(d);
  if (m->image_size < 0) std::abort();
  return 0;
}
