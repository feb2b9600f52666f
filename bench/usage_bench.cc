// The cost of sampling task usage (issue 9): the agent's side
// (agent/usage_probes.h: one pread of each of a task's cgroup and network
// counter files) over N real task cgroups, and the control plane's side
// (control/usage/usage_metrics.h) over N fake-agent tasks, paced like
// berthd's sampling timer. Reports the CPU time of one sampling round
// (median, min, max over the rounds) and what that costs at 1 Hz as a share
// of one core; the goal is under 2 % for 1,000 tasks.
//
//   build/bin/usage_bench                        # root: both parts, 1,000 tasks
//   build/bin/usage_bench --tasks 1000 --rounds 15 --interval-ms 1000
//   build/bin/usage_bench --control-only         # no root needed
//
// The task cgroups (made with the agent's own TaskCgroups, limits and all)
// have no processes: a cgroup's files cost the same to read either way,
// bar memory.stat's walk over child cgroups (one per container). Each task
// reads loopback's statistics as its veth's. The cgroups live under
// /sys/fs/cgroup/.../berth-usage-bench-<pid> and are removed at the end.
#include <fcntl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <deque>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>
#include <boost/json.hpp>

#include "agent/fake_agent.h"
#include "agent/runtime/cgroup.h"
#include "agent/usage_probes.h"
#include "control/cloudwatch/cloudwatch.h"
#include "control/ecs/ecs.h"
#include "control/network.h"
#include "control/usage/usage_metrics.h"
#include "store/store.h"

namespace {

using namespace berth;
namespace fs = std::filesystem;
namespace bj = boost::json;

struct Args {
  int tasks = 1000;
  int rounds = 15;
  int interval_ms = 1000;
  bool control_only = false;
};

double threadCpuSeconds() {
  timespec ts{};
  ::clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

// Runs `round` every interval and prints the CPU time per round.
template <typename F>
void measure(const char* what, const Args& args, F&& round) {
  std::vector<double> cpu_us, wall_us;
  round();  // warm-up: first touches, allocations
  auto next = std::chrono::steady_clock::now();
  for (int i = 0; i < args.rounds; ++i) {
    next += std::chrono::milliseconds(args.interval_ms);
    std::this_thread::sleep_until(next);
    auto wall0 = std::chrono::steady_clock::now();
    double cpu0 = threadCpuSeconds();
    round();
    cpu_us.push_back((threadCpuSeconds() - cpu0) * 1e6);
    wall_us.push_back(std::chrono::duration<double, std::micro>(std::chrono::steady_clock::now() - wall0).count());
  }
  auto stats = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return std::tuple{v[v.size() / 2], v.front(), v.back()};
  };
  auto [cpu_med, cpu_min, cpu_max] = stats(cpu_us);
  auto [wall_med, wall_min, wall_max] = stats(wall_us);
  fmt::print("{}: {} tasks, {} rounds every {} ms\n", what, args.tasks, args.rounds, args.interval_ms);
  double cpu_mean = 0;
  for (double v : cpu_us) cpu_mean += v / static_cast<double>(cpu_us.size());
  fmt::print("  CPU per round   median {:.0f} us  [min {:.0f}, max {:.0f}]  mean {:.0f} us  ({:.2f} us per task)\n",
             cpu_med, cpu_min, cpu_max, cpu_mean, cpu_med / args.tasks);
  fmt::print("  wall per round  median {:.0f} us  [min {:.0f}, max {:.0f}]\n", wall_med, wall_min, wall_max);
  fmt::print("  at 1 Hz: {:.3f} % of one core (median round; {:.3f} % by the mean)\n", cpu_med / 1e6 * 100.0,
             cpu_mean / 1e6 * 100.0);
}

int agentSide(const Args& args) {
  if (::geteuid() != 0) {
    fmt::print(stderr, "usage_bench: the agent side needs root (task cgroups); --control-only runs without\n");
    return 2;
  }
  const fs::path root = "/sys/fs/cgroup";
  auto version = agent::runtime::detectCgroupVersion(root);
  if (!version) {
    fmt::print(stderr, "usage_bench: {}\n", version.error().message);
    return 2;
  }
  rlimit nofile{};
  ::getrlimit(RLIMIT_NOFILE, &nofile);
  if (nofile.rlim_cur < static_cast<rlim_t>(args.tasks) * 5 + 100) {
    nofile.rlim_cur = std::min<rlim_t>(nofile.rlim_max, static_cast<rlim_t>(args.tasks) * 5 + 100);
    ::setrlimit(RLIMIT_NOFILE, &nofile);
  }
  std::string parent = fmt::format("berth-usage-bench-{}", ::getpid());
  agent::runtime::TaskCgroups cgroups(root, *version, parent);
  agent::UsageProbes probes;
  int status = 0;
  auto setup0 = std::chrono::steady_clock::now();
  std::vector<std::string> ids;
  for (int i = 0; i < args.tasks && status == 0; ++i) {
    std::string id = fmt::format("{:032x}", i);
    if (auto ok = cgroups.create(agent::runtime::TaskLimits{id, 256, 512, 0}); !ok) {
      fmt::print(stderr, "usage_bench: cgroup {}: {}\n", id, ok.error().message);
      status = 1;
      break;
    }
    ids.push_back(id);
    if (auto ok = probes.add("arn:aws:ecs:us-east-1:000000000000:task/bench/" + id, cgroups.usageFiles(id), "lo");
        !ok) {
      fmt::print(stderr, "usage_bench: probe {}: {}\n", id, ok.error().message);
      status = 1;
    }
  }
  if (status == 0) {
    fmt::print("agent side: {} task cgroups ({}) made and opened in {:.0f} ms\n", args.tasks,
               *version == agent::runtime::CgroupVersion::kV2 ? "cgroup v2" : "cgroup v1",
               std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - setup0).count());
    std::vector<agent::TaskUsage> out;
    size_t seen = 0;
    measure("UsageProbes::sample", args, [&] {
      probes.sample(out);
      seen = out.size();
    });
    if (seen != static_cast<size_t>(args.tasks)) {
      fmt::print(stderr, "usage_bench: a round saw {} of {} tasks\n", seen, args.tasks);
      status = 1;
    }
  }
  for (const auto& id : ids) {
    probes.remove("arn:aws:ecs:us-east-1:000000000000:task/bench/" + id);
    if (auto ok = cgroups.remove(id); !ok) fmt::print(stderr, "usage_bench: remove {}: {}\n", id, ok.error().message);
  }
  if (auto ok = cgroups.removeParent(); !ok) fmt::print(stderr, "usage_bench: {}\n", ok.error().message);
  return status;
}

