#include "image/manifest.h"

#include <algorithm>

#include "common/json.h"
#include "image/digest.h"

namespace berth::image {
namespace {

namespace bj = boost::json;

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message));
}

Result<bj::object> parseObject(std::string_view bytes, std::string_view what) {
  if (bytes.size() > kMaxManifestBytes) {
    return fail(ErrorCode::kResourceExhausted, std::string(what) + " larger than 4 MiB");
  }
  auto v = json::parse(bytes);
  if (!v || !v->is_object()) return invalid(std::string(what) + " is not a JSON object");
  return std::move(v->get_object());
}

Result<Descriptor> parseDescriptor(const bj::value& v) {
  if (!v.is_object()) return invalid("descriptor is not an object");
  const bj::object& o = v.get_object();
  Descriptor d;
  d.media_type = json::stringOr(o, "mediaType");
  d.digest = json::stringOr(o, "digest");
  if (!isValidDigest(d.digest)) return invalid("descriptor has an invalid digest");
  auto size = json::getInt(o, "size");
  if (!size || *size < 0) return invalid("descriptor " + d.digest + " has no valid size");
  d.size = *size;
  if (const bj::object* p = json::getObject(o, "platform")) {
    Platform platform;
    platform.os = json::stringOr(*p, "os");
    platform.architecture = json::stringOr(*p, "architecture");
    platform.variant = json::stringOr(*p, "variant");
    d.platform = platform;
  }
  if (const bj::object* a = json::getObject(o, "annotations")) {
    for (const auto& kv : *a) {
      if (kv.value().is_string()) d.annotations[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  return d;
}

bool isIndexType(std::string_view t) { return t == media::kOciIndex || t == media::kDockerManifestList; }
bool isManifestType(std::string_view t) { return t == media::kOciManifest || t == media::kDockerManifest; }

std::vector<std::string> stringArray(const bj::object& o, std::string_view key) {
  return json::stringList(o, key);
}

}  // namespace

std::string manifestMediaType(std::string_view bytes, std::string_view content_type) {
  auto v = bytes.size() <= kMaxManifestBytes ? json::parse(bytes) : std::nullopt;
  if (v && v->is_object()) {
    if (auto t = json::getString(v->get_object(), "mediaType"); t && !t->empty()) return std::string(*t);
    if (isIndexType(content_type) || isManifestType(content_type)) return std::string(content_type);
    if (json::getArray(v->get_object(), "manifests")) return std::string(media::kOciIndex);
    return std::string(media::kOciManifest);
  }
  return std::string(content_type);
}

Result<ManifestKind> manifestKind(std::string_view bytes, std::string_view content_type) {
  bj::object o = BERTH_TRY(parseObject(bytes, "manifest"));
  auto schema = json::getInt(o, "schemaVersion");
  if (!schema || *schema != 2) return invalid("unsupported manifest schemaVersion (only 2 is accepted)");
  std::string_view type = json::getString(o, "mediaType").value_or(content_type);
  if (isIndexType(type)) return ManifestKind::kIndex;
  if (isManifestType(type)) return ManifestKind::kImage;
  if (!type.empty() && type != "application/json" && type != "application/octet-stream") {
    return invalid("unsupported manifest media type " + std::string(type));
  }
  if (json::getArray(o, "manifests")) return ManifestKind::kIndex;
  if (json::getArray(o, "layers")) return ManifestKind::kImage;
  return invalid("document is neither an image manifest nor an index");
}

Result<Manifest> parseManifest(std::string_view bytes) {
  bj::object o = BERTH_TRY(parseObject(bytes, "manifest"));
  auto schema = json::getInt(o, "schemaVersion");
  if (!schema || *schema != 2) return invalid("unsupported manifest schemaVersion (only 2 is accepted)");
  Manifest m;
  m.media_type = json::stringOr(o, "mediaType", media::kOciManifest);
  if (!isManifestType(m.media_type)) return invalid("not an image manifest: " + m.media_type);
  const bj::value* config = json::find(o, "config");
  if (!config) return invalid("manifest has no config");
  m.config = BERTH_TRY(parseDescriptor(*config));
  const bj::array* layers = json::getArray(o, "layers");
  if (!layers) return invalid("manifest has no layers array");
  if (layers->size() > kMaxLayers) return invalid("manifest has more than 500 layers");
  for (const auto& l : *layers) m.layers.push_back(BERTH_TRY(parseDescriptor(l)));
  return m;
}

Result<Index> parseIndex(std::string_view bytes) {
  bj::object o = BERTH_TRY(parseObject(bytes, "index"));
  auto schema = json::getInt(o, "schemaVersion");
  if (!schema || *schema != 2) return invalid("unsupported index schemaVersion (only 2 is accepted)");
  Index index;
  index.media_type = json::stringOr(o, "mediaType", media::kOciIndex);
  if (!isIndexType(index.media_type)) return invalid("not an image index: " + index.media_type);
  const bj::array* manifests = json::getArray(o, "manifests");
  if (!manifests) return invalid("index has no manifests array");
  if (manifests->size() > 10000) return invalid("index has too many manifests");
  for (const auto& m : *manifests) index.manifests.push_back(BERTH_TRY(parseDescriptor(m)));
  return index;
}

bool isSupportedLayerType(std::string_view t) {
  return t == media::kOciLayer || t == media::kOciLayerGzip || t == media::kOciLayerZstd ||
         t == media::kDockerLayerGzip ||
         t == "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip" ||
         t == "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip";
}

Result<Descriptor> selectPlatform(const Index& index, const Platform& want) {
  const Descriptor* best = nullptr;
  for (const Descriptor& d : index.manifests) {
    if (!d.platform || d.platform->os != want.os || d.platform->architecture != want.architecture) continue;
    if (!isManifestType(d.media_type) && !d.media_type.empty()) continue;
    bool variant_ok = want.variant.empty() || d.platform->variant.empty() || d.platform->variant == want.variant;
    if (!variant_ok) continue;
    if (!best || (d.platform->variant == want.variant && best->platform->variant != want.variant)) best = &d;
  }
  if (!best && index.manifests.size() == 1 && !index.manifests[0].platform &&
      (isManifestType(index.manifests[0].media_type) || index.manifests[0].media_type.empty())) {
    best = &index.manifests[0];
  }
  if (!best) {
    return fail(ErrorCode::kNotFound, "no match for platform " + want.os + "/" + want.architecture +
                                          " in manifest: not found");
  }
  return *best;
}

Result<ImageConfig> parseImageConfig(std::string_view bytes) {
  bj::object o = BERTH_TRY(parseObject(bytes, "image config"));
  ImageConfig c;
  c.os = json::stringOr(o, "os");
  c.architecture = json::stringOr(o, "architecture");
  if (const bj::object* rootfs = json::getObject(o, "rootfs")) {
    if (const bj::array* ids = json::getArray(*rootfs, "diff_ids")) {
      if (ids->size() > kMaxLayers) return invalid("image config has more than 500 diff_ids");
      for (const auto& id : *ids) {
        if (!id.is_string() || !isValidDigest(id.get_string())) return invalid("image config has an invalid diff_id");
        c.diff_ids.emplace_back(id.get_string());
      }
    }
  }
  const bj::object* cfg = json::getObject(o, "config");
  if (!cfg) return c;
  c.entrypoint = stringArray(*cfg, "Entrypoint");
  c.cmd = stringArray(*cfg, "Cmd");
  c.env = stringArray(*cfg, "Env");
  c.working_dir = json::stringOr(*cfg, "WorkingDir");
  c.user = json::stringOr(*cfg, "User");
  c.stop_signal = json::stringOr(*cfg, "StopSignal");
  if (const bj::object* ports = json::getObject(*cfg, "ExposedPorts")) {
    for (const auto& kv : *ports) c.exposed_ports.emplace_back(kv.key());
    std::sort(c.exposed_ports.begin(), c.exposed_ports.end());
  }
  if (const bj::object* labels = json::getObject(*cfg, "Labels")) {
    for (const auto& kv : *labels) {
      if (kv.value().is_string()) c.labels[std::string(kv.key())] = std::string(kv.value().get_string());
    }
  }
  if (const bj::object* hc = json::getObject(*cfg, "Healthcheck")) {
    HealthCheck h;
    h.test = stringArray(*hc, "Test");
    h.interval_ns = json::getInt(*hc, "Interval").value_or(0);
    h.timeout_ns = json::getInt(*hc, "Timeout").value_or(0);
    h.start_period_ns = json::getInt(*hc, "StartPeriod").value_or(0);
    h.retries = json::getInt(*hc, "Retries").value_or(0);
    c.healthcheck = std::move(h);
  }
  return c;
}

}  // namespace berth::image
