#include "agent/endpoints/metadata_json.h"

#include <ctime>

#include <fmt/format.h>

namespace berth::agent::endpoints {
namespace {

namespace bj = boost::json;

bj::array strings(const std::vector<std::string>& v) {
  bj::array a;
  for (const auto& s : v) a.emplace_back(s);
  return a;
}

bj::object stringMap(const std::map<std::string, std::string>& m) {
  bj::object o;
  for (const auto& [k, v] : m) o[k] = v;
  return o;
}

bj::object renderNetwork(const NetworkMetadata& n) {
  bj::object o;
  o["NetworkMode"] = n.network_mode;
  o["IPv4Addresses"] = strings(n.ipv4_addresses);
  o["AttachmentIndex"] = n.attachment_index;
  if (!n.mac_address.empty()) o["MACAddress"] = n.mac_address;
  if (!n.ipv4_subnet_cidr_block.empty()) o["IPv4SubnetCIDRBlock"] = n.ipv4_subnet_cidr_block;
  if (!n.domain_name_servers.empty()) o["DomainNameServers"] = strings(n.domain_name_servers);
  if (!n.domain_name_search_list.empty()) o["DomainNameSearchList"] = strings(n.domain_name_search_list);
  if (!n.private_dns_name.empty()) o["PrivateDNSName"] = n.private_dns_name;
  if (!n.subnet_gateway_ipv4_address.empty()) o["SubnetGatewayIpv4Address"] = n.subnet_gateway_ipv4_address;
  return o;
}

bj::object renderCpu(const CpuSample& c) {
  bj::object usage{{"total_usage", c.total_usage_ns}};
  if (!c.percpu_usage_ns.empty()) {
    bj::array per;
    for (uint64_t v : c.percpu_usage_ns) per.emplace_back(v);
    usage["percpu_usage"] = std::move(per);
  }
  usage["usage_in_kernelmode"] = c.usage_in_kernelmode_ns;
  usage["usage_in_usermode"] = c.usage_in_usermode_ns;
  return bj::object{{"cpu_usage", std::move(usage)},
                    {"system_cpu_usage", c.system_cpu_usage_ns},
                    {"online_cpus", c.online_cpus},
                    {"throttling_data", bj::object{{"periods", c.throttling_periods},
                                                   {"throttled_periods", c.throttled_periods},
                                                   {"throttled_time", c.throttled_time_ns}}}};
}

bj::object renderBlkio() {
  bj::object o;
  for (const char* k :
       {"io_service_bytes_recursive", "io_serviced_recursive", "io_queue_recursive", "io_service_time_recursive",
        "io_wait_time_recursive", "io_merged_recursive", "io_time_recursive", "sectors_recursive"})
    o[k] = bj::array{};
  return o;
}

uint64_t totalRx(const ContainerStatsSample& s) {
  uint64_t n = 0;
  for (const auto& i : s.networks) n += i.rx_bytes;
  return n;
}

uint64_t totalTx(const ContainerStatsSample& s) {
  uint64_t n = 0;
  for (const auto& i : s.networks) n += i.tx_bytes;
  return n;
}

}  // namespace

std::string goTime(WallTime t) {
  int64_t us = t.time_since_epoch().count();
  int64_t secs = us / 1000000;
  int64_t frac = us % 1000000;
  if (frac < 0) {
    frac += 1000000;
    --secs;
  }
  std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  std::string out = fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                                tm.tm_hour, tm.tm_min, tm.tm_sec);
  if (frac != 0) {
    std::string digits = fmt::format("{:06}", frac);
    while (digits.back() == '0') digits.pop_back();
    out += "." + digits;
  }
  return out + "Z";
}

bj::object renderContainer(const ContainerMetadata& c) {
  bj::object o;
  o["DockerId"] = c.docker_id;
  o["Name"] = c.name;
  o["DockerName"] = c.docker_name;
  o["Image"] = c.image;
  o["ImageID"] = c.image_id;
  if (!c.labels.empty()) o["Labels"] = stringMap(c.labels);
  o["DesiredStatus"] = c.desired_status;
  o["KnownStatus"] = c.known_status;
  if (c.exit_code) o["ExitCode"] = *c.exit_code;
  o["Limits"] = bj::object{{"CPU", c.limit_cpu}, {"Memory", c.limit_memory_mib}};
  if (c.created_at) o["CreatedAt"] = goTime(*c.created_at);
  if (c.started_at) o["StartedAt"] = goTime(*c.started_at);
  if (c.finished_at) o["FinishedAt"] = goTime(*c.finished_at);
  o["Type"] = c.type;
  if (!c.log_driver.empty()) o["LogDriver"] = c.log_driver;
  if (!c.log_options.empty()) o["LogOptions"] = stringMap(c.log_options);
  if (!c.container_arn.empty()) o["ContainerARN"] = c.container_arn;
  if (c.has_health_check) {
    bj::object h{{"status", c.health.status}};
    if (c.health.status_since) h["statusSince"] = goTime(*c.health.status_since);
    if (c.health.exit_code) h["exitCode"] = *c.health.exit_code;
    if (!c.health.output.empty()) h["output"] = c.health.output;
    o["Health"] = std::move(h);
  }
  if (!c.networks.empty()) {
    bj::array nets;
    for (const auto& n : c.networks) nets.push_back(renderNetwork(n));
    o["Networks"] = std::move(nets);
  }
  o["Snapshotter"] = c.snapshotter;
  return o;
}

