// Cloud Map's read path for the DNS server (control/servicediscovery/dns_view.h
// and daemon/dns_zones.h), in process: what one DNS query costs before
// the packet is written, while Cloud Map keeps publishing.
//
//   BM_SnapshotLookup/threads:N   DnsView::snapshot() + DnsSnapshot::lookup()
//       of a service name, from N threads at once (the shared_ptr's atomic
//       load and reference count are the contended part).
//   BM_ZoneSourceSnapshot/threads:N   CloudMapZoneSource::snapshot() (what
//       the DNS server calls) while nothing changes: the cached conversion.
//   BM_Publish/instances:K   CloudMap registering one more instance in a
//       zone of K: the writer's cost of a change (store commit on a memory
//       store + snapshot rebuild).
//
//   build/bin/dns_view_bench
#include <string>

#include <benchmark/benchmark.h>
#include <boost/json.hpp>

#include "common/clock.h"
#include "control/servicediscovery/cloud_map.h"
#include "daemon/dns_zones.h"
#include "store/store.h"

namespace {

using namespace berth;
using namespace berth::servicediscovery;

struct World {
  std::unique_ptr<store::Store> store = store::makeMemoryStore();
  FakeClock clock;
  CloudMap map{CloudMapConfig{}, *store, clock};
  std::string svc;
  int next = 0;

  World(int services, int instances) {
    (void)map.load();
    auto op =
        map.invoke("CreatePrivateDnsNamespace", boost::json::parse(R"({"Name":"dev.local","Vpc":"v"})").as_object());
    auto got = map.invoke("GetOperation", boost::json::object{{"OperationId", op->at("OperationId")}});
    std::string ns(got->at("Operation").at("Targets").at("NAMESPACE").as_string());
    for (int s = 0; s < services; ++s) {
      auto created = map.invoke("CreateService",
                                boost::json::parse(R"({"Name":"svc)" + std::to_string(s) + R"(","NamespaceId":")" + ns +
                                                   R"(","DnsConfig":{"DnsRecords":[{"Type":"A","TTL":10}]}})")
                                    .as_object());
      svc = std::string(created->at("Service").at("Id").as_string());
      for (int i = 0; i < instances; ++i) add();
    }
  }
  void add() {
    int n = next++;
    std::string ip =
        "10." + std::to_string((n >> 16) & 255) + "." + std::to_string((n >> 8) & 255) + "." + std::to_string(n & 255);
    (void)map.invoke("RegisterInstance",
                     boost::json::parse(R"({"ServiceId":")" + svc + R"(","InstanceId":"i)" + std::to_string(n) +
                                        R"(","Attributes":{"AWS_INSTANCE_IPV4":")" + ip + R"("}})")
                         .as_object());
  }
};

World& world() {
  static World w(20, 8);
  return w;
}

void BM_SnapshotLookup(benchmark::State& state) {
  const DnsView& view = world().map.dnsView();
  for (auto _ : state) {
    auto snap = view.snapshot();
    auto hit = snap->lookup("svc7.dev.local");
    benchmark::DoNotOptimize(hit);
  }
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_SnapshotLookup)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_ZoneSourceSnapshot(benchmark::State& state) {
  static daemon::CloudMapZoneSource zones(world().map.dnsView());
  for (auto _ : state) benchmark::DoNotOptimize(zones.snapshot());
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_ZoneSourceSnapshot)->Threads(1)->Threads(2)->Threads(4)->UseRealTime();

void BM_Publish(benchmark::State& state) {
  World w(1, static_cast<int>(state.range(0)));
  for (auto _ : state) w.add();
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_Publish)->ArgName("instances")->Arg(10)->Arg(100)->Arg(1000)->Iterations(200);

}  // namespace

BENCHMARK_MAIN();
