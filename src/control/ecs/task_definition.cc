// RegisterTaskDefinition validation and normalisation; contract in the header.
//
// Error messages. Each message below carries one of two marks:
//   [verified]  ECS's own text, seen in a real ECS response; the source is
//               named (GitHub issue, or the "real-deploy" evidence recorded in
//               badmintoncryer/cdk-preflight rules/ecs/*/meta.yaml, 2026).
//   [style]     not found anywhere; written in ECS's wording for the closest
//               verified message. Replace with the real text when someone sees it.
// The order of the checks follows ECS where it is known (the container
// memory check runs before the Fargate task-size checks, for example) and is
// otherwise: request size, family, task-level members, containers one by one,
// cross-container rules, volumes, Fargate rules, tags.
#include "control/ecs/task_definition.h"

#include <fmt/format.h>

#include <algorithm>
#include <array>
#include <bitset>
#include <charconv>
#include <cmath>
#include <cstdint>
#include <limits>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <utility>
#include <vector>

namespace berth::ecs {
namespace {

namespace json = boost::json;

constexpr size_t kMaxContainers = 10;          // service quota, not adjustable
constexpr size_t kMaxNameLength = 255;         // family, container and volume names
constexpr size_t kMaxDefinitionBytes = 65536;  // task definition size quota
constexpr size_t kMaxEnvironmentFiles = 10;
constexpr size_t kMaxTags = 50;
constexpr size_t kMaxTagKeyLength = 128;
constexpr size_t kMaxTagValueLength = 256;
constexpr size_t kMaxPlacementConstraints = 10;
constexpr size_t kMaxPortRanges = 100;
constexpr int kMinContainerMemoryMiB = 6;  // Docker refuses less
constexpr int kMinTaskCpu = 128;
constexpr int kMaxTaskCpu = 196608;
constexpr int kMinEphemeralGiB = 21;
constexpr int kMaxEphemeralGiB = 200;
constexpr int kFargateMaxTimeout = 120;
constexpr int kMinTimeout = 2;

constexpr auto kNetworkModes = std::to_array<std::string_view>({"bridge", "host", "awsvpc", "none"});
constexpr auto kCompatibilities = std::to_array<std::string_view>({"EC2", "FARGATE", "EXTERNAL", "MANAGED_INSTANCES"});
constexpr auto kPidModes = std::to_array<std::string_view>({"host", "task"});
constexpr auto kIpcModes = std::to_array<std::string_view>({"host", "task", "none"});
constexpr auto kCpuArchitectures = std::to_array<std::string_view>({"X86_64", "ARM64"});
constexpr auto kOsFamilies = std::to_array<std::string_view>(
    {"WINDOWS_SERVER_2019_FULL", "WINDOWS_SERVER_2019_CORE", "WINDOWS_SERVER_2016_FULL", "WINDOWS_SERVER_2004_CORE",
     "WINDOWS_SERVER_2022_CORE", "WINDOWS_SERVER_2022_FULL", "WINDOWS_SERVER_2025_CORE", "WINDOWS_SERVER_2025_FULL",
     "WINDOWS_SERVER_20H2_CORE", "LINUX"});
constexpr auto kProtocols = std::to_array<std::string_view>({"tcp", "udp"});
constexpr auto kAppProtocols = std::to_array<std::string_view>({"http", "http2", "grpc"});
constexpr auto kConditions = std::to_array<std::string_view>({"START", "COMPLETE", "SUCCESS", "HEALTHY"});
constexpr auto kLogDrivers = std::to_array<std::string_view>(
    {"json-file", "syslog", "journald", "gelf", "fluentd", "awslogs", "splunk", "awsfirelens"});
constexpr auto kFargateLogDrivers = std::to_array<std::string_view>({"awslogs", "splunk", "awsfirelens"});
constexpr auto kLogModes = std::to_array<std::string_view>({"blocking", "non-blocking"});
constexpr auto kUlimitNames =
    std::to_array<std::string_view>({"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nice", "nofile",
                                     "nproc", "rss", "rtprio", "rttime", "sigpending", "stack"});
constexpr auto kResourceTypes = std::to_array<std::string_view>({"GPU", "InferenceAccelerator"});
constexpr auto kFirelensTypes = std::to_array<std::string_view>({"fluentd", "fluentbit"});
constexpr auto kDevicePermissions = std::to_array<std::string_view>({"read", "write", "mknod"});
constexpr auto kEnabledDisabled = std::to_array<std::string_view>({"ENABLED", "DISABLED"});
constexpr auto kVolumeScopes = std::to_array<std::string_view>({"task", "shared"});
constexpr auto kVersionConsistency = std::to_array<std::string_view>({"enabled", "disabled"});

// Members in botocore's order; the output keeps this order and drops anything else.
constexpr auto kContainerMembers = std::to_array<std::string_view>({"name",
                                                                    "image",
                                                                    "repositoryCredentials",
                                                                    "cpu",
                                                                    "memory",
                                                                    "memoryReservation",
                                                                    "links",
                                                                    "portMappings",
                                                                    "essential",
                                                                    "restartPolicy",
                                                                    "entryPoint",
                                                                    "command",
                                                                    "environment",
                                                                    "environmentFiles",
                                                                    "mountPoints",
                                                                    "volumesFrom",
                                                                    "linuxParameters",
                                                                    "secrets",
                                                                    "dependsOn",
                                                                    "startTimeout",
                                                                    "stopTimeout",
                                                                    "versionConsistency",
                                                                    "hostname",
                                                                    "user",
                                                                    "workingDirectory",
                                                                    "disableNetworking",
                                                                    "privileged",
                                                                    "readonlyRootFilesystem",
                                                                    "dnsServers",
                                                                    "dnsSearchDomains",
                                                                    "extraHosts",
                                                                    "dockerSecurityOptions",
                                                                    "interactive",
                                                                    "pseudoTerminal",
                                                                    "dockerLabels",
                                                                    "ulimits",
                                                                    "logConfiguration",
                                                                    "healthCheck",
                                                                    "systemControls",
                                                                    "resourceRequirements",
                                                                    "firelensConfiguration",
                                                                    "credentialSpecs"});
constexpr auto kVolumeMembers = std::to_array<std::string_view>(
    {"name", "host", "dockerVolumeConfiguration", "efsVolumeConfiguration", "s3filesVolumeConfiguration",
     "fsxWindowsFileServerVolumeConfiguration", "configuredAtLaunch"});

template <size_t N>
bool contains(const std::array<std::string_view, N>& set, std::string_view value) {
  return std::find(set.begin(), set.end(), value) != set.end();
}

// ---------------------------------------------------------------------------
// Errors

std::unexpected<Error> clientError(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "ClientException");
}

std::unexpected<Error> parameterError(std::string message) {
  return fail(ErrorCode::kInvalidArgument, std::move(message), "InvalidParameterException");
}

// [style] Behind the protocol layer a wrong JSON type never gets here (ECS
// itself answers SerializationException); this keeps direct callers and the
// fuzzer safe.
std::unexpected<Error> typeError(std::string_view path) {
  return clientError(fmt::format("Invalid type for parameter {}.", path));
}

// [style] Enum members outside the model's value set, modelled on the
// verified "Invalid 'cpu' setting for task." / "Invalid 'containerPort'
// setting for container 'x'.".
std::unexpected<Error> invalidTaskSetting(std::string_view member) {
  return clientError(fmt::format("Invalid '{}' setting for task.", member));
}
std::unexpected<Error> invalidContainerSetting(std::string_view member, std::string_view container) {
  return clientError(fmt::format("Invalid '{}' setting for container '{}'.", member, container));
}

// ---------------------------------------------------------------------------
// Reading JSON without trusting its types

std::string joinPath(std::string_view path, std::string_view key) {
  return path.empty() ? std::string(key) : fmt::format("{}.{}", path, key);
}

std::string_view view(const json::string& s) { return {s.data(), s.size()}; }
std::string_view view(json::string_view s) { return {s.data(), s.size()}; }

// Absent and null both mean "not given": botocore never sends nulls, but
// hand-written JSON (and describe output pasted back in) often carries them.
const json::value* member(const json::object& o, std::string_view key) {
  const json::value* v = o.if_contains(key);
  return (v == nullptr || v->is_null()) ? nullptr : v;
}

Result<std::optional<std::string>> optString(const json::object& o, std::string_view key, std::string_view path) {
  const json::value* v = member(o, key);
  if (v == nullptr) return std::optional<std::string>();
  if (!v->is_string()) return typeError(joinPath(path, key));
  return std::optional<std::string>(std::string(view(v->get_string())));
}

// Integers are Java Integers in ECS: 32 bits, signed.
Result<std::optional<int>> optInt(const json::object& o, std::string_view key, std::string_view path) {
  const json::value* v = member(o, key);
  if (v == nullptr) return std::optional<int>();
  if (v->is_int64()) {
    int64_t x = v->get_int64();
    if (x < std::numeric_limits<int32_t>::min() || x > std::numeric_limits<int32_t>::max()) {
      return typeError(joinPath(path, key));
    }
    return std::optional<int>(static_cast<int>(x));
  }
  if (v->is_uint64() && v->get_uint64() <= static_cast<uint64_t>(std::numeric_limits<int32_t>::max())) {
    return std::optional<int>(static_cast<int>(v->get_uint64()));
  }
  return typeError(joinPath(path, key));
}

Result<std::optional<bool>> optBool(const json::object& o, std::string_view key, std::string_view path) {
  const json::value* v = member(o, key);
  if (v == nullptr) return std::optional<bool>();
  if (!v->is_bool()) return typeError(joinPath(path, key));
  return std::optional<bool>(v->get_bool());
}

Result<const json::object*> optObject(const json::object& o, std::string_view key, std::string_view path) {
  const json::value* v = member(o, key);
  if (v == nullptr) return static_cast<const json::object*>(nullptr);
  if (!v->is_object()) return typeError(joinPath(path, key));
  return &v->get_object();
}

// A list of objects; empty when absent.
Result<std::vector<const json::object*>> objectList(const json::object& o, std::string_view key,
                                                    std::string_view path) {
  std::vector<const json::object*> out;
  const json::value* v = member(o, key);
  if (v == nullptr) return out;
  if (!v->is_array()) return typeError(joinPath(path, key));
  const json::array& a = v->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_object()) return typeError(fmt::format("{}[{}]", joinPath(path, key), i));
    out.push_back(&a[i].get_object());
  }
  return out;
}

// A list of strings; empty when absent.
Result<std::vector<std::string>> stringList(const json::object& o, std::string_view key, std::string_view path) {
  std::vector<std::string> out;
  const json::value* v = member(o, key);
  if (v == nullptr) return out;
  if (!v->is_array()) return typeError(joinPath(path, key));
  const json::array& a = v->get_array();
  for (size_t i = 0; i < a.size(); ++i) {
    if (!a[i].is_string()) return typeError(fmt::format("{}[{}]", joinPath(path, key), i));
    out.emplace_back(view(a[i].get_string()));
  }
  return out;
}

