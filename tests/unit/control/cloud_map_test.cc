// Cloud Map on a memory store and a fake clock: namespaces and their
// asynchronous operations, services, instances and discovery, the DNS
// snapshot, persistence, and ECS registering a service's tasks.
#include <atomic>
#include <deque>
#include <set>
#include <string>
#include <thread>

#include <gtest/gtest.h>

#include "agent/fake_agent.h"
#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "control/servicediscovery/cloud_map.h"
#include "control/servicediscovery/filters.h"
#include "daemon/dns_zones.h"
#include "store/store.h"

namespace berth::servicediscovery {
namespace {

namespace bj = boost::json;

class CloudMapTest : public ::testing::Test {
 protected:
  void SetUp() override { start(); }

  void start() {
    map_ = std::make_unique<CloudMap>(CloudMapConfig{}, *store_, clock_);
    ASSERT_TRUE(map_->load());
  }

  bj::object ok(std::string_view op, const std::string& input) {
    auto r = map_->invoke(op, bj::parse(input).as_object());
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r && r->is_object() ? r->as_object() : bj::object{};
  }

  std::string err(std::string_view op, const std::string& input) {
    auto r = map_->invoke(op, bj::parse(input).as_object());
    EXPECT_FALSE(r) << op << " succeeded";
    return r ? "" : r.error().aws_type;
  }

  std::string opStatus(const std::string& id) {
    auto o = ok("GetOperation", R"({"OperationId":")" + id + R"("})");
    return std::string(o["Operation"].as_object()["Status"].as_string());
  }

  // Creates private namespace `name`; returns its id.
  std::string privateNamespace(const std::string& name) {
    auto op = ok("CreatePrivateDnsNamespace", R"({"Name":")" + name + R"(","Vpc":"vpc-1"})");
    auto o = ok("GetOperation", R"({"OperationId":")" + std::string(op["OperationId"].as_string()) + R"("})");
    return std::string(o["Operation"].as_object()["Targets"].as_object()["NAMESPACE"].as_string());
  }

  std::string service(const std::string& ns, const std::string& name, const std::string& extra = "") {
    auto s = ok("CreateService", R"({"Name":")" + name + R"(","NamespaceId":")" + ns +
                                     R"(","DnsConfig":{"DnsRecords":[{"Type":"A","TTL":10},{"Type":"SRV","TTL":20}]})" +
                                     extra + "}");
    return std::string(s["Service"].as_object()["Id"].as_string());
  }

  void instance(const std::string& svc, const std::string& id, const std::string& ip, const std::string& more = "") {
    ok("RegisterInstance", R"({"ServiceId":")" + svc + R"(","InstanceId":")" + id +
                               R"(","Attributes":{"AWS_INSTANCE_IPV4":")" + ip + R"(","AWS_INSTANCE_PORT":"8000")" +
                               more + "}}");
  }

  std::set<std::string> discover(const std::string& extra = "") {
    auto r = ok("DiscoverInstances", R"({"NamespaceName":"dev.local","ServiceName":"backend")" + extra + "}");
    std::set<std::string> ids;
    for (const auto& i : r["Instances"].as_array()) ids.insert(std::string(i.at("InstanceId").as_string()));
    return ids;
  }

  std::unique_ptr<store::Store> store_ = store::makeMemoryStore();
  FakeClock clock_;
  std::unique_ptr<CloudMap> map_;
};

