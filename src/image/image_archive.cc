#include "image/image_archive.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <unistd.h>

#include <cstring>
#include <fstream>
#include <memory>

#include <fmt/format.h>

#include "common/json.h"
#include "image/digest.h"
#include "image/manifest.h"

namespace berth::image {
namespace {

struct ArchiveFree {
  void operator()(archive* a) const { archive_read_free(a); }
};
using ArchivePtr = std::unique_ptr<archive, ArchiveFree>;

constexpr int kMaxLinkDepth = 8;
constexpr int kMaxIndexDepth = 2;

std::vector<std::string_view> splitPath(std::string_view path) {
  std::vector<std::string_view> parts;
  size_t start = 0;
  while (start <= path.size()) {
    size_t end = path.find('/', start);
    if (end == std::string_view::npos) end = path.size();
    std::string_view part = path.substr(start, end - start);
    if (!part.empty() && part != ".") parts.push_back(part);
    start = end + 1;
  }
  return parts;
}

std::string joinPath(const std::vector<std::string_view>& parts) {
  std::string out;
  for (std::string_view p : parts) {
    if (!out.empty()) out += '/';
    out += p;
  }
  return out;
}

// An archive member name as a key: no empty or "." components; absolute
// names and ".." components are refused.
Result<std::string> normalizeName(std::string_view name) {
  if (name.starts_with('/'))
    return fail(ErrorCode::kInvalidArgument, fmt::format("absolute name in the archive: {}", name));
  std::vector<std::string_view> parts = splitPath(name);
  for (std::string_view p : parts) {
    if (p == "..") return fail(ErrorCode::kInvalidArgument, fmt::format("name escapes the archive: {}", name));
  }
  return joinPath(parts);
}

// The member a symlink at `name` pointing to `target` names; ".." may not
// climb above the archive root.
Result<std::string> resolveSymlink(std::string_view name, std::string_view target) {
  if (target.starts_with('/')) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("absolute symlink in the archive: {} -> {}", name, target));
  }
  std::vector<std::string_view> parts = splitPath(name);
  if (!parts.empty()) parts.pop_back();
  for (std::string_view p : splitPath(target)) {
    if (p != "..") {
      parts.push_back(p);
    } else if (parts.empty()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("symlink escapes the archive: {} -> {}", name, target));
    } else {
      parts.pop_back();
    }
  }
  return joinPath(parts);
}

