#include "registry/manifest.h"

#include <boost/json.hpp>

#include "registry/blob_store.h"

namespace berth::registry {
namespace {

namespace bj = boost::json;

std::unexpected<Error> invalid(std::string message) {
  return fail(ErrorCode::kInvalidArgument, "manifest invalid: " + std::move(message), "MANIFEST_INVALID");
}

// Parameters (";charset=utf-8") and case do not change a media type.
std::string bareMediaType(std::string_view content_type) {
  auto semi = content_type.find(';');
  std::string_view t = content_type.substr(0, semi);
  while (!t.empty() && (t.back() == ' ' || t.back() == '\t')) t.remove_suffix(1);
  while (!t.empty() && (t.front() == ' ' || t.front() == '\t')) t.remove_prefix(1);
  std::string out(t);
  for (char& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

bool isGeneric(std::string_view media_type) {
  return media_type.empty() || media_type == "application/json" || media_type == "application/octet-stream" ||
         media_type == "*/*";
}

Result<Descriptor> descriptor(const bj::value& v, std::string_view where) {
  const bj::object* o = v.if_object();
  if (!o) return invalid(std::string(where) + " is not an object");
  Descriptor d;
  const bj::value* mt = o->if_contains("mediaType");
  if (!mt || !mt->is_string() || mt->get_string().empty())
    return invalid(std::string(where) + " has no mediaType");
  d.media_type = std::string(mt->get_string());
  const bj::value* digest = o->if_contains("digest");
  if (!digest || !digest->is_string()) return invalid(std::string(where) + " has no digest");
  d.digest = std::string(digest->get_string());
  if (!isDigest(d.digest)) {
    if (d.digest.starts_with("sha256:") || d.digest.find(':') == std::string::npos)
      return fail(ErrorCode::kInvalidArgument, "invalid digest " + d.digest + " in " + std::string(where),
                  "DIGEST_INVALID");
    return fail(ErrorCode::kInvalidArgument, "digest algorithm not supported: " + d.digest, "UNSUPPORTED");
  }
  const bj::value* size = o->if_contains("size");
  if (!size || !(size->is_int64() || size->is_uint64())) return invalid(std::string(where) + " has no integer size");
  if (size->is_uint64() || size->get_int64() < 0) return invalid(std::string(where) + " has a bad size");
  d.size = size->get_int64();
  return d;
}

}  // namespace

bool isIndexMediaType(std::string_view media_type) {
  return media_type == kOciIndex || media_type == kDockerManifestList;
}

bool isManifestMediaType(std::string_view media_type) {
  return media_type == kOciManifest || media_type == kDockerManifest || isIndexMediaType(media_type);
}

std::vector<std::string> Manifest::blobDigests() const {
  std::vector<std::string> out;
  if (!config.digest.empty()) out.push_back(config.digest);
  for (const auto& l : layers) out.push_back(l.digest);
  return out;
}

Result<Manifest> parseManifest(std::string_view body, std::string_view content_type) {
  if (body.size() > kMaxManifestSize)
    return fail(ErrorCode::kResourceExhausted, "manifest larger than 4 MiB", "SIZE_INVALID");
  boost::system::error_code ec;
  bj::value doc = bj::parse(body, ec);
  if (ec) return invalid("not valid JSON");
  const bj::object* o = doc.if_object();
  if (!o) return invalid("not a JSON object");

  const bj::value* sv = o->if_contains("schemaVersion");
  if (!sv || !sv->is_int64() || sv->get_int64() != 2) {
    if (sv && sv->is_int64() && sv->get_int64() == 1)
      return fail(ErrorCode::kInvalidArgument, "Docker schema 1 manifests are not supported", "UNSUPPORTED");
    return invalid("schemaVersion must be 2");
  }

  std::string declared;
  if (const bj::value* mt = o->if_contains("mediaType")) {
    if (!mt->is_string()) return invalid("mediaType is not a string");
    declared = std::string(mt->get_string());
  }
  std::string header = bareMediaType(content_type);

  Manifest m;
  if (!isGeneric(header)) {
    m.media_type = header;
    if (!isManifestMediaType(header))
      return fail(ErrorCode::kInvalidArgument, "manifest media type not supported: " + header, "UNSUPPORTED");
    if (!declared.empty() && declared != header)
      return invalid("Content-Type " + header + " does not match mediaType " + declared);
  } else if (!declared.empty()) {
    m.media_type = declared;
  } else {
    // OCI manifests may omit mediaType; their shape says which they are.
    m.media_type = o->contains("manifests") ? std::string(kOciIndex) : std::string(kOciManifest);
  }
  if (!isManifestMediaType(m.media_type))
    return fail(ErrorCode::kInvalidArgument, "manifest media type not supported: " + m.media_type, "UNSUPPORTED");

  if (isIndexMediaType(m.media_type)) {
    const bj::value* ms = o->if_contains("manifests");
    if (!ms || !ms->is_array()) return invalid("an index needs a manifests array");
    for (size_t i = 0; i < ms->get_array().size(); ++i) {
      Descriptor d = BERTH_TRY(descriptor(ms->get_array()[i], "manifests[" + std::to_string(i) + "]"));
      m.manifests.push_back(std::move(d));
    }
    m.image_size = static_cast<int64_t>(body.size());
  } else {
    const bj::value* config = o->if_contains("config");
    if (!config) return invalid("an image manifest needs a config");
    m.config = BERTH_TRY(descriptor(*config, "config"));
    const bj::value* layers = o->if_contains("layers");
    if (!layers || !layers->is_array()) return invalid("an image manifest needs a layers array");
    m.image_size = m.config.size;
    for (size_t i = 0; i < layers->get_array().size(); ++i) {
      Descriptor d = BERTH_TRY(descriptor(layers->get_array()[i], "layers[" + std::to_string(i) + "]"));
      if (m.image_size > INT64_MAX - d.size) return invalid("layer sizes overflow");
      m.image_size += d.size;
      m.layers.push_back(std::move(d));
    }
    if (m.config.media_type != kOciImageConfig && m.config.media_type != kDockerImageConfig)
      m.artifact_type = m.config.media_type;
  }
  if (const bj::value* at = o->if_contains("artifactType")) {
    if (!at->is_string()) return invalid("artifactType is not a string");
    m.artifact_type = std::string(at->get_string());
  }
  if (const bj::value* subject = o->if_contains("subject")) {
    Descriptor d = BERTH_TRY(descriptor(*subject, "subject"));
    m.subject = d.digest;
  }
  m.digest = digestOf(body);
  return m;
}

}  // namespace berth::registry