// A map of string to string (options, dockerLabels); empty when absent.
Result<std::map<std::string, std::string>> stringMap(const json::object& o, std::string_view key,
                                                     std::string_view path) {
  std::map<std::string, std::string> out;
  const json::value* v = member(o, key);
  if (v == nullptr) return out;
  if (!v->is_object()) return typeError(joinPath(path, key));
  for (const auto& kv : v->get_object()) {
    if (!kv.value().is_string()) {
      return typeError(fmt::format("{}.{}", joinPath(path, key), view(kv.key())));
    }
    out.emplace(std::string(view(kv.key())), std::string(view(kv.value().get_string())));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Small text helpers

bool isNameChar(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_';
}

bool isNameText(std::string_view s) { return std::all_of(s.begin(), s.end(), isNameChar); }

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  }
  return out;
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) {
    if (c >= 'a' && c <= 'z') c = static_cast<char>(c - 'a' + 'A');
  }
  return out;
}

// Unicode code points in UTF-8 text (tag limits count characters, not bytes).
size_t codePoints(std::string_view s) {
  return static_cast<size_t>(
      std::count_if(s.begin(), s.end(), [](char c) { return (static_cast<unsigned char>(c) & 0xC0) != 0x80; }));
}

// arn:partition:service:region:account:resource, resource may hold ':'.
std::optional<std::array<std::string_view, 6>> splitArn(std::string_view arn) {
  std::array<std::string_view, 6> parts;
  for (size_t i = 0; i < 5; ++i) {
    size_t colon = arn.find(':');
    if (colon == std::string_view::npos) return std::nullopt;
    parts[i] = arn.substr(0, colon);
    arn.remove_prefix(colon + 1);
  }
  parts[5] = arn;
  if (parts[0] != "arn" || parts[1].empty() || parts[2].empty()) return std::nullopt;
  return parts;
}

// Images in ECR: <account>.dkr.ecr.<region>.amazonaws.com/<repo>[:tag|@digest].
bool isEcrImage(std::string_view image) {
  size_t slash = image.find('/');
  if (slash == std::string_view::npos) return false;
  return image.substr(0, slash).find(".dkr.ecr.") != std::string_view::npos;
}

// "<first>-<last>", both ports, first < last.
std::optional<std::pair<int, int>> parsePortRange(std::string_view text) {
  size_t dash = text.find('-');
  if (dash == std::string_view::npos) return std::nullopt;
  auto number = [](std::string_view s) -> std::optional<int> {
    if (s.empty() || s.size() > 5) return std::nullopt;
    int v = 0;
    auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
    if (ec != std::errc() || ptr != s.data() + s.size() || v < 1 || v > 65535) return std::nullopt;
    return v;
  };
  auto first = number(text.substr(0, dash));
  auto last = number(text.substr(dash + 1));
  if (!first || !last || *first >= *last) return std::nullopt;
  return std::make_pair(*first, *last);
}

// "<number>[ ]<unit>" with the number in plain decimal ("0.25", "512").
std::optional<std::pair<double, std::string>> parseQuantity(std::string_view text) {
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  while (!text.empty() && text.back() == ' ') text.remove_suffix(1);
  size_t end = 0;
  bool dot = false;
  while (end < text.size() && ((text[end] >= '0' && text[end] <= '9') || (text[end] == '.' && !dot))) {
    dot = dot || text[end] == '.';
    ++end;
  }
  std::string_view number = text.substr(0, end);
  if (number.empty() || number.front() == '.' || number.back() == '.' || number.size() > 24) {
    return std::nullopt;
  }
  double value = 0;
  auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), value);
  if (ec != std::errc() || ptr != number.data() + number.size()) return std::nullopt;
  std::string_view unit = text.substr(end);
  while (!unit.empty() && unit.front() == ' ') unit.remove_prefix(1);
  return std::make_pair(value, lower(unit));
}

std::optional<int> wholeNumber(double value, int min, int max) {
  if (!std::isfinite(value) || value < min || value > max) return std::nullopt;
  double rounded = std::round(value);
  if (std::fabs(value - rounded) > 1e-9) return std::nullopt;
  return static_cast<int>(rounded);
}

// ---------------------------------------------------------------------------
// The request, read once

struct PortMapping {
  std::optional<int> container_port;
  std::optional<int> host_port;
  std::string protocol = "tcp";
  std::optional<std::string> name;
  std::optional<std::string> range;  // containerPortRange as given
  int range_first = 0;
  int range_last = 0;
};

struct Container {
  const json::object* raw = nullptr;
  std::string path;  // "containerDefinitions[i]", for type errors
  std::string name;
  std::string image;
  int cpu = 0;
  std::optional<int> memory;
  std::optional<int> memory_reservation;
  bool essential = true;
  std::vector<PortMapping> port_mappings;
  const json::object* health_check = nullptr;
  std::optional<int> health_start_period;
  std::string log_driver;  // empty without logConfiguration
  std::map<std::string, std::string> log_options;
  bool log_secret_options = false;
  std::vector<const json::object*> secrets;
  std::vector<const json::object*> depends_on;
  std::vector<const json::object*> environment_files;
  const json::object* linux_parameters = nullptr;
  const json::object* firelens = nullptr;
  const json::object* repository_credentials = nullptr;
  std::optional<int> start_timeout;
  std::optional<int> stop_timeout;
  bool privileged = false;
  bool has_docker_security_options = false;
  bool has_gpu = false;
  bool init_process = false;
};

struct Volume {
  const json::object* raw = nullptr;
  std::string name;
  bool host_source_path = false;
  const json::object* docker = nullptr;
  const json::object* efs = nullptr;
  bool efs_auth = false;  // IAM authorization or an access point
  const json::object* fsx = nullptr;
  bool configured_at_launch = false;
  int configurations = 0;
};

struct Definition {
  const json::object* request = nullptr;
  std::string family;
  std::optional<std::string> network_mode;  // as given
  std::string mode = "bridge";              // effective network mode
  std::vector<std::string> requires_compatibilities;
  bool fargate = false;  // FARGATE is required
  std::optional<int> cpu;
  std::optional<int> memory;
  std::optional<std::string> task_role_arn;       // expanded to an ARN
  std::optional<std::string> execution_role_arn;  // expanded to an ARN
  std::optional<std::string> pid_mode;
  std::optional<std::string> ipc_mode;
  std::string os_family;  // empty when not given (Linux)
  std::vector<Container> containers;
  std::vector<Volume> volumes;
  std::vector<const json::object*> placement_constraints;
  const json::object* proxy = nullptr;
  const json::object* ephemeral_storage = nullptr;
  bool windows() const { return os_family.starts_with("WINDOWS"); }
};

// ECS accepts a bare role name and stores the role's ARN.
std::string expandRole(const std::string& role, const TaskDefinitionContext& ctx) {
  if (role.starts_with("arn:")) return role;
  return fmt::format("arn:aws:iam::{}:role/{}", ctx.account_id, role);
}

// ---------------------------------------------------------------------------
// Task-level members

Status readTaskLevel(Definition& d, const TaskDefinitionContext& ctx) {
  const json::object& r = *d.request;

  d.network_mode = BERTH_TRY(optString(r, "networkMode", ""));
  if (d.network_mode) {
    if (!contains(kNetworkModes, *d.network_mode)) return invalidTaskSetting("networkMode");
    d.mode = *d.network_mode;
  }

  d.requires_compatibilities = BERTH_TRY(stringList(r, "requiresCompatibilities", ""));
  for (const std::string& c : d.requires_compatibilities) {
    if (!contains(kCompatibilities, c)) return invalidTaskSetting("requiresCompatibilities");
    if (c == "FARGATE") d.fargate = true;
  }

  // Verified: "Invalid 'cpu' setting for task." (AWS docs, task-cpu-memory-error).
  if (auto cpu = BERTH_TRY(optString(r, "cpu", ""))) d.cpu = BERTH_TRY(parseCpu(*cpu));
  if (auto memory = BERTH_TRY(optString(r, "memory", ""))) d.memory = BERTH_TRY(parseMemoryMiB(*memory));

  if (auto role = BERTH_TRY(optString(r, "taskRoleArn", "")); role && !role->empty()) {
    d.task_role_arn = expandRole(*role, ctx);
  }
  if (auto role = BERTH_TRY(optString(r, "executionRoleArn", "")); role && !role->empty()) {
    d.execution_role_arn = expandRole(*role, ctx);
  }

  d.pid_mode = BERTH_TRY(optString(r, "pidMode", ""));
  if (d.pid_mode && !contains(kPidModes, *d.pid_mode)) return invalidTaskSetting("pidMode");
  d.ipc_mode = BERTH_TRY(optString(r, "ipcMode", ""));
  if (d.ipc_mode && !contains(kIpcModes, *d.ipc_mode)) return invalidTaskSetting("ipcMode");

  if (const json::object* platform = BERTH_TRY(optObject(r, "runtimePlatform", ""))) {
    auto arch = BERTH_TRY(optString(*platform, "cpuArchitecture", "runtimePlatform"));
    if (arch && !contains(kCpuArchitectures, *arch)) return invalidTaskSetting("runtimePlatform");
    auto os = BERTH_TRY(optString(*platform, "operatingSystemFamily", "runtimePlatform"));
    if (os && !contains(kOsFamilies, *os)) return invalidTaskSetting("runtimePlatform");
    if (os) d.os_family = *os;
  }

  d.placement_constraints = BERTH_TRY(objectList(r, "placementConstraints", ""));
  if (d.placement_constraints.size() > kMaxPlacementConstraints) {
    // [style]
    return clientError(
        fmt::format("A task definition can have at most {} placement constraints.", kMaxPlacementConstraints));
  }
  for (size_t i = 0; i < d.placement_constraints.size(); ++i) {
    std::string path = fmt::format("placementConstraints[{}]", i);
    auto type = BERTH_TRY(optString(*d.placement_constraints[i], "type", path));
    auto expression = BERTH_TRY(optString(*d.placement_constraints[i], "expression", path));
    if (!type || *type != "memberOf" || !expression || expression->empty()) {
      return invalidTaskSetting("placementConstraints");  // [style]
    }
  }

  // Verified: "Unsupported field 'inferenceAccelerators'." (cdk-preflight
  // pf-ecs-fargate-inference-accelerator; Elastic Inference is retired).
  if (!BERTH_TRY(objectList(r, "inferenceAccelerators", "")).empty()) {
    return clientError("Unsupported field 'inferenceAccelerators'.");
  }

  d.proxy = BERTH_TRY(optObject(r, "proxyConfiguration", ""));
  d.ephemeral_storage = BERTH_TRY(optObject(r, "ephemeralStorage", ""));
  BERTH_TRY(optBool(r, "enableFaultInjection", ""));
  return {};
}

// ---------------------------------------------------------------------------
// One container: reading and the rules that concern it alone