TEST_F(CloudMapTest, NamespaceOperationMovesThroughItsStatesOnTheClock) {
  auto op = ok("CreatePrivateDnsNamespace", R"({"Name":"dev.local","Vpc":"vpc-1","CreatorRequestId":"r1"})");
  std::string id(op["OperationId"].as_string());
  EXPECT_EQ(opStatus(id), "SUBMITTED");
  clock_.advance(std::chrono::milliseconds(500));
  EXPECT_EQ(opStatus(id), "PENDING");
  clock_.advance(std::chrono::milliseconds(600));
  EXPECT_EQ(opStatus(id), "SUCCESS");
  auto o = ok("GetOperation", R"({"OperationId":")" + id + R"("})")["Operation"].as_object();
  EXPECT_EQ(o["Type"], "CREATE_NAMESPACE");
  std::string ns(o["Targets"].as_object()["NAMESPACE"].as_string());
  EXPECT_TRUE(ns.starts_with("ns-"));

  auto n = ok("GetNamespace", R"({"Id":")" + ns + R"("})")["Namespace"].as_object();
  EXPECT_EQ(n["Name"], "dev.local");
  EXPECT_EQ(n["Type"], "DNS_PRIVATE");
  EXPECT_EQ(n["ServiceCount"], 0);
  EXPECT_EQ(n["Properties"].at("DnsProperties").at("SOA").at("TTL"), 15);

  EXPECT_EQ(err("CreatePrivateDnsNamespace", R"({"Name":"other.local","Vpc":"vpc-1","CreatorRequestId":"r1"})"),
            "DuplicateRequest");
  EXPECT_EQ(err("CreatePrivateDnsNamespace", R"({"Name":"DEV.local","Vpc":"vpc-1"})"), "NamespaceAlreadyExists");
  EXPECT_EQ(err("CreatePrivateDnsNamespace", R"({"Name":"bad..name","Vpc":"vpc-1"})"), "InvalidInput");
  EXPECT_EQ(err("GetNamespace", R"({"Id":"ns-missing"})"), "NamespaceNotFound");
  EXPECT_EQ(err("GetOperation", R"({"OperationId":"nope"})"), "OperationNotFound");

  auto list = ok("ListOperations", R"({"Filters":[{"Name":"TYPE","Values":["CREATE_NAMESPACE"]}]})");
  EXPECT_EQ(list["Operations"].as_array().size(), 1u);
}

TEST_F(CloudMapTest, ListNamespacesFiltersAndPages) {
  privateNamespace("dev.local");
  ok("CreateHttpNamespace", R"({"Name":"apps"})");
  ok("CreatePublicDnsNamespace", R"({"Name":"example.com"})");
  EXPECT_EQ(ok("ListNamespaces", "{}")["Namespaces"].as_array().size(), 3u);
  auto http = ok("ListNamespaces", R"({"Filters":[{"Name":"TYPE","Values":["HTTP"]}]})");
  ASSERT_EQ(http["Namespaces"].as_array().size(), 1u);
  EXPECT_EQ(http["Namespaces"].as_array()[0].at("Name"), "apps");
  auto dns =
      ok("ListNamespaces", R"({"Filters":[{"Name":"TYPE","Values":["DNS_PRIVATE","DNS_PUBLIC"],"Condition":"IN"}]})");
  EXPECT_EQ(dns["Namespaces"].as_array().size(), 2u);
  auto begins = ok("ListNamespaces", R"({"Filters":[{"Name":"NAME","Values":["dev"],"Condition":"BEGINS_WITH"}]})");
  EXPECT_EQ(begins["Namespaces"].as_array().size(), 1u);
  EXPECT_EQ(err("ListNamespaces", R"({"Filters":[{"Name":"TYPE","Values":["HTTP"],"Condition":"BEGINS_WITH"}]})"),
            "InvalidInput");
  auto page = ok("ListNamespaces", R"({"MaxResults":2})");
  EXPECT_EQ(page["Namespaces"].as_array().size(), 2u);
  auto rest =
      ok("ListNamespaces", R"({"MaxResults":2,"NextToken":")" + std::string(page["NextToken"].as_string()) + R"("})");
  EXPECT_EQ(rest["Namespaces"].as_array().size(), 1u);
  EXPECT_FALSE(rest.contains("NextToken"));
}