int controlSide(const Args& args) {
  auto store = store::makeMemoryStore();
  auto network = control::loadOrCreateNetwork(*store, "us-east-1", "172.31.0.0/16");
  if (!network) return 1;
  FakeClock clock;
  ecs::Ecs ecs(ecs::EcsConfig{}, *store, clock, *network);
  (void)ecs.load();
  std::deque<agent::TaskEvent> events;
  agent::FakeAgent agent(clock, [&events](agent::TaskEvent e) { events.push_back(std::move(e)); });
  ecs.attachAgent(&agent);
  cloudwatch::CloudWatch cw(cloudwatch::CloudWatchConfig{}, *store, clock);
  (void)cw.load();
  ecs::CallContext ctx{"arn:aws:iam::000000000000:root", "bench"};
  auto call = [&](std::string_view op, const std::string& json) {
    auto r = ecs.invoke(op, bj::parse(json).as_object(), ctx);
    while (!events.empty()) {
      ecs.onTaskEvent(events.front());
      events.pop_front();
    }
    return r.has_value();
  };
  call("CreateCluster", R"({"clusterName":"bench","settings":[{"name":"containerInsights","value":"enabled"}]})");
  call("RegisterTaskDefinition", R"({"family":"web","networkMode":"awsvpc","requiresCompatibilities":["FARGATE"],
      "cpu":"256","memory":"512","containerDefinitions":[{"name":"app","image":"nginx","essential":true}]})");
  std::string net = R"({"awsvpcConfiguration":{"subnets":[")" + network->subnets[0].id + R"("]}})";
  // Services of 10 tasks (desired count is capped per call: create, then tick).
  for (int s = 0; s < args.tasks / 10; ++s)
    call("CreateService", fmt::format(R"({{"cluster":"bench","serviceName":"svc{}","taskDefinition":"web",
        "desiredCount":10,"launchType":"FARGATE","networkConfiguration":{}}})",
                                      s, net));
  for (int i = 0; i < 20 && ecs.taskCount() < static_cast<size_t>(args.tasks / 10 * 10); ++i) {
    ecs.tick();
    while (!events.empty()) {
      ecs.onTaskEvent(events.front());
      events.pop_front();
    }
  }
  agent.setCpuLoad("", 0.1);
  agent.setMemoryUsage("", 100 << 20);
  usage::UsageMetrics metrics(ecs, cw);
  std::vector<agent::TaskUsage> out;
  auto steady0 = std::chrono::steady_clock::now();
  // The control clock advances a second per round: the rounds measured are
  // the steady ones (a minute closes every 60); a close is measured apart.
  fmt::print("control side: {} fake-agent tasks in {} services\n", ecs.taskCount(), args.tasks / 10);
  measure("FakeAgent::sampleUsage + UsageMetrics::sample", args, [&] {
    clock.advance(std::chrono::seconds(1));
    agent.sampleUsage(out);
    metrics.sample(clock.now(), steady0 + (clock.now() - WallTime{}), out);
  });
  // One minute close on its own.
  while (cloudwatch::epochSeconds(clock.now()) % 60 != 59) {
    clock.advance(std::chrono::seconds(1));
    agent.sampleUsage(out);
    metrics.sample(clock.now(), steady0 + (clock.now() - WallTime{}), out);
  }
  clock.advance(std::chrono::seconds(1));
  agent.sampleUsage(out);
  uint64_t before = metrics.publishedCount();
  double cpu0 = threadCpuSeconds();
  metrics.sample(clock.now(), steady0 + (clock.now() - WallTime{}), out);
  double close_cpu = (threadCpuSeconds() - cpu0) * 1e6;
  fmt::print("  a minute's close: {:.0f} us CPU, {} data points published\n", close_cpu,
             metrics.publishedCount() - before);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  Args args;
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto value = [&]() { return i + 1 < argc ? std::atoi(argv[++i]) : 0; };
    if (a == "--tasks")
      args.tasks = value();
    else if (a == "--rounds")
      args.rounds = value();
    else if (a == "--interval-ms")
      args.interval_ms = value();
    else if (a == "--control-only")
      args.control_only = true;
    else {
      fmt::print(stderr, "usage: usage_bench [--tasks N] [--rounds N] [--interval-ms MS] [--control-only]\n");
      return 2;
    }
  }
  if (args.tasks <= 0 || args.rounds <= 0 || args.interval_ms < 0) return 2;
  int status = 0;
  if (!args.control_only) status = agentSide(args);
  if (status == 0) status = controlSide(args);
  return status;
}
