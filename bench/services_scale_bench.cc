// Issue 6's scale test: N services x T tasks (default 1,000 x 10) on the fake
// agent converge, then a deployment across all of them completes.
//
// In process: the ECS control plane (Ecs) on the store berthd uses (SQLite,
// synchronous=FULL, in a temporary directory; --store memory to see what
// the fsyncs cost), the fake agent and a FakeClock moved 1 s per pass, as
// berthd's 1 s tick timer would. Agent events are delivered after each
// tick(), as the control executor would run them.
//
// Measures, for each pass (tick() plus the events it caused): wall and CPU
// time; the heap (mallinfo2) and RSS growth per task, with the fake agent's
// own share taken out; and what a pass costs when nothing changed against
// one where one service started a new deployment. Prints a JSON summary.
//
// Usage: services_scale_bench [--services N] [--tasks T] [--store sqlite|memory]
//                             [--data-dir DIR] [--idle-passes K]
#include <malloc.h>
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <ctime>
#include <deque>
#include <filesystem>
#include <fstream>
#include <memory>
#include <string>
#include <vector>

#include <boost/json.hpp>

#include "agent/fake_agent.h"
#include "common/clock.h"
#include "common/json.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "store/store.h"

namespace {

namespace bj = boost::json;
using namespace berth;

double cpuSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

double wallSeconds() {
  timespec ts{};
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) * 1e-9;
}

int64_t heapBytes() { return static_cast<int64_t>(mallinfo2().uordblks); }

int64_t rssBytes() {
  std::ifstream in("/proc/self/statm");
  int64_t size = 0, resident = 0;
  in >> size >> resident;
  return resident * sysconf(_SC_PAGESIZE);
}

double median(std::vector<double> v) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  size_t n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

double maxOf(const std::vector<double>& v) { return v.empty() ? 0 : *std::max_element(v.begin(), v.end()); }

double mean(const std::vector<double>& v) {
  double sum = 0;
  for (double x : v) sum += x;
  return v.empty() ? 0 : sum / static_cast<double>(v.size());
}

struct Pass {
  double wall = 0, cpu = 0;
};

struct Options {
  int services = 1000;
  int tasks = 10;
  std::string store = "sqlite";
  std::string data_dir;
  int idle_passes = 130;  // more than a minute: includes pruneStopped's scan
};

class Bench {
 public:
  explicit Bench(Options o) : o_(std::move(o)) {}

  int run() {
    if (!openStore()) return 1;
    auto network = control::loadOrCreateNetwork(*store_, "us-east-1", "172.31.0.0/16");
    if (!network) return fail("network: " + network.error().message);
    network_ = *network;
    ecs_ = std::make_unique<ecs::Ecs>(ecs::EcsConfig{}, *store_, clock_, network_);
    if (!ecs_->load()) return fail("load");
    agent_ =
        std::make_unique<agent::FakeAgent>(clock_, [this](agent::TaskEvent e) { events_.push_back(std::move(e)); });
    ecs_->attachAgent(agent_.get());

    call("CreateCluster", R"({"clusterName":"scale"})");
    for (const char* tag : {"1.36", "1.37"})
      call("RegisterTaskDefinition", std::string(R"({"family":"web","networkMode":"awsvpc",
          "requiresCompatibilities":["FARGATE"],"cpu":"256","memory":"512",
          "containerDefinitions":[{"name":"app","image":"busybox:)") +
                                         tag + R"(","essential":true}]})");
    if (failed_) return 1;
    malloc_trim(0);
    int64_t heap0 = heapBytes(), rss0 = rssBytes();