Status readPortMappings(Container& c, const Definition& d) {
  auto mappings = BERTH_TRY(objectList(*c.raw, "portMappings", c.path));
  size_t ranges = 0;
  for (size_t i = 0; i < mappings.size(); ++i) {
    const json::object& m = *mappings[i];
    std::string path = fmt::format("{}.portMappings[{}]", c.path, i);
    PortMapping pm;
    pm.container_port = BERTH_TRY(optInt(m, "containerPort", path));
    pm.host_port = BERTH_TRY(optInt(m, "hostPort", path));
    if (auto protocol = BERTH_TRY(optString(m, "protocol", path))) {
      if (!contains(kProtocols, *protocol)) return invalidContainerSetting("protocol", c.name);
      pm.protocol = *protocol;
    }
    pm.name = BERTH_TRY(optString(m, "name", path));
    if (auto app = BERTH_TRY(optString(m, "appProtocol", path)); app && !contains(kAppProtocols, *app)) {
      return invalidContainerSetting("appProtocol", c.name);
    }
    pm.range = BERTH_TRY(optString(m, "containerPortRange", path));

    if (pm.range) {
      // Verified: "Invalid port mapping for container 'app', cannot specify
      // both single port and port range." (cdk-preflight pf-ecs-port-range-with-host-port).
      if (pm.container_port || pm.host_port) {
        return clientError(fmt::format(
            "Invalid port mapping for container '{}', cannot specify both single port and port range.", c.name));
      }
      // Verified: "Invalid 'containerPortRange' setting for container 'app'."
      // (cdk-preflight pf-ecs-port-range-reversed).
      auto range = parsePortRange(*pm.range);
      if (!range) return invalidContainerSetting("containerPortRange", c.name);
      pm.range_first = range->first;
      pm.range_last = range->second;
      if (++ranges > kMaxPortRanges) {
        // [style]
        return clientError(
            fmt::format("Invalid port mapping for container '{}', a container can have at most {} port ranges.", c.name,
                        kMaxPortRanges));
      }
    } else {
      // Verified: "Invalid 'containerPort' setting for container 'container_1'."
      // (aws/aws-cli#7288: a mapping without containerPort; aws-cdk#8762).
      if (!pm.container_port || *pm.container_port < 1 || *pm.container_port > 65535) {
        return invalidContainerSetting("containerPort", c.name);
      }
      if (pm.host_port && (*pm.host_port < 0 || *pm.host_port > 65535)) {
        return invalidContainerSetting("hostPort", c.name);  // [style]
      }
      if (d.mode == "awsvpc" || d.mode == "host") {
        // Verified for awsvpc (aws/amazon-ecs-cli#1014, pulumi-awsx#935) and
        // host (cdk-preflight pf-ecs-host-network-host-port-mismatch). A
        // hostPort of 0 counts as not given and becomes the container port
        // (hashicorp/terraform-provider-aws#3401).
        if (pm.host_port && *pm.host_port != 0 && *pm.host_port != *pm.container_port) {
          return clientError(fmt::format(
              "When networkMode={}, the host ports and container ports in port mappings must match.", d.mode));
        }
        pm.host_port = pm.container_port;
      }
    }
    c.port_mappings.push_back(std::move(pm));
  }
  if (d.mode == "none" && !c.port_mappings.empty()) {
    // [style] Docs: port mappings cannot be specified with networkMode none.
    return clientError("Port mappings are not supported when networkMode=none.");
  }
  return {};
}

Status readHealthCheck(Container& c) {
  c.health_check = BERTH_TRY(optObject(*c.raw, "healthCheck", c.path));
  if (c.health_check == nullptr) return {};
  std::string path = c.path + ".healthCheck";
  auto command = BERTH_TRY(stringList(*c.health_check, "command", path));
  // ECS does not require CMD or CMD-SHELL at registration: a command without
  // either is accepted (aws/aws-cdk#34389, 2025), so only emptiness is checked.
  if (command.empty() || command.front().empty()) {
    // [style]
    return clientError(fmt::format("Health check command should not be empty for container '{}'", c.name));
  }
  struct Limit {
    std::string_view member;
    std::string_view label;
    int min;
    int max;
  };
  // Verified: "Health check interval must be less than or equal to the maximum
  // allowed value 300 for container 'app'", likewise timeout 60, retries 10,
  // startPeriod 300 (cdk-preflight pf-ecs-healthcheck-*-range). The
  // lower-bound wording is the same sentence turned round: [style].
  constexpr std::array<Limit, 4> kLimits = {{{"interval", "interval", 5, 300},
                                             {"timeout", "timeout", 2, 60},
                                             {"retries", "retries", 1, 10},
                                             {"startPeriod", "startPeriod", 0, 300}}};
  for (const Limit& l : kLimits) {
    auto v = BERTH_TRY(optInt(*c.health_check, l.member, path));
    if (!v) continue;
    if (*v > l.max) {
      return clientError(
          fmt::format("Health check {} must be less than or equal to the maximum allowed value {} for container '{}'",
                      l.label, l.max, c.name));
    }
    if (*v < l.min) {
      return clientError(fmt::format(
          "Health check {} must be greater than or equal to the minimum allowed value {} for container '{}'", l.label,
          l.min, c.name));
    }
    if (l.member == "startPeriod") c.health_start_period = v;
  }
  return {};
}

// A Docker size: digits with an optional b/k/m/g unit ("25m").
bool isBufferSize(std::string_view s) {
  if (s.empty()) return false;
  size_t digits = 0;
  while (digits < s.size() && s[digits] >= '0' && s[digits] <= '9') ++digits;
  if (digits == 0) return false;
  std::string unit = lower(s.substr(digits));
  return unit.empty() || unit == "b" || unit == "k" || unit == "m" || unit == "g" || unit == "kb" || unit == "mb" ||
         unit == "gb";
}

Status readLogConfiguration(Container& c) {
  const json::object* log = BERTH_TRY(optObject(*c.raw, "logConfiguration", c.path));
  if (log == nullptr) return {};
  std::string path = c.path + ".logConfiguration";
  auto driver = BERTH_TRY(optString(*log, "logDriver", path));
  if (!driver || !contains(kLogDrivers, *driver)) {
    return invalidContainerSetting("logDriver", c.name);  // [style]
  }
  c.log_driver = *driver;
  c.log_options = BERTH_TRY(stringMap(*log, "options", path));
  auto secret_options = BERTH_TRY(objectList(*log, "secretOptions", path));
  c.log_secret_options = !secret_options.empty();
  for (size_t i = 0; i < secret_options.size(); ++i) {
    std::string p = fmt::format("{}.secretOptions[{}]", path, i);
    auto name = BERTH_TRY(optString(*secret_options[i], "name", p));
    auto value_from = BERTH_TRY(optString(*secret_options[i], "valueFrom", p));
    if (!name || name->empty() || !value_from || value_from->empty()) {
      return invalidContainerSetting("secretOptions", c.name);  // [style]
    }
  }

  if (c.log_driver == "awslogs") {
    // Verified: "Log driver awslogs requires options: awslogs-region, awslogs-group"
    // (klothoplatform/klotho#892) and "... requires options: awslogs-group"
    // (cdk-preflight pf-ecs-awslogs-missing-group).
    std::vector<std::string_view> missing;
    for (std::string_view option : {"awslogs-region", "awslogs-group"}) {
      auto it = c.log_options.find(std::string(option));
      if (it == c.log_options.end() || it->second.empty()) missing.push_back(option);
    }
    if (!missing.empty()) {
      return clientError(fmt::format("Log driver awslogs requires options: {}", fmt::join(missing, ", ")));
    }
    if (auto it = c.log_options.find("awslogs-create-group");
        it != c.log_options.end() && it->second != "true" && it->second != "false") {
      // [style]
      return clientError(fmt::format(
          "Invalid value '{}' for log option 'awslogs-create-group' in container '{}'. Valid values are true, false.",
          it->second, c.name));
    }
  }
  // Docker's generic delivery options, valid for every driver.
  if (auto it = c.log_options.find("mode"); it != c.log_options.end() && !contains(kLogModes, it->second)) {
    // [style]
    return clientError(fmt::format(
        "Invalid value '{}' for log option 'mode' in container '{}'. Valid values are blocking, non-blocking.",
        it->second, c.name));
  }
  if (auto it = c.log_options.find("max-buffer-size"); it != c.log_options.end() && !isBufferSize(it->second)) {
    // [style]
    return clientError(
        fmt::format("Invalid value '{}' for log option 'max-buffer-size' in container '{}'.", it->second, c.name));
  }
  return {};
}

Status readSecrets(Container& c, const Definition& d, const TaskDefinitionContext& ctx) {
  c.secrets = BERTH_TRY(objectList(*c.raw, "secrets", c.path));
  for (size_t i = 0; i < c.secrets.size(); ++i) {
    std::string path = fmt::format("{}.secrets[{}]", c.path, i);
    auto name = BERTH_TRY(optString(*c.secrets[i], "name", path));
    auto value_from = BERTH_TRY(optString(*c.secrets[i], "valueFrom", path));
    // [style] after the verified "Container.image should not be null or empty."
    if (!name || name->empty()) return clientError("Container.secrets.name should not be null or empty.");
    if (!value_from || value_from->empty()) {
      return clientError("Container.secrets.valueFrom should not be null or empty.");
    }
    // Verified (cdk-preflight pf-ecs-secrets-without-execution-role): ECS
    // rejects an SSM parameter ARN of another account at registration.
    if (auto arn = splitArn(*value_from);
        arn && (*arn)[2] == "ssm" && !(*arn)[4].empty() && (*arn)[4] != ctx.account_id) {
      return clientError(
          fmt::format("The Systems Manager parameter ARN has a different account ID than the current account. "
                      "The current account ID is {} and the ARN account ID is {}. Cross-account access for ARNs "
                      "is not currently supported.",
                      ctx.account_id, (*arn)[4]));
    }
  }
  // Verified: "When you are specifying container secrets, you must also
  // specify a value for 'executionRoleArn'." (fabfuel/ecs-deploy#87).
  if ((!c.secrets.empty() || c.log_secret_options) && !d.execution_role_arn) {
    return clientError(
        "When you are specifying container secrets, you must also specify a value for 'executionRoleArn'.");
  }
  return {};
}

Status readEnvironmentFiles(Container& c) {
  c.environment_files = BERTH_TRY(objectList(*c.raw, "environmentFiles", c.path));
  // Verified (cdk-preflight pf-ecs-environment-files-max).
  if (c.environment_files.size() > kMaxEnvironmentFiles) {
    return clientError("The maximum number of environment files was exceeded. Specify ten or less and try again.");
  }
  for (size_t i = 0; i < c.environment_files.size(); ++i) {
    std::string path = fmt::format("{}.environmentFiles[{}]", c.path, i);
    auto type = BERTH_TRY(optString(*c.environment_files[i], "type", path));
    auto value = BERTH_TRY(optString(*c.environment_files[i], "value", path));
    if (!type || *type != "s3") return invalidContainerSetting("environmentFiles", c.name);  // [style]
    // Verified: "Invalid arn syntax." (cdk-preflight pf-ecs-environment-files-type).
    auto arn = value ? splitArn(*value) : std::nullopt;
    if (!arn) return clientError("Invalid arn syntax.");
    if ((*arn)[2] != "s3" || (*arn)[5].find('/') == std::string_view::npos) {
      return invalidContainerSetting("environmentFiles", c.name);  // [style]
    }
  }
  return {};
}