Status writeAll(int fd, const char* data, size_t size) {
  while (size > 0) {
    ssize_t n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return failErrno("write scratch file", errno);
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return {};
}

Result<std::string> readSmallFile(const ArchiveFile& f, std::string_view what) {
  if (f.size > static_cast<int64_t>(kMaxManifestBytes)) {
    return fail(ErrorCode::kInvalidArgument, fmt::format("{} is larger than {} bytes", what, kMaxManifestBytes));
  }
  std::ifstream in(f.path, std::ios::binary);
  std::string data((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  if (!in.good() && !in.eof()) return failErrno("read " + f.path.string(), errno);
  return data;
}

Result<const ArchiveFile*> member(const ExtractedArchive& files, std::string_view name) {
  std::string key = BERTH_TRY(normalizeName(name));
  auto it = files.find(key);
  if (it == files.end()) return fail(ErrorCode::kInvalidArgument, fmt::format("the archive has no {}", name));
  return &it->second;
}

// ---------------------------------------------------------------- OCI layout

class OciReader {
 public:
  OciReader(const ExtractedArchive& files, ImageArchive& out) : files_(files), out_(out) {}

  Status read() {
    for (const auto& [name, file] : files_) {
      if (!name.starts_with("blobs/sha256/")) continue;
      std::string digest = "sha256:" + name.substr(13);
      if (!isValidDigest(digest)) continue;
      if (file.digest != digest) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("blob {} does not match its digest ({})", name, file.digest));
      }
      blobs_.emplace(digest, &file);
    }
    const ArchiveFile* index_file = BERTH_TRY(member(files_, "index.json"));
    std::string index_bytes = BERTH_TRY(readSmallFile(*index_file, "index.json"));
    Index index = BERTH_TRY(parseIndex(index_bytes));
    for (const Descriptor& d : index.manifests) {
      ArchiveImage image;
      for (const char* key : {"io.containerd.image.name", "org.opencontainers.image.ref.name"}) {
        if (auto it = d.annotations.find(key); it != d.annotations.end() && !it->second.empty()) {
          image.names.push_back(it->second);
        }
      }
      BERTH_TRY(collect(d, image, 0));
      out_.images.push_back(std::move(image));
    }
    if (out_.images.empty()) return fail(ErrorCode::kInvalidArgument, "index.json lists no images");
    return {};
  }

 private:
  // The file of blob `digest`; a config or layer (`needed`) is also
  // recorded as one to push.
  Result<const ArchiveFile*> blob(std::string_view digest, std::string_view what, bool needed = true) {
    auto it = blobs_.find(digest);
    if (it == blobs_.end())
      return fail(ErrorCode::kInvalidArgument, fmt::format("{} {} is not in the archive", what, digest));
    if (needed) out_.blobs.emplace(std::string(digest), *it->second);
    return it->second;
  }

  Status collect(const Descriptor& d, ArchiveImage& image, int depth) {
    const ArchiveFile* file = BERTH_TRY(blob(d.digest, "manifest", /*needed=*/false));
    ArchiveManifest m;
    m.bytes = BERTH_TRY(readSmallFile(*file, "a manifest"));
    m.digest = d.digest;
    m.media_type = manifestMediaType(m.bytes, d.media_type);
    ManifestKind kind = BERTH_TRY(manifestKind(m.bytes, d.media_type));
    if (kind == ManifestKind::kIndex) {
      if (depth >= kMaxIndexDepth) return fail(ErrorCode::kInvalidArgument, "indexes nested too deep");
      Index index = BERTH_TRY(parseIndex(m.bytes));
      for (const Descriptor& child : index.manifests) BERTH_TRY(collect(child, image, depth + 1));
    } else {
      Manifest manifest = BERTH_TRY(parseManifest(m.bytes));
      BERTH_TRY(blob(manifest.config.digest, "config"));
      m.blobs.push_back(manifest.config.digest);
      for (const Descriptor& layer : manifest.layers) {
        BERTH_TRY(blob(layer.digest, "layer"));
        m.blobs.push_back(layer.digest);
      }
    }
    image.manifests.push_back(std::move(m));
    return {};
  }

  const ExtractedArchive& files_;
  ImageArchive& out_;
  std::map<std::string, const ArchiveFile*, std::less<>> blobs_;
};

// ---------------------------------------------------------------- docker save

std::string descriptorText(std::string_view media_type, const ArchiveFile& f) {
  return fmt::format(R"({{"mediaType":"{}","digest":"{}","size":{}}})", media_type, f.digest, f.size);
}

std::string_view layerMediaType(const ArchiveFile& f) {
  if (f.magic.starts_with("\x1f\x8b")) return media::kOciLayerGzip;
  if (f.magic == std::string_view("\x28\xb5\x2f\xfd", 4)) return media::kOciLayerZstd;
  return media::kOciLayer;
}

Status readDockerSave(const ExtractedArchive& files, ImageArchive& out) {
  const ArchiveFile* manifest_file = BERTH_TRY(member(files, "manifest.json"));
  std::string text = BERTH_TRY(readSmallFile(*manifest_file, "manifest.json"));
  std::optional<json::bj::value> doc = json::parse(text);
  if (!doc || !doc->is_array() || doc->as_array().empty()) {
    return fail(ErrorCode::kInvalidArgument, "manifest.json is not a non-empty JSON array");
  }
  for (const json::bj::value& v : doc->as_array()) {
    if (!v.is_object()) return fail(ErrorCode::kInvalidArgument, "manifest.json: an entry is not an object");
    const json::bj::object& entry = v.as_object();
    auto config_name = json::getString(entry, "Config");
    const json::bj::array* layer_names = json::getArray(entry, "Layers");
    if (!config_name || !layer_names) {
      return fail(ErrorCode::kInvalidArgument, "manifest.json: an entry lacks Config or Layers");
    }
    const ArchiveFile* config = BERTH_TRY(member(files, *config_name));
    std::string config_bytes = BERTH_TRY(readSmallFile(*config, "the image config"));
    ImageConfig parsed = BERTH_TRY(parseImageConfig(config_bytes));
    if (parsed.diff_ids.size() != layer_names->size()) {
      return fail(ErrorCode::kInvalidArgument, fmt::format("the config lists {} diff_ids for {} layers",
                                                           parsed.diff_ids.size(), layer_names->size()));
    }
    if (layer_names->size() > kMaxLayers) return fail(ErrorCode::kInvalidArgument, "too many layers");
    ArchiveManifest m;
    m.media_type = std::string(media::kOciManifest);
    std::string layers;
    for (size_t i = 0; i < layer_names->size(); ++i) {
      const json::bj::value& name = (*layer_names)[i];
      if (!name.is_string()) return fail(ErrorCode::kInvalidArgument, "manifest.json: a layer name is not a string");
      const ArchiveFile* layer = BERTH_TRY(member(files, std::string_view(name.as_string())));
      std::string_view type = layerMediaType(*layer);
      if (type == media::kOciLayer && layer->digest != parsed.diff_ids[i]) {
        return fail(ErrorCode::kInvalidArgument,
                    fmt::format("layer {} has digest {}, but the config's diff_id is {}",
                                std::string_view(name.as_string()), layer->digest, parsed.diff_ids[i]));
      }
      if (!layers.empty()) layers += ',';
      layers += descriptorText(type, *layer);
      m.blobs.push_back(layer->digest);
      out.blobs.emplace(layer->digest, *layer);
    }
    m.blobs.insert(m.blobs.begin(), config->digest);
    out.blobs.emplace(config->digest, *config);
    m.bytes = fmt::format(R"({{"schemaVersion":2,"mediaType":"{}","config":{},"layers":[{}]}})", media::kOciManifest,
                          descriptorText(media::kOciConfig, *config), layers);
    m.digest = digestOf(m.bytes);
    ArchiveImage image;
    image.names = json::stringList(entry, "RepoTags");
    image.manifests.push_back(std::move(m));
    out.images.push_back(std::move(image));
  }
  return {};
}

}  // namespace