TEST_F(CloudMapTest, ServicesAndInstancesRefuseDeletionWhileInUse) {
  std::string ns = privateNamespace("dev.local");
  std::string svc = service(ns, "backend", R"(,"HealthCheckCustomConfig":{"FailureThreshold":1})");
  EXPECT_EQ(err("CreateService", R"({"Name":"Backend","NamespaceId":")" + ns +
                                     R"(","DnsConfig":{"DnsRecords":[{"Type":"A","TTL":10}]}})"),
            "ServiceAlreadyExists");
  EXPECT_EQ(err("CreateService",
                R"({"Name":"x","NamespaceId":")" + ns + R"(","DnsConfig":{"DnsRecords":[{"Type":"CNAME","TTL":10}]}})"),
            "InvalidInput");
  EXPECT_EQ(err("CreateService", R"({"Name":"x","NamespaceId":")" + ns + R"(","HealthCheckConfig":{"Type":"HTTP"}})"),
            "InvalidInput");
  EXPECT_EQ(err("CreateService", R"({"Name":"x","NamespaceId":"ns-nope"})"), "NamespaceNotFound");
  EXPECT_EQ(err("DeleteNamespace", R"({"Id":")" + ns + R"("})"), "ResourceInUse");
  instance(svc, "i-1", "10.0.0.1");
  EXPECT_EQ(err("RegisterInstance", R"({"ServiceId":")" + svc + R"(","InstanceId":"i-2","Attributes":{}})"),
            "InvalidInput");
  EXPECT_EQ(ok("GetService", R"({"Id":")" + svc + R"("})")["Service"].at("InstanceCount"), 1);
  EXPECT_EQ(err("DeleteService", R"({"Id":")" + svc + R"("})"), "ResourceInUse");
  ok("DeregisterInstance", R"({"ServiceId":")" + svc + R"(","InstanceId":"i-1"})");
  EXPECT_EQ(err("DeregisterInstance", R"({"ServiceId":")" + svc + R"(","InstanceId":"i-1"})"), "InstanceNotFound");
  ok("DeleteService", R"({"Id":")" + svc + R"("})");
  EXPECT_EQ(err("GetService", R"({"Id":")" + svc + R"("})"), "ServiceNotFound");
  ok("DeleteNamespace", R"({"Id":")" + ns + R"("})");
}

TEST_F(CloudMapTest, DiscoverInstancesFiltersByHealthAndAttributes) {
  std::string ns = privateNamespace("dev.local");
  std::string svc = service(ns, "backend", R"(,"HealthCheckCustomConfig":{})");
  instance(svc, "a", "10.0.0.1", R"(,"stage":"blue")");
  instance(svc, "b", "10.0.0.2", R"(,"stage":"green")");
  int64_t rev0 =
      ok("DiscoverInstancesRevision", R"({"NamespaceName":"dev.local","ServiceName":"backend"})")["InstancesRevision"]
          .as_int64();
  ok("UpdateInstanceCustomHealthStatus", R"({"ServiceId":")" + svc + R"(","InstanceId":"b","Status":"UNHEALTHY"})");
  int64_t rev1 =
      ok("DiscoverInstancesRevision", R"({"NamespaceName":"DEV.local","ServiceName":"Backend"})")["InstancesRevision"]
          .as_int64();
  EXPECT_GT(rev1, rev0);
  EXPECT_EQ(discover(), (std::set<std::string>{"a"}));  // HEALTHY by default
  EXPECT_EQ(discover(R"(,"HealthStatus":"ALL")"), (std::set<std::string>{"a", "b"}));
  EXPECT_EQ(discover(R"(,"HealthStatus":"UNHEALTHY")"), (std::set<std::string>{"b"}));
  EXPECT_EQ(discover(R"(,"HealthStatus":"ALL","QueryParameters":{"stage":"green"})"), (std::set<std::string>{"b"}));
  EXPECT_EQ(discover(R"(,"HealthStatus":"ALL","OptionalParameters":{"stage":"blue"})"), (std::set<std::string>{"a"}));
  EXPECT_EQ(discover(R"(,"HealthStatus":"ALL","OptionalParameters":{"stage":"none"})"),
            (std::set<std::string>{"a", "b"}));
  ok("UpdateInstanceCustomHealthStatus", R"({"ServiceId":")" + svc + R"(","InstanceId":"a","Status":"UNHEALTHY"})");
  EXPECT_EQ(discover(), (std::set<std::string>{}));
  EXPECT_EQ(discover(R"(,"HealthStatus":"HEALTHY_OR_ELSE_ALL")"), (std::set<std::string>{"a", "b"}));
  auto health = ok("GetInstancesHealthStatus", R"({"ServiceId":")" + svc + R"("})");
  EXPECT_EQ(health["Status"].at("a"), "UNHEALTHY");
  EXPECT_EQ(err("DiscoverInstances", R"({"NamespaceName":"nope.local","ServiceName":"backend"})"), "NamespaceNotFound");
  EXPECT_EQ(err("DiscoverInstances", R"({"NamespaceName":"dev.local","ServiceName":"nope"})"), "ServiceNotFound");

  std::string plain = service(ns, "plain");
  instance(plain, "p", "10.0.0.3");
  EXPECT_EQ(err("UpdateInstanceCustomHealthStatus",
                R"({"ServiceId":")" + plain + R"(","InstanceId":"p","Status":"UNHEALTHY"})"),
            "CustomHealthNotFound");
}