Status readLinuxParameters(Container& c) {
  c.linux_parameters = BERTH_TRY(optObject(*c.raw, "linuxParameters", c.path));
  if (c.linux_parameters == nullptr) return {};
  const json::object& lp = *c.linux_parameters;
  std::string path = c.path + ".linuxParameters";
  if (const json::object* caps = BERTH_TRY(optObject(lp, "capabilities", path))) {
    BERTH_TRY(stringList(*caps, "add", path + ".capabilities"));
    BERTH_TRY(stringList(*caps, "drop", path + ".capabilities"));
  }
  auto devices = BERTH_TRY(objectList(lp, "devices", path));
  for (size_t i = 0; i < devices.size(); ++i) {
    std::string p = fmt::format("{}.devices[{}]", path, i);
    auto host_path = BERTH_TRY(optString(*devices[i], "hostPath", p));
    BERTH_TRY(optString(*devices[i], "containerPath", p));
    if (!host_path || host_path->empty()) return invalidContainerSetting("devices", c.name);  // [style]
    for (const std::string& perm : BERTH_TRY(stringList(*devices[i], "permissions", p))) {
      if (!contains(kDevicePermissions, perm)) return invalidContainerSetting("devices", c.name);
    }
  }
  c.init_process = BERTH_TRY(optBool(lp, "initProcessEnabled", path)).value_or(false);
  if (auto shm = BERTH_TRY(optInt(lp, "sharedMemorySize", path)); shm && *shm <= 0) {
    return invalidContainerSetting("sharedMemorySize", c.name);  // [style]
  }
  auto tmpfs = BERTH_TRY(objectList(lp, "tmpfs", path));
  for (size_t i = 0; i < tmpfs.size(); ++i) {
    std::string p = fmt::format("{}.tmpfs[{}]", path, i);
    auto container_path = BERTH_TRY(optString(*tmpfs[i], "containerPath", p));
    auto size = BERTH_TRY(optInt(*tmpfs[i], "size", p));
    BERTH_TRY(stringList(*tmpfs[i], "mountOptions", p));
    if (!container_path || container_path->empty() || !size || *size <= 0) {
      return invalidContainerSetting("tmpfs", c.name);  // [style]
    }
  }
  if (auto swap = BERTH_TRY(optInt(lp, "maxSwap", path)); swap && *swap < 0) {
    return invalidContainerSetting("maxSwap", c.name);  // [style]
  }
  if (auto swappiness = BERTH_TRY(optInt(lp, "swappiness", path));
      swappiness && (*swappiness < 0 || *swappiness > 100)) {
    return invalidContainerSetting("swappiness", c.name);  // [style]
  }
  return {};
}

Status readOtherContainerMembers(Container& c) {
  const json::object& raw = *c.raw;
  for (const json::object* u : BERTH_TRY(objectList(raw, "ulimits", c.path))) {
    auto name = BERTH_TRY(optString(*u, "name", c.path + ".ulimits"));
    auto soft = BERTH_TRY(optInt(*u, "softLimit", c.path + ".ulimits"));
    auto hard = BERTH_TRY(optInt(*u, "hardLimit", c.path + ".ulimits"));
    // [style]
    if (!name || !contains(kUlimitNames, *name) || !soft || !hard) {
      return invalidContainerSetting("ulimits", c.name);
    }
    if (*soft > *hard) {
      return clientError(fmt::format(
          "Invalid 'ulimits' setting for container '{}'. The soft limit of '{}' cannot be greater than its hard limit.",
          c.name, *name));
    }
  }
  for (const json::object* rr : BERTH_TRY(objectList(raw, "resourceRequirements", c.path))) {
    auto type = BERTH_TRY(optString(*rr, "type", c.path + ".resourceRequirements"));
    auto value = BERTH_TRY(optString(*rr, "value", c.path + ".resourceRequirements"));
    if (!type || !contains(kResourceTypes, *type) || !value || value->empty()) {
      return invalidContainerSetting("resourceRequirements", c.name);  // [style]
    }
    if (*type == "GPU") {
      c.has_gpu = true;
      int gpus = 0;
      auto [ptr, ec] = std::from_chars(value->data(), value->data() + value->size(), gpus);
      if (ec != std::errc() || ptr != value->data() + value->size() || gpus < 1) {
        return invalidContainerSetting("resourceRequirements", c.name);  // [style]
      }
    }
  }
  if (const json::object* policy = BERTH_TRY(optObject(raw, "restartPolicy", c.path))) {
    std::string path = c.path + ".restartPolicy";
    if (!BERTH_TRY(optBool(*policy, "enabled", path))) {
      return invalidContainerSetting("restartPolicy", c.name);  // [style]
    }
    const json::value* codes = member(*policy, "ignoredExitCodes");
    if (codes != nullptr) {
      if (!codes->is_array()) return typeError(path + ".ignoredExitCodes");
      for (const json::value& code : codes->get_array()) {
        if (!code.is_int64() && !code.is_uint64()) return typeError(path + ".ignoredExitCodes");
      }
      if (codes->get_array().size() > 50) return invalidContainerSetting("ignoredExitCodes", c.name);
    }
    // Verified (cdk-preflight pf-ecs-restart-policy-attempt-period-range).
    if (auto period = BERTH_TRY(optInt(*policy, "restartAttemptPeriod", path));
        period && (*period < 60 || *period > 1800)) {
      return clientError(
          fmt::format("The 'restartAttemptPeriod' setting for container '{}' must be between 60 and 1800.", c.name));
    }
  }
  c.firelens = BERTH_TRY(optObject(raw, "firelensConfiguration", c.path));
  if (c.firelens != nullptr) {
    auto type = BERTH_TRY(optString(*c.firelens, "type", c.path + ".firelensConfiguration"));
    if (!type || !contains(kFirelensTypes, *type)) {
      return invalidContainerSetting("firelensConfiguration", c.name);  // [style]
    }
    BERTH_TRY(stringMap(*c.firelens, "options", c.path + ".firelensConfiguration"));
  }
  c.repository_credentials = BERTH_TRY(optObject(raw, "repositoryCredentials", c.path));
  if (c.repository_credentials != nullptr) {
    auto parameter =
        BERTH_TRY(optString(*c.repository_credentials, "credentialsParameter", c.path + ".repositoryCredentials"));
    if (!parameter || parameter->empty()) {
      return invalidContainerSetting("repositoryCredentials", c.name);  // [style]
    }
  }
  if (auto v = BERTH_TRY(optString(raw, "versionConsistency", c.path)); v && !contains(kVersionConsistency, *v)) {
    return invalidContainerSetting("versionConsistency", c.name);  // [style]
  }
  c.privileged = BERTH_TRY(optBool(raw, "privileged", c.path)).value_or(false);
  c.has_docker_security_options = !BERTH_TRY(stringList(raw, "dockerSecurityOptions", c.path)).empty();
  // Members whose types matter to the output but carry no rules of their own.
  for (std::string_view key : {"entryPoint", "command", "credentialSpecs"}) {
    BERTH_TRY(stringList(raw, key, c.path));
  }
  for (std::string_view key : {"user", "workingDirectory"}) BERTH_TRY(optString(raw, key, c.path));
  for (std::string_view key : {"readonlyRootFilesystem", "interactive", "pseudoTerminal"}) {
    BERTH_TRY(optBool(raw, key, c.path));
  }
  BERTH_TRY(stringMap(raw, "dockerLabels", c.path));
  for (const json::object* kv : BERTH_TRY(objectList(raw, "environment", c.path))) {
    BERTH_TRY(optString(*kv, "name", c.path + ".environment"));
    BERTH_TRY(optString(*kv, "value", c.path + ".environment"));
  }
  for (const json::object* sc : BERTH_TRY(objectList(raw, "systemControls", c.path))) {
    BERTH_TRY(optString(*sc, "namespace", c.path + ".systemControls"));
    BERTH_TRY(optString(*sc, "value", c.path + ".systemControls"));
  }
  return {};
}

// Rules that depend on the network mode (all verified for awsvpc:
// ecs-deplojo#26, aws-otel-collector#1359, cdk-preflight pf-ecs-awsvpc-*,
// pf-ecs-fargate-disable-networking, pf-ecs-fargate-dns-servers).
Status checkNetworkModeMembers(const Container& c, const Definition& d) {
  const json::object& raw = *c.raw;
  auto links = BERTH_TRY(stringList(raw, "links", c.path));
  auto hostname = BERTH_TRY(optString(raw, "hostname", c.path));
  auto disable = BERTH_TRY(optBool(raw, "disableNetworking", c.path));
  auto dns_servers = BERTH_TRY(stringList(raw, "dnsServers", c.path));
  auto dns_search = BERTH_TRY(stringList(raw, "dnsSearchDomains", c.path));
  auto extra_hosts = BERTH_TRY(objectList(raw, "extraHosts", c.path));
  for (const json::object* h : extra_hosts) {
    auto host = BERTH_TRY(optString(*h, "hostname", c.path + ".extraHosts"));
    auto ip = BERTH_TRY(optString(*h, "ipAddress", c.path + ".extraHosts"));
    if (!host || !ip) return invalidContainerSetting("extraHosts", c.name);  // [style]
  }
  if (!links.empty() && d.mode != "bridge") {
    // Verified for awsvpc; [style] for host and none, which Docker also refuses.
    return clientError(fmt::format("Links are not supported when networkMode={}.", d.mode));
  }
  if (d.mode != "awsvpc") return {};
  if (hostname) return clientError("hostname is not supported on container when networkMode=awsvpc.");
  if (disable.value_or(false)) {
    return clientError("Disable Networking is not supported on container when networkMode=awsvpc.");
  }
  if (!dns_servers.empty()) {
    return clientError("DNS servers are not supported on container when networkMode=awsvpc.");
  }
  if (!dns_search.empty()) {
    // [style] after the DNS servers message; the docs say the same of search domains.
    return clientError("DNS search domains are not supported on container when networkMode=awsvpc.");
  }
  if (!extra_hosts.empty()) {
    return clientError("Extra hosts are not supported on container when networkMode=awsvpc.");
  }
  return {};
}

