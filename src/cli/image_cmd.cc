#include "cli/image_cmd.h"

#include <unistd.h>

#include <fmt/format.h>

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
Result<std::pair<std::string, std::string>> parseOciBase(std::string_view base) {
  if (!base.starts_with("oci:")) {
    return fail(ErrorCode::kUnimplemented,
                "--base takes an OCI layout (oci:DIR[:TAG]); pulling a base from berthd's registry is not "
                "supported yet");
  }
  std::string_view rest = base.substr(4);
  size_t colon = rest.rfind(':');
  if (colon == std::string_view::npos) return std::make_pair(std::string(rest), std::string("latest"));
  return std::make_pair(std::string(rest.substr(0, colon)), std::string(rest.substr(colon + 1)));
}

}  // namespace

Result<std::string> buildImageToLayout(const ImageBuildFlags& flags) {
  ImageReference ref = BERTH_TRY(parseImageReference(flags.tag));
  if (!ref.digest.empty()) return fail(ErrorCode::kInvalidArgument, "--tag takes REPO:TAG, not a digest");
  BuildOptions options;
  if (flags.entrypoint) options.entrypoint = BERTH_TRY(parseArgs(*flags.entrypoint));
  if (flags.cmd) options.cmd = BERTH_TRY(parseArgs(*flags.cmd));
  options.env = flags.env;
  options.ports = flags.ports;
  options.workdir = flags.workdir;
  options.user = flags.user;

  std::optional<ResolvedImage> base;
  std::unique_ptr<OciLayout> base_layout;
  if (!flags.base.empty()) {
    auto [dir, tag] = BERTH_TRY(parseOciBase(flags.base));
    base_layout = std::make_unique<OciLayout>(dir);
    base = BERTH_TRY(resolveImage(*base_layout, *base_layout, "", tag));
  }

  OciLayout out(flags.output);
  BERTH_TRY(out.create());
  std::filesystem::path layer_file = out.dir() / "blobs" / fmt::format(".layer-{}.tmp", getpid());
  auto layer = buildLayerFromDirectory(flags.dir, layer_file);
  if (!layer) {
    std::filesystem::remove(layer_file);
    return std::unexpected(layer.error());
  }
  BERTH_TRY(out.putBlobFile(layer_file, layer->digest));
  ComposedImage image = BERTH_TRY(composeImage(base ? &*base : nullptr, *layer, options));
  if (base) {
    for (const LayerRef& l : base->layers) {
      if (std::filesystem::exists(out.blobPath(l.blob.digest))) continue;
      std::error_code ec;
      std::filesystem::copy_file(base_layout->blobPath(l.blob.digest), out.blobPath(l.blob.digest), ec);
      if (ec) return failErrno("copy base layer " + l.blob.digest, ec.value());
    }
  }
  BERTH_TRY(out.putBlob(image.config_bytes));
  BERTH_TRY(out.putBlob(image.manifest_bytes));
  BERTH_TRY(out.addManifest(image.manifest, ref.tag));
  return image.manifest.digest;
}

CLI::App* addImageCommands(CLI::App& app, ImageBuildFlags& f) {
  auto* image = app.add_subcommand("image", "build OCI images");
  image->require_subcommand(1);
  auto* build = image->add_subcommand("build", "build an OCI image from a directory (one reproducible layer)");
  build->add_option("dir", f.dir, "the directory that becomes the image's root filesystem")->required();
  build->add_option("--tag,-t", f.tag, "REPO:TAG")->required();
  build->add_option("--entrypoint", f.entrypoint, "JSON array (exec form) or a single argument");
  build->add_option("--cmd", f.cmd, "JSON array (exec form) or a single argument");
  build->add_option("--env,-e", f.env, "KEY=VALUE (repeatable)");
  build->add_option("--port,-p", f.ports, "exposed port, N or N/udp (repeatable)");
  build->add_option("--workdir", f.workdir, "working directory");
  build->add_option("--user", f.user, "user[:group]");
  build->add_option("--base", f.base, "base image: an OCI layout, oci:DIR[:TAG]");
  build->add_option("--output,-o", f.output, "write an OCI image layout directory (skopeo: oci:DIR:TAG)")
      ->required();
  return image;
}

int runImage(const Connection&, CLI::App& image, const ImageBuildFlags& flags) {
  if (image.got_subcommand("build")) {
    auto digest = buildImageToLayout(flags);
    if (!digest) {
      fmt::print(stderr, "berth image build: {}\n", digest.error().message);
      return 1;
    }
    fmt::print("{}\n", *digest);
    return 0;
  }
  return 1;
}

}  // namespace berth::cli