TEST_F(CloudMapTest, DnsSnapshotFollowsEveryChangeAndSurvivesARestart) {
  std::string ns = privateNamespace("Dev.Local");
  std::string svc = service(ns, "Backend", R"(,"HealthCheckCustomConfig":{})");
  instance(svc, "Task1", "10.0.0.1");
  auto snap = map_->dnsView().snapshot();
  auto hit = snap->lookup("backend.dev.local");
  ASSERT_TRUE(hit);
  ASSERT_NE(hit->service, nullptr);
  EXPECT_EQ(hit->zone->name, "dev.local");
  EXPECT_EQ(hit->service->record(DnsRecordType::kA)->ttl, 10u);
  EXPECT_EQ(hit->service->record(DnsRecordType::kSRV)->ttl, 20u);
  EXPECT_EQ(hit->service->record(DnsRecordType::kAAAA), nullptr);
  ASSERT_EQ(hit->service->instances.size(), 1u);
  EXPECT_EQ(hit->service->instances[0].ipv4, "10.0.0.1");
  EXPECT_EQ(hit->service->instances[0].port, 8000);
  auto inst = snap->lookup("task1.backend.dev.local");
  ASSERT_TRUE(inst);
  ASSERT_NE(inst->instance, nullptr);
  EXPECT_EQ(inst->instance->id, "Task1");
  EXPECT_TRUE(snap->lookup("dev.local")->apex);
  auto missing = snap->lookup("frontend.dev.local");
  ASSERT_TRUE(missing);
  EXPECT_EQ(missing->service, nullptr);
  EXPECT_FALSE(snap->lookup("example.com"));

  uint64_t rev = map_->dnsView().revision();
  ok("UpdateInstanceCustomHealthStatus", R"({"ServiceId":")" + svc + R"(","InstanceId":"Task1","Status":"UNHEALTHY"})");
  EXPECT_GT(map_->dnsView().revision(), rev);
  EXPECT_FALSE(map_->dnsView().snapshot()->lookup("backend.dev.local")->service->instances[0].healthy);
  EXPECT_TRUE(snap->lookup("backend.dev.local")->service->instances[0].healthy);  // the old one is unchanged

  start();  // a restart of berthd
  auto again = map_->dnsView().snapshot()->lookup("backend.dev.local");
  ASSERT_TRUE(again && again->service);
  ASSERT_EQ(again->service->instances.size(), 1u);
  EXPECT_FALSE(again->service->instances[0].healthy);
  EXPECT_EQ(ok("GetInstance", R"({"ServiceId":")" + svc + R"(","InstanceId":"Task1"})")["Instance"]
                .at("Attributes")
                .at("AWS_INSTANCE_IPV4"),
            "10.0.0.1");
}

