#include "daemon/daemon.h"

#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <algorithm>
#include <fstream>
#include <functional>
#include <future>
#include <optional>
#include <thread>

#include <fmt/format.h>
#include <boost/asio/io_context.hpp>
#include <boost/asio/post.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>
#include <boost/asio/strand.hpp>
#include <boost/asio/thread_pool.hpp>

#include "agent/fake_agent.h"
#include "api/admin/admin_api.h"
#include "api/autoscaling/autoscaling_api.h"
#include "api/cloudwatch/cloudwatch_api.h"
#include "api/control_service.h"
#include "api/ec2/ec2_api.h"
#include "api/ecr/ecr_api.h"
#include "api/ecs/ecs_api.h"
#include "api/front_door.h"
#include "api/iam/iam_api.h"
#include "api/kms/kms_api.h"
#include "api/logs/logs_api.h"
#include "api/registry/registry.h"
#include "api/servicediscovery/servicediscovery_api.h"
#include "api/ssm/ssm_api.h"
#include "aws/crypto.h"
#include "control/autoscaling/autoscaling.h"
#include "control/autoscaling/ecs_resources.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/ecr/ecr.h"
#include "control/ecr/registry_source.h"
#include "control/ecs/ecs.h"
#include "control/iam/iam.h"
#include "control/kms/kms.h"
#include "control/network.h"
#include "control/servicediscovery/cloud_map.h"
#include "control/ssm/ssm.h"
#include "control/usage/usage_metrics.h"
#include "daemon/credentials.h"
#include "daemon/dns_zones.h"
#include "daemon/iam_authorizer.h"
#include "daemon/kms_master_key.h"
#include "daemon/node.h"
#include "daemon/task_iam.h"
#include "daemon/vpc_resolver.h"
#include "dns/server.h"
#include "http/server.h"
#include "registry/blob_store.h"
#include "registry/tokens.h"
#include "store/store.h"