// Name, image and resources: the first rules ECS applies to a container.
Status readContainerBasics(Container& c) {
  const json::object& raw = *c.raw;
  auto name = BERTH_TRY(optString(raw, "name", c.path));
  // Verified: "Container.name should not be null or empty." (hashicorp/terraform#2888).
  if (!name || name->empty()) return clientError("Container.name should not be null or empty.");
  // Verified: "Container.name contains invalid characters."
  // (terraform-provider-aws#5950); the length rule is [style].
  if (!isNameText(*name)) return clientError("Container.name contains invalid characters.");
  if (name->size() > kMaxNameLength) {
    return clientError("Container.name cannot be longer than 255 characters.");
  }
  c.name = *name;
  auto image = BERTH_TRY(optString(raw, "image", c.path));
  // Verified: "Container.image should not be null or empty." (aws/aws-cli#5924).
  if (!image || image->empty()) return clientError("Container.image should not be null or empty.");
  c.image = *image;
  c.cpu = BERTH_TRY(optInt(raw, "cpu", c.path)).value_or(0);
  c.memory = BERTH_TRY(optInt(raw, "memory", c.path));
  c.memory_reservation = BERTH_TRY(optInt(raw, "memoryReservation", c.path));
  c.essential = BERTH_TRY(optBool(raw, "essential", c.path)).value_or(true);
  c.start_timeout = BERTH_TRY(optInt(raw, "startTimeout", c.path));
  c.stop_timeout = BERTH_TRY(optInt(raw, "stopTimeout", c.path));
  c.depends_on = BERTH_TRY(objectList(raw, "dependsOn", c.path));
  return {};
}

Status checkContainerResources(const Container& c, const Definition& d) {
  // [style] for the three range checks below.
  if (c.cpu < 0) return invalidContainerSetting("cpu", c.name);
  if (c.memory && *c.memory < kMinContainerMemoryMiB) return invalidContainerSetting("memory", c.name);
  if (c.memory_reservation && *c.memory_reservation <= 0) {
    return invalidContainerSetting("memoryReservation", c.name);
  }
  // Verified: "Invalid setting for container 'x'. At least one of 'memory' or
  // 'memoryReservation' must be specified." (many reports; cdk-preflight shows
  // it comes before the Fargate task-size checks).
  if (!d.memory && !c.memory && !c.memory_reservation) {
    return clientError(fmt::format(
        "Invalid setting for container '{}'. At least one of 'memory' or 'memoryReservation' must be specified.",
        c.name));
  }
  // Verified tail: "'memory' must be greater than or equal to 'memoryReservation'"
  // (cdk-preflight pf-ecs-container-memory-reservation); the "Invalid setting
  // for container" head is [style], after the message above.
  if (c.memory && c.memory_reservation && *c.memory < *c.memory_reservation) {
    return clientError(fmt::format(
        "Invalid setting for container '{}'. 'memory' must be greater than or equal to 'memoryReservation'.", c.name));
  }
  if (d.memory) {
    // Verified: "The 'memory' setting for container 'worker' is greater than
    // for the task." (pulumi/pulumi-awsx#1220).
    if (c.memory && *c.memory > *d.memory) {
      return clientError(fmt::format("The 'memory' setting for container '{}' is greater than for the task.", c.name));
    }
    if (c.memory_reservation && *c.memory_reservation > *d.memory) {
      return clientError(fmt::format(  // [style], after the message above
          "The 'memoryReservation' setting for container '{}' is greater than for the task.", c.name));
    }
  }
  if (c.start_timeout && *c.start_timeout < 0) return invalidContainerSetting("startTimeout", c.name);
  if (c.stop_timeout && *c.stop_timeout < 0) return invalidContainerSetting("stopTimeout", c.name);
  return {};
}

// ---------------------------------------------------------------------------
// Rules across containers

Status checkPortConflicts(const Definition& d) {
  // Verified: "TCP container port '8085' is used multiple times in task when
  // networkMode=awsvpc." (cdk-preflight pf-ecs-port-range-overlap) and "TCP
  // host port '3000' is mapped multiple times in task."
  // (aws/amazon-ecs-agent#1220, bridge mode).
  auto used = std::make_unique<std::array<std::bitset<65536>, 2>>();
  std::set<std::string> names;
  for (const Container& c : d.containers) {
    for (const PortMapping& pm : c.port_mappings) {
      std::bitset<65536>& ports = (*used)[pm.protocol == "udp" ? 1 : 0];
      std::string proto = upper(pm.protocol);
      if (d.mode == "awsvpc") {
        int first = pm.range ? pm.range_first : *pm.container_port;
        int last = pm.range ? pm.range_last : *pm.container_port;
        for (int p = first; p <= last; ++p) {
          if (ports.test(static_cast<size_t>(p))) {
            return clientError(fmt::format(
                "{} container port '{}' is used multiple times in task when networkMode=awsvpc.", proto, p));
          }
          ports.set(static_cast<size_t>(p));
        }
        // Verified (cdk-preflight pf-ecs-port-mapping-duplicate-name).
        if (pm.name && !names.insert(*pm.name).second) {
          return clientError("When networkMode=awsvpc, port mapping name is already used");
        }
      } else if (!pm.range && pm.host_port && *pm.host_port != 0) {
        if (ports.test(static_cast<size_t>(*pm.host_port))) {
          return clientError(fmt::format("{} host port '{}' is mapped multiple times in task.", proto, *pm.host_port));
        }
        ports.set(static_cast<size_t>(*pm.host_port));
      }
    }
  }
  return {};
}

Status checkDependencies(const Definition& d) {
  std::map<std::string, size_t, std::less<>> index;
  for (size_t i = 0; i < d.containers.size(); ++i) index.emplace(d.containers[i].name, i);
  std::vector<std::vector<size_t>> edges(d.containers.size());
  for (size_t i = 0; i < d.containers.size(); ++i) {
    const Container& c = d.containers[i];
    for (size_t j = 0; j < c.depends_on.size(); ++j) {
      std::string path = fmt::format("{}.dependsOn[{}]", c.path, j);
      auto target = BERTH_TRY(optString(*c.depends_on[j], "containerName", path));
      auto condition = BERTH_TRY(optString(*c.depends_on[j], "condition", path));
      if (!target || target->empty() || !condition) return invalidContainerSetting("dependsOn", c.name);
      auto it = index.find(*target);
      // Verified, typo included: "Cannot depend on container + 'nope' because
      // it does not exist" (eagletmt/hako#99; cdk-preflight pf-ecs-dependson-container-missing).
      if (it == index.end()) {
        return clientError(fmt::format("Cannot depend on container + '{}' because it does not exist", *target));
      }
      if (!contains(kConditions, *condition)) return invalidContainerSetting("dependsOn", c.name);
      const Container& t = d.containers[it->second];
      // Verified (boto/boto3#2436).
      if ((*condition == "COMPLETE" || *condition == "SUCCESS") && t.essential) {
        return clientError(
            "A dependency container with SUCCESS or COMPLETE condition cannot be an essential container");
      }
      // Verified (cdk-preflight pf-ecs-dependson-healthy-without-healthcheck).
      if (*condition == "HEALTHY" && t.health_check == nullptr) {
        return clientError("A dependency container with HEALTHY condition must have health check configured");
      }
      edges[i].push_back(it->second);
    }
  }
  // Cycles (a container depending on itself included). At most 10 nodes, so
  // the recursion is shallow.
  enum : uint8_t { kWhite, kGrey, kBlack };
  std::vector<uint8_t> colour(d.containers.size(), kWhite);
  std::optional<size_t> cyclic;
  auto visit = [&](auto&& self, size_t n) -> bool {
    colour[n] = kGrey;
    for (size_t m : edges[n]) {
      if (colour[m] == kGrey || (colour[m] == kWhite && self(self, m))) {
        if (!cyclic) cyclic = m;
        return true;
      }
    }
    colour[n] = kBlack;
    return false;
  };
  for (size_t n = 0; n < d.containers.size(); ++n) {
    if (colour[n] == kWhite && visit(visit, n)) {
      // [style]
      return clientError(fmt::format("Invalid container dependencies: a dependency cycle involves container '{}'.",
                                     d.containers[*cyclic].name));
    }
  }
  return {};
}

Status checkFirelens(const Definition& d) {
  bool uses_firelens = std::any_of(d.containers.begin(), d.containers.end(),
                                   [](const Container& c) { return c.log_driver == "awsfirelens"; });
  bool has_router =
      std::any_of(d.containers.begin(), d.containers.end(), [](const Container& c) { return c.firelens != nullptr; });
  // Verified (cdk-preflight pf-ecs-awsfirelens-without-router).
  if (uses_firelens && !has_router) {
    return clientError(
        "When awsfirelens log driver is specified in log configuration, a firelens configuration "
        "object must be configured in one of the containers.");
  }
  return {};
}

// ---------------------------------------------------------------------------
// Volumes