TEST_F(CloudMapTest, TheDnsServerSeesTheViewThroughItsZoneSource) {
  daemon::CloudMapZoneSource zones(map_->dnsView());
  std::string ns = privateNamespace("dev.local");
  std::string svc = service(ns, "backend");
  auto first = zones.snapshot();
  ASSERT_EQ(first->zones.size(), 1u);
  EXPECT_EQ(first->zones[0].name, "dev.local");
  ASSERT_EQ(first->zones[0].services.size(), 1u);
  EXPECT_EQ(first->zones[0].services[0].name, "backend");
  EXPECT_EQ(first->zones[0].services[0].records.size(), 2u);
  EXPECT_EQ(zones.snapshot(), first);  // unchanged: the same conversion
  instance(svc, "t1", "10.0.0.9");
  auto second = zones.snapshot();
  EXPECT_NE(second->serial, first->serial);
  ASSERT_EQ(second->zones[0].services[0].instances.size(), 1u);
  EXPECT_EQ(second->zones[0].services[0].instances[0].ipv4, "10.0.0.9");
  EXPECT_EQ(second->zones[0].services[0].instances[0].port, 8000);
}

TEST_F(CloudMapTest, TagsOnNamespacesAndServices) {
  std::string ns = privateNamespace("dev.local");
  std::string arn = "arn:aws:servicediscovery:us-east-1:000000000000:namespace/" + ns;
  ok("TagResource", R"({"ResourceARN":")" + arn + R"(","Tags":[{"Key":"a","Value":"1"},{"Key":"b","Value":"2"}]})");
  ok("UntagResource", R"({"ResourceARN":")" + arn + R"(","TagKeys":["a"]})");
  auto tags = ok("ListTagsForResource", R"({"ResourceARN":")" + arn + R"("})")["Tags"].as_array();
  ASSERT_EQ(tags.size(), 1u);
  EXPECT_EQ(tags[0].at("Key"), "b");
  EXPECT_EQ(
      err("ListTagsForResource", R"({"ResourceARN":"arn:aws:servicediscovery:us-east-1:000000000000:service/srv-x"})"),
      "ResourceNotFoundException");
}

TEST_F(CloudMapTest, FinishedOperationsAreForgottenAfterTheirRetention) {
  auto op = ok("CreateHttpNamespace", R"({"Name":"apps"})");
  std::string id(op["OperationId"].as_string());
  clock_.advance(std::chrono::hours(24 * 6));
  map_->tick();
  EXPECT_EQ(opStatus(id), "SUCCESS");
  clock_.advance(std::chrono::hours(24 * 2));
  map_->tick();
  EXPECT_EQ(err("GetOperation", R"({"OperationId":")" + id + R"("})"), "OperationNotFound");
  start();
  EXPECT_EQ(err("GetOperation", R"({"OperationId":")" + id + R"("})"), "OperationNotFound");
}

TEST_F(CloudMapTest, AFailedCommitChangesNothing) {
  std::string ns = privateNamespace("dev.local");
  std::string svc = service(ns, "backend");
  store::FaultInjectingStore faulty(*store_);
  map_ = std::make_unique<CloudMap>(CloudMapConfig{}, faulty, clock_);
  ASSERT_TRUE(map_->load());
  uint64_t rev = map_->dnsView().revision();
  faulty.failCommitsFrom(1);
  auto r = map_->invoke(
      "RegisterInstance",
      bj::parse(R"({"ServiceId":")" + svc +
                R"(","InstanceId":"i","Attributes":{"AWS_INSTANCE_IPV4":"10.0.0.1","AWS_INSTANCE_PORT":"1"}})")
          .as_object());
  ASSERT_FALSE(r);
  EXPECT_EQ(map_->dnsView().revision(), rev);
  EXPECT_EQ(ok("ListOperations", "{}")["Operations"].as_array().size(), 1u);  // the namespace's only
  EXPECT_EQ(err("GetInstance", R"({"ServiceId":")" + svc + R"(","InstanceId":"i"})"), "InstanceNotFound");
  EXPECT_FALSE(map_->invoke("DeleteService", bj::parse(R"({"Id":")" + svc + R"("})").as_object()));
  faulty.clearFaults();
  EXPECT_EQ(ok("GetService", R"({"Id":")" + svc + R"("})")["Service"].at("InstanceCount"), 0);
}