    // 1. Create every service; each CreateService launches its tasks at once.
    double w = wallSeconds(), c = cpuSeconds();
    std::string subnets;
    for (size_t i = 0; i < network_.subnets.size(); ++i) subnets += (i ? ",\"" : "\"") + network_.subnets[i].id + "\"";
    for (int i = 0; i < o_.services; ++i) {
      call("CreateService", R"({"cluster":"scale","serviceName":")" + name(i) +
                                R"(","taskDefinition":"web:1","desiredCount":)" + std::to_string(o_.tasks) +
                                R"(,"launchType":"FARGATE","deploymentConfiguration":{"deploymentCircuitBreaker":)"
                                R"({"enable":true,"rollback":true}},"networkConfiguration":{"awsvpcConfiguration":)"
                                R"({"subnets":[)" +
                                subnets + "]}}}");
      drain();
      if (failed_) return 1;
    }
    Pass create{wallSeconds() - w, cpuSeconds() - c};
    auto converge1 = converge("web:1");
    if (failed_) return 1;
    malloc_trim(0);
    int64_t heap1 = heapBytes(), rss1 = rssBytes();
    int64_t live_tasks = static_cast<int64_t>(ecs_->taskCount());
    // The documents behind those bytes, as the API returns them.
    auto listed = call("ListTasks", R"({"cluster":"scale","serviceName":")" + name(0) + R"("})");
    size_t task_json = 0, service_json = 0;
    int64_t task_tree = 0;
    if (!failed_ && !listed.at("taskArns").as_array().empty()) {
      auto described = call("DescribeTasks", R"({"cluster":"scale","tasks":[)" +
                                                 bj::serialize(listed.at("taskArns").as_array()[0]) + "]}");
      std::string text = bj::serialize(described.at("tasks").as_array()[0]);
      task_json = text.size();
      // The same document as a boost::json tree, as Ecs keeps it.
      int64_t before = heapBytes();
      auto tree = std::make_unique<bj::value>(bj::parse(text));
      task_tree = heapBytes() - before;
      auto svc = call("DescribeServices", R"({"cluster":"scale","services":[")" + name(0) + R"("]})");
      service_json = bj::serialize(svc.at("services").as_array()[0]).size();
    }

    // 2. What a pass costs with nothing to do, and with one service's new
    // deployment to make (every other service as before).
    std::vector<double> idle_cpu, idle_wall, one_cpu, one_wall;
    for (int k = 0; k < o_.idle_passes; ++k) {
      Pass p = pass();
      idle_cpu.push_back(p.cpu);
      idle_wall.push_back(p.wall);
    }
    // The whole cost of one service's new deployment (forceNewDeployment):
    // the UpdateService call, the agent events it causes and the passes
    // until it is COMPLETED; and the passes alone.
    std::vector<double> change_cpu, change_wall;
    for (int k = 0; k < 5; ++k) {
      double cw = wallSeconds(), cc = cpuSeconds();
      call("UpdateService", R"({"cluster":"scale","service":")" + name(k) + R"(","forceNewDeployment":true})");
      drain();
      for (int guard = 0; guard < 20 && !completed(name(k), ""); ++guard) {
        Pass p = pass();
        one_cpu.push_back(p.cpu);
        one_wall.push_back(p.wall);
      }
      change_cpu.push_back(cpuSeconds() - cc);
      change_wall.push_back(wallSeconds() - cw);
    }

    // 3. A deployment across every service: UpdateService to web:2.
    w = wallSeconds();
    c = cpuSeconds();
    for (int i = 0; i < o_.services; ++i) {
      call("UpdateService", R"({"cluster":"scale","service":")" + name(i) + R"(","taskDefinition":"web:2"})");
      drain();
    }
    Pass update{wallSeconds() - w, cpuSeconds() - c};
    auto converge2 = converge("web:2");
    if (failed_) return 1;
    malloc_trim(0);
    int64_t heap2 = heapBytes(), rss2 = rssBytes();
    int64_t tasks_after_deploy = static_cast<int64_t>(ecs_->taskCount());

    // 4. The fake agent's share of the heap: what freeing it gives back.
    ecs_->detachAgent();
    agent_.reset();
    malloc_trim(0);
    int64_t heap_no_agent = heapBytes();
    int64_t agent_bytes = heap2 - heap_no_agent;

    double load[3] = {0, 0, 0};
    getloadavg(load, 3);
    int64_t n = static_cast<int64_t>(o_.services) * o_.tasks;
    bj::object out{
        {"services", o_.services},
        {"tasks_per_service", o_.tasks},
        {"store", o_.store},
        {"cpus", sysconf(_SC_NPROCESSORS_ONLN)},
        {"loadavg_at_end", bj::array{load[0], load[1], load[2]}},
        {"create", phase(create)},
        {"converge", converge1.json},
        {"live_tasks_after_converge", live_tasks},
        {"task_json_bytes", task_json},
        {"task_tree_heap_bytes", task_tree},
        {"service_json_bytes_converged", service_json},
        {"idle_pass", bj::object{{"passes", idle_cpu.size()},
                                 {"cpu_ms_median", median(idle_cpu) * 1e3},
                                 {"cpu_ms_mean", mean(idle_cpu) * 1e3},
                                 {"cpu_ms_max", maxOf(idle_cpu) * 1e3},
                                 {"wall_ms_median", median(idle_wall) * 1e3}}},
        {"one_service_deploying_pass", bj::object{{"passes", one_cpu.size()},
                                                  {"cpu_ms_median", median(one_cpu) * 1e3},
                                                  {"cpu_ms_max", maxOf(one_cpu) * 1e3}}},
        {"one_service_deployment_total", bj::object{{"cpu_ms_median", median(change_cpu) * 1e3},
                                                    {"wall_ms_median", median(change_wall) * 1e3},
                                                    {"note",
                                                     "UpdateService + events + passes until COMPLETED; "
                                                     "includes one DescribeServices per pass"}}},
        {"update_all", phase(update)},
        {"deploy_all", converge2.json},
        {"tasks_known_after_deploy", tasks_after_deploy},
        {"memory",
         bj::object{
             {"heap_bytes_per_task_converged", static_cast<double>(heap1 - heap0) / static_cast<double>(n)},
             {"rss_bytes_per_task_converged", static_cast<double>(rss1 - rss0) / static_cast<double>(n)},
             {"heap_bytes_after_deploy", heap2 - heap0},
             {"control_plane_heap_bytes_per_task_converged_est",
              static_cast<double>(heap1 - heap0 - agent_bytes) / static_cast<double>(n)},
             {"fake_agent_heap_bytes", agent_bytes},
             {"control_plane_heap_bytes_per_live_task",
              static_cast<double>(heap_no_agent - heap0) / static_cast<double>(n)},
             {"control_plane_heap_bytes_per_known_task",
              static_cast<double>(heap_no_agent - heap0) / static_cast<double>(tasks_after_deploy)},
             {"rss_bytes_after_deploy", rss2 - rss0},
         }},
    };
    std::printf("%s\n", bj::serialize(out).c_str());
    ecs_.reset();
    store_.reset();
    if (!o_.data_dir.empty() && made_dir_) std::filesystem::remove_all(o_.data_dir);
    return 0;
  }

 private:
  struct Convergence {
    bj::object json;
  };

  static std::string name(int i) { return "svc-" + std::to_string(i); }

  int fail(const std::string& why) {
    std::fprintf(stderr, "services_scale_bench: %s\n", why.c_str());
    failed_ = true;
    return 1;
  }

  bool openStore() {
    if (o_.store == "memory") {
      store_ = store::makeMemoryStore();
      return true;
    }
    if (o_.data_dir.empty()) {
      std::string tmpl = (std::filesystem::temp_directory_path() / "berth-scale-XXXXXX").string();
      if (!mkdtemp(tmpl.data())) return fail("mkdtemp") == 0;
      o_.data_dir = tmpl;
      made_dir_ = true;
    }
    auto s = store::openSqliteStore(std::filesystem::path(o_.data_dir) / "state.db");  // synchronous=FULL
    if (!s) return fail("store: " + s.error().message) == 0;
    store_ = std::move(*s);
    return true;
  }

  bj::object call(std::string_view op, const std::string& input) {
    auto r = ecs_->invoke(op, bj::parse(input).as_object(), ecs::CallContext{"arn:aws:iam::000000000000:root", "b"});
    if (!r) {
      fail(std::string(op) + ": " + r.error().aws_type + " " + r.error().message);
      return {};
    }
    return r->is_object() ? r->as_object() : bj::object{};
  }

  void drain() {
    while (!events_.empty()) {
      auto e = std::move(events_.front());
      events_.pop_front();
      ecs_->onTaskEvent(e);
    }
  }

  // One scheduler pass as berthd makes it every second: tick(), then the
  // agent's events it caused (the fake agent answers at once).
  Pass pass() {
    clock_.advance(std::chrono::seconds(1));
    double w = wallSeconds(), c = cpuSeconds();
    ecs_->tick();
    drain();
    return {wallSeconds() - w, cpuSeconds() - c};
  }

  // Whether the service has one deployment, COMPLETED, on `td` (any when
  // empty), running its desired count.
  bool completed(const std::string& service, std::string_view td) {
    auto out = call("DescribeServices", R"({"cluster":"scale","services":[")" + service + R"("]})");
    if (failed_) return false;
    return done(out.at("services").as_array()[0].as_object(), td);
  }

  static bool done(const bj::object& s, std::string_view td) {
    const auto& deps = s.at("deployments").as_array();
    if (deps.size() != 1 || json::stringOr(deps[0].as_object(), "rolloutState") != "COMPLETED") return false;
    if (json::getInt(s, "runningCount") != json::getInt(s, "desiredCount")) return false;
    return td.empty() || json::stringOr(s, "taskDefinition").ends_with(td);
  }

  // Passes until every service is done on `td` (checked between passes,
  // untimed, ten services per DescribeServices as the API allows).
  Convergence converge(std::string_view td) {
    std::vector<double> cpu, wall;
    double total_cpu = 0, total_wall = 0;
    int passes = 0;
    auto all_done = [&] {
      for (int i = 0; i < o_.services; i += 10) {
        std::string names;
        for (int j = i; j < std::min(i + 10, o_.services); ++j) names += (j > i ? ",\"" : "\"") + name(j) + "\"";
        auto out = call("DescribeServices", R"({"cluster":"scale","services":[)" + names + "]}");
        if (failed_) return true;
        for (const auto& s : out.at("services").as_array())
          if (!done(s.as_object(), td)) return false;
      }
      return true;
    };
    while (!all_done()) {
      if (passes > 600) {
        fail("no convergence after 600 passes");
        break;
      }
      Pass p = pass();
      ++passes;
      cpu.push_back(p.cpu);
      wall.push_back(p.wall);
      total_cpu += p.cpu;
      total_wall += p.wall;
    }
    return {bj::object{{"passes", passes},
                       {"total_cpu_s", total_cpu},
                       {"total_wall_s", total_wall},
                       {"pass_cpu_ms_median", median(cpu) * 1e3},
                       {"pass_cpu_ms_max", maxOf(cpu) * 1e3},
                       {"pass_wall_ms_median", median(wall) * 1e3},
                       {"pass_wall_ms_max", maxOf(wall) * 1e3}}};
  }

  static bj::object phase(const Pass& p) { return {{"wall_s", p.wall}, {"cpu_s", p.cpu}}; }

  Options o_;
  bool made_dir_ = false;
  bool failed_ = false;
  std::unique_ptr<store::Store> store_;
  control::NetworkInventory network_;
  FakeClock clock_;
  std::deque<agent::TaskEvent> events_;
  std::unique_ptr<agent::FakeAgent> agent_;
  std::unique_ptr<ecs::Ecs> ecs_;
};

}  // namespace

int main(int argc, char** argv) {
  Options o;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() -> std::string {
      if (i + 1 >= argc) {
        std::fprintf(stderr, "%s needs a value\n", a.c_str());
        std::exit(2);
      }
      return argv[++i];
    };
    if (a == "--services")
      o.services = std::stoi(value());
    else if (a == "--tasks")
      o.tasks = std::stoi(value());
    else if (a == "--store")
      o.store = value();
    else if (a == "--data-dir")
      o.data_dir = value();
    else if (a == "--idle-passes")
      o.idle_passes = std::stoi(value());
    else {
      std::fprintf(stderr,
                   "usage: %s [--services N] [--tasks T] [--store sqlite|memory] [--data-dir DIR] [--idle-passes K]\n",
                   argv[0]);
      return a == "--help" || a == "-h" ? 0 : 2;
    }
  }
  if (o.store != "sqlite" && o.store != "memory") {
    std::fprintf(stderr, "--store is sqlite or memory\n");
    return 2;
  }
  return Bench(o).run();
}
