// task_churn: the churn part of bench/tasks.sh (part 3 of tasks_bench.py's
// bench_churn) without Python. boto3 costs ~23 ms of client CPU per task
// (RunTask, ~10 DescribeTasks, StopTask), which on a 2-core machine caps the
// rate the benchmark can measure far below what berthd sustains; this client
// costs a small fraction of that, so the number is berthd's.
//
// Same algorithm as bench_churn: --clients threads, each with its own
// kept-alive connection (cli::HttpClient), keep --in-flight / --clients tasks
// started: RunTask (count = what is missing), DescribeTasks of its tasks, a
// StopTask for each task seen RUNNING, the task forgotten once STOPPED (a
// stopCode other than UserInitiated is an error); then sleep --poll-ms. After
// the window no new task is started and the live ones are drained (an error
// if some are not STOPPED 120 s after it). Requests are JSON 1.1, signed with
// the CLI's signer (cli::postSignedJson, as cli::EcrClient uses) with the
// credentials of cli::findCredentials: --data-dir, else the AWS_* variables.
//
// Output: one JSON object on stdout with the keys bench_churn returns
// (started, running, stopped, *_in_window, calls, rates, start_latency,
// stop_latency, client_cpus...) plus per-operation call latencies. Any error
// (a failed call, a task that stopped by itself) is printed on stderr and
// the exit status is 1.
//
// --go-on-stdin: the threads are started and then wait for a line on stdin
// before the window begins, so the caller can read berthd's CPU at the same
// instant.
//
// Threads: --clients workers sharing nothing but the window's end (set
// before they start) and their results (merged after join).
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <iostream>
#include <latch>
#include <map>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>
#include <boost/json.hpp>

#include "cli/ecr_client.h"
#include "cli/http_client.h"
#include "common/clock.h"
#include "common/json.h"

namespace {

namespace bj = boost::json;
using namespace berth;
using SteadyTime = std::chrono::steady_clock::time_point;

constexpr std::string_view kEcsTargetPrefix = "AmazonEC2ContainerServiceV20141113.";
constexpr auto kDrainTimeout = std::chrono::seconds(120);
constexpr size_t kDescribeMax = 100;  // DescribeTasks' limit per call

SteadyTime now() { return std::chrono::steady_clock::now(); }
double seconds(SteadyTime::duration d) { return std::chrono::duration<double>(d).count(); }

double cpuSeconds() {
  rusage r{};
  getrusage(RUSAGE_SELF, &r);
  return static_cast<double>(r.ru_utime.tv_sec + r.ru_stime.tv_sec) +
         static_cast<double>(r.ru_utime.tv_usec + r.ru_stime.tv_usec) / 1e6;
}

struct Options {
  std::string endpoint;
  std::string data_dir;  // credentials from <data-dir>/credentials; else the AWS_* chain
  std::string region;
  std::string cluster;
  std::string task_definition;
  std::string launch_type = "FARGATE";
  std::string network_configuration;  // JSON, as RunTask's networkConfiguration
  int clients = 4;
  int in_flight = 10;
  double seconds = 20;
  double poll_ms = 5;
  bool go_on_stdin = false;
};

// One JSON 1.1 ECS call at a time over one connection; the request is built
// and signed exactly as cli::EcrClient::call does for ECR.
class EcsCaller {
 public:
  EcsCaller(const cli::Endpoint& endpoint, const cli::AwsCredentials& credentials, const std::string& region)
      : http_(endpoint), credentials_(credentials), region_(region) {}

  Result<bj::object> call(std::string_view operation, const bj::object& input) {
    cli::HttpResponse r = BERTH_TRY(cli::postSignedJson(http_, credentials_, region_, "ecs",
                                                         fmt::format("{}{}", kEcsTargetPrefix, operation),
                                                         json::serialize(input)));
    std::optional<bj::value> doc = json::parse(r.body);
    if (r.status != 200) {
      std::string type, message = r.body;
      if (doc && doc->is_object()) {
        type = json::stringOr(doc->as_object(), "__type");
        if (size_t hash = type.rfind('#'); hash != std::string::npos) type = type.substr(hash + 1);
        message = json::stringOr(doc->as_object(), "message", json::stringOr(doc->as_object(), "Message"));
      }
      return fail(ErrorCode::kInternal,
                  fmt::format("{}: HTTP {}: {}: {}", operation, r.status, type.empty() ? "?" : type, message), type);
    }
    if (!doc || !doc->is_object())
      return fail(ErrorCode::kInternal, fmt::format("{}: the answer is not JSON", operation));
    return std::move(doc->as_object());
  }