TEST_F(CloudMapTest, ReadersOnOtherThreadsSeeWholeSnapshotsWhileCloudMapPublishes) {
  std::string ns = privateNamespace("dev.local");
  std::string svc = service(ns, "backend");
  std::atomic<bool> done{false};
  std::atomic<int> bad{0};
  auto read = [&] {
    size_t last = 0;
    while (!done.load()) {
      auto snap = map_->dnsView().snapshot();
      auto hit = snap->lookup("backend.dev.local");
      if (!hit || !hit->service) {
        ++bad;
        continue;
      }
      size_t n = hit->service->instances.size();
      if (n < last) ++bad;  // snapshots only move forward
      last = n;
      for (const auto& i : hit->service->instances)
        if (!snap->lookup(lower(i.id) + ".backend.dev.local")) ++bad;
    }
  };
  std::thread a(read), b(read);
  for (int i = 0; i < 200; ++i) instance(svc, "t" + std::to_string(i), "10.0.0." + std::to_string(i % 250 + 1));
  done = true;
  a.join();
  b.join();
  EXPECT_EQ(bad.load(), 0);
  EXPECT_EQ(map_->dnsView().snapshot()->lookup("backend.dev.local")->service->instances.size(), 200u);
}

// ECS registers a service's tasks in Cloud Map.
class EcsRegistrationTest : public CloudMapTest {
 protected:
  void SetUp() override {
    CloudMapTest::SetUp();
    network_ = *control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    ecs_ = std::make_unique<ecs::Ecs>(ecs::EcsConfig{}, *store_, clock_, network_);
    ASSERT_TRUE(ecs_->load());
    agent_ = std::make_unique<agent::FakeAgent>(
        clock_,
        [this](agent::TaskEvent e) {
          if (hold_health_ && e.phase == agent::TaskPhase::kRunning) {
            e.health_status = "UNKNOWN";
            for (auto& c : e.containers) c.health_status = "UNKNOWN";
          }
          events_.push_back(std::move(e));
        },
        agent::FakeAgent::Options{});
    ecs_->attachAgent(agent_.get());
    ecs_->setServiceRegistries(map_.get());
    ecsOk("CreateCluster", R"({"clusterName":"c1"})");
    ecsOk("RegisterTaskDefinition", R"({"family":"backend","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
        "cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox","essential":true,
        "portMappings":[{"containerPort":8000}]}]})");
  }

  void drain() {
    while (!events_.empty()) {
      auto e = std::move(events_.front());
      events_.pop_front();
      ecs_->onTaskEvent(e);
    }
  }

  bj::object ecsOk(std::string_view op, const std::string& input) {
    auto r = ecs_->invoke(op, bj::parse(input).as_object(), ecs::CallContext{"arn:aws:iam::000000000000:root", "r"});
    drain();
    EXPECT_TRUE(r) << op << ": " << (r ? "" : r.error().aws_type + " " + r.error().message);
    return r ? r->as_object() : bj::object{};
  }

  void tick() {
    ecs_->tick();
    drain();
  }

  // Create `backend` (2 tasks, registered in a fresh dev.local) on task
  // definition `family`; returns the Cloud Map service id.
  std::string createBackend(const std::string& family, int desired) {
    std::string ns = privateNamespace("dev.local");
    std::string svc = service(ns, "backend", R"(,"HealthCheckCustomConfig":{"FailureThreshold":1})");
    std::string registry = "arn:aws:servicediscovery:us-east-1:000000000000:service/" + svc;
    ecsOk("CreateService", R"({"cluster":"c1","serviceName":"backend","taskDefinition":")" + family +
                               R"(","desiredCount":)" + std::to_string(desired) +
                               R"(,"launchType":"FARGATE","serviceRegistries":[{"registryArn":")" + registry +
                               R"(","containerName":"app","containerPort":8000}],
        "networkConfiguration":{"awsvpcConfiguration":{"subnets":[")" +
                               network_.subnets[0].id + R"("]}}})");
    return svc;
  }

  size_t discovered(const std::string& health = "ALL") {
    return ok("DiscoverInstances", R"({"NamespaceName":"dev.local","ServiceName":"backend","HealthStatus":")" + health +
                                       R"("})")["Instances"]
        .as_array()
        .size();
  }

  control::NetworkInventory network_;
  bool hold_health_ = false;  // tasks report RUNNING with their health UNKNOWN
  std::deque<agent::TaskEvent> events_;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<ecs::Ecs> ecs_;
};

