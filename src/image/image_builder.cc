#include "image/image_builder.h"

#include <charconv>

#include <boost/json.hpp>

#include "common/json.h"

namespace berth::image {
namespace {

namespace bj = boost::json;

constexpr std::string_view kCreated = "1970-01-01T00:00:00Z";
constexpr std::string_view kDefaultPath = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

bj::array toArray(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

std::string envKey(std::string_view kv) { return std::string(kv.substr(0, kv.find('='))); }

// Docker media types name the same bytes as OCI's; an OCI manifest lists OCI types.
std::string ociLayerType(std::string_view t) {
  if (t == media::kDockerLayerGzip) return std::string(media::kOciLayerGzip);
  return std::string(t);
}

}  // namespace

Result<std::vector<std::string>> parseArgs(std::string_view text) {
  if (text.empty()) return std::vector<std::string>{};
  if (text.front() == '[') {
    auto v = json::parse(text);
    if (!v || !v->is_array()) return fail(ErrorCode::kInvalidArgument, "not a JSON array: " + std::string(text));
    std::vector<std::string> out;
    for (const auto& item : v->get_array()) {
      if (!item.is_string()) return fail(ErrorCode::kInvalidArgument, "JSON array of strings expected: " + std::string(text));
      out.emplace_back(item.get_string());
    }
    return out;
  }
  return std::vector<std::string>{std::string(text)};
}

Result<std::string> normalizePort(std::string_view text) {
  std::string_view num = text.substr(0, text.find('/'));
  std::string_view proto = text.find('/') == std::string_view::npos ? "tcp" : text.substr(text.find('/') + 1);
  int port = 0;
  auto [p, ec] = std::from_chars(num.data(), num.data() + num.size(), port);
  if (ec != std::errc() || p != num.data() + num.size() || port < 1 || port > 65535 ||
      (proto != "tcp" && proto != "udp" && proto != "sctp")) {
    return fail(ErrorCode::kInvalidArgument, "invalid port: " + std::string(text));
  }
  return std::to_string(port) + "/" + std::string(proto);
}

Result<ComposedImage> composeImage(const ResolvedImage* base, const BuiltLayer& layer, const BuildOptions& options) {
  bj::object config;
  if (base) {
    auto v = json::parse(base->config_bytes);
    if (!v || !v->is_object()) return fail(ErrorCode::kInvalidArgument, "base image config is not a JSON object");
    config = std::move(v->get_object());
  } else {
    config["created"] = kCreated;
    config["architecture"] = "amd64";
    config["os"] = "linux";
    bj::object c;
    c["Env"] = bj::array{kDefaultPath};
    config["config"] = std::move(c);
  }
  config["created"] = kCreated;
  if (!config.contains("config") || !config["config"].is_object()) config["config"] = bj::object{};
  bj::object& c = config["config"].get_object();
  if (options.entrypoint) {
    c["Entrypoint"] = toArray(*options.entrypoint);
    if (!options.cmd) c.erase("Cmd");  // as a Dockerfile's ENTRYPOINT resets the base's CMD
  }
  if (options.cmd) c["Cmd"] = toArray(*options.cmd);
  if (!options.env.empty()) {
    std::vector<std::string> env = json::stringList(c, "Env");
    for (const std::string& kv : options.env) {
      if (kv.find('=') == std::string::npos || kv.front() == '=') {
        return fail(ErrorCode::kInvalidArgument, "--env wants KEY=VALUE: " + kv);
      }
      std::erase_if(env, [&](const std::string& old) { return envKey(old) == envKey(kv); });
      env.push_back(kv);
    }
    c["Env"] = toArray(env);
  }
  if (!options.ports.empty()) {
    bj::object ports;
    if (const bj::object* old = json::getObject(c, "ExposedPorts")) ports = *old;
    for (const std::string& p : options.ports) ports[BERTH_TRY(normalizePort(p))] = bj::object{};
    c["ExposedPorts"] = std::move(ports);
  }
  if (options.workdir) c["WorkingDir"] = *options.workdir;
  if (options.user) c["User"] = *options.user;

  bj::array diff_ids;
  if (base) diff_ids = toArray(base->config.diff_ids);
  diff_ids.emplace_back(layer.diff_id);
  config["rootfs"] = bj::object{{"type", "layers"}, {"diff_ids", std::move(diff_ids)}};
  bj::array history;
  if (const bj::array* old = json::getArray(config, "history")) history = *old;
  history.push_back(bj::object{{"created", kCreated}, {"created_by", "berth image build"}});
  config["history"] = std::move(history);

  ComposedImage out;
  out.config_bytes = json::serialize(config);
  out.config = Descriptor{std::string(media::kOciConfig), digestOf(out.config_bytes),
                          static_cast<int64_t>(out.config_bytes.size()), std::nullopt, {}};
  if (base) {
    for (const LayerRef& l : base->layers) {
      Descriptor d = l.blob;
      d.media_type = ociLayerType(d.media_type);
      d.annotations.clear();
      d.platform.reset();
      out.layers.push_back(d);
    }
  }
  out.layers.push_back(Descriptor{std::string(media::kOciLayerGzip), layer.digest, layer.size, std::nullopt, {}});

  bj::object manifest;
  manifest["schemaVersion"] = 2;
  manifest["mediaType"] = media::kOciManifest;
  manifest["config"] = bj::object{{"mediaType", out.config.media_type}, {"digest", out.config.digest},
                                  {"size", out.config.size}};
  bj::array layers;
  for (const Descriptor& d : out.layers) {
    layers.push_back(bj::object{{"mediaType", d.media_type}, {"digest", d.digest}, {"size", d.size}});
  }
  manifest["layers"] = std::move(layers);
  out.manifest_bytes = json::serialize(manifest);
  out.manifest = Descriptor{std::string(media::kOciManifest), digestOf(out.manifest_bytes),
                            static_cast<int64_t>(out.manifest_bytes.size()), std::nullopt, {}};
  return out;
}

}  // namespace berth::image
