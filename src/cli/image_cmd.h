// `berth image ...`: building images from directories (and, later, pushing,
// loading and listing them). Thin: the image work is in src/image/.
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
  std::string base;    // "oci:DIR[:TAG]"
  std::string output;  // OCI layout directory
};

// Adds `image` and its subcommands to `app`; returns the `image` command.
CLI::App* addImageCommands(CLI::App& app, ImageBuildFlags& build);
// Runs the parsed `image` subcommand.
int runImage(const Connection& c, CLI::App& image, const ImageBuildFlags& build);

// Builds the image of `flags` into the OCI layout `flags.output`, tagged with
// the tag of `flags.tag`; prints and returns the manifest digest.
Result<std::string> buildImageToLayout(const ImageBuildFlags& flags);

}  // namespace berth::cli