Status readVolumes(Definition& d) {
  auto volumes = BERTH_TRY(objectList(*d.request, "volumes", ""));
  std::set<std::string> names;
  for (size_t i = 0; i < volumes.size(); ++i) {
    const json::object& raw = *volumes[i];
    std::string path = fmt::format("volumes[{}]", i);
    Volume v;
    v.raw = volumes[i];
    auto name = BERTH_TRY(optString(raw, "name", path));
    // [style] for the three name rules, after the container name messages.
    if (!name || name->empty()) return clientError("Volume.name should not be null or empty.");
    if (!isNameText(*name) || name->size() > kMaxNameLength) {
      return clientError("Volume.name contains invalid characters.");
    }
    if (!names.insert(*name).second) {
      return clientError("Volume names must be unique within a task definition.");
    }
    v.name = *name;
    if (const json::object* host = BERTH_TRY(optObject(raw, "host", path))) {
      auto source = BERTH_TRY(optString(*host, "sourcePath", path + ".host"));
      v.host_source_path = source && !source->empty();
      ++v.configurations;
    }
    v.docker = BERTH_TRY(optObject(raw, "dockerVolumeConfiguration", path));
    if (v.docker != nullptr) {
      ++v.configurations;
      std::string p = path + ".dockerVolumeConfiguration";
      auto scope = BERTH_TRY(optString(*v.docker, "scope", p));
      if (scope && !contains(kVolumeScopes, *scope)) return invalidTaskSetting("volumes");  // [style]
      auto autoprovision = BERTH_TRY(optBool(*v.docker, "autoprovision", p));
      if (autoprovision.value_or(false) && scope.value_or("task") != "shared") {
        // [style] Docs: autoprovision applies to shared-scope volumes only.
        return clientError(
            fmt::format("Invalid volume '{}': autoprovision is only supported when scope is shared.", v.name));
      }
      BERTH_TRY(optString(*v.docker, "driver", p));
      BERTH_TRY(stringMap(*v.docker, "driverOpts", p));
      BERTH_TRY(stringMap(*v.docker, "labels", p));
    }
    v.efs = BERTH_TRY(optObject(raw, "efsVolumeConfiguration", path));
    if (v.efs != nullptr) {
      ++v.configurations;
      std::string p = path + ".efsVolumeConfiguration";
      auto fs = BERTH_TRY(optString(*v.efs, "fileSystemId", p));
      if (!fs || fs->empty()) return invalidTaskSetting("volumes");  // [style]
      auto root = BERTH_TRY(optString(*v.efs, "rootDirectory", p));
      auto transit = BERTH_TRY(optString(*v.efs, "transitEncryption", p));
      if (transit && !contains(kEnabledDisabled, *transit)) return invalidTaskSetting("volumes");
      bool encrypted = transit.value_or("DISABLED") == "ENABLED";
      auto port = BERTH_TRY(optInt(*v.efs, "transitEncryptionPort", p));
      if (port && (*port < 1 || *port > 65535)) return invalidTaskSetting("volumes");  // [style]
      // Verified (cdk-preflight pf-ecs-efs-transit-encryption-port-without-encryption).
      if (port && !encrypted) {
        return clientError("TransitEncryptionPort requires that TransitEncryption is enabled.");
      }
      if (const json::object* auth = BERTH_TRY(optObject(*v.efs, "authorizationConfig", p))) {
        auto access_point = BERTH_TRY(optString(*auth, "accessPointId", p + ".authorizationConfig"));
        auto iam = BERTH_TRY(optString(*auth, "iam", p + ".authorizationConfig"));
        if (iam && !contains(kEnabledDisabled, *iam)) return invalidTaskSetting("volumes");
        // Verified (cdk-preflight pf-ecs-efs-iam-without-transit-encryption).
        if (iam.value_or("DISABLED") == "ENABLED" && !encrypted) {
          return clientError("EFS IAM authorization requires TransitEncryption to be enabled.");
        }
        // Verified (cdk-preflight pf-ecs-efs-access-point-with-root-directory).
        if (access_point && !access_point->empty() && root && *root != "/") {
          return clientError(
              "When using an EFS access point, the root directory must either be set to \"/\" or be omitted.");
        }
        v.efs_auth = iam.value_or("DISABLED") == "ENABLED" || (access_point && !access_point->empty());
      }
    }
    v.fsx = BERTH_TRY(optObject(raw, "fsxWindowsFileServerVolumeConfiguration", path));
    if (v.fsx != nullptr) {
      ++v.configurations;
      std::string p = path + ".fsxWindowsFileServerVolumeConfiguration";
      auto fs = BERTH_TRY(optString(*v.fsx, "fileSystemId", p));
      auto root = BERTH_TRY(optString(*v.fsx, "rootDirectory", p));
      const json::object* auth = BERTH_TRY(optObject(*v.fsx, "authorizationConfig", p));
      if (!fs || !root || auth == nullptr) return invalidTaskSetting("volumes");  // [style]
      auto param = BERTH_TRY(optString(*auth, "credentialsParameter", p + ".authorizationConfig"));
      auto domain = BERTH_TRY(optString(*auth, "domain", p + ".authorizationConfig"));
      if (!param || !domain) return invalidTaskSetting("volumes");  // [style]
    }
    if (const json::object* s3 = BERTH_TRY(optObject(raw, "s3filesVolumeConfiguration", path))) {
      ++v.configurations;
      auto arn = BERTH_TRY(optString(*s3, "fileSystemArn", path + ".s3filesVolumeConfiguration"));
      if (!arn || arn->empty()) return invalidTaskSetting("volumes");  // [style]
    }
    v.configured_at_launch = BERTH_TRY(optBool(raw, "configuredAtLaunch", path)).value_or(false);
    if (v.configurations > 1) {
      // [style]
      return clientError(fmt::format("Invalid volume '{}': a volume can have only one volume configuration.", v.name));
    }
    d.volumes.push_back(v);
  }
  return {};
}

Status checkMounts(const Definition& d) {
  std::set<std::string, std::less<>> volumes;
  for (const Volume& v : d.volumes) volumes.insert(v.name);
  std::set<std::string, std::less<>> containers;
  for (const Container& c : d.containers) containers.insert(c.name);
  for (const Container& c : d.containers) {
    for (const json::object* mp : BERTH_TRY(objectList(*c.raw, "mountPoints", c.path))) {
      auto source = BERTH_TRY(optString(*mp, "sourceVolume", c.path + ".mountPoints"));
      auto path = BERTH_TRY(optString(*mp, "containerPath", c.path + ".mountPoints"));
      BERTH_TRY(optBool(*mp, "readOnly", c.path + ".mountPoints"));
      // Verified: "Unknown volume 'nope'." (cdk-preflight pf-ecs-mountpoint-source-volume-missing).
      if (!source || !volumes.contains(*source)) {
        return clientError(fmt::format("Unknown volume '{}'.", source.value_or("")));
      }
      if (!path || path->empty()) return invalidContainerSetting("mountPoints", c.name);  // [style]
    }
    for (const json::object* vf : BERTH_TRY(objectList(*c.raw, "volumesFrom", c.path))) {
      auto source = BERTH_TRY(optString(*vf, "sourceContainer", c.path + ".volumesFrom"));
      BERTH_TRY(optBool(*vf, "readOnly", c.path + ".volumesFrom"));
      // [style], after "Unknown volume".
      if (!source || !containers.contains(*source) || *source == c.name) {
        return clientError(fmt::format("Unknown container '{}'.", source.value_or("")));
      }
    }
  }
  return {};
}

// ---------------------------------------------------------------------------
// Fargate. checkFargate() holds every rule that only Fargate imposes; it runs
// as a validation when FARGATE is required and as a probe for the
// compatibilities list otherwise.

bool windowsFargateSize(int cpu, int memory) {
  return cpu >= 1024 && cpu <= 4096 && isValidFargateCpuMemory(cpu, memory);
}

Status checkFargate(const Definition& d) {
  // Verified (aws/amazon-ecs-cli#1145, with the curly quotes ECS sends; a
  // missing networkMode gets the same error: cdk-preflight pf-ecs-fargate-network-mode).
  if (d.mode != "awsvpc") return clientError("Fargate only supports network mode \u2018awsvpc\u2019.");
  // Verified (hackoregon/civic-devops#246; cdk-preflight pf-ecs-fargate-task-cpu-memory).
  if (!d.cpu) return clientError("Fargate requires that 'cpu' be defined at the task level.");
  if (!d.memory) return clientError("Fargate requires that 'memory' be defined at the task level.");
  // Verified (aws-games/cloud-game-development-toolkit#737; Windows below
  // 1 vCPU gets the same message: cdk-preflight pf-ecs-fargate-windows-cpu-under-1vcpu).
  bool size_ok = d.windows() ? windowsFargateSize(*d.cpu, *d.memory) : isValidFargateCpuMemory(*d.cpu, *d.memory);
  if (!size_ok) {
    return clientError(
        fmt::format("No Fargate configuration exists for given values: {} CPU, {} memory. See the Amazon ECS "
                    "documentation for the valid values.",
                    *d.cpu, *d.memory));
  }
  for (const Container& c : d.containers) {
    // Verified (cdk-preflight pf-ecs-fargate-privileged; the quotes arrived as
    // '?', i.e. non-ASCII: ECS's curly quotes, as in the network mode message).
    if (c.privileged) {
      return clientError(
          "Fargate requires that the \u2018privileged\u2019 setting be \u2018false\u2019 at the container level.");
    }
    // Verified: "Fargate compatible task definitions do not support <member>"
    // for devices, sharedMemorySize, maxSwap, dockerSecurityOptions
    // (cdk-preflight pf-ecs-fargate-*); swappiness and tmpfs are [style].
    if (c.linux_parameters != nullptr) {
      const json::object& lp = *c.linux_parameters;
      auto devices = member(lp, "devices");
      if (devices && devices->is_array() && !devices->get_array().empty()) {
        return clientError("Fargate compatible task definitions do not support devices");
      }
      if (member(lp, "sharedMemorySize")) {
        return clientError("Fargate compatible task definitions do not support sharedMemorySize");
      }
      auto tmpfs = member(lp, "tmpfs");
      if (tmpfs && tmpfs->is_array() && !tmpfs->get_array().empty()) {
        return clientError("Fargate compatible task definitions do not support tmpfs");
      }
      if (member(lp, "maxSwap")) {
        return clientError("Fargate compatible task definitions do not support maxSwap");
      }
      if (member(lp, "swappiness")) {
        return clientError("Fargate compatible task definitions do not support swappiness");
      }
      // Verified: "NET_ADMIN is not allowed on Fargate." (cdk-preflight
      // pf-ecs-fargate-capabilities-add); SYS_PTRACE is the one Fargate allows.
      if (const json::value* caps = member(lp, "capabilities"); caps && caps->is_object()) {
        if (const json::value* add = member(caps->get_object(), "add"); add && add->is_array()) {
          for (const json::value& cap : add->get_array()) {
            if (cap.is_string() && view(cap.get_string()) != "SYS_PTRACE") {
              return clientError(fmt::format("{} is not allowed on Fargate.", view(cap.get_string())));
            }
          }
        }
      }
    }
    if (c.has_docker_security_options) {
      return clientError("Fargate compatible task definitions do not support dockerSecurityOptions");
    }
    // Verified (cdk-preflight pf-ecs-fargate-gpu-resource).
    if (c.has_gpu) {
      return clientError("Tasks using the Fargate launch type do not support GPU resource requirements.");
    }
    if (!c.log_driver.empty()) {
      // Verified (cdk-preflight pf-ecs-fargate-log-driver-unsupported).
      if (!contains(kFargateLogDrivers, c.log_driver)) {
        return clientError(
            fmt::format("{} is not a valid log driver. Must be one of [awslogs,splunk,awsfirelens]", c.log_driver));
      }
      if (c.log_driver == "awslogs") {
        // Verified (aws/aws-cdk#1422).
        if (!c.log_options.contains("awslogs-stream-prefix") || c.log_options.at("awslogs-stream-prefix").empty()) {
          return clientError(
              "Fargate requires log configuration options to include awslogs-stream-prefix to support log "
              "driver awslogs.");
        }
        // Verified (virtual-kubelet#193): checked at registration, not at launch.
        if (!d.execution_role_arn) {
          return clientError(
              "Fargate requires task definition to have execution role ARN to support log driver awslogs.");
        }
      }
    }
    // Verified (hashicorp/terraform-provider-aws#3051).
    if (isEcrImage(c.image) && !d.execution_role_arn) {
      return clientError("Fargate requires task definition to have execution role ARN to support ECR images.");
    }
    // [style], after the verified restartAttemptPeriod message. Docs: 2-120 s on Fargate.
    if (c.stop_timeout && (*c.stop_timeout < kMinTimeout || *c.stop_timeout > kFargateMaxTimeout)) {
      return clientError(
          fmt::format("The 'stopTimeout' setting for container '{}' must be between 2 and 120 on Fargate.", c.name));
    }
    if (c.start_timeout && (*c.start_timeout < kMinTimeout || *c.start_timeout > kFargateMaxTimeout)) {
      return clientError(
          fmt::format("The 'startTimeout' setting for container '{}' must be between 2 and 120 on Fargate.", c.name));
    }
  }
  // Verified (cdk-preflight pf-ecs-fargate-placement-constraints, -ipc-mode,
  // -pid-mode-host, -docker-volume, -host-source-path).
  if (!d.placement_constraints.empty()) {
    return clientError("Fargate compatible task definitions do not support constraints");
  }
  if (d.ipc_mode) return clientError("Fargate compatible task definitions do not support ipcMode");
  if (d.pid_mode && *d.pid_mode == "host") {
    return clientError(
        "Tasks using the Fargate launch type do not support pidMode 'host'. The supported value for "
        "pidMode is 'task'.");
  }
  for (const Volume& v : d.volumes) {
    if (v.docker != nullptr) {
      return clientError("Fargate compatible task definitions do not support dockerVolumeConfiguration");
    }
    if (v.host_source_path) return clientError("Fargate compatible task definitions do not support sourcePath");
  }
  return {};
}

