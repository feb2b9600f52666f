#include "cli/image_cmd.h"

#include <fmt/format.h>

#include "cli/berthd_session.h"
#include "image/fs_util.h"
#include "image/image_builder.h"
#include "image/layer_builder.h"
#include "image/oci_layout.h"
#include "image/reference.h"
#include "image/resolve.h"

namespace berth::cli {
namespace {

using namespace berth::image;

// "oci:DIR" or "oci:DIR:TAG" -> layout dir and tag ("latest" by default).
std::pair<std::string, std::string> parseOciBase(std::string_view base) {
  std::string_view rest = base.substr(4);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return {std::string(rest), "latest"};
  return {std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1))};
}

// The base image: an OCI layout, or an image in berthd's registry.
struct Base {
  std::unique_ptr<OciLayout> layout;
  std::unique_ptr<RemoteRegistrySource> remote;
  std::string repository;  // in berthd's registry (remote only)
  ResolvedImage image;

  BlobSource& blobs() { return layout ? static_cast<BlobSource&>(*layout) : *remote; }
  // A local file holding layer `digest` (downloading it from berthd if needed).
  Result<std::filesystem::path> layerFile(std::string_view digest) {
    if (layout) return layout->blobPath(digest);
    BERTH_TRY(remote->openBlob(repository, digest));
    return remote->fetchedPath(digest);
  }
};

Result<Base> resolveBase(std::string_view text, BerthdSession* session, const std::filesystem::path& scratch) {
  Base base;
  if (text.starts_with("oci:")) {
    auto [dir, tag] = parseOciBase(text);
    base.layout = std::make_unique<OciLayout>(dir);
    base.image = BERTH_TRY(resolveImage(*base.layout, *base.layout, "", tag));
    return base;
  }
  RegistryTarget target = BERTH_TRY(registryTarget(text));
  RegistryClient* registry = BERTH_TRY(session->registry());
  std::filesystem::create_directories(scratch);
  base.remote = std::make_unique<RemoteRegistrySource>(*registry, scratch);
  base.repository = target.repository;
  auto resolved =
      resolveImage(*base.remote, *base.remote, target.repository, target.digest.empty() ? target.tag : target.digest);
  if (!resolved) {
    return fail(resolved.error().code, fmt::format("base image {}: {}", text, resolved.error().message));
  }
  base.image = std::move(*resolved);
  return base;
}

Result<std::string> writeLayout(const ImageBuildFlags& flags, const std::string& tag, Base* base,
                                const std::filesystem::path& layer_file, const BuiltLayer& layer,
                                const ComposedImage& image) {
  OciLayout out(flags.output);
  BERTH_TRY(out.create());
  BERTH_TRY(out.putBlobFile(layer_file, layer.digest));
  if (base) {
    for (const LayerRef& l : base->image.layers) {
      if (std::filesystem::exists(out.blobPath(l.blob.digest))) continue;
      std::filesystem::path from = BERTH_TRY(base->layerFile(l.blob.digest));
      std::error_code ec;
      std::filesystem::copy_file(from, out.blobPath(l.blob.digest), ec);
      if (ec) return failErrno("copy base layer " + l.blob.digest, ec.value());
    }
  }
  BERTH_TRY(out.putBlob(image.config_bytes));
  BERTH_TRY(out.putBlob(image.manifest_bytes));
  BERTH_TRY(out.addManifest(image.manifest, tag));
  return image.manifest.digest;
}

Result<std::string> push(BerthdSession& session, const RegistryTarget& target, Base* base,
                         const std::filesystem::path& layer_file, const BuiltLayer& layer, const ComposedImage& image) {
  BERTH_TRY(session.ecr().ensureRepository(target.repository));
  RegistryClient* registry = BERTH_TRY(session.registry());
  std::vector<PushBlob> blobs;
  if (base && base->layout) {
    for (const LayerRef& l : base->image.layers)
      blobs.push_back({l.blob.digest, base->layout->blobPath(l.blob.digest), {}});
  }
  // A base from berthd's registry: its layers are there already (blobs are
  // shared by every repository of the registry).
  blobs.push_back({layer.digest, layer_file, {}});
  blobs.push_back({image.config.digest, {}, image.config_bytes});
  return pushManifest(*registry, target.repository, target.tag, image.manifest.media_type, image.manifest_bytes, blobs);
}

}  // namespace

