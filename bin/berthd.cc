// berthd: AWS ECS on Fargate, on one machine. Parses flags; runDaemon() does
// the rest.
#include <CLI/CLI.hpp>

#include "daemon/daemon.h"

int main(int argc, char** argv) {
  berth::daemon::DaemonOptions o;
  CLI::App app{"berthd: AWS ECS on Fargate, on one Linux machine"};
  std::string data_dir = o.data_dir.string();
  std::string listen = o.listen_host + ":" + std::to_string(o.listen_port);
  std::string auth = "sigv4";
  app.add_option("--data-dir", data_dir, "state, credentials, images, logs")->capture_default_str();
  app.add_option("--listen", listen, "HOST:PORT for the API (port 0 picks one; see <data-dir>/endpoint)")
      ->capture_default_str();
  app.add_option("--region", o.region, "AWS region berth pretends to be")->capture_default_str();
  app.add_option("--account-id", o.account_id, "12-digit AWS account id")->capture_default_str();
  app.add_option("--auth", auth, "sigv4: verify signatures; off: accept any well-formed signature")
      ->check(CLI::IsMember({"sigv4", "off"}))
      ->capture_default_str();
  app.add_option("--agent", o.agent, "real: run containers; fake: in-memory tasks for tests")
      ->check(CLI::IsMember({"real", "fake"}))
      ->capture_default_str();
  app.add_option("--vpc-cidr", o.vpc_cidr, "the default VPC's /16")->capture_default_str();
  app.add_option("--bridge", o.bridge, "the tasks' bridge (real agent)")->capture_default_str();
  app.add_option("--runtime", o.runtime,
                 "container runtime (real agent): native (berth's own launcher; runc on cgroup v2 hosts), runc or crun")
      ->capture_default_str();
  app.add_option("--cgroup-parent", o.cgroup_parent, "task cgroups go under this cgroup (real agent)")
      ->capture_default_str();
  app.add_option("--task-endpoint-port", o.task_endpoint_port,
                 "port of the task metadata endpoint on 169.254.170.2; 0 disables it")
      ->capture_default_str();
  app.add_option("--worker-threads", o.worker_threads, "threads that start and stop tasks (real agent)")
      ->capture_default_str();
  app.add_option("--io-threads", o.io_threads, "HTTP threads")->capture_default_str();
  app.add_flag("--registry-create-on-push", o.registry_create_on_push,
               "create an ECR repository on its first push to the registry (ECR itself refuses: NAME_UNKNOWN)");
  app.add_flag("--check-responses", o.check_responses, "validate every response against the AWS model (tests)");
  app.add_option("--fake-unpullable-image", o.fake_unpullable_images,
                 "the fake agent fails to pull this image, as CannotPullContainerError (tests; repeatable; "
                 "--agent fake only)");
  app.add_option("--spot-interrupt-after", o.spot_interrupt_after,
                 "interrupt every FARGATE_SPOT task this many seconds after it reaches RUNNING, as a Spot "
                 "reclaim would (tests and chaos; 0: never)")
      ->capture_default_str();
  app.add_option("--time-scale", o.time_scale,
                 "run the control clock (ECS, CloudWatch, Application Auto Scaling) this many times faster than "
                 "real time, so that minutes of alarms, cooldowns and schedules pass in seconds (demos and tests)")
      ->capture_default_str();
  app.add_option("--dns-listen", o.dns_listen,
                 "IP:PORT of the DNS server for Cloud Map namespaces, UDP and TCP (port 0 picks one; see "
                 "<data-dir>/dns-endpoint); off disables it")
      ->capture_default_str();
  app.add_option("--dns-upstream", o.dns_upstreams,
                 "resolver for names outside Cloud Map's namespaces, IP[:PORT] (repeatable; default: the "
                 "nameservers of /etc/resolv.conf; off: refuse them)");
  app.add_option("--dns-threads", o.dns_threads, "UDP threads of the DNS server")->capture_default_str();
  CLI11_PARSE(app, argc, argv);

  o.data_dir = data_dir;
  o.auth = auth == "sigv4";
  auto colon = listen.rfind(':');
  if (colon == std::string::npos) {
    fprintf(stderr, "berthd: --listen must be HOST:PORT\n");
    return 2;
  }
  o.listen_host = listen.substr(0, colon);
  try {
    int port = std::stoi(listen.substr(colon + 1));
    if (port < 0 || port > 65535) throw std::out_of_range("port");
    o.listen_port = static_cast<uint16_t>(port);
  } catch (const std::exception&) {
    fprintf(stderr, "berthd: --listen port must be 0-65535\n");
    return 2;
  }
  return berth::daemon::runDaemon(o);
}