Result<ExtractedArchive> extractImageArchive(const std::filesystem::path& archive_path,
                                             const std::filesystem::path& scratch, const ArchiveLimits& limits) {
  ArchivePtr a(archive_read_new());
  if (!a) return fail(ErrorCode::kInternal, "libarchive: out of memory");
  archive_read_support_filter_gzip(a.get());
  archive_read_support_filter_zstd(a.get());
  archive_read_support_format_tar(a.get());
  auto archiveError = [&](std::string_view what) -> std::unexpected<Error> {
    const char* msg = archive_error_string(a.get());
    return fail(ErrorCode::kInvalidArgument, fmt::format("{}: {}", what, msg ? msg : "unknown error"));
  };
  if (archive_read_open_filename(a.get(), archive_path.c_str(), 1 << 16) != ARCHIVE_OK) {
    return archiveError("cannot read " + archive_path.string());
  }
  ExtractedArchive files;
  std::map<std::string, std::string> aliases;  // link name -> the member it names
  std::vector<char> buf(1 << 16);
  uint64_t total = 0;
  size_t entries = 0;
  // A link replaces whatever an earlier entry of that name was, as tar does.
  auto addAlias = [&](const std::string& name, std::string target) {
    if (name.empty()) return;
    aliases[name] = std::move(target);
    files.erase(name);
  };
  for (;;) {
    archive_entry* e;
    int r = archive_read_next_header(a.get(), &e);
    if (r == ARCHIVE_EOF) break;
    if (r < ARCHIVE_WARN) return archiveError("not a valid tar archive");
    if (++entries > limits.max_entries) return fail(ErrorCode::kInvalidArgument, "too many entries in the archive");
    const char* raw_name = archive_entry_pathname(e);
    if (!raw_name || std::strlen(raw_name) > limits.max_name) {
      return fail(ErrorCode::kInvalidArgument, "an entry without a usable name");
    }
    std::string name = BERTH_TRY(normalizeName(raw_name));
    if (const char* hardlink = archive_entry_hardlink(e)) {
      std::string target = BERTH_TRY(normalizeName(hardlink));
      addAlias(name, std::move(target));
      continue;
    }
    mode_t type = archive_entry_filetype(e);
    if (type == AE_IFLNK) {
      const char* target = archive_entry_symlink(e);
      if (!target) return fail(ErrorCode::kInvalidArgument, "a symlink without a target: " + name);
      std::string resolved = BERTH_TRY(resolveSymlink(name, target));
      addAlias(name, std::move(resolved));
      continue;
    }
    if (type != AE_IFREG || name.empty()) continue;  // directories and the rest carry nothing an image needs
    ArchiveFile f;
    f.path = scratch / std::to_string(entries);
    UniqueFd fd(::open(f.path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
    if (!fd) return failErrno("create " + f.path.string(), errno);
    Sha256Stream hash;
    for (;;) {
      la_ssize_t n = archive_read_data(a.get(), buf.data(), buf.size());
      if (n < 0) return archiveError("cannot read " + name);
      if (n == 0) break;
      total += static_cast<uint64_t>(n);
      if (total > limits.max_total_bytes) return fail(ErrorCode::kInvalidArgument, "the archive is too large");
      if (f.magic.size() < 4) f.magic.append(buf.data(), std::min<size_t>(4 - f.magic.size(), static_cast<size_t>(n)));
      hash.update(buf.data(), static_cast<size_t>(n));
      BERTH_TRY(writeAll(fd.get(), buf.data(), static_cast<size_t>(n)));
    }
    f.size = static_cast<int64_t>(hash.bytes());
    f.digest = hash.finish();
    aliases.erase(name);
    if (auto old = files.find(name); old != files.end()) {  // a later entry replaces an earlier one, as tar does
      std::error_code ec;
      std::filesystem::remove(old->second.path, ec);
    }
    files[name] = std::move(f);
  }
  for (const auto& [name, target] : aliases) {
    std::string current = target;
    for (int depth = 0; depth < kMaxLinkDepth; ++depth) {
      if (auto it = files.find(current); it != files.end()) {
        files.emplace(name, it->second);
        break;
      }
      auto next = aliases.find(current);
      if (next == aliases.end()) break;  // dangling: harmless, the name just does not exist
      current = next->second;
    }
  }
  return files;
}

Result<ImageArchive> readImageArchive(const ExtractedArchive& files) {
  ImageArchive out;
  if (files.contains("index.json") && files.contains("oci-layout")) {
    out.format = ImageArchive::Format::kOciLayout;
    OciReader reader(files, out);
    BERTH_TRY(reader.read());
  } else if (files.contains("manifest.json")) {
    out.format = ImageArchive::Format::kDockerSave;
    BERTH_TRY(readDockerSave(files, out));
  } else {
    return fail(ErrorCode::kInvalidArgument,
                "not an image archive: neither an OCI layout (oci-layout, index.json) nor a docker save "
                "archive (manifest.json)");
  }
  return out;
}

}  // namespace berth::image