bj::object renderTask(const TaskMetadata& t, bool with_tags, WallTime now) {
  bj::object o;
  o["Cluster"] = t.cluster;
  if (!t.service_name.empty()) o["ServiceName"] = t.service_name;
  if (!t.vpc_id.empty()) o["VPCID"] = t.vpc_id;
  o["TaskARN"] = t.task_arn;
  o["Family"] = t.family;
  o["Revision"] = t.revision;
  o["DesiredStatus"] = t.desired_status;
  o["KnownStatus"] = t.known_status;
  bj::array containers;
  for (const auto& c : t.containers) containers.push_back(renderContainer(c));
  o["Containers"] = std::move(containers);
  if (t.limit_cpu_vcpus || t.limit_memory_mib) {
    bj::object limits;
    if (t.limit_cpu_vcpus) limits["CPU"] = *t.limit_cpu_vcpus;
    if (t.limit_memory_mib) limits["Memory"] = *t.limit_memory_mib;
    o["Limits"] = std::move(limits);
  }
  if (t.pull_started_at) o["PullStartedAt"] = goTime(*t.pull_started_at);
  if (t.pull_stopped_at) o["PullStoppedAt"] = goTime(*t.pull_stopped_at);
  if (t.execution_stopped_at) o["ExecutionStoppedAt"] = goTime(*t.execution_stopped_at);
  if (!t.availability_zone.empty()) o["AvailabilityZone"] = t.availability_zone;
  if (with_tags) o["TaskTags"] = stringMap(t.task_tags);
  o["LaunchType"] = t.launch_type;
  // The reference is the last time the clock was known good; on one host
  // the containers read the same kernel clock, so "now" (to the second).
  auto reference = std::chrono::time_point_cast<std::chrono::seconds>(now);
  o["ClockDrift"] = bj::object{{"ClockErrorBound", t.clock_drift.clock_error_bound_ms},
                               {"ReferenceTimestamp", goTime(WallTime(reference))},
                               {"ClockSynchronizationStatus", t.clock_drift.synchronization_status}};
  o["EphemeralStorageMetrics"] =
      bj::object{{"Utilized", t.ephemeral_storage_utilized_mib}, {"Reserved", t.ephemeral_storage_reserved_mib}};
  return o;
}

bj::object renderStats(const ContainerMetadata& c, const ContainerStatsSample& current,
                       const std::optional<ContainerStatsSample>& previous) {
  bj::object o;
  o["read"] = goTime(current.read);
  o["preread"] = previous ? goTime(previous->read) : std::string(kZeroGoTime);
  bj::object pids{{"current", current.pids_current}};
  if (current.pids_limit) pids["limit"] = *current.pids_limit;
  o["pids_stats"] = std::move(pids);
  o["blkio_stats"] = renderBlkio();
  o["num_procs"] = 0;
  o["storage_stats"] = bj::object{};
  o["cpu_stats"] = renderCpu(current.cpu);
  o["precpu_stats"] = renderCpu(previous ? previous->cpu : CpuSample{});
  bj::object memory_stats;
  for (const auto& [k, v] : current.memory_stats) memory_stats[k] = v;
  o["memory_stats"] = bj::object{{"usage", current.memory_usage_bytes},
                                 {"max_usage", current.memory_max_usage_bytes},
                                 {"stats", std::move(memory_stats)},
                                 {"limit", current.memory_limit_bytes}};
  o["name"] = c.docker_name;
  o["id"] = c.docker_id;
  if (!current.networks.empty()) {
    bj::object nets;
    for (const auto& n : current.networks)
      nets[n.interface] =
          bj::object{{"rx_bytes", n.rx_bytes},     {"rx_packets", n.rx_packets}, {"rx_errors", n.rx_errors},
                     {"rx_dropped", n.rx_dropped}, {"tx_bytes", n.tx_bytes},     {"tx_packets", n.tx_packets},
                     {"tx_errors", n.tx_errors},   {"tx_dropped", n.tx_dropped}};
    o["networks"] = std::move(nets);
    double rx_rate = 0, tx_rate = 0;
    if (previous) {
      double seconds = std::chrono::duration<double>(current.read - previous->read).count();
      uint64_t rx = totalRx(current), prx = totalRx(*previous);
      uint64_t tx = totalTx(current), ptx = totalTx(*previous);
      // Counters reset when an interface is recreated; a rate is then unknown.
      if (seconds > 0 && rx >= prx) rx_rate = static_cast<double>(rx - prx) / seconds;
      if (seconds > 0 && tx >= ptx) tx_rate = static_cast<double>(tx - ptx) / seconds;
    }
    o["network_rate_stats"] = bj::object{{"rx_bytes_per_sec", rx_rate}, {"tx_bytes_per_sec", tx_rate}};
  }
  return o;
}

}  // namespace berth::agent::endpoints
