// Task network set-up cost on the real kernel (needs root):
//
//   BM_TaskNetworkPrepareCleanup  prepare() + cleanup() of one task: netns
//                                 pinned, veth with the peer made in the
//                                 netns, lo/eth0 up, address, two routes;
//                                 then all of it removed. Counters split the
//                                 two halves.
//   BM_TaskNetworkPrepareDeferredCleanup  the same, but "cleanup" only
//                                 removes the pin and the lease
//   BM_VethPeerCreatedInNetns     one RTM_NEWLINK creating the peer inside
//                                 the namespace (what berth does)
//   BM_VethCreatedThenMoved       create both ends in the host, then move
//                                 the peer (what `ip link set netns` does)
//   BM_NetnsCreateRemove          unshare + bind mount + umount + unlink
//
// Each run makes its own bridge (bb<hex>), its own 10.x.0.0/16 that no host
// route touches, and a temporary directory, and removes them. No traffic is
// sent anywhere.
//
//   build/bin/netns_bench --benchmark_repetitions=5 --benchmark_report_aggregates_only
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <benchmark/benchmark.h>

#include "agent/network/ipam.h"
#include "agent/network/netlink.h"
#include "agent/network/netns.h"
#include "agent/network/task_network.h"
#include "common/random.h"

namespace berth::agent::net {
namespace {

namespace fs = std::filesystem;
using Clock = std::chrono::steady_clock;

// A 10.x.0.0/16 that overlaps no route in /proc/net/route.
Ipv4Prefix freeCidr() {
  std::ifstream in("/proc/net/route");
  std::string line;
  std::vector<Ipv4Prefix> taken;
  std::getline(in, line);
  while (std::getline(in, line)) {
    std::istringstream f(line);
    std::string iface, dest, gw, flags, ref, use, metric, mask;
    if (!(f >> iface >> dest >> gw >> flags >> ref >> use >> metric >> mask)) continue;
    int len = __builtin_popcount(static_cast<uint32_t>(std::stoul(mask, nullptr, 16)));
    if (len > 0) taken.push_back({Ipv4Address::fromNetworkOrder(static_cast<uint32_t>(std::stoul(dest, nullptr, 16))), len});
  }
  while (true) {
    Ipv4Prefix c{Ipv4Address{(10u << 24) | (static_cast<uint32_t>(1 + randomBelow(254)) << 16)}, 16};
    bool clash = false;
    for (const auto& t : taken) clash = clash || c.overlaps(t);
    if (!clash) return c;
  }
}

// Everything a benchmark needs, removed on destruction.
struct Sandbox {
  fs::path dir;
  std::unique_ptr<MnlNetlink> host;
  LinuxNetns netns;
  std::string bridge = "bb" + randomHex(4);
  std::string prefix = "v" + randomHex(1);

  bool ok(benchmark::State& state) {
    if (geteuid() != 0) {
      state.SkipWithError("needs root (netns, veth, bridges)");
      return false;
    }
    char tmpl[] = "/tmp/berth-netbench-XXXXXX";
    if (!::mkdtemp(tmpl)) {
      state.SkipWithError("mkdtemp failed");
      return false;
    }
    dir = tmpl;
    auto nl = MnlNetlink::open();
    if (!nl) {
      state.SkipWithError(nl.error().message.c_str());
      return false;
    }
    host = std::move(*nl);
    return true;
  }