 private:
  cli::HttpClient http_;
  cli::AwsCredentials credentials_;
  std::string region_;
};

// What one worker saw; merged after the run.
struct Tally {
  int64_t started = 0, running = 0, stopped = 0, running_in_window = 0, stopped_in_window = 0, calls = 0;
  std::vector<double> start_lat, stop_lat;
  std::map<std::string, std::vector<double>> call_lat;  // operation -> seconds per call
  std::vector<std::string> errors;

  void merge(Tally&& o) {
    started += o.started, running += o.running, stopped += o.stopped;
    running_in_window += o.running_in_window, stopped_in_window += o.stopped_in_window, calls += o.calls;
    start_lat.insert(start_lat.end(), o.start_lat.begin(), o.start_lat.end());
    stop_lat.insert(stop_lat.end(), o.stop_lat.begin(), o.stop_lat.end());
    for (auto& [op, v] : o.call_lat) call_lat[op].insert(call_lat[op].end(), v.begin(), v.end());
    for (auto& e : o.errors) errors.push_back(std::move(e));
  }
};

struct LiveTask {
  SteadyTime sent;                      // RunTask sent
  std::optional<SteadyTime> running;    // first seen RUNNING (or STOPPED)
  std::optional<SteadyTime> stop_sent;  // StopTask sent
};

class Worker {
 public:
  Worker(const Options& o, const cli::Endpoint& endpoint, const cli::AwsCredentials& credentials,
         const std::string& region, const bj::value& network, int per)
      : o_(o), ecs_(endpoint, credentials, region), network_(network), per_(per) {}

  // Runs until the window has ended and every task it started is STOPPED.
  // Stops at the first error (recorded in the tally), like bench_churn.
  void run(SteadyTime stop_at) {
    if (auto st = loop(stop_at); !st) tally_.errors.push_back(st.error().message);
  }
  Tally& tally() { return tally_; }

 private:
  Result<bj::object> timed(std::string_view op, const bj::object& input) {
    SteadyTime t0 = now();
    auto r = ecs_.call(op, input);
    tally_.call_lat[std::string(op)].push_back(seconds(now() - t0));
    ++tally_.calls;
    return r;
  }

  Status runTasks(int count) {
    SteadyTime t0 = now();
    bj::object out = BERTH_TRY(timed("RunTask", {{"cluster", o_.cluster},
                                                 {"taskDefinition", o_.task_definition},
                                                 {"launchType", o_.launch_type},
                                                 {"count", count},
                                                 {"networkConfiguration", network_}}));
    if (const bj::array* f = json::getArray(out, "failures"); f && !f->empty())
      return fail(ErrorCode::kInternal, "RunTask failures: " + json::serialize(*f));
    if (const bj::array* tasks = json::getArray(out, "tasks")) {
      for (const bj::value& t : *tasks) {
        if (!t.is_object()) continue;
        live_[json::stringOr(t.as_object(), "taskArn")] = LiveTask{t0, std::nullopt, std::nullopt};
        ++tally_.started;
      }
    }
    return {};
  }

