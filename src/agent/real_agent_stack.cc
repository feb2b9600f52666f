#include "agent/real_agent_stack.h"

#include <boost/asio/thread_pool.hpp>

namespace berth::agent {

namespace {

Error context(const Error& e, const std::string& what) {
  Error out = e;
  out.message = what + ": " + e.message;
  return out;
}

}  // namespace

Result<std::unique_ptr<RealAgentStack>> RealAgentStack::open(const RealAgentStackOptions& options, const Clock& clock,
                                                             store::Store& store, image::ManifestSource& manifests,
                                                             image::BlobSource& blobs,
                                                             endpoints::TaskMetadataRegistry* metadata,
                                                             EventSink sink) {
  std::unique_ptr<RealAgentStack> s(new RealAgentStack());
  s->images_ = std::make_unique<image::ImageStore>(options.data_dir, manifests, blobs, s->mounter_);
  if (auto ok = s->images_->open(); !ok) return std::unexpected(context(ok.error(), "image store"));

  auto netlink = net::MnlNetlink::open();
  if (!netlink) return std::unexpected(context(netlink.error(), "netlink"));
  s->netlink_ = std::move(*netlink);

  auto vpc = net::Ipv4Prefix::parseNetwork(options.vpc_cidr);
  if (!vpc) return std::unexpected(context(vpc.error(), "VPC CIDR"));
  s->ipam_store_ = std::make_unique<StoreIpamStore>(store);
  s->ipam_ = std::make_unique<net::Ipam>(*vpc, *s->ipam_store_);
  if (auto ok = s->ipam_->recover(); !ok) return std::unexpected(context(ok.error(), "IPAM recovery"));

  net::TaskNetworkConfig nc;
  nc.bridge = options.bridge;
  nc.vpc = *vpc;
  for (const auto& cidr : options.subnet_cidrs) {
    auto subnet = net::Ipv4Prefix::parseNetwork(cidr);
    if (!subnet) return std::unexpected(context(subnet.error(), "subnet " + cidr));
    nc.subnets.push_back(*subnet);
  }
  nc.tasks_dir = options.data_dir / "tasks";
  nc.veth_prefix = options.veth_prefix;
  s->network_ = std::make_unique<net::TaskNetwork>(nc, *s->netlink_, s->netns_, *s->ipam_);
  if (auto ok = s->network_->setUpBridge(); !ok) return std::unexpected(context(ok.error(), "bridge " + nc.bridge));

  runtime::RuntimeOptions ro = options.runtime;
  ro.data_dir = options.data_dir;
  auto rt = runtime::makeOciRuntime(ro);
  if (!rt) return std::unexpected(context(rt.error(), "container runtime"));
  s->runtime_ = std::move(*rt);

  s->pool_ = std::make_unique<boost::asio::thread_pool>(static_cast<size_t>(std::max(1, options.worker_threads)));
  RealAgentConfig config;
  config.data_dir = options.data_dir;
  config.region = options.region;
  config.endpoint_url = options.endpoint_url;
  config.credentials_key = options.credentials_key;
  config.pids_limit = options.pids_limit;
  RealAgentDeps deps{clock, *s->images_, s->mounter_, *s->network_, *s->runtime_, s->pool_->get_executor(), metadata};
  deps.logs = options.log_store;
  s->agent_ = std::make_unique<RealAgent>(config, deps, std::move(sink));
  if (auto ok = s->agent_->recover(); !ok) return std::unexpected(context(ok.error(), "agent recovery"));
  return s;
}

RealAgentStack::~RealAgentStack() {
  if (pool_) {
    pool_->stop();
    pool_->join();
  }
  agent_.reset();
}

}  // namespace berth::agent
