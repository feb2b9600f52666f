// unpack_layer: times berth's layer unpacker (image/unpack.h) on one layer
// file, for bench/registry.sh, which runs it next to `tar -xzf` of the same
// file in the same run.
//
//   unpack_layer --layer L.tar.gz --dest DIR [--whiteouts apply|overlay]
//                [--no-ownership] [--sync]
//
// DIR must not exist; it is created (mode 0755) and the layer is unpacked
// into it with unpackLayer(), reading the file through FdByteStream as the
// LayerStore does. The time covers open → unpackLayer() returning (both
// digests included, since berth always computes them); with --sync also a
// syncfs() of DIR's filesystem afterwards, reported separately. The caller
// removes DIR.
//
// Output: one JSON object on stdout. Exit 1 (and the error on stderr) if the
// unpack fails.
#include <fcntl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <string>

#include <CLI/CLI.hpp>

#include "image/digest.h"
#include "image/unpack.h"

namespace {

double cpuSeconds(int who) {
  rusage ru{};
  getrusage(who, &ru);
  return static_cast<double>(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
         static_cast<double>(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{"Times berth's layer unpacker on one layer file"};
  std::string layer, dest, whiteouts = "apply";
  bool no_ownership = false, sync = false;
  app.add_option("--layer", layer, "layer file (tar, tar.gz or tar.zst)")->required();
  app.add_option("--dest", dest, "directory to create and unpack into")->required();
  app.add_option("--whiteouts", whiteouts, "apply (unprivileged) or overlay (root)")
      ->check(CLI::IsMember({"apply", "overlay"}));
  app.add_flag("--no-ownership", no_ownership, "do not chown entries to the tar's uid/gid");
  app.add_flag("--sync", sync, "syncfs() after the unpack, timed separately");
  CLI11_PARSE(app, argc, argv);

  using Clock = std::chrono::steady_clock;
  if (::mkdir(dest.c_str(), 0755) != 0) {
    std::perror(("mkdir " + dest).c_str());
    return 1;
  }
  berth::image::UniqueFd root(::open(dest.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root) {
    std::perror(("open " + dest).c_str());
    return 1;
  }
  berth::image::UnpackOptions options;
  options.whiteouts =
      whiteouts == "overlay" ? berth::image::WhiteoutMode::kOverlay : berth::image::WhiteoutMode::kApply;
  options.preserve_ownership = !no_ownership;

  double cpu0 = cpuSeconds(RUSAGE_SELF);
  auto t0 = Clock::now();
  berth::image::UniqueFd in(::open(layer.c_str(), O_RDONLY | O_CLOEXEC));
  if (!in) {
    std::perror(("open " + layer).c_str());
    return 1;
  }
  berth::image::FdByteStream stream(std::move(in));
  auto stats = berth::image::unpackLayer(stream, root.get(), options);
  auto t1 = Clock::now();
  double cpu = cpuSeconds(RUSAGE_SELF) - cpu0;
  if (!stats) {
    std::fprintf(stderr, "unpack_layer: %s\n", stats.error().message.c_str());
    return 1;
  }
  double sync_seconds = 0;
  if (sync) {
    if (::syncfs(root.get()) != 0) {
      std::perror("syncfs");
      return 1;
    }
    sync_seconds = std::chrono::duration<double>(Clock::now() - t1).count();
  }
  double seconds = std::chrono::duration<double>(t1 - t0).count();
  std::printf(
      "{\"seconds\":%.6f,\"cpu_seconds\":%.6f,\"sync_seconds\":%.6f,\"entries\":%llu,"
      "\"compressed_bytes\":%llu,\"uncompressed_bytes\":%llu,\"compressed_digest\":\"%s\",\"diff_id\":\"%s\"}\n",
      seconds, cpu, sync_seconds, static_cast<unsigned long long>(stats->entries),
      static_cast<unsigned long long>(stats->compressed_bytes),
      static_cast<unsigned long long>(stats->uncompressed_bytes), stats->compressed_digest.c_str(),
      stats->diff_id.c_str());
  return 0;
}