// ---------------------------------------------------------------------------
// Remaining task-level rules

Status checkEphemeralStorage(const Definition& d) {
  if (d.ephemeral_storage == nullptr) return {};
  auto size = BERTH_TRY(optInt(*d.ephemeral_storage, "sizeInGiB", "ephemeralStorage"));
  if (!size) return invalidTaskSetting("ephemeralStorage");  // [style]
  // Verified (cdk-preflight pf-ecs-ephemeral-storage-range, API evidence).
  if (*size < kMinEphemeralGiB) return clientError("EphemeralStorage size should be at least 21");
  if (*size > kMaxEphemeralGiB) return clientError("EphemeralStorage size should be at most 200");
  // Verified (cdk-preflight pf-ecs-fargate-ephemeral-storage-ec2).
  bool ec2 = std::find(d.requires_compatibilities.begin(), d.requires_compatibilities.end(), "EC2") !=
             d.requires_compatibilities.end();
  if (ec2 && !d.fargate) return clientError("Tasks using the EC2 launch type do not support EphemeralStorage.");
  return {};
}

Status checkProxy(const Definition& d) {
  if (d.proxy == nullptr) return {};
  auto type = BERTH_TRY(optString(*d.proxy, "type", "proxyConfiguration"));
  if (type && *type != "APPMESH") return invalidTaskSetting("proxyConfiguration");  // [style]
  auto container = BERTH_TRY(optString(*d.proxy, "containerName", "proxyConfiguration"));
  auto properties = BERTH_TRY(objectList(*d.proxy, "properties", "proxyConfiguration"));
  // Verified: "APPMESH proxy configuration is only supported in
  // networkMode=awsvpc", "Proxy container [envoy] does not exist.", "Ingress
  // port not found" (cdk-preflight pf-ecs-proxy-configuration-*). The egress,
  // app ports and ignored UID/GID messages are [style], after "Ingress port not found".
  if (d.mode != "awsvpc") return clientError("APPMESH proxy configuration is only supported in networkMode=awsvpc");
  bool known = container && std::any_of(d.containers.begin(), d.containers.end(),
                                        [&](const Container& c) { return c.name == *container; });
  if (!known) return clientError(fmt::format("Proxy container [{}] does not exist.", container.value_or("")));
  std::set<std::string> names;
  for (const json::object* p : properties) {
    auto name = BERTH_TRY(optString(*p, "name", "proxyConfiguration.properties"));
    auto value = BERTH_TRY(optString(*p, "value", "proxyConfiguration.properties"));
    if (name && value && !value->empty()) names.insert(*name);
  }
  if (!names.contains("ProxyIngressPort")) return clientError("Ingress port not found");
  if (!names.contains("ProxyEgressPort")) return clientError("Egress port not found");
  if (!names.contains("AppPorts")) return clientError("App ports not found");
  if (!names.contains("IgnoredUID") && !names.contains("IgnoredGID")) {
    return clientError("Ignored UID or GID not found");
  }
  return {};
}

// Tags: ECS's limits (docs, "Tagging your Amazon ECS resources"). The messages
// are [style]; ECS reports tag problems as InvalidParameterException.
Result<json::array> readTags(const json::object& request) {
  json::array out;
  auto tags = BERTH_TRY(objectList(request, "tags", ""));
  if (tags.size() > kMaxTags) {
    return parameterError(fmt::format("The number of tags cannot exceed {}.", kMaxTags));
  }
  for (size_t i = 0; i < tags.size(); ++i) {
    std::string path = fmt::format("tags[{}]", i);
    auto key = BERTH_TRY(optString(*tags[i], "key", path));
    auto value = BERTH_TRY(optString(*tags[i], "value", path));
    if (!key || key->empty()) return parameterError("Tag keys must be at least 1 character long.");
    if (codePoints(*key) > kMaxTagKeyLength) {
      return parameterError(fmt::format("Tag key '{}' is longer than {} characters.", *key, kMaxTagKeyLength));
    }
    if (value && codePoints(*value) > kMaxTagValueLength) {
      return parameterError(
          fmt::format("Tag value for key '{}' is longer than {} characters.", *key, kMaxTagValueLength));
    }
    if (lower(std::string_view(*key).substr(0, 4)) == "aws:") {
      return parameterError(
          fmt::format("Tag key '{}' is not valid. Tag keys starting with 'aws:' are reserved for AWS use.", *key));
    }
    json::object tag;
    tag["key"] = *key;
    if (value) tag["value"] = *value;
    out.push_back(std::move(tag));
  }
  return out;
}

// ---------------------------------------------------------------------------
// Output

json::array portMappingsJson(const Container& c) {
  json::array out;
  const json::value* raw = member(*c.raw, "portMappings");
  for (size_t i = 0; i < c.port_mappings.size(); ++i) {
    const PortMapping& pm = c.port_mappings[i];
    const json::object& in = raw->get_array()[i].get_object();
    json::object m;
    if (pm.range) {
      m["protocol"] = pm.protocol;
    } else {
      m["containerPort"] = *pm.container_port;
      m["hostPort"] = pm.host_port.value_or(0);
      m["protocol"] = pm.protocol;
    }
    for (std::string_view key : {"name", "appProtocol", "containerPortRange"}) {
      if (const json::value* v = member(in, key)) m[key] = *v;
    }
    out.push_back(std::move(m));
  }
  return out;
}

json::object healthCheckJson(const json::object& in) {
  json::object out;
  out["command"] = in.at("command");
  out["interval"] = member(in, "interval") ? *member(in, "interval") : json::value(30);
  out["timeout"] = member(in, "timeout") ? *member(in, "timeout") : json::value(5);
  out["retries"] = member(in, "retries") ? *member(in, "retries") : json::value(3);
  if (const json::value* v = member(in, "startPeriod")) out["startPeriod"] = *v;
  return out;
}

json::object containerJson(const Container& c) {
  const json::object& in = *c.raw;
  json::object out;
  for (std::string_view key : kContainerMembers) {
    if (key == "cpu") {
      out[key] = c.cpu;
    } else if (key == "essential") {
      out[key] = c.essential;
    } else if (key == "portMappings") {
      out[key] = portMappingsJson(c);
    } else if (key == "healthCheck") {
      if (c.health_check != nullptr) out[key] = healthCheckJson(*c.health_check);
    } else if (key == "environment" || key == "mountPoints" || key == "volumesFrom") {
      const json::value* v = member(in, key);
      out[key] = v ? *v : json::value(json::array());
    } else if (const json::value* v = member(in, key)) {
      out[key] = *v;
    }
  }
  return out;
}

json::array volumesJson(const Definition& d) {
  json::array out;
  for (const Volume& v : d.volumes) {
    json::object o;
    for (std::string_view key : kVolumeMembers) {
      if (const json::value* value = member(*v.raw, key)) o[key] = *value;
    }
    // ECS shows a volume without a configuration as a host volume
    // ("host": {}), the bind mount it is.
    if (v.configurations == 0 && !v.configured_at_launch) o["host"] = json::object();
    out.push_back(std::move(o));
  }
  return out;
}

// Compatibilities as ECS computes them: EC2 always; FARGATE when the
// definition passes the Fargate rules; MANAGED_INSTANCES (ECS Managed
// Instances, 2025) for awsvpc definitions, as ECS has listed since then. ECS
// sometimes adds EXTERNAL for bridge-mode definitions; the rule is unknown,
// so berth never does.
json::array compatibilitiesJson(const Definition& d, bool fargate_ok) {
  json::array out;
  out.push_back("EC2");
  if (fargate_ok) out.push_back("FARGATE");
  if (d.mode == "awsvpc" && !d.windows()) out.push_back("MANAGED_INSTANCES");
  return out;
}

// requiresAttributes as ECS computes them. Observed in real
// DescribeTaskDefinition output (2019-2026): logging-driver.<driver>,
// execution-role-awslogs, ecr-auth, execution-role-ecr-pull, task-iam-role,
// task-eni + docker-remote-api.1.18 (awsvpc), docker-remote-api.1.19 (log
// options), 1.21 (memoryReservation), 1.29 (healthCheck startPeriod,
// awslogs-create-group), container-health-check, container-ordering,
// secrets.ssm/asm.environment-variables, env-files.s3, efs, efsAuth and
// 1.25/1.28 (EFS). From the agent's capability names, not observed:
// pid-ipc-namespace-sharing, aws-appmesh, firelens.<type>,
// private-registry-authentication.secretsmanager, docker-plugin.local,
// docker-remote-api.1.25 for initProcessEnabled. The order is ECS's most
// common one; ECS treats the list as a set.
json::array requiresAttributesJson(const Definition& d) {
  std::vector<std::string> names;
  auto add = [&](std::string name) {
    if (std::find(names.begin(), names.end(), name) == names.end()) names.push_back(std::move(name));
  };
  constexpr std::string_view kApi = "com.amazonaws.ecs.capability.docker-remote-api.";
  bool awslogs = false, ecr = false, options = false, reservation = false, health = false, ordering = false,
       ssm = false, asm_secrets = false, env_files = false, api29 = false, init = false, private_registry = false;
  std::vector<std::string> firelens;
  for (const Container& c : d.containers) {
    if (!c.log_driver.empty()) add("com.amazonaws.ecs.capability.logging-driver." + c.log_driver);
    awslogs = awslogs || c.log_driver == "awslogs";
    options = options || !c.log_options.empty();
    api29 = api29 || c.health_start_period.has_value() || c.log_options.contains("awslogs-create-group");
    ecr = ecr || isEcrImage(c.image);
    reservation = reservation || c.memory_reservation.has_value();
    health = health || c.health_check != nullptr;
    ordering = ordering || !c.depends_on.empty() || c.start_timeout || c.stop_timeout;
    for (const json::object* s : c.secrets) {
      const json::value* v = member(*s, "valueFrom");
      auto arn = v && v->is_string() ? splitArn(view(v->get_string())) : std::nullopt;
      (arn && (*arn)[2] == "secretsmanager" ? asm_secrets : ssm) = true;
    }
    env_files = env_files || !c.environment_files.empty();
    init = init || c.init_process;
    private_registry = private_registry || c.repository_credentials != nullptr;
    if (c.firelens != nullptr) {
      const json::value* t = member(*c.firelens, "type");
      if (t && t->is_string()) firelens.emplace_back(view(t->get_string()));
    }
  }
  bool efs = std::any_of(d.volumes.begin(), d.volumes.end(), [](const Volume& v) { return v.efs; });
  bool efs_auth = std::any_of(d.volumes.begin(), d.volumes.end(), [](const Volume& v) { return v.efs_auth; });
  bool docker_volume = std::any_of(d.volumes.begin(), d.volumes.end(), [](const Volume& v) { return v.docker; });

  if (awslogs && d.execution_role_arn) add("ecs.capability.execution-role-awslogs");
  if (efs_auth) add("ecs.capability.efsAuth");
  if (ecr) add("com.amazonaws.ecs.capability.ecr-auth");
  if (options) add(fmt::format("{}1.19", kApi));
  if (efs) add("ecs.capability.efs");
  if (efs) add(fmt::format("{}1.28", kApi));
  if (reservation) add(fmt::format("{}1.21", kApi));
  if (d.task_role_arn) add("com.amazonaws.ecs.capability.task-iam-role");
  if (health) add("ecs.capability.container-health-check");
  if (ecr && d.execution_role_arn) add("ecs.capability.execution-role-ecr-pull");
  if (ssm) add("ecs.capability.secrets.ssm.environment-variables");
  if (asm_secrets) add("ecs.capability.secrets.asm.environment-variables");
  if (env_files) add("ecs.capability.env-files.s3");
  if (private_registry) add("com.amazonaws.ecs.capability.private-registry-authentication.secretsmanager");
  for (const std::string& type : firelens) add("ecs.capability.firelens." + type);
  if (docker_volume) add("ecs.capability.docker-plugin.local");
  if (efs || init || docker_volume) add(fmt::format("{}1.25", kApi));
  if (d.pid_mode || d.ipc_mode) add("ecs.capability.pid-ipc-namespace-sharing");
  if (d.proxy != nullptr) add("ecs.capability.aws-appmesh");
  if (d.mode == "awsvpc") {
    add(fmt::format("{}1.18", kApi));
    add("ecs.capability.task-eni");
  }
  if (api29) add(fmt::format("{}1.29", kApi));
  if (ordering) add("ecs.capability.container-ordering");

  json::array out;
  for (std::string& name : names) {
    json::object attribute;
    attribute["name"] = std::move(name);
    out.push_back(std::move(attribute));
  }
  return out;
}