namespace berth::daemon {
namespace asio = boost::asio;

namespace {

void logLine(const std::string& line) { fmt::print(stderr, "berthd: {}\n", line); }

Status writeFileAtomically(const std::filesystem::path& path, const std::string& text) {
  std::string tmp = path.string() + ".tmp";
  {
    std::ofstream out(tmp, std::ios::trunc);
    out << text;
    if (!out.flush()) return failErrno("write " + tmp, errno);
  }
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failErrno("rename " + tmp, errno);
  return {};
}

// Runs `work` every `interval` (real time) on the timer's executor until
// the timer is cancelled.
void every(asio::steady_timer& timer, std::chrono::steady_clock::duration interval, std::function<void()> work) {
  timer.expires_after(interval);
  timer.async_wait([&timer, interval, work = std::move(work)](boost::system::error_code ec) mutable {
    if (ec) return;
    work();
    every(timer, interval, std::move(work));
  });
}

}  // namespace

Status validateOptions(const DaemonOptions& o) {
  if (o.account_id.size() != 12 || o.account_id.find_first_not_of("0123456789") != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "--account-id must be 12 digits");
  if (o.region.empty() || o.region.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != std::string::npos)
    return fail(ErrorCode::kInvalidArgument, "--region must look like us-east-1");
  if (o.agent != "fake" && o.agent != "real") return fail(ErrorCode::kInvalidArgument, "--agent must be real or fake");
  if (o.io_threads < 1 || o.io_threads > 64) return fail(ErrorCode::kInvalidArgument, "--io-threads must be 1-64");
  if (o.worker_threads < 1 || o.worker_threads > 64)
    return fail(ErrorCode::kInvalidArgument, "--worker-threads must be 1-64");
  if (o.runtime != "native" && o.runtime != "runc" && o.runtime != "crun")
    return fail(ErrorCode::kInvalidArgument, "--runtime must be native, runc or crun");
  if (o.bridge.empty() || o.bridge.size() > 15)
    return fail(ErrorCode::kInvalidArgument, "--bridge must be 1-15 characters");
  if (!o.fake_unpullable_images.empty() && o.agent != "fake")
    return fail(ErrorCode::kInvalidArgument, "--fake-unpullable-image needs --agent fake");
  if (o.spot_interrupt_after < 0) return fail(ErrorCode::kInvalidArgument, "--spot-interrupt-after must be 0 or more");
  if (!(o.time_scale >= 1 && o.time_scale <= 3600))
    return fail(ErrorCode::kInvalidArgument, "--time-scale must be between 1 and 3600");
  if (o.dns_threads < 1 || o.dns_threads > 16) return fail(ErrorCode::kInvalidArgument, "--dns-threads must be 1-16");
  return {};
}

int runDaemon(const DaemonOptions& options) {
  if (auto ok = validateOptions(options); !ok) {
    logLine(ok.error().message);
    return 2;
  }
  std::error_code fs_error;
  std::filesystem::create_directories(options.data_dir, fs_error);
  if (fs_error) {
    logLine(fmt::format("cannot create data dir {}: {}", options.data_dir.string(), fs_error.message()));
    return 1;
  }
  ::chmod(options.data_dir.c_str(), 0700);

  auto store = store::openSqliteStore(options.data_dir / "state.db");
  if (!store) {
    logLine("cannot open the state store: " + store.error().message);
    return 1;
  }
  auto creds = loadOrCreateRootCredentials(options.data_dir / "credentials");
  if (!creds) {
    logLine("cannot load credentials: " + creds.error().message);
    return 1;
  }
  auto network = control::loadOrCreateNetwork(**store, options.region, options.vpc_cidr);
  if (!network) {
    logLine("cannot set up the network inventory: " + network.error().message);
    return 1;
  }

  // Real time: the API (signatures), IAM, KMS, logs and the agent.
  const Clock& clock = SystemClock::instance();
  // The control clock: ECS, CloudWatch and Application Auto Scaling.
  // --time-scale N makes it run N times faster (docs/autoscaling.md); the
  // agent's event times are mapped onto it.
  std::optional<ScaledClock> scaled_clock;
  if (options.time_scale != 1) scaled_clock.emplace(clock, options.time_scale);
  const Clock& control_clock = scaled_clock ? static_cast<const Clock&>(*scaled_clock) : clock;
  asio::io_context control_io(1);
  asio::io_context io(options.io_threads);

  ecs::EcsConfig ecs_config{options.region, options.account_id};
  ecs_config.spot_interrupt_after = std::chrono::seconds(options.spot_interrupt_after);
  ecs::Ecs ecs(ecs_config, **store, control_clock, *network);
  if (auto ok = ecs.load(); !ok) {
    logLine("cannot load ECS state: " + ok.error().message);
    return 1;
  }
  servicediscovery::CloudMap cloud_map(servicediscovery::CloudMapConfig{options.region, options.account_id}, **store,
                                       clock);
  if (auto ok = cloud_map.load(); !ok) {
    logLine("cannot load Cloud Map state: " + ok.error().message);
    return 1;
  }
  ecs.setServiceRegistries(&cloud_map);
  cloudwatch::CloudWatch cloudwatch(cloudwatch::CloudWatchConfig{options.region, options.account_id}, **store,
                                    control_clock);
  if (auto ok = cloudwatch.load(); !ok) {
    logLine("cannot load CloudWatch state: " + ok.error().message);
    return 1;
  }
  // Application Auto Scaling sets ECS services' desired counts and receives
  // its alarms' actions from CloudWatch.
  autoscaling::EcsScalableResources scalable_services(ecs, options.account_id);
  autoscaling::ApplicationAutoScaling autoscaling(autoscaling::AutoScalingConfig{options.region, options.account_id},
                                                  **store, control_clock, cloudwatch, scalable_services);
  if (auto ok = autoscaling.load(); !ok) {
    logLine("cannot load Application Auto Scaling state: " + ok.error().message);
    return 1;
  }
  cloudwatch.setActionSink(&autoscaling);
  auto kms_master_key = loadOrCreateKmsMasterKey(options.data_dir / "kms-master.key");
  if (!kms_master_key) {
    logLine("cannot load the KMS master key: " + kms_master_key.error().message);
    return 1;
  }
  kms::Kms kms(kms::KmsConfig{options.region, options.account_id}, std::move(*kms_master_key), **store, clock);
  if (auto ok = kms.load(); !ok) {
    logLine("cannot load KMS state: " + ok.error().message);
    return 1;
  }
  ssm::Ssm ssm(ssm::SsmConfig{options.region, options.account_id}, kms, **store, clock);
  if (auto ok = ssm.load(); !ok) {
    logLine("cannot load SSM Parameter Store state: " + ok.error().message);
    return 1;
  }
  iam::Iam iam(iam::IamConfig{options.account_id}, **store, clock);
  if (auto ok = iam.load(); !ok) {
    logLine("cannot load IAM state: " + ok.error().message);
    return 1;
  }
  auto blobs = registry::BlobStore::open(options.data_dir / "blobs", clock);
  if (!blobs) {
    logLine("cannot open the blob store: " + blobs.error().message);
    return 1;
  }
  ecr::Ecr ecr(ecr::EcrConfig{options.region, options.account_id}, **store, clock, **blobs);
  if (auto ok = ecr.load(); !ok) {
    logLine("cannot load ECR state: " + ok.error().message);
    return 1;
  }
  auto log_store = logs::LogStore::open(logs::LogStoreOptions{.dir = options.data_dir / "logs", .clock = &clock});
  if (!log_store) {
    logLine("cannot open the log store: " + log_store.error().message);
    return 1;
  }
  registry::RegistryTokens registry_tokens(creds->secret_access_key, clock);
  // The image store's view of this registry: the real agent builds its
  // image::ImageStore on registry_source.manifests() and .blobs() (call them
  // from worker threads only; see registry_source.h).
  ecr::RegistrySource registry_source(ecr, **blobs, control_io.get_executor());

  // IAM's part of every real task (secrets, role credentials); set up with
  // the real agent below.
  std::unique_ptr<TaskIamAgent> task_iam;
  auto sink = [&control_io, &ecs, &task_iam, scaled = scaled_clock ? &*scaled_clock : nullptr](agent::TaskEvent event) {
    if (scaled) {  // the agent lives in real time
      event.at = scaled->fromBase(event.at);
      if (event.pull_started_at) event.pull_started_at = scaled->fromBase(*event.pull_started_at);
      if (event.pull_stopped_at) event.pull_stopped_at = scaled->fromBase(*event.pull_stopped_at);
    }
    asio::post(control_io, [&ecs, &task_iam, event = std::move(event)] {
      if (task_iam) task_iam->onTaskEvent(event);
      ecs.onTaskEvent(event);
    });
  };
  std::unique_ptr<agent::FakeAgent> fake_agent;
  if (options.agent == "fake") {
    agent::FakeAgent::Options fake_options;
    fake_options.unpullable_images.insert(options.fake_unpullable_images.begin(), options.fake_unpullable_images.end());
    fake_agent = std::make_unique<agent::FakeAgent>(clock, sink, std::move(fake_options));
  }

  std::string root_arn = fmt::format("arn:aws:iam::{}:root", options.account_id);
  // Root's key first, then IAM users' keys and STS sessions (any I/O thread).
  auto lookup = [creds = *creds, account = options.account_id, root_arn,
                 &identities = iam.identityView()](std::string_view key) -> std::optional<aws::Credential> {
    if (key == creds.access_key_id) return aws::Credential{creds.secret_access_key, account, root_arn, std::nullopt};
    return identities.snapshot()->credential(key);
  };
  api::FrontDoorOptions fd_options;
  fd_options.auth = options.auth ? aws::AuthMode::kSigV4 : aws::AuthMode::kOff;
  fd_options.region = options.region;
  fd_options.account_id = options.account_id;
  fd_options.check_responses = options.check_responses;
  api::FrontDoor front_door(fd_options, lookup, clock);
  // Every call by someone other than root is checked against IAM.
  IamAuthorizer authorizer(iam.identityView(), creds->access_key_id, clock);
  front_door.setAuthorizer(&authorizer);

  api::ControlService ecs_service("ecs", control_io.get_executor(),
                                  [&ecs](const api::AwsCall& call) { return api::invokeEcs(ecs, call); });
  api::InlineService ec2_service("ec2", [net = *network, account = options.account_id](const api::AwsCall& call) {
    return api::invokeEc2(net, account, call);
  });
  api::EcrApiOptions ecr_api_options{&registry_tokens, "", options.account_id};
  api::ControlService ecr_service("ecr", control_io.get_executor(), [&ecr, &ecr_api_options](const api::AwsCall& call) {
    return api::invokeEcr(ecr, ecr_api_options, call);
  });
  // CloudWatch Logs calls run on a pool of their own: a long FilterLogEvents
  // holds up neither the control plane nor the I/O threads.
  asio::thread_pool logs_pool(2);
  api::LogsApiOptions logs_api_options{options.account_id, options.region};
  logs_api_options.live_tail_executor = logs_pool.get_executor();
  api::LogsApi logs_api(**log_store, clock, logs_api_options);
  api::LogsService logs_service(logs_api, logs_pool.get_executor());
  front_door.addService(&ecs_service);
  api::ControlService servicediscovery_service(
      "servicediscovery", control_io.get_executor(),
      [&cloud_map](const api::AwsCall& call) { return api::invokeServiceDiscovery(cloud_map, call); });
  front_door.addService(&servicediscovery_service);
  api::ControlService kms_service("kms", control_io.get_executor(),
                                  [&kms](const api::AwsCall& call) { return api::invokeKms(kms, call); });
  front_door.addService(&kms_service);
  api::ControlService cloudwatch_service(
      "monitoring", control_io.get_executor(),
      [&cloudwatch](const api::AwsCall& call) { return api::invokeCloudWatch(cloudwatch, call); });
  front_door.addService(&cloudwatch_service);
  api::ControlService autoscaling_service(
      "application-autoscaling", control_io.get_executor(),
      [&autoscaling](const api::AwsCall& call) { return api::invokeAutoScaling(autoscaling, call); });
  front_door.addService(&autoscaling_service);
  api::ControlService ssm_service("ssm", control_io.get_executor(),
                                  [&ssm](const api::AwsCall& call) { return api::invokeSsm(ssm, call); });
  front_door.addService(&ssm_service);
  api::ControlService iam_api_service("iam", control_io.get_executor(),
                                      [&iam](const api::AwsCall& call) { return api::invokeIam(iam, call); });
  api::ControlService sts_api_service("sts", control_io.get_executor(),
                                      [&iam](const api::AwsCall& call) { return api::invokeSts(iam, call); });
  front_door.addService(&iam_api_service);
  front_door.addService(&sts_api_service);
  front_door.addService(&logs_service);
  front_door.addService(&ec2_service);
  front_door.addService(&ecr_service);
  // berth's own controls (Spot capacity): root credentials only.
  api::AdminApiOptions admin_api_options{creds->access_key_id};
  api::ControlService admin_service(
      "berth", control_io.get_executor(),
      [&ecs, &admin_api_options](const api::AwsCall& call) { return api::invokeAdmin(ecs, admin_api_options, call); });
  front_door.addService(&admin_service);

  api::registry::RegistryOptions registry_options;
  registry_options.tokens = options.auth ? &registry_tokens : nullptr;
  registry_options.create_on_push = options.registry_create_on_push;
  api::registry::Registry registry(registry_options, **blobs, ecr, control_io.get_executor(), clock);
  front_door.setRegistry(&registry);

  http::Server server(io, front_door);
  auto bound = server.listen(options.listen_host, options.listen_port);
  if (!bound) {
    logLine(bound.error().message);
    return 1;
  }
  std::string endpoint = fmt::format("http://{}:{}", bound->address().to_string(), bound->port());

  // The real agent comes up after the API is bound (tasks get its port in
  // AWS_ENDPOINT_URL) and before any request is served (io runs below).
  std::unique_ptr<Node> node;
  // Task credentials ids are keyed hashes of task ARNs under this.
  std::string task_credentials_key =
      aws::hexEncode(aws::hmacSha256Digest(creds->secret_access_key, "berth task credentials ids"));
  std::unique_ptr<http::Server> task_side_server;
  if (options.agent == "real") {
    NodeOptions node_options;
    node_options.data_dir = options.data_dir;
    node_options.region = options.region;
    node_options.vpc_cidr = network->vpc_cidr;
    for (const auto& subnet : network->subnets) node_options.subnet_cidrs.push_back(subnet.cidr);
    node_options.bridge = options.bridge;
    node_options.runtime = options.runtime;
    node_options.cgroup_parent = options.cgroup_parent;
    node_options.task_endpoint_port = options.task_endpoint_port;
    node_options.worker_threads = options.worker_threads;
    node_options.log_store = log_store->get();
    node_options.credentials_key = task_credentials_key;
    // Tasks reach berthd's API on the gateway of the first subnet (on the bridge).
    std::string gateway;
    if (!network->subnets.empty()) {
      std::string cidr = network->subnets.front().cidr;
      std::string base = cidr.substr(0, cidr.find('/'));
      gateway = base.substr(0, base.rfind('.')) + ".1";
      node_options.endpoint_url = fmt::format("http://{}:{}", gateway, bound->port());
    }
    auto opened =
        Node::open(node_options, clock, **store, registry_source.manifests(), registry_source.blobs(), io, sink);
    if (!opened) {
      logLine("cannot start the real agent: " + opened.error().message +
              " (berthd --agent fake runs without containers)");
      return 1;
    }
    node = std::move(*opened);
    if (!gateway.empty() && options.listen_host != "0.0.0.0") {
      task_side_server = std::make_unique<http::Server>(io, front_door);
      if (auto task_bound = task_side_server->listen(gateway, bound->port()); !task_bound)
        logLine("tasks cannot reach the API: " + task_bound.error().message);
    }
  }
  if (node)
    task_iam =
        std::make_unique<TaskIamAgent>(node->agent(), iam, ssm, node->credentials(), task_credentials_key, clock);
  agent::Agent& agent = task_iam ? static_cast<agent::Agent&>(*task_iam) : static_cast<agent::Agent&>(*fake_agent);
  ecs.attachAgent(&agent);
  if (task_iam) task_iam->recover(ecs);

  // DNS (src/dns/) answers Cloud Map's namespaces from the snapshots it
  // publishes and forwards other names. Declared in this order so that the
  // server's threads are gone before the forwarder.
  CloudMapZoneSource dns_zones(cloud_map.dnsView());
  std::unique_ptr<dns::Forwarder> dns_forwarder;
  std::unique_ptr<dns::Resolver> dns_resolver;
  std::unique_ptr<dns::DnsServer> dns_server;
  std::unique_ptr<dns::DnsServer> dns_vpc_server;  // on the subnets' .2, for tasks (real agent)
  if (options.dns_listen != "off") {
    std::vector<std::string> upstreams = options.dns_upstreams;
    if (upstreams.empty()) upstreams = dns::readResolvConf("/etc/resolv.conf");
    if (upstreams == std::vector<std::string>{"off"}) upstreams.clear();
    dns::ForwarderOptions forwarder_options;
    forwarder_options.upstreams = upstreams;
    dns_forwarder = std::make_unique<dns::Forwarder>(forwarder_options);
    if (auto ok = dns_forwarder->start(); !ok) {
      logLine("DNS: " + ok.error().message);
      return 1;
    }
    dns::ResolverOptions resolver_options;
    resolver_options.ns_ipv4 = options.dns_listen.substr(0, options.dns_listen.rfind(':'));
    resolver_options.forward = dns_forwarder->enabled();
    dns_resolver = std::make_unique<dns::Resolver>(dns_zones, resolver_options);
    dns::DnsServerOptions dns_options;
    dns_options.listen = {options.dns_listen};
    dns_options.udp_threads = options.dns_threads;
    dns_server = std::make_unique<dns::DnsServer>(*dns_resolver, dns_forwarder.get(), dns_options);
    auto dns_bound = dns_server->start();
    if (dns_bound) {
      std::string dns_endpoint = fmt::format("{}:{}", dns_bound->front().address, dns_bound->front().port);
      if (auto ok = writeFileAtomically(options.data_dir / "dns-endpoint", dns_endpoint + "\n"); !ok) {
        logLine(ok.error().message);
        return 1;
      }
      logLine(fmt::format("DNS on {} (udp, tcp), forwarding to {}", dns_endpoint,
                          upstreams.empty() ? "nobody" : fmt::format("{}", fmt::join(upstreams, ", "))));
    } else {
      // Not fatal: a second berthd on the machine (tests, benchmarks) finds
      // the default port taken and still serves the API.
      logLine("DNS: " + dns_bound.error().message + "; running without DNS (see --dns-listen)");
      dns_server.reset();
    }
  }
  if (dns_resolver && node) {
    // Tasks' resolv.conf names their subnet's .2 (the VPC resolver).
    std::vector<std::string> subnet_cidrs;
    for (const auto& subnet : network->subnets) subnet_cidrs.push_back(subnet.cidr);
    auto host_netlink = agent::net::MnlNetlink::open();
    auto vpc_listen = host_netlink ? addVpcResolverAddresses(**host_netlink, options.bridge, subnet_cidrs)
                                   : Result<std::vector<std::string>>(std::unexpected(host_netlink.error()));
    if (vpc_listen && !vpc_listen->empty()) {
      dns::DnsServerOptions vpc_options;
      vpc_options.listen = *vpc_listen;
      vpc_options.udp_threads = 1;
      dns_vpc_server = std::make_unique<dns::DnsServer>(*dns_resolver, dns_forwarder.get(), vpc_options);
      if (auto vpc_bound = dns_vpc_server->start(); vpc_bound) {
        logLine(fmt::format("DNS for tasks on {} (udp, tcp)", fmt::join(*vpc_listen, ", ")));
      } else {
        logLine("DNS for tasks: " + vpc_bound.error().message);
        dns_vpc_server.reset();
      }
    } else if (!vpc_listen) {
      logLine("DNS for tasks: " + vpc_listen.error().message);
    }
  }
  ecr_api_options.proxy_endpoint = endpoint;  // before any I/O thread runs
  if (auto ok = writeFileAtomically(options.data_dir / "endpoint", endpoint + "\n"); !ok) {
    logLine(ok.error().message);
    return 1;
  }
  logLine(fmt::format("listening on {} (region {}, account {}, auth {}, agent {}, data {})", endpoint, options.region,
                      options.account_id, options.auth ? "sigv4" : "off", agent.name(), options.data_dir.string()));

  // Periodic work. What runs on the control clock runs --time-scale times
  // as often; the rest keeps its real-time period.
  auto control_period = [scale = options.time_scale](std::chrono::milliseconds period) {
    return std::max(std::chrono::milliseconds(20),
                    std::chrono::milliseconds(static_cast<int64_t>(static_cast<double>(period.count()) / scale)));
  };
  using std::chrono::milliseconds, std::chrono::minutes, std::chrono::hours;
  // The scheduler: services reconcile, old stopped tasks are forgotten.
  asio::steady_timer tick_timer(control_io);
  every(tick_timer, control_period(milliseconds(1000)), [&ecs] { ecs.tick(); });
  // Alarm evaluation and metric expiry.
  asio::steady_timer cloudwatch_timer(control_io);
  every(cloudwatch_timer, control_period(milliseconds(10000)), [&cloudwatch] { cloudwatch.tick(); });
  // Scheduled scaling actions.
  asio::steady_timer autoscaling_timer(control_io);
  every(autoscaling_timer, control_period(milliseconds(5000)), [&autoscaling] { autoscaling.tick(); });
  // Task usage: rates over real time between samples, minutes on the
  // control clock; `usage_buffer` keeps its storage from round to round.
  usage::UsageMetrics usage_metrics(ecs, cloudwatch);
  std::vector<agent::TaskUsage> usage_buffer;
  asio::steady_timer usage_timer(control_io);
  every(usage_timer, std::max(control_period(options.usage_sample_interval), milliseconds(50)),
        [&agent, &usage_metrics, &control_clock, &usage_buffer] {
          agent.sampleUsage(usage_buffer);
          usage_metrics.sample(control_clock.now(), std::chrono::steady_clock::now(), usage_buffer);
        });
  // Unreferenced blobs (deletes also sweep at once).
  asio::steady_timer gc_timer(control_io);
  every(gc_timer, hours(1), [&ecr] {
    if (auto stats = ecr.collectGarbage(); !stats) logLine("blob garbage collection: " + stats.error().message);
  });
  // Finished Cloud Map operations past their retention.
  asio::steady_timer operations_timer(control_io);
  every(operations_timer, hours(1), [&cloud_map] { cloud_map.tick(); });
  // KMS keys whose deletion window has passed.
  asio::steady_timer kms_timer(control_io);
  every(kms_timer, minutes(1), [&kms] { kms.tick(); });
  // STS sessions past their retention.
  asio::steady_timer sessions_timer(control_io);
  every(sessions_timer, minutes(1), [&iam] { iam.tick(); });
  // Task role credentials near their end are issued again.
  asio::steady_timer task_credentials_timer(control_io);
  if (task_iam) every(task_credentials_timer, minutes(1), [&task_iam] { task_iam->refresh(); });
  // Log segments past their group's retention.
  auto retention_strand = asio::make_strand(logs_pool);
  asio::steady_timer retention_timer(retention_strand);
  every(retention_timer, minutes(1), [&log_store] { (*log_store)->enforceRetention(); });

  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](boost::system::error_code, int signo) {
    logLine(fmt::format("signal {}: stopping", signo));
    server.stop();
    if (task_side_server) task_side_server->stop();
    io.stop();
  });

  auto control_guard = asio::make_work_guard(control_io);
  std::thread control_thread([&control_io] { control_io.run(); });
  std::vector<std::thread> io_threads;
  for (int i = 1; i < options.io_threads; ++i) io_threads.emplace_back([&io] { io.run(); });
  io.run();
  for (auto& t : io_threads) t.join();
  if (dns_server) dns_server->stop();
  if (dns_vpc_server) dns_vpc_server->stop();
  if (dns_forwarder) dns_forwarder->stop();
  logs_api.stopLiveTails();  // their timers would keep logs_pool from joining
  // The control thread keeps running until the node is gone (image pulls
  // wait on it), but no longer calls the agent.
  std::promise<void> detached;
  asio::post(control_io, [&] {
    tick_timer.cancel();
    gc_timer.cancel();
    operations_timer.cancel();
    kms_timer.cancel();
    cloudwatch_timer.cancel();
    autoscaling_timer.cancel();
    usage_timer.cancel();
    sessions_timer.cancel();
    task_credentials_timer.cancel();
    asio::post(retention_strand, [&retention_timer] { retention_timer.cancel(); });
    ecs.detachAgent();
    detached.set_value();
  });
  detached.get_future().wait();
  node.reset();
  control_guard.reset();
  control_io.stop();
  control_thread.join();
  logs_pool.join();
  std::filesystem::remove(options.data_dir / "endpoint", fs_error);
  std::filesystem::remove(options.data_dir / "dns-endpoint", fs_error);
  logLine("stopped");
  return 0;
}

}  // namespace berth::daemon