TEST_F(EcsRegistrationTest, RunningTasksAreRegisteredAndScaleInDeregistersBeforeTheStop) {
  createBackend("backend", 2);
  for (int i = 0; i < 3; ++i) tick();
  auto found = ok("DiscoverInstances", R"({"NamespaceName":"dev.local","ServiceName":"backend"})");
  ASSERT_EQ(found["Instances"].as_array().size(), 2u);
  auto attrs = found["Instances"].as_array()[0].at("Attributes").as_object();
  EXPECT_EQ(attrs["AWS_INSTANCE_PORT"], "8000");
  EXPECT_EQ(attrs["ECS_SERVICE_NAME"], "backend");
  EXPECT_EQ(attrs["ECS_CLUSTER_NAME"], "c1");
  EXPECT_EQ(attrs["ECS_TASK_DEFINITION_FAMILY"], "backend");
  EXPECT_EQ(attrs["REGION"], "us-east-1");
  EXPECT_TRUE(attrs["AWS_INSTANCE_IPV4"].as_string().starts_with("172.31."));
  EXPECT_FALSE(attrs["AVAILABILITY_ZONE"].as_string().empty());
  EXPECT_EQ(map_->dnsView().snapshot()->lookup("backend.dev.local")->service->instances.size(), 2u);

  // Scale to 0: the tasks leave Cloud Map when the scheduler decides to stop
  // them, before the agent reports them stopping.
  auto r =
      ecs_->invoke("UpdateService", bj::parse(R"({"cluster":"c1","service":"backend","desiredCount":0})").as_object(),
                   ecs::CallContext{});
  ASSERT_TRUE(r);
  ecs_->tick();  // no drain: the agent's stop events are not delivered yet
  EXPECT_EQ(ok("DiscoverInstances",
               R"({"NamespaceName":"dev.local","ServiceName":"backend","HealthStatus":"ALL"})")["Instances"]
                .as_array()
                .size(),
            0u);
  EXPECT_TRUE(map_->dnsView().snapshot()->lookup("backend.dev.local")->service->instances.empty());
  drain();
  auto ops = ok("ListOperations", R"({"Filters":[{"Name":"TYPE","Values":["DEREGISTER_INSTANCE"]}]})");
  EXPECT_EQ(ops["Operations"].as_array().size(), 2u);
}

TEST_F(EcsRegistrationTest, TasksLeaveTheRegistryTheyJoinedWhenTheServiceMovesToAnother) {
  std::string first = createBackend("backend", 1);
  for (int i = 0; i < 2; ++i) tick();
  EXPECT_EQ(discovered(), 1u);
  std::string ns = json::stringOr(ok("GetService", R"({"Id":")" + first + R"("})")["Service"].as_object(),
                                  "NamespaceId");
  std::string second = service(ns, "backend2");
  ecsOk("UpdateService", R"({"cluster":"c1","service":"backend","serviceRegistries":[{"registryArn":"arn:aws:servicediscovery:us-east-1:000000000000:service/)" +
                             second + R"(","containerName":"app","containerPort":8000}],"forceNewDeployment":true})");
  for (int i = 0; i < 6; ++i) tick();
  EXPECT_EQ(discovered(), 0u);  // the old task left backend
  auto moved = ok("DiscoverInstances", R"({"NamespaceName":"dev.local","ServiceName":"backend2"})");
  EXPECT_EQ(moved["Instances"].as_array().size(), 1u);
}