  Status pollOnce(const std::vector<std::string>& arns, SteadyTime stop_at) {
    bj::array list;
    for (const auto& a : arns) list.emplace_back(a);
    bj::object out = BERTH_TRY(timed("DescribeTasks", {{"cluster", o_.cluster}, {"tasks", std::move(list)}}));
    if (const bj::array* f = json::getArray(out, "failures"); f && !f->empty())
      return fail(ErrorCode::kInternal, "DescribeTasks failures: " + json::serialize(*f));
    const bj::array* tasks = json::getArray(out, "tasks");
    if (!tasks) return {};
    for (const bj::value& v : *tasks) {
      if (!v.is_object()) continue;
      const bj::object& t = v.as_object();
      std::string arn = json::stringOr(t, "taskArn");
      auto it = live_.find(arn);
      if (it == live_.end()) continue;
      LiveTask& st = it->second;
      std::string last = json::stringOr(t, "lastStatus");
      if ((last == "RUNNING" || last == "STOPPED") && !st.running) {
        st.running = now();
        ++tally_.running;
        if (*st.running <= stop_at) ++tally_.running_in_window;
        tally_.start_lat.push_back(seconds(*st.running - st.sent));
      }
      if (last == "RUNNING" && !st.stop_sent) {
        BERTH_TRY(timed("StopTask", {{"cluster", o_.cluster}, {"task", arn}, {"reason", "churn"}}));
        st.stop_sent = now();
      }
      if (last == "STOPPED") {
        std::string code = json::stringOr(t, "stopCode");
        if (code != "UserInitiated")
          tally_.errors.push_back(
              fmt::format("{}: {}", code.empty() ? "None" : code, json::stringOr(t, "stoppedReason")));
        SteadyTime seen = now();
        ++tally_.stopped;
        if (st.stop_sent) tally_.stop_lat.push_back(seconds(seen - *st.stop_sent));
        if (seen <= stop_at) ++tally_.stopped_in_window;
        live_.erase(it);
      }
    }
    return {};
  }

  Status loop(SteadyTime stop_at) {
    const auto poll = std::chrono::duration<double, std::milli>(o_.poll_ms);
    while (now() < stop_at || !live_.empty()) {
      if (now() < stop_at && static_cast<int>(live_.size()) < per_)
        BERTH_TRY(runTasks(per_ - static_cast<int>(live_.size())));
      std::vector<std::string> arns;
      arns.reserve(live_.size());
      for (const auto& [arn, _] : live_) arns.push_back(arn);
      for (size_t i = 0; i < arns.size(); i += kDescribeMax) {
        std::vector<std::string> chunk(arns.begin() + i, arns.begin() + std::min(arns.size(), i + kDescribeMax));
        BERTH_TRY(pollOnce(chunk, stop_at));
      }
      std::this_thread::sleep_for(poll);
      if (now() > stop_at + kDrainTimeout)
        return fail(ErrorCode::kInternal,
                    fmt::format("{} tasks not stopped {} s after the window", live_.size(), kDrainTimeout.count()));
    }
    return {};
  }

  const Options& o_;
  EcsCaller ecs_;
  const bj::value& network_;
  int per_;
  std::unordered_map<std::string, LiveTask> live_;
  Tally tally_;
};

// Nearest-rank percentile, as tasks_bench.py's pct() (round half to even).
double pct(const std::vector<double>& sorted, double q) {
  long n = static_cast<long>(sorted.size());
  long k = std::max(0L, std::min(n - 1, static_cast<long>(std::nearbyint(q / 100 * n + 0.5)) - 1));
  return sorted[k];
}

bj::object dist(std::vector<double> xs) {
  bj::object d{{"n", xs.size()}};
  if (xs.empty()) {
    for (const char* k : {"p50", "p90", "p99", "max", "mean"}) d[k] = nullptr;
    return d;
  }
  std::sort(xs.begin(), xs.end());
  double sum = 0;
  for (double x : xs) sum += x;
  d["p50"] = pct(xs, 50), d["p90"] = pct(xs, 90), d["p99"] = pct(xs, 99);
  d["max"] = xs.back(), d["mean"] = sum / static_cast<double>(xs.size());
  return d;
}

}  // namespace

