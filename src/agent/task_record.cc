#include "agent/task_record.h"

#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "common/json.h"

namespace berth::agent {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

Status writeFileReplacing(const fs::path& path, const std::string& text) {
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc | std::ios::binary);
    out << text;
    if (!out.flush()) return failErrno("write " + tmp.string(), errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failErrno("rename " + tmp.string(), errno);
  return {};
}

Status makeDir(const fs::path& dir) {
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return failErrno("create " + dir.string(), ec.value());
  return {};
}

int64_t micros(WallTime t) { return t.time_since_epoch().count(); }
WallTime fromMicros(int64_t us) { return WallTime(std::chrono::microseconds(us)); }

void putTime(bj::object& o, const char* key, const std::optional<WallTime>& t) {
  if (t) o[key] = micros(*t);
}
std::optional<WallTime> getTime(const bj::object& o, const char* key) {
  auto v = json::getInt(o, key);
  if (!v) return std::nullopt;
  return fromMicros(*v);
}

bj::object launchJson(const TaskLaunch& l) {
  bj::array groups;
  for (const auto& g : l.security_groups) groups.push_back(bj::string(g));
  return bj::object{{"taskArn", l.task_arn},
                    {"taskId", l.task_id},
                    {"clusterArn", l.cluster_arn},
                    {"taskDefinition", l.task_definition},
                    {"overrides", l.overrides},
                    {"subnetId", l.subnet_id},
                    {"subnetCidr", l.subnet_cidr},
                    {"availabilityZone", l.availability_zone},
                    {"securityGroups", std::move(groups)},
                    {"capacityProvider", l.capacity_provider}};
}

TaskLaunch launchFrom(const bj::object& o) {
  TaskLaunch l;
  l.task_arn = json::stringOr(o, "taskArn");
  l.task_id = json::stringOr(o, "taskId");
  l.cluster_arn = json::stringOr(o, "clusterArn");
  if (const auto* td = json::getObject(o, "taskDefinition")) l.task_definition = *td;
  if (const auto* ov = json::getObject(o, "overrides")) l.overrides = *ov;
  l.subnet_id = json::stringOr(o, "subnetId");
  l.subnet_cidr = json::stringOr(o, "subnetCidr");
  l.availability_zone = json::stringOr(o, "availabilityZone");
  l.security_groups = json::stringList(o, "securityGroups");
  l.capacity_provider = json::stringOr(o, "capacityProvider");
  return l;
}

std::optional<TaskRecord> parseRecord(const std::string& text) {
  auto v = json::parse(text);
  if (!v || !v->is_object()) return std::nullopt;
  const bj::object& o = v->get_object();
  const bj::object* launch = json::getObject(o, "launch");
  if (!launch) return std::nullopt;
  TaskRecord r;
  r.launch = launchFrom(*launch);
  if (r.launch.task_id.empty()) return std::nullopt;
  r.phase = static_cast<TaskPhase>(std::clamp<int64_t>(json::getInt(o, "phase").value_or(0), 0, 7));
  r.pull_started_at = getTime(o, "pullStartedAtUs");
  r.pull_stopped_at = getTime(o, "pullStoppedAtUs");
  r.running_at = getTime(o, "runningAtUs");
  r.stopping = json::getBool(o, "stopping").value_or(false);
  r.stop_code = json::stringOr(o, "stopCode");
  r.stopped_reason = json::stringOr(o, "stoppedReason");
  if (const auto* cs = json::getArray(o, "containers"))
    for (const auto& c : *cs) {
      if (!c.is_object()) continue;
      const auto& co = c.get_object();
      ContainerRecord cr;
      cr.name = json::stringOr(co, "name");
      cr.image_digest = json::stringOr(co, "imageDigest");
      cr.stop_signal = static_cast<int>(json::getInt(co, "stopSignal").value_or(15));
      cr.started = json::getBool(co, "started").value_or(false);
      if (auto e = json::getInt(co, "exitCode")) cr.exit_code = static_cast<int>(*e);
      cr.reason = json::stringOr(co, "reason");
      cr.endpoint_id = json::stringOr(co, "endpointId");
      cr.docker_id = json::stringOr(co, "dockerId");
      r.containers.push_back(std::move(cr));
    }
  return r;
}

}  // namespace

fs::path taskDir(const fs::path& data_dir, const std::string& task_id) { return data_dir / "tasks" / task_id; }

Status writeTaskRecord(const fs::path& data_dir, const TaskRecord& r) {
  bj::object o{{"launch", launchJson(r.launch)}, {"phase", static_cast<int>(r.phase)}};
  putTime(o, "pullStartedAtUs", r.pull_started_at);
  putTime(o, "pullStoppedAtUs", r.pull_stopped_at);
  putTime(o, "runningAtUs", r.running_at);
  o["stopping"] = r.stopping;
  o["stopCode"] = r.stop_code;
  o["stoppedReason"] = r.stopped_reason;
  bj::array containers;
  for (const auto& c : r.containers) {
    bj::object co{
        {"name", c.name},     {"imageDigest", c.image_digest}, {"stopSignal", c.stop_signal}, {"started", c.started},
        {"reason", c.reason}, {"endpointId", c.endpoint_id},   {"dockerId", c.docker_id}};
    if (c.exit_code) co["exitCode"] = *c.exit_code;
    containers.push_back(std::move(co));
  }
  o["containers"] = std::move(containers);
  fs::path dir = taskDir(data_dir, r.launch.task_id);
  BERTH_TRY(makeDir(dir));
  return writeFileReplacing(dir / "task.json", json::serialize(o));
}

