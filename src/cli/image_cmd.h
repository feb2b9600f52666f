// `berth image ...`: build (into an OCI layout or pushed to berthd), load
// (OCI or docker-save archives, pushed to berthd) and ls (through the ECR
// API). Thin: the image work is in src/image/, the wire work in
// registry_client.h and ecr_client.h.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include <CLI/CLI.hpp>

#include "cli/cli.h"
#include "common/result.h"

namespace berth::cli {

struct ImageBuildFlags {
  std::string dir;
  std::string tag;
  std::optional<std::string> entrypoint, cmd, workdir, user;
  std::vector<std::string> env, ports;
  std::string base;    // "oci:DIR[:TAG]" or a reference in berthd's registry
  std::string output;  // OCI layout directory; empty: push to berthd
};

struct ImageLoadFlags {
  std::string file;
  std::string tag;  // overrides the names in the archive (one image only)
};

struct ImageFlags {
  ImageBuildFlags build;
  ImageLoadFlags load;
};

// Adds `image` and its subcommands to `app`; returns the `image` command.
CLI::App* addImageCommands(CLI::App& app, ImageFlags& flags);
// Runs the parsed `image` subcommand.
int runImage(const Connection& c, CLI::App& image, const ImageFlags& flags);

// Builds the image of `flags`: into the OCI layout `flags.output` when set,
// else pushed to berthd as `flags.tag`. Returns the manifest digest.
Result<std::string> buildImage(const Connection& c, const ImageBuildFlags& flags);
// Pushes every image of the archive at `flags.file` to berthd; returns
// "REPO:TAG digest" lines.
Result<std::vector<std::string>> loadImages(const Connection& c, const ImageLoadFlags& flags);
// The `berth image ls` table.
Result<std::string> listImages(const Connection& c);

}  // namespace berth::cli