Result<std::string> buildImage(const Connection& c, const ImageBuildFlags& flags) {
  ImageReference ref = BERTH_TRY(parseImageReference(flags.tag));
  if (!ref.digest.empty()) return fail(ErrorCode::kInvalidArgument, "--tag takes REPO:TAG, not a digest");
  RegistryTarget target = BERTH_TRY(registryTarget(flags.tag));
  BuildOptions options;
  if (flags.entrypoint) options.entrypoint = BERTH_TRY(parseArgs(*flags.entrypoint));
  if (flags.cmd) options.cmd = BERTH_TRY(parseArgs(*flags.cmd));
  options.env = flags.env;
  options.ports = flags.ports;
  options.workdir = flags.workdir;
  options.user = flags.user;

  ScratchDir scratch = BERTH_TRY(ScratchDir::create("berth-build"));
  std::unique_ptr<BerthdSession> session;
  if (flags.output.empty() || (!flags.base.empty() && !flags.base.starts_with("oci:"))) {
    session = BERTH_TRY(BerthdSession::open(c, target.region));
  }
  std::optional<Base> base;
  if (!flags.base.empty()) base = BERTH_TRY(resolveBase(flags.base, session.get(), scratch.path() / "base"));

  std::filesystem::path layer_file = scratch.path() / "layer.tar.gz";
  BuiltLayer layer = BERTH_TRY(buildLayerFromDirectory(flags.dir, layer_file));
  ComposedImage image = BERTH_TRY(composeImage(base ? &base->image : nullptr, layer, options));
  if (!flags.output.empty()) return writeLayout(flags, ref.tag, base ? &*base : nullptr, layer_file, layer, image);
  return push(*session, target, base ? &*base : nullptr, layer_file, layer, image);
}

CLI::App* addImageCommands(CLI::App& app, ImageFlags& flags) {
  auto* image = app.add_subcommand("image", "build, load and list images in berthd's registry");
  image->require_subcommand(1);
  ImageBuildFlags& f = flags.build;
  auto* build = image->add_subcommand("build", "build an OCI image from a directory (one reproducible layer)");
  build->add_option("dir", f.dir, "the directory that becomes the image's root filesystem")->required();
  build
      ->add_option("--tag,-t", f.tag,
                   "REPO:TAG, localhost:PORT/REPO:TAG or ACCOUNT.dkr.ecr.REGION.amazonaws.com/REPO:TAG")
      ->required();
  build->add_option("--entrypoint", f.entrypoint, "JSON array (exec form) or a single argument");
  build->add_option("--cmd", f.cmd, "JSON array (exec form) or a single argument");
  build->add_option("--env,-e", f.env, "KEY=VALUE (repeatable)");
  build->add_option("--port,-p", f.ports, "exposed port, N or N/udp (repeatable)");
  build->add_option("--workdir", f.workdir, "working directory");
  build->add_option("--user", f.user, "user[:group]");
  build->add_option("--base", f.base, "base image: an OCI layout (oci:DIR[:TAG]) or an image in berthd's registry");
  build->add_option("--output,-o", f.output,
                    "write an OCI image layout directory (skopeo: oci:DIR:TAG) instead of pushing to berthd");

  auto* load = image->add_subcommand("load", "push an OCI archive or a docker save archive to berthd");
  load->add_option("file", flags.load.file, "the archive (oci-archive or docker-archive, optionally compressed)")
      ->required();
  load->add_option("--tag,-t", flags.load.tag, "REPO:TAG to load the (single) image as, instead of its own name");

  image->add_subcommand("ls", "list the images in berthd's registry");
  return image;
}

int runImage(const Connection& c, CLI::App& image, const ImageFlags& flags) {
  if (image.got_subcommand("build")) {
    auto digest = buildImage(c, flags.build);
    if (!digest) {
      fmt::print(stderr, "berth image build: {}\n", digest.error().message);
      return 1;
    }
    fmt::print("{}\n", *digest);
    return 0;
  }
  if (image.got_subcommand("load")) {
    auto loaded = loadImages(c, flags.load);
    if (!loaded) {
      fmt::print(stderr, "berth image load: {}\n", loaded.error().message);
      return 1;
    }
    for (const std::string& line : *loaded) fmt::print("Loaded {}\n", line);
    return 0;
  }
  if (image.got_subcommand("ls")) {
    auto table = listImages(c);
    if (!table) {
      fmt::print(stderr, "berth image ls: {}\n", table.error().message);
      return 1;
    }
    fmt::print("{}", *table);
    return 0;
  }
  return 1;
}

}  // namespace berth::cli