Result<std::vector<TaskRecord>> loadTaskRecords(const fs::path& data_dir) {
  std::vector<TaskRecord> out;
  std::error_code ec;
  fs::path tasks = data_dir / "tasks";
  if (!fs::exists(tasks, ec)) return out;
  for (const auto& entry : fs::directory_iterator(tasks, ec)) {
    std::ifstream in(entry.path() / "task.json", std::ios::binary);
    if (!in) continue;
    std::stringstream text;
    text << in.rdbuf();
    if (auto r = parseRecord(text.str()); r && r->launch.task_id == entry.path().filename().string())
      out.push_back(std::move(*r));
  }
  if (ec) return failErrno("list " + tasks.string(), ec.value());
  return out;
}

Status removeTaskRecord(const fs::path& data_dir, const std::string& task_id) {
  std::error_code ec;
  fs::path dir = taskDir(data_dir, task_id);
  fs::remove(dir / "task.json", ec);
  if (ec) return failErrno("remove task.json of " + task_id, ec.value());
  fs::remove_all(dir / "etc", ec);
  if (ec) return failErrno("remove etc of " + task_id, ec.value());
  // The directory itself goes when nothing else (logs, rootfs) is left in it.
  fs::remove(dir, ec);
  return {};
}

Status writeAwslogsRecords(const fs::path& data_dir, const std::string& task_id,
                           const std::vector<AwslogsRecord>& records) {
  bj::array list;
  for (const auto& r : records)
    list.push_back(bj::object{{"container", r.container},
                              {"group", r.config.group},
                              {"stream", r.config.stream},
                              {"createGroup", r.config.create_group},
                              {"blocking", r.config.mode == logging::LogMode::kBlocking},
                              {"maxBufferBytes", r.config.max_buffer_bytes}});
  fs::path dir = taskDir(data_dir, task_id);
  BERTH_TRY(makeDir(dir));
  return writeFileReplacing(dir / "awslogs.json", json::serialize(bj::object{{"containers", std::move(list)}}));
}

std::vector<AwslogsRecord> loadAwslogsRecords(const fs::path& data_dir, const std::string& task_id) {
  std::vector<AwslogsRecord> out;
  std::ifstream in(taskDir(data_dir, task_id) / "awslogs.json", std::ios::binary);
  if (!in) return out;
  std::stringstream text;
  text << in.rdbuf();
  auto v = json::parse(text.str());
  if (!v || !v->is_object()) return out;
  if (const auto* list = json::getArray(v->get_object(), "containers"))
    for (const auto& c : *list) {
      if (!c.is_object()) continue;
      const auto& co = c.get_object();
      AwslogsRecord r;
      r.container = json::stringOr(co, "container");
      r.config.group = json::stringOr(co, "group");
      r.config.stream = json::stringOr(co, "stream");
      r.config.create_group = json::getBool(co, "createGroup").value_or(false);
      r.config.mode =
          json::getBool(co, "blocking").value_or(false) ? logging::LogMode::kBlocking : logging::LogMode::kNonBlocking;
      r.config.max_buffer_bytes =
          static_cast<uint64_t>(json::getInt(co, "maxBufferBytes").value_or(logging::kDefaultMaxBufferBytes));
      if (!r.container.empty() && !r.config.group.empty()) out.push_back(std::move(r));
    }
  return out;
}

std::vector<std::string> finishedTaskDirs(const fs::path& data_dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& entry : fs::directory_iterator(data_dir / "tasks", ec))
    if (entry.is_directory(ec) && !fs::exists(entry.path() / "task.json", ec))
      out.push_back(entry.path().filename().string());
  std::sort(out.begin(), out.end());
  return out;
}

Status removeTaskDir(const fs::path& data_dir, const std::string& task_id) {
  std::error_code ec;
  fs::remove_all(taskDir(data_dir, task_id), ec);
  if (ec) return failErrno("remove the directory of task " + task_id, ec.value());
  return {};
}

Result<TaskEtcFiles> writeTaskEtcFiles(const fs::path& data_dir, const std::string& task_id, const std::string& address,
                                       const std::string& hostname, const std::string& nameserver) {
  fs::path etc = taskDir(data_dir, task_id) / "etc";
  BERTH_TRY(makeDir(etc));
  std::string short_name = hostname.substr(0, hostname.find('.'));
  std::string domain = hostname.find('.') == std::string::npos ? "" : hostname.substr(hostname.find('.') + 1);
  TaskEtcFiles files{etc / "hosts", etc / "resolv.conf", etc / "hostname"};
  BERTH_TRY(
      writeFileReplacing(files.hosts, fmt::format("127.0.0.1 localhost\n::1 localhost ip6-localhost ip6-loopback\n"
                                                  "{} {} {}\n",
                                                  address, hostname, short_name)));
  BERTH_TRY(writeFileReplacing(files.resolv_conf, fmt::format("nameserver {}\n{}", nameserver,
                                                              domain.empty() ? "" : "search " + domain + "\n")));
  BERTH_TRY(writeFileReplacing(files.hostname, hostname + "\n"));
  return files;
}

}  // namespace berth::agent