  ~Sandbox() {
    if (host) {
      if (auto links = host->links()) {
        for (const auto& l : *links) {
          if (l.name == bridge || (l.kind == "veth" && l.name.starts_with(prefix))) (void)host->deleteLink(l.index);
        }
      }
    }
    if (!dir.empty()) {
      std::error_code ec;
      for (auto it = fs::recursive_directory_iterator(dir, ec); !ec && it != fs::recursive_directory_iterator();
           it.increment(ec)) {
        if (it->is_regular_file(ec)) (void)netns.remove(it->path());
      }
      fs::remove_all(dir, ec);
    }
  }
};

void BM_TaskNetworkPrepareCleanup(benchmark::State& state) {
  Sandbox box;
  if (!box.ok(state)) return;
  Ipv4Prefix vpc = freeCidr();
  Ipv4Prefix subnet{vpc.network(), 20};
  MemoryIpamStore store;
  Ipam ipam(vpc, store);
  TaskNetworkConfig config;
  config.bridge = box.bridge;
  config.vpc = vpc;
  config.subnets = {subnet};
  config.tasks_dir = box.dir / "tasks";
  config.veth_prefix = box.prefix;
  TaskNetwork network(config, *box.host, box.netns, ipam);
  if (auto up = network.setUpBridge(); !up) {
    state.SkipWithError(up.error().message.c_str());
    return;
  }
  double prepare_us = 0, cleanup_us = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    std::string id = "task" + std::to_string(n++);
    auto t0 = Clock::now();
    auto attachment = network.prepare(id, subnet);
    auto t1 = Clock::now();
    if (!attachment) {
      state.SkipWithError(attachment.error().message.c_str());
      break;
    }
    if (auto s = network.cleanup(id); !s) {
      state.SkipWithError(s.error().message.c_str());
      break;
    }
    auto t2 = Clock::now();
    prepare_us += std::chrono::duration<double, std::micro>(t1 - t0).count();
    cleanup_us += std::chrono::duration<double, std::micro>(t2 - t1).count();
  }
  state.counters["prepare_us"] = benchmark::Counter(prepare_us, benchmark::Counter::kAvgIterations);
  state.counters["cleanup_us"] = benchmark::Counter(cleanup_us, benchmark::Counter::kAvgIterations);
  (void)network.removeBridge();
}
BENCHMARK(BM_TaskNetworkPrepareCleanup)->Unit(benchmark::kMicrosecond)->UseRealTime();

// What cleanup() would cost if it left the veth to the kernel: remove the
// pin and the lease only; the namespace's destruction (asynchronous, batched
// across namespaces by the kernel) takes the veth pair with it.
void BM_TaskNetworkPrepareDeferredCleanup(benchmark::State& state) {
  Sandbox box;
  if (!box.ok(state)) return;
  Ipv4Prefix vpc = freeCidr();
  Ipv4Prefix subnet{vpc.network(), 20};
  MemoryIpamStore store;
  Ipam ipam(vpc, store);
  TaskNetworkConfig config;
  config.bridge = box.bridge;
  config.vpc = vpc;
  config.subnets = {subnet};
  config.tasks_dir = box.dir / "tasks";
  config.veth_prefix = box.prefix;
  TaskNetwork network(config, *box.host, box.netns, ipam);
  if (auto up = network.setUpBridge(); !up) {
    state.SkipWithError(up.error().message.c_str());
    return;
  }
  double cleanup_us = 0;
  uint64_t n = 0;
  for (auto _ : state) {
    std::string id = "task" + std::to_string(n++);
    if (auto a = network.prepare(id, subnet); !a) {
      state.SkipWithError(a.error().message.c_str());
      break;
    }
    auto t1 = Clock::now();
    (void)box.netns.remove(network.netnsPath(id));
    (void)ipam.release(id);
    cleanup_us += std::chrono::duration<double, std::micro>(Clock::now() - t1).count();
  }
  state.counters["cleanup_us"] = benchmark::Counter(cleanup_us, benchmark::Counter::kAvgIterations);
  (void)network.removeBridge();
}
BENCHMARK(BM_TaskNetworkPrepareDeferredCleanup)->Unit(benchmark::kMicrosecond)->UseRealTime();

// Creates a veth whose peer ends up in a fresh namespace, either made there
// (in_place) or created in the host and moved. Only that step is timed.
void vethIntoNetns(benchmark::State& state, bool in_place) {
  Sandbox box;
  if (!box.ok(state)) return;
  std::string host_name = box.prefix + "host";
  std::string peer_name = box.prefix + "peer";
  uint64_t n = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::path path = box.dir / ("ns" + std::to_string(n++));
    auto ns = box.netns.create(path);
    if (!ns) {
      state.SkipWithError(ns.error().message.c_str());
      break;
    }
    VethSpec spec;
    spec.name = host_name;
    spec.peer_name = in_place ? "eth0" : peer_name;
    spec.peer_netns_fd = in_place ? ns->fd.get() : -1;
    state.ResumeTiming();

    Status made = box.host->createVeth(spec);
    if (made && !in_place) {
      auto peer = box.host->linkIndex(peer_name);
      made = peer ? box.host->moveToNetns(*peer, ns->fd.get()) : Status(std::unexpected(peer.error()));
    }

    state.PauseTiming();
    if (!made) {
      state.SkipWithError(made.error().message.c_str());
      break;
    }
    if (auto idx = box.host->linkIndex(host_name)) (void)box.host->deleteLink(*idx);
    ns->fd.reset();
    (void)box.netns.remove(path);
    state.ResumeTiming();
  }
}

void BM_VethPeerCreatedInNetns(benchmark::State& state) { vethIntoNetns(state, true); }
void BM_VethCreatedThenMoved(benchmark::State& state) { vethIntoNetns(state, false); }
BENCHMARK(BM_VethPeerCreatedInNetns)->Unit(benchmark::kMicrosecond)->UseRealTime();
BENCHMARK(BM_VethCreatedThenMoved)->Unit(benchmark::kMicrosecond)->UseRealTime();

void BM_NetnsCreateRemove(benchmark::State& state) {
  Sandbox box;
  if (!box.ok(state)) return;
  uint64_t n = 0;
  for (auto _ : state) {
    fs::path path = box.dir / ("ns" + std::to_string(n++));
    auto ns = box.netns.create(path);
    if (!ns) {
      state.SkipWithError(ns.error().message.c_str());
      break;
    }
    ns->fd.reset();
    (void)box.netns.remove(path);
  }
}
BENCHMARK(BM_NetnsCreateRemove)->Unit(benchmark::kMicrosecond)->UseRealTime();

}  // namespace
}  // namespace berth::agent::net

BENCHMARK_MAIN();