json::object taskDefinitionJson(const Definition& d, const TaskDefinitionContext& ctx, bool fargate_ok) {
  const json::object& r = *d.request;
  json::object td;
  td["taskDefinitionArn"] =
      fmt::format("arn:aws:ecs:{}:{}:task-definition/{}:{}", ctx.region, ctx.account_id, d.family, ctx.revision);
  json::array containers;
  for (const Container& c : d.containers) containers.push_back(containerJson(c));
  td["containerDefinitions"] = std::move(containers);
  td["family"] = d.family;
  if (d.task_role_arn) td["taskRoleArn"] = *d.task_role_arn;
  if (d.execution_role_arn) td["executionRoleArn"] = *d.execution_role_arn;
  if (d.network_mode) td["networkMode"] = *d.network_mode;
  td["revision"] = ctx.revision;
  td["volumes"] = volumesJson(d);
  td["status"] = "ACTIVE";
  td["requiresAttributes"] = requiresAttributesJson(d);
  json::array constraints;
  for (const json::object* pc : d.placement_constraints) constraints.push_back(*pc);
  td["placementConstraints"] = std::move(constraints);
  td["compatibilities"] = compatibilitiesJson(d, fargate_ok);
  if (const json::value* v = member(r, "runtimePlatform")) td["runtimePlatform"] = *v;
  if (const json::value* v = member(r, "requiresCompatibilities")) td["requiresCompatibilities"] = *v;
  if (d.cpu) td["cpu"] = std::to_string(*d.cpu);
  if (d.memory) td["memory"] = std::to_string(*d.memory);
  if (d.pid_mode) td["pidMode"] = *d.pid_mode;
  if (d.ipc_mode) td["ipcMode"] = *d.ipc_mode;
  if (d.proxy != nullptr) {
    json::object proxy;
    proxy["type"] = "APPMESH";
    proxy["containerName"] = d.proxy->at("containerName");
    if (const json::value* v = member(*d.proxy, "properties")) proxy["properties"] = *v;
    td["proxyConfiguration"] = std::move(proxy);
  }
  td["registeredAt"] = ctx.registered_at;
  td["registeredBy"] = ctx.registered_by;
  if (d.ephemeral_storage != nullptr) {
    json::object storage;
    storage["sizeInGiB"] = d.ephemeral_storage->at("sizeInGiB");
    td["ephemeralStorage"] = std::move(storage);
  }
  if (const json::value* v = member(r, "enableFaultInjection")) td["enableFaultInjection"] = *v;
  return td;
}

}  // namespace

// ---------------------------------------------------------------------------
// Public functions

Status validateFamily(std::string_view family) {
  // Verified: "Family can not be blank." (aws-actions/amazon-ecs-deploy-task-definition#630)
  // and "Family contains invalid characters." (aws/amazon-ecs-cli#37, #542).
  if (family.empty()) return clientError("Family can not be blank.");
  if (!isNameText(family)) return clientError("Family contains invalid characters.");
  // [style]
  if (family.size() > kMaxNameLength) return clientError("Family cannot be longer than 255 characters.");
  return {};
}

Result<int> parseCpu(std::string_view text) {
  auto quantity = parseQuantity(text);
  if (quantity) {
    double scale = 0;
    if (quantity->second.empty()) scale = 1;
    if (quantity->second == "vcpu" || quantity->second == "vcpus") scale = 1024;
    if (scale != 0) {
      if (auto units = wholeNumber(quantity->first * scale, kMinTaskCpu, kMaxTaskCpu)) return *units;
    }
  }
  return clientError("Invalid 'cpu' setting for task.");
}

Result<int> parseMemoryMiB(std::string_view text) {
  auto quantity = parseQuantity(text);
  if (quantity) {
    const std::string& unit = quantity->second;
    double scale = 0;
    if (unit.empty() || unit == "mb" || unit == "mib") scale = 1;
    if (unit == "gb" || unit == "gib") scale = 1024;
    if (scale != 0) {
      if (auto mib =
              wholeNumber(quantity->first * scale, kMinContainerMemoryMiB, std::numeric_limits<int32_t>::max())) {
        return *mib;
      }
    }
  }
  // [style], after the verified "Invalid 'cpu' setting for task.".
  return clientError("Invalid 'memory' setting for task.");
}

bool isValidFargateCpuMemory(int cpu, int memory) {
  auto steps = [memory](int low_gib, int high_gib, int step_gib) {
    return memory >= low_gib * 1024 && memory <= high_gib * 1024 && memory % (step_gib * 1024) == 0;
  };
  switch (cpu) {
    case 256:
      return memory == 512 || memory == 1024 || memory == 2048;
    case 512:
      return steps(1, 4, 1);
    case 1024:
      return steps(2, 8, 1);
    case 2048:
      return steps(4, 16, 1);
    case 4096:
      return steps(8, 30, 1);
    case 8192:
      return steps(16, 60, 4);
    case 16384:
      return steps(32, 120, 8);
    default:
      return false;
  }
}

Result<json::object> buildTaskDefinition(const json::object& request, const TaskDefinitionContext& ctx) {
  // Verified: "Actual length: '66420'. Max allowed length is '65536' bytes."
  // (awsdocs/amazon-ecs-developer-guide#149). ECS measures its own encoding
  // of the definition; the request's JSON is the nearest berth has.
  if (size_t bytes = json::serialize(request).size(); bytes > kMaxDefinitionBytes) {
    return clientError(
        fmt::format("Actual length: '{}'. Max allowed length is '{}' bytes.", bytes, kMaxDefinitionBytes));
  }

  Definition d;
  d.request = &request;
  auto family = BERTH_TRY(optString(request, "family", ""));
  BERTH_TRY(validateFamily(family.value_or("")));
  d.family = *family;
  BERTH_TRY(readTaskLevel(d, ctx));

  // Verified: "Container list cannot be empty." for [] and for a missing
  // list (aws-cloudformation-user-guide#454; cdk-preflight pf-ecs-container-definitions-empty).
  auto containers = BERTH_TRY(objectList(request, "containerDefinitions", ""));
  if (containers.empty()) return clientError("Container list cannot be empty.");
  if (containers.size() > kMaxContainers) {
    // [style] The quota is "Containers per task definition: 10".
    return clientError(fmt::format("A task definition can have at most {} containers.", kMaxContainers));
  }

  std::set<std::string> names;
  for (size_t i = 0; i < containers.size(); ++i) {
    Container c;
    c.raw = containers[i];
    c.path = fmt::format("containerDefinitions[{}]", i);
    BERTH_TRY(readContainerBasics(c));
    // Verified (Shippable/support#2946; cdk-preflight pf-ecs-duplicate-container-names).
    if (!names.insert(c.name).second) {
      return clientError("Container names must be unique within a task definition.");
    }
    d.containers.push_back(std::move(c));
  }
  for (Container& c : d.containers) BERTH_TRY(checkContainerResources(c, d));

  // Verified: "Task definition doesn't have any essential container."
  // (eagletmt/hako#68; cdk-preflight pf-ecs-essential-container).
  if (std::none_of(d.containers.begin(), d.containers.end(), [](const Container& c) { return c.essential; })) {
    return clientError("Task definition doesn't have any essential container.");
  }

  if (d.cpu) {
    int64_t sum = 0;
    for (const Container& c : d.containers) sum += c.cpu;
    // Verified (klothoplatform/klotho#892; cdk-preflight pf-ecs-fargate-container-cpu-over-task).
    if (sum > *d.cpu) {
      return clientError("The sum of all container 'cpu' values cannot be greater than the value of the task 'cpu'.");
    }
  }
  if (d.memory) {
    int64_t reserved = 0;
    for (const Container& c : d.containers) reserved += c.memory_reservation.value_or(c.memory.value_or(0));
    if (reserved > *d.memory) {
      // [style], after the cpu message above.
      return clientError(
          "The sum of all container 'memoryReservation' values cannot be greater than the value of the task "
          "'memory'.");
    }
  }

  for (Container& c : d.containers) {
    BERTH_TRY(checkNetworkModeMembers(c, d));
    BERTH_TRY(readPortMappings(c, d));
    BERTH_TRY(readHealthCheck(c));
    BERTH_TRY(readLogConfiguration(c));
    BERTH_TRY(readSecrets(c, d, ctx));
    BERTH_TRY(readEnvironmentFiles(c));
    BERTH_TRY(readLinuxParameters(c));
    BERTH_TRY(readOtherContainerMembers(c));
  }
  BERTH_TRY(checkPortConflicts(d));
  BERTH_TRY(checkDependencies(d));
  BERTH_TRY(checkFirelens(d));
  BERTH_TRY(readVolumes(d));
  BERTH_TRY(checkMounts(d));
  if (d.fargate) BERTH_TRY(checkFargate(d));
  BERTH_TRY(checkEphemeralStorage(d));
  BERTH_TRY(checkProxy(d));
  json::array tags = BERTH_TRY(readTags(request));

  bool fargate_ok = d.fargate || checkFargate(d).has_value();
  json::object response;
  response["taskDefinition"] = taskDefinitionJson(d, ctx, fargate_ok);
  response["tags"] = std::move(tags);
  return response;
}

}  // namespace berth::ecs
