// berthd: wires the components together and runs them until told to stop.
//
// Threads: `io_threads` run the HTTP server; one control thread owns the
// control plane (the single writer) and its periodic work.
#pragma once

#include <chrono>
#include <filesystem>
#include <string>
#include <vector>

#include "common/result.h"

namespace berth::daemon {

struct DaemonOptions {
  std::filesystem::path data_dir = "/var/lib/berth";
  std::string listen_host = "127.0.0.1";
  uint16_t listen_port = 4566;
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  bool auth = true;                 // --auth sigv4 (true) | off
  std::string agent = "real";       // real | fake
  bool check_responses = false;
  std::string vpc_cidr = "172.31.0.0/16";
  int io_threads = 2;
  // The registry creates a repository on its first push (ECR does not).
  bool registry_create_on_push = false;
  // The real agent (--agent real): see src/daemon/node.h.
  std::string bridge = "berth0";
  std::string runtime = "native";
  std::string cgroup_parent = "berth";
  uint16_t task_endpoint_port = 80;  // 0: no task metadata endpoint
  int worker_threads = 4;
  // Testing: the fake agent fails to pull these images (CannotPullContainerError).
  std::vector<std::string> fake_unpullable_images;
  // Testing and chaos: FARGATE_SPOT tasks are interrupted this many seconds
  // after they reach RUNNING (0: never). See ecs::EcsConfig.
  int spot_interrupt_after = 0;
  // DNS for Cloud Map namespaces (src/dns/): IP:PORT for UDP and TCP, "off"
  // disables it. Other names go to `dns_upstreams` (IP[:PORT]; empty: the
  // nameservers of /etc/resolv.conf; "off": none, REFUSED).
  std::string dns_listen = "127.0.0.1:8053";
  std::vector<std::string> dns_upstreams;
  int dns_threads = 2;  // UDP threads (SO_REUSEPORT sockets)
  // How often (real time) the agent's task usage is sampled for the
  // AWS/ECS and Container Insights metrics (control/usage/usage_metrics.h).
  // CPU rates come from the real time between samples and the minutes from
  // the control clock, so a faster control clock only needs a shorter
  // interval (at least ~50 ms) to keep a few samples per control minute.
  std::chrono::milliseconds usage_sample_interval{1000};
  // The control clock runs this many times faster than real time (ECS,
  // CloudWatch, Application Auto Scaling and their periodic work); 1: real
  // time. A berth extension for demos and tests (docs/autoscaling.md).
  double time_scale = 1;
};

// Validates flags that CLI11 cannot (account id, region shape...).
Status validateOptions(const DaemonOptions& options);

// Runs berthd until SIGINT or SIGTERM. Returns the process exit status.
int runDaemon(const DaemonOptions& options);

}  // namespace berth::daemon