int main(int argc, char** argv) {
  Options o;
  CLI::App app{"task_churn: keeps tasks starting and stopping on berthd; one JSON object on stdout"};
  app.add_option("--endpoint", o.endpoint, "berthd's URL, http://HOST:PORT")->required();
  app.add_option("--data-dir", o.data_dir, "read berthd's <data-dir>/credentials (else AWS_ACCESS_KEY_ID...)");
  app.add_option("--region", o.region, "SigV4 region (default: AWS_REGION, AWS_DEFAULT_REGION, us-east-1)");
  app.add_option("--cluster", o.cluster, "cluster name or ARN")->required();
  app.add_option("--task-definition", o.task_definition, "family[:revision] or ARN")->required();
  app.add_option("--launch-type", o.launch_type)->capture_default_str();
  app.add_option("--network-configuration", o.network_configuration,
                 "RunTask's networkConfiguration, JSON ({\"awsvpcConfiguration\": {...}})");
  app.add_option("--clients", o.clients, "threads, one connection each")
      ->capture_default_str()
      ->check(CLI::Range(1, 256));
  app.add_option("--in-flight", o.in_flight, "tasks kept started in total")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  app.add_option("--seconds", o.seconds, "the window")->capture_default_str()->check(CLI::PositiveNumber);
  app.add_option("--poll-ms", o.poll_ms, "sleep between DescribeTasks rounds")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  app.add_flag("--go-on-stdin", o.go_on_stdin, "start the window when a line is read on stdin");
  CLI11_PARSE(app, argc, argv);

  auto endpoint = cli::parseEndpoint(o.endpoint);
  if (!endpoint) {
    std::cerr << "task_churn: --endpoint: " << endpoint.error().message << "\n";
    return 2;
  }
  bj::value network;
  if (!o.network_configuration.empty()) {
    auto parsed = json::parse(o.network_configuration);
    if (!parsed || !parsed->is_object()) {
      std::cerr << "task_churn: --network-configuration is not a JSON object\n";
      return 2;
    }
    network = std::move(*parsed);
  }
  cli::AwsCredentials creds = cli::findCredentials(o.data_dir);
  std::string region = o.region.empty() ? cli::defaultRegion() : o.region;
  int per = std::max(1, o.in_flight / o.clients);

  std::vector<std::unique_ptr<Worker>> workers;
  for (int i = 0; i < o.clients; ++i)
    workers.push_back(std::make_unique<Worker>(o, *endpoint, creds, region, network, per));

  // stop_at is written before the latch opens; the workers read it after.
  SteadyTime t_begin, stop_at;
  std::latch go(1);
  std::vector<std::thread> threads;
  for (auto& w : workers)
    threads.emplace_back([&go, &stop_at, &w] {
      go.wait();
      w->run(stop_at);
    });
  if (o.go_on_stdin) {
    std::string line;
    std::getline(std::cin, line);
  }
  double cpu0 = cpuSeconds();
  t_begin = now();
  stop_at = t_begin + std::chrono::duration_cast<SteadyTime::duration>(std::chrono::duration<double>(o.seconds));
  go.count_down();
  std::this_thread::sleep_until(stop_at);
  double cpu_w = cpuSeconds();  // the window only, as bench_churn (not the drain)
  for (auto& t : threads) t.join();
  SteadyTime end = now();

  Tally all;
  for (auto& w : workers) all.merge(std::move(w->tally()));
  bj::object res{
      {"client", "cpp"},
      {"started", all.started},
      {"running", all.running},
      {"stopped", all.stopped},
      {"stopped_in_window", all.stopped_in_window},
      {"running_in_window", all.running_in_window},
      {"errors", bj::array(all.errors.begin(), all.errors.end())},
      {"calls", all.calls},
      {"seconds", o.seconds},
      {"drain_seconds", seconds(end - stop_at)},
      {"rate_stopped", static_cast<double>(all.stopped_in_window) / o.seconds},
      {"rate_running", static_cast<double>(all.running_in_window) / o.seconds},
      {"rate_total_with_drain", static_cast<double>(all.stopped) / seconds(end - t_begin)},
      {"start_latency", dist(std::move(all.start_lat))},
      {"stop_latency", dist(std::move(all.stop_lat))},
      {"client_cpus", (cpu_w - cpu0) / o.seconds},
      {"client_cpu_per_task_ms", all.started ? (cpu_w - cpu0) * 1000 / static_cast<double>(all.started) : 0.0}};
  bj::object calls;
  for (auto& [op, v] : all.call_lat) calls[op] = dist(std::move(v));
  res["call_latency"] = std::move(calls);
  std::cout << json::serialize(res) << std::endl;
  if (!all.errors.empty()) {
    std::string msg;
    for (size_t i = 0; i < all.errors.size() && i < 5; ++i) msg += (i ? "; " : "") + all.errors[i];
    std::cerr << "task_churn: " << all.errors.size() << " error(s): " << msg << "\n";
    return 1;
  }
  return 0;
}