TEST_F(EcsRegistrationTest, CreateServiceChecksItsRegistries) {
  std::string network =
      R"("networkConfiguration":{"awsvpcConfiguration":{"subnets":[")" + network_.subnets[0].id + R"("]}})";
  auto create = [&](const std::string& registries) {
    return ecs_->invoke("CreateService",
                        bj::parse(R"({"cluster":"c1","serviceName":"s","taskDefinition":"backend","desiredCount":1,
                                     "serviceRegistries":)" +
                                  registries + "," + network + "}")
                            .as_object(),
                        ecs::CallContext{});
  };
  auto bad_format = create(R"([{"registryArn":"arn:aws:servicediscovery:us-east-1:000000000000:namespace/ns-1"}])");
  ASSERT_FALSE(bad_format);
  EXPECT_EQ(bad_format.error().aws_type, "InvalidParameterException");
  EXPECT_FALSE(create(R"([{"registryArn":"arn:aws:servicediscovery:us-east-1:000000000000:service/srv-none"}])"));
  std::string ns = privateNamespace("dev.local");
  std::string arn = "arn:aws:servicediscovery:us-east-1:000000000000:service/" + service(ns, "backend");
  auto both = create(R"([{"registryArn":")" + arn + R"(","port":80,"containerName":"app","containerPort":8000}])");
  ASSERT_FALSE(both);
  EXPECT_TRUE(both.error().message.starts_with("Specify a value for either 'port'"));
  EXPECT_TRUE(create(R"([{"registryArn":")" + arn + R"(","containerName":"app","containerPort":8000}])"));
}

TEST_F(EcsRegistrationTest, TasksWithHealthChecksAreRegisteredOnceHealthyAndLeaveWhenUnhealthy) {
  ecsOk("RegisterTaskDefinition", R"({"family":"checked","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
      "cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"busybox","essential":true,
      "healthCheck":{"command":["CMD-SHELL","true"]}}]})");
  hold_health_ = true;
  std::string svc = createBackend("checked", 1);
  for (int i = 0; i < 2; ++i) tick();
  auto arns = ecsOk("ListTasks", R"({"cluster":"c1","serviceName":"backend"})")["taskArns"].as_array();
  ASSERT_EQ(arns.size(), 1u);
  std::string task_arn(arns[0].as_string());
  EXPECT_EQ(discovered(), 0u);  // RUNNING, but not yet HEALTHY

  agent::TaskEvent e;
  e.task_arn = task_arn;
  e.phase = agent::TaskPhase::kRunning;
  e.at = clock_.now();
  e.health_status = "HEALTHY";
  ecs_->onTaskEvent(e);
  drain();
  EXPECT_EQ(discovered("HEALTHY"), 1u);

  // The health check fails: ECS stops the task, which leaves Cloud Map
  // before the agent is asked to stop it.
  e.health_status = "UNHEALTHY";
  ecs_->onTaskEvent(e);
  EXPECT_EQ(discovered(), 0u);
  auto r = map_->invoke("GetInstance", bj::parse(R"({"ServiceId":")" + svc + R"(","InstanceId":")" +
                                                 task_arn.substr(task_arn.rfind('/') + 1) + R"("})")
                                           .as_object());
  ASSERT_FALSE(r);
  EXPECT_EQ(r.error().aws_type, "InstanceNotFound");
}

}  // namespace
}  // namespace berth::servicediscovery
