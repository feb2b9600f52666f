#include "image/oci_layout.h"

#include <fcntl.h>
#include <unistd.h>

#include <boost/json.hpp>

#include "common/json.h"
#include "image/fs_util.h"

namespace berth::image {
namespace {

namespace bj = boost::json;

bj::object descriptorObject(const Descriptor& d) {
  bj::object o;
  o["mediaType"] = d.media_type;
  o["digest"] = d.digest;
  o["size"] = d.size;
  if (!d.annotations.empty()) {
    bj::object a;
    for (const auto& [k, v] : d.annotations) a[k] = v;
    o["annotations"] = std::move(a);
  }
  if (d.platform) {
    bj::object p;
    p["architecture"] = d.platform->architecture;
    p["os"] = d.platform->os;
    if (!d.platform->variant.empty()) p["variant"] = d.platform->variant;
    o["platform"] = std::move(p);
  }
  return o;
}

bool refMatches(std::string_view ref_name, std::string_view reference) {
  if (ref_name == reference) return true;
  return ref_name.size() > reference.size() && ref_name.ends_with(reference) &&
         ref_name[ref_name.size() - reference.size() - 1] == ':';
}

}  // namespace

std::string descriptorJson(const Descriptor& d) { return json::serialize(descriptorObject(d)); }

std::filesystem::path OciLayout::blobPath(std::string_view digest) const {
  return dir_ / "blobs" / "sha256" / std::string(digest.substr(kSha256Prefix.size()));
}

Result<Index> OciLayout::index() const {
  std::string bytes = BERTH_TRY(readFile(dir_ / "index.json", kMaxManifestBytes));
  return parseIndex(bytes);
}

Result<FetchedManifest> OciLayout::getManifest(std::string_view, std::string_view reference) {
  Index idx = BERTH_TRY(index());
  const Descriptor* found = nullptr;
  for (const Descriptor& d : idx.manifests) {
    if (isValidDigest(reference) ? d.digest == reference : false) found = &d;
    auto it = d.annotations.find(std::string(kRefNameAnnotation));
    if (!found && it != d.annotations.end() && refMatches(it->second, reference)) found = &d;
    if (found) break;
  }
  std::string digest;
  if (found) {
    digest = found->digest;
  } else if (isValidDigest(reference)) {
    digest = reference;  // a child manifest of an index in the layout
  } else {
    return fail(ErrorCode::kNotFound, std::string(reference) + ": not found");
  }
  auto bytes = readFile(blobPath(digest), kMaxManifestBytes);
  if (!bytes) {
    if (bytes.error().code == ErrorCode::kNotFound) return fail(ErrorCode::kNotFound, digest + ": not found");
    return std::unexpected(bytes.error());
  }
  return FetchedManifest{found ? found->media_type : std::string(), std::move(*bytes)};
}

Result<std::unique_ptr<ByteStream>> OciLayout::openBlob(std::string_view, std::string_view digest) {
  if (!isValidDigest(digest)) return fail(ErrorCode::kInvalidArgument, "invalid digest");
  int fd = open(blobPath(digest).c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) {
    if (errno == ENOENT) return fail(ErrorCode::kNotFound, "blob " + std::string(digest) + ": not found");
    return failErrno("open blob " + std::string(digest), errno);
  }
  return std::make_unique<FdByteStream>(UniqueFd(fd));
}

Status OciLayout::create() {
  BERTH_TRY(makeDirs(dir_ / "blobs" / "sha256"));
  if (!std::filesystem::exists(dir_ / "oci-layout")) {
    BERTH_TRY(writeFileAtomic(dir_ / "oci-layout", R"({"imageLayoutVersion":"1.0.0"})"));
  }
  if (!std::filesystem::exists(dir_ / "index.json")) {
    BERTH_TRY(writeFileAtomic(dir_ / "index.json",
                              R"({"schemaVersion":2,"mediaType":"application/vnd.oci.image.index.v1+json","manifests":[]})"));
  }
  return {};
}

Result<std::string> OciLayout::putBlob(std::string_view bytes) {
  std::string digest = digestOf(bytes);
  auto path = blobPath(digest);
  if (!std::filesystem::exists(path)) BERTH_TRY(writeFileAtomic(path, bytes));
  return digest;
}

Status OciLayout::putBlobFile(const std::filesystem::path& path, std::string_view digest) {
  if (!isValidDigest(digest)) return fail(ErrorCode::kInvalidArgument, "invalid digest");
  auto dest = blobPath(digest);
  std::error_code ec;
  std::filesystem::rename(path, dest, ec);
  if (ec == std::errc::cross_device_link) {
    std::filesystem::copy_file(path, dest, std::filesystem::copy_options::overwrite_existing, ec);
    if (!ec) std::filesystem::remove(path, ec);
  }
  if (ec) return failErrno("store blob " + std::string(digest), ec.value());
  return {};
}

Status OciLayout::addManifest(const Descriptor& manifest, std::string_view ref_name) {
  std::string bytes = BERTH_TRY(readFile(dir_ / "index.json", kMaxManifestBytes));
  auto v = json::parse(bytes);
  if (!v || !v->is_object()) return fail(ErrorCode::kInvalidArgument, "index.json is not a JSON object");
  bj::object& o = v->get_object();
  bj::array kept;
  if (const bj::array* old = json::getArray(o, "manifests")) {
    for (const auto& m : *old) {
      if (!ref_name.empty() && m.is_object()) {
        if (const bj::object* a = json::getObject(m.get_object(), "annotations")) {
          if (json::stringOr(*a, kRefNameAnnotation) == ref_name) continue;
        }
      }
      kept.push_back(m);
    }
  }
  Descriptor d = manifest;
  if (!ref_name.empty()) d.annotations[std::string(kRefNameAnnotation)] = std::string(ref_name);
  kept.push_back(descriptorObject(d));
  o["manifests"] = std::move(kept);
  return writeFileAtomic(dir_ / "index.json", json::serialize(o));
}

}  // namespace berth::image
