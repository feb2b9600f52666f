#include "cli/stack_cmd.h"

#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <set>
#include <thread>

#include <fmt/format.h>
#include <fmt/ranges.h>

#include "cli/ecr_client.h"
#include "cli/http_client.h"
#include "cli/stack_progress.h"
#include "common/clock.h"
#include "common/json.h"
#include "stack/aws_api.h"
#include "stack/cost.h"
#include "stack/engine.h"
#include "stack/export.h"
#include "stack/render.h"
#include "stack/stack_file.h"

namespace berth::cli {
namespace {

namespace bj = boost::json;
namespace fs = std::filesystem;

// What every stack command works on: the resolved environment, an API
// client for the endpoint, and the state file.
struct Session {
  stack::Environment env;
  std::unique_ptr<stack::HttpAwsApi> api;
  std::string account;
  std::string state_path;
};

Result<stack::StackFile> loadFile(const StackFlags& f) {
  auto file = stack::loadStackFile(f.file);
  if (!file) return std::unexpected(file.error());
  if (f.env.empty())
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--env is required ({} has {})", f.file, fmt::join(file->environments, ", ")));
  return file;
}

Result<Session> openSession(const Connection& c, const StackFlags& f) {
  auto file = BERTH_TRY(loadFile(f));
  // The region first (the account is not known yet), then who we are.
  auto draft = BERTH_TRY(stack::resolve(file, f.env));
  Session s;
  bool aws_mode = c.endpoint == kAwsEndpoint;
  if (aws_mode) {
    // Real AWS: each service at its own https:// endpoint, with the caller's
    // own credentials (never berthd's root keys, never the anonymous ones).
    AwsCredentials credentials = findCredentials({});
    if (credentials.access_key_id == "AKIABERTHANONYMOUS00")
      return fail(ErrorCode::kInvalidArgument,
                  "--endpoint aws needs AWS credentials: AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and "
                  "AWS_SESSION_TOKEN), or a shared credentials file (AWS_SHARED_CREDENTIALS_FILE or "
                  "~/.aws/credentials, profile AWS_PROFILE)");
    s.api = std::make_unique<stack::HttpAwsApi>(std::move(credentials), draft.region);
  } else {
    auto endpoint = BERTH_TRY(parseEndpoint(c.endpoint));
    s.api = std::make_unique<stack::HttpAwsApi>(endpoint, findCredentials(c.data_dir), draft.region);
  }
  auto who = s.api->query("sts", "GetCallerIdentity", {});
  if (!who)
    return fail(who.error().code, aws_mode ? fmt::format("cannot reach AWS STS in {} as the caller ({})", draft.region,
                                                         who.error().message)
                                           : fmt::format("cannot reach {} as the caller ({}); is berthd running?",
                                                         c.endpoint, who.error().message));
  s.account = who->textAt("GetCallerIdentityResult/Account");
  s.env = BERTH_TRY(stack::resolve(file, f.env, s.account));
  fs::path dir = fs::absolute(f.file).parent_path() / ".berth";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("cannot create {}: {}", dir.string(), ec.message()));
  s.state_path = (dir / (f.env + ".json")).string();
  return s;
}

bool confirm(std::string_view question) {
  fmt::print("\n{}\n  Only 'yes' will be accepted to approve.\n\n  Enter a value: ", question);
  std::fflush(stdout);
  std::string answer;
  if (!std::getline(std::cin, answer)) return false;
  return answer == "yes";
}

// Terraform's lines: "address: Creating..." then "address: Creation complete
// after 1.2s". On a terminal the verb is green for a create, yellow for an
// in-place change and red for a destroy or replacement (as in the plan).
void printProgress(const std::string& address, stack::Action action, std::string_view phase) {
  static std::map<std::string, std::chrono::steady_clock::time_point> started;
  const char* verb = action == stack::Action::kCreate    ? "Creat"
                     : action == stack::Action::kDelete  ? "Destroy"
                     : action == stack::Action::kReplace ? "Replac"
                                                         : "Modify";
  const char* colour = action == stack::Action::kCreate ? "32" : action == stack::Action::kUpdate ? "33" : "31";
  auto painted = [colour](std::string text) { return fancyOut() ? paint(text, colour) : text; };
  if (phase == "started") {
    started[address] = std::chrono::steady_clock::now();
    fmt::print("{}: {}\n", address,
               painted(fmt::format("{}ing...", action == stack::Action::kUpdate ? "Modify" : verb)));
  } else {
    auto took = std::chrono::duration<double>(std::chrono::steady_clock::now() - started[address]).count();
    std::string done = action == stack::Action::kCreate    ? "Creation"
                       : action == stack::Action::kDelete  ? "Destruction"
                       : action == stack::Action::kReplace ? "Replacement"
                                                           : "Modifications";
    fmt::print("{}: {} after {:.1f}s\n", address, painted(done + " complete"), took);
  }
  std::fflush(stdout);
}

int failWith(const Error& e) {
  fmt::print(stderr, "berth: {}\n", e.message);
  return 1;
}

int runPlan(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  stack::Engine engine(*s->api, s->state_path);
  auto plan = engine.plan(stack::render(s->env, {s->account}));
  if (!plan) return failWith(plan.error());
  fmt::print("{}", stack::renderPlan(*plan, colorOut()));
  if (f.detailed_exitcode && !plan->empty()) return 2;
  return 0;
}

int runApply(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  stack::Engine engine(*s->api, s->state_path);
  auto desired = stack::render(s->env, {s->account});
  auto plan = engine.plan(desired);
  if (!plan) return failWith(plan.error());
  fmt::print("{}", stack::renderPlan(*plan, colorOut()));
  if (!plan->empty()) {
    if (!f.auto_approve && !confirm("Do you want to perform these actions?")) {
      fmt::print("Apply cancelled.\n");
      return 1;
    }
    if (auto ok = engine.apply(*plan, desired, printProgress); !ok) return failWith(ok.error());
    fmt::print("\nApply complete! Resources: {} added, {} changed, {} destroyed.\n",
               plan->count(stack::Action::kCreate) + plan->count(stack::Action::kReplace),
               plan->count(stack::Action::kUpdate),
               plan->count(stack::Action::kDelete) + plan->count(stack::Action::kReplace));
  } else if (auto ok = engine.apply(*plan, desired, printProgress); !ok) {
    // Nothing to change, but the state still records every managed resource
    // as it is (what was adopted; the properties a state file written by an
    // older berth lacks). No AWS call is made for it.
    return failWith(ok.error());
  }
  if (!f.no_wait)
    if (auto ok = waitForSteadyState(*s->api, s->env, f.wait_seconds); !ok) return failWith(ok.error());
  return 0;
}

int runDestroy(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  stack::Engine engine(*s->api, s->state_path);
  std::vector<std::string> addresses;
  for (const auto& t : f.targets) {
    auto more = stack::targetAddresses(s->env, t);
    addresses.insert(addresses.end(), more.begin(), more.end());
  }
  auto plan = engine.planDestroy(addresses);
  if (!plan) return failWith(plan.error());
  fmt::print("{}", stack::renderPlan(*plan, colorOut()));
  if (plan->empty()) return 0;
  if (!f.auto_approve && !confirm("Do you really want to destroy these resources?")) {
    fmt::print("Destroy cancelled.\n");
    return 1;
  }
  if (auto ok = engine.apply(*plan, {}, printProgress); !ok) return failWith(ok.error());
  fmt::print("\nDestroy complete! Resources: {} destroyed.\n", plan->count(stack::Action::kDelete));
  return 0;
}

// A task's private IPv4 address (its ENI attachment's privateIPv4Address);
// "" before it has one.
std::string taskIp(const bj::object& task) {
  if (const bj::array* attachments = json::getArray(task, "attachments"))
    for (const auto& a : *attachments)
      if (const bj::array* details = json::getArray(a.as_object(), "details"))
        for (const auto& d : *details)
          if (json::stringOr(d.as_object(), "name") == "privateIPv4Address")
            return json::stringOr(d.as_object(), "value");
  return {};
}

// The running tasks' private IPs of one service.
std::vector<std::string> taskAddresses(stack::AwsApi& api, const std::string& cluster, const std::string& service) {
  std::vector<std::string> out;
  auto list = api.json("ecs", "ListTasks",
                       bj::object{{"cluster", cluster}, {"serviceName", service}, {"desiredStatus", "RUNNING"}});
  if (!list) return out;
  const bj::array* arns = json::getArray(*list, "taskArns");
  if (!arns || arns->empty()) return out;
  auto tasks = api.json("ecs", "DescribeTasks", bj::object{{"cluster", cluster}, {"tasks", *arns}});
  if (!tasks) return out;
  for (const auto& t : *json::getArray(*tasks, "tasks")) {
    if (json::stringOr(t.as_object(), "lastStatus") != "RUNNING") continue;
    if (auto ip = taskIp(t.as_object()); !ip.empty()) out.push_back(std::move(ip));
  }
  return out;
}

int runOutput(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  const stack::Environment& env = s->env;
  stack::RenderOptions options{s->account};
  bj::object out{{"environment", env.name}, {"cluster", env.cluster}, {"region", env.region}};
  if (auto clusters =
          s->api->json("ecs", "DescribeClusters", bj::object{{"clusters", bj::array{bj::value(env.cluster)}}});
      clusters)
    if (const bj::array* list = json::getArray(*clusters, "clusters"); list && !list->empty())
      out["cluster_arn"] = json::stringOr(list->front().as_object(), "clusterArn");
  bj::object services;
  for (const auto& svc : env.services) {
    bj::object o{{"image", stack::imageUri(env, svc.image, options)},
                 {"log_group", stack::logGroupName(env, svc)},
                 {"desired_count", svc.count}};
    if (svc.discovery) o["discovery_name"] = fmt::format("{}.{}", svc.name, env.namespace_name);
    bj::array endpoints;
    for (const auto& ip : taskAddresses(*s->api, env.cluster, stack::ecsServiceName(env, svc)))
      endpoints.emplace_back(svc.port > 0 ? fmt::format("http://{}:{}", ip, svc.port) : ip);
    o["endpoints"] = std::move(endpoints);
    services[svc.name] = std::move(o);
  }
  out["services"] = std::move(services);
  bj::array repositories;
  for (const auto& r : env.ecr_repositories)
    repositories.emplace_back(fmt::format("{}.dkr.ecr.{}.amazonaws.com/{}", s->account, env.region, r));
  out["ecr_repositories"] = std::move(repositories);
  if (f.json) {
    fmt::print("{}\n", json::serialize(out));
    return 0;
  }
  fmt::print("cluster = {}\n", env.cluster);
  if (out.contains("cluster_arn")) fmt::print("cluster_arn = {}\n", json::stringOr(out, "cluster_arn"));
  for (const auto& [name, v] : out["services"].as_object()) {
    const bj::object& o = v.as_object();
    fmt::print("service.{}:\n  image = {}\n  log_group = {}\n", std::string(name), json::stringOr(o, "image"),
               json::stringOr(o, "log_group"));
    if (o.contains("discovery_name")) fmt::print("  discovery_name = {}\n", json::stringOr(o, "discovery_name"));
    for (const auto& e : o.at("endpoints").as_array()) fmt::print("  endpoint = {}\n", std::string(e.as_string()));
  }
  for (const auto& r : out["ecr_repositories"].as_array())
    fmt::print("ecr_repository = {}\n", std::string(r.as_string()));
  return 0;
}

// --since: "90m", "36h", "15d" back from now.
Result<std::chrono::seconds> parseSince(std::string_view text) {
  auto bad = [&] {
    return fail(ErrorCode::kInvalidArgument,
                fmt::format("--since {}: expected a whole number of minutes, hours or days (90m, 36h, 15d)", text));
  };
  if (text.size() < 2) return bad();
  int64_t n = 0;
  for (char ch : text.substr(0, text.size() - 1)) {
    if (ch < '0' || ch > '9' || n > 1'000'000) return bad();
    n = n * 10 + (ch - '0');
  }
  int64_t unit = text.back() == 'm' ? 60 : text.back() == 'h' ? 3600 : text.back() == 'd' ? 86400 : 0;
  if (unit == 0 || n == 0) return bad();
  return std::chrono::seconds(n * unit);
}

// CloudWatch keeps hourly data 455 days; older task-minutes are gone.
constexpr std::chrono::seconds kMaxSince = std::chrono::hours(24 * 455);

// Task-minutes of each service of `env` over [start, end): the sum of the
// SampleCount of AWS/ECS CPUUtilization {ClusterName, ServiceName}, where
// each minute's datum counts the tasks that ran in it (berthd's usage
// metrics; on AWS, the tasks reporting). Hourly periods (daily past 60 days)
// keep each metric within GetMetricData's 1,440 datapoints; NextToken pages
// past its 100,800 in all. `first` gets the start of the earliest period
// with data ("" when none).
Result<std::vector<stack::MeteredService>> meterTaskMinutes(stack::AwsApi& api, const stack::Environment& env,
                                                            WallTime start, WallTime end, std::string& first) {
  int64_t period = end - start <= std::chrono::hours(1440) ? 3600 : 86400;
  stack::QueryParams params{
      {"StartTime", toIso8601(start)}, {"EndTime", toIso8601(end)}, {"ScanBy", "TimestampAscending"}};
  std::vector<stack::MeteredService> out;
  for (size_t i = 0; i < env.services.size(); ++i) {
    std::string q = fmt::format("MetricDataQueries.member.{}.", i + 1);
    std::string m = q + "MetricStat.Metric.";
    params.insert(params.end(), {{q + "Id", fmt::format("s{}", i)},
                                 {m + "Namespace", "AWS/ECS"},
                                 {m + "MetricName", "CPUUtilization"},
                                 {m + "Dimensions.member.1.Name", "ClusterName"},
                                 {m + "Dimensions.member.1.Value", env.cluster},
                                 {m + "Dimensions.member.2.Name", "ServiceName"},
                                 {m + "Dimensions.member.2.Value", stack::ecsServiceName(env, env.services[i])},
                                 {q + "MetricStat.Period", std::to_string(period)},
                                 {q + "MetricStat.Stat", "SampleCount"}});
    out.push_back({env.services[i].name, 0});
  }
  std::string token;
  do {
    stack::QueryParams page = params;
    if (!token.empty()) page.emplace_back("NextToken", token);
    auto answer = BERTH_TRY(api.query("monitoring", "GetMetricData", page));
    const stack::XmlElement* results = answer.find("GetMetricDataResult/MetricDataResults");
    for (const stack::XmlElement* r : results ? results->all("member") : std::vector<const stack::XmlElement*>{}) {
      std::string id = r->textAt("Id");
      size_t index = id.size() > 1 ? std::strtoul(id.c_str() + 1, nullptr, 10) : out.size();
      if (index >= out.size()) continue;
      const stack::XmlElement* values = r->child("Values");
      const stack::XmlElement* stamps = r->child("Timestamps");
      std::vector<const stack::XmlElement*> times =
          stamps ? stamps->all("member") : std::vector<const stack::XmlElement*>{};
      std::vector<const stack::XmlElement*> counts =
          values ? values->all("member") : std::vector<const stack::XmlElement*>{};
      for (size_t k = 0; k < counts.size(); ++k) {
        double n = std::strtod(counts[k]->text.c_str(), nullptr);
        if (n <= 0) continue;
        out[index].task_minutes += n;
        // ISO 8601 in UTC compares as text.
        if (k < times.size() && (first.empty() || times[k]->text < first)) first = times[k]->text;
      }
    }
    token = answer.textAt("GetMetricDataResult/NextToken");
  } while (!token.empty());
  return out;
}

int runMeteredCost(const Connection& c, const StackFlags& f) {
  auto since = parseSince(f.metered_since);
  if (!since) return failWith(since.error());
  if (*since > kMaxSince) *since = kMaxSince;
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  WallTime now = SystemClock::instance().now();
  WallTime start = std::chrono::time_point_cast<std::chrono::minutes>(now - *since);
  // There is no data after now on AWS; the day past it takes in the metrics
  // of a berthd under --time-scale, whose control clock runs ahead.
  std::string first;
  auto measured = meterTaskMinutes(*s->api, s->env, start, now + std::chrono::hours(24), first);
  if (!measured) return failWith(measured.error());
  stack::PriceTable prices;
  prices.spot_discount = f.spot_discount;
  double days = std::chrono::duration<double>(*since).count() / 86400;
  std::string period = fmt::format(
      "From {} to now ({}); {}", toIso8601(start),
      days >= 1 ? fmt::format("{:g} day{}", days, days == 1 ? "" : "s") : fmt::format("{:g} hours", days * 24),
      first.empty() ? "CloudWatch has no task-minutes in it" : "the earliest period with task-minutes starts " + first);
  fmt::print("{}", stack::renderMeteredCost(s->env, stack::meteredCost(s->env, *measured, prices), prices, period));
  return 0;
}

int runCost(const Connection& c, const StackFlags& f) {
  if (f.metered) return runMeteredCost(c, f);
  auto file = loadFile(f);
  if (!file) return failWith(file.error());
  auto env = stack::resolve(*file, f.env);
  if (!env) return failWith(env.error());
  stack::PriceTable prices;
  prices.spot_discount = f.spot_discount;
  stack::UsageAssumptions usage{f.log_gb_per_task};
  fmt::print("{}", stack::renderCost(*env, stack::estimateCost(*env, prices, usage), prices, usage));
  return 0;
}

Result<bj::array> describeServices(stack::AwsApi& api, const stack::Environment& env) {
  bj::array names;
  for (const auto& s : env.services) names.emplace_back(stack::ecsServiceName(env, s));
  if (names.empty()) return bj::array{};
  auto out = BERTH_TRY(api.json("ecs", "DescribeServices", bj::object{{"cluster", env.cluster}, {"services", names}}));
  const bj::array* services = json::getArray(out, "services");
  return services ? *services : bj::array{};
}

int runStatus(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  auto services = describeServices(*s->api, s->env);
  if (!services) return failWith(services.error());
  fmt::print("{} ({}, {})\n", s->env.cluster, s->env.name, s->env.region);
  for (const auto& v : *services) {
    const bj::object& svc = v.as_object();
    fmt::print("  {:<12} {:<8} {} running, {} pending of {} desired\n", json::stringOr(svc, "serviceName"),
               paintStatus(json::stringOr(svc, "status")), json::getInt(svc, "runningCount").value_or(0),
               json::getInt(svc, "pendingCount").value_or(0), json::getInt(svc, "desiredCount").value_or(0));
    if (const bj::array* deployments = json::getArray(svc, "deployments"))
      for (const auto& d : *deployments) {
        const bj::object& dep = d.as_object();
        std::string td = json::stringOr(dep, "taskDefinition");
        fmt::print("      {} {} {} {}/{} running ({})\n", json::stringOr(dep, "status"), json::stringOr(dep, "id"),
                   td.substr(td.rfind('/') + 1), json::getInt(dep, "runningCount").value_or(0),
                   json::getInt(dep, "desiredCount").value_or(0),
                   paintStatus(json::stringOr(dep, "rolloutState", "-")));
      }
  }
  return 0;
}

int runPs(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  fmt::print("{:<34} {:<10} {:<10} {:<10} {:<15} {}\n", "TASK", "SERVICE", "STATUS", "HEALTH", "ADDRESS", "CAPACITY");
  for (const auto& svc : s->env.services) {
    auto list =
        s->api->json("ecs", "ListTasks",
                     bj::object{{"cluster", s->env.cluster}, {"serviceName", stack::ecsServiceName(s->env, svc)}});
    if (!list) return failWith(list.error());
    const bj::array* arns = json::getArray(*list, "taskArns");
    if (!arns || arns->empty()) continue;
    auto tasks = s->api->json("ecs", "DescribeTasks", bj::object{{"cluster", s->env.cluster}, {"tasks", *arns}});
    if (!tasks) return failWith(tasks.error());
    for (const auto& t : *json::getArray(*tasks, "tasks")) {
      const bj::object& task = t.as_object();
      std::string arn = json::stringOr(task, "taskArn");
      std::string ip = taskIp(task);
      if (ip.empty()) ip = "-";
      std::string status = json::stringOr(task, "lastStatus");
      std::string health = json::stringOr(task, "healthStatus", "UNKNOWN");
      fmt::print("{:<34} {:<10} {} {} {:<15} {}\n", arn.substr(arn.rfind('/') + 1), svc.name,
                 paintStatus(status) + std::string(status.size() < 10 ? 10 - status.size() : 0, ' '),
                 paintStatus(health) + std::string(health.size() < 10 ? 10 - health.size() : 0, ' '), ip,
                 json::stringOr(task, "capacityProviderName"));
    }
  }
  return 0;
}

int runEvents(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  // The stack's name for it ("backend"), or the ECS service's own.
  std::string name = f.service;
  for (const auto& svc : s->env.services)
    if (svc.name == f.service) name = stack::ecsServiceName(s->env, svc);
  auto out = s->api->json("ecs", "DescribeServices",
                          bj::object{{"cluster", s->env.cluster}, {"services", bj::array{bj::value(name)}}});
  if (!out) return failWith(out.error());
  const bj::array* services = json::getArray(*out, "services");
  if (!services || services->empty()) {
    fmt::print(stderr, "berth: no service {} in {}\n", f.service, s->env.cluster);
    return 1;
  }
  const bj::array* events = json::getArray(services->front().as_object(), "events");
  if (!events) return 0;
  // ECS lists them newest first; a terminal reads best oldest first.
  for (auto it = events->rbegin(); it != events->rend(); ++it) {
    const bj::object& e = it->as_object();
    const bj::value* at = json::find(e, "createdAt");
    double seconds = at && at->is_number() ? at->to_number<double>() : 0;
    fmt::print("{}  {}\n", toIso8601(WallTime(std::chrono::milliseconds(static_cast<int64_t>(seconds * 1000)))),
               json::stringOr(e, "message"));
  }
  return 0;
}

int runLogs(const Connection& c, const StackFlags& f) {
  auto s = openSession(c, f);
  if (!s) return failWith(s.error());
  const stack::Service* svc = nullptr;
  for (const auto& candidate : s->env.services)
    if (candidate.name == f.service) svc = &candidate;
  if (!svc) {
    fmt::print(stderr, "berth: the stack has no service {}\n", f.service);
    return 1;
  }
  std::string group = stack::logGroupName(s->env, *svc);
  int64_t start =
      (std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::system_clock::now().time_since_epoch()) -
       std::chrono::minutes(f.since_minutes))
          .count();
  std::set<std::string> seen;  // event ids printed at the last timestamp
  while (true) {
    std::string token;
    int64_t last = start;
    do {
      bj::object in{{"logGroupName", group}, {"startTime", start}, {"interleaved", true}};
      if (!token.empty()) in["nextToken"] = token;
      auto out = s->api->json("logs", "FilterLogEvents", in);
      if (!out) return failWith(out.error());
      if (const bj::array* events = json::getArray(*out, "events"))
        for (const auto& v : *events) {
          const bj::object& e = v.as_object();
          std::string id = json::stringOr(e, "eventId");
          if (seen.contains(id)) continue;
          int64_t ts = json::getInt(e, "timestamp").value_or(0);
          if (ts > last) {
            last = ts;
            seen.clear();
          }
          seen.insert(id);
          fmt::print("{} {} {}\n", toIso8601(WallTime(std::chrono::milliseconds(ts))),
                     paint(json::stringOr(e, "logStreamName"), "36"), json::stringOr(e, "message"));
        }
      token = json::stringOr(*out, "nextToken");
    } while (!token.empty());
    std::fflush(stdout);
    if (!f.follow) return 0;
    start = last;
    std::this_thread::sleep_for(std::chrono::seconds(1));
  }
}

// Writes `content` to `path` through a temporary file and a rename, so a
// failed export leaves no half-written file behind.
Status writeWhole(const fs::path& path, const std::string& content) {
  std::error_code ec;
  if (path.has_parent_path()) fs::create_directories(path.parent_path(), ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("cannot create {}: {}", path.parent_path().string(), ec.message()));
  fs::path tmp = path;
  tmp += ".tmp";
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out << content;
    out.flush();
    if (!out) return fail(ErrorCode::kIo, fmt::format("cannot write {}", tmp.string()));
  }
  fs::rename(tmp, path, ec);
  if (ec) return fail(ErrorCode::kIo, fmt::format("cannot write {}: {}", path.string(), ec.message()));
  return {};
}

int runExportCloudFormation(const StackFlags& f) {
  auto file = loadFile(f);
  if (!file) return failWith(file.error());
  // The account is the one the template is deployed in: CloudFormation's
  // pseudo parameter, which the exporter wraps in Fn::Sub.
  auto env = stack::resolve(*file, f.env, "${AWS::AccountId}");
  if (!env) return failWith(env.error());
  std::string text = stack::exportCloudFormation(*env);
  if (f.output.empty() || f.output == "-") {
    fmt::print("{}", text);
    return 0;
  }
  if (auto w = writeWhole(f.output, text); !w) return failWith(w.error());
  fmt::print(stderr, "wrote {}\n", f.output);
  return 0;
}

int runExportTerraform(const StackFlags& f) {
  auto file = stack::loadStackFile(f.file);
  if (!file) return failWith(file.error());
  auto files = stack::exportTerraform(*file, f.env_list);
  if (!files) return failWith(files.error());
  if (f.output.empty() || f.output == "-") {
    // The module alone (its .tf files are one HCL body); the tfvars need -o.
    for (const auto& out : *files)
      if (out.path.ends_with(".tf")) fmt::print("# {}\n{}\n", out.path, out.content);
    return 0;
  }
  for (const auto& out : *files) {
    if (auto w = writeWhole(fs::path(f.output) / out.path, out.content); !w) return failWith(w.error());
    fmt::print(stderr, "wrote {}\n", (fs::path(f.output) / out.path).string());
  }
  return 0;
}

}  // namespace

void addStackCommands(CLI::App& app, StackFlags& f) {
  // `berth logs SERVICE -f` follows (as docker and kubectl do), so there
  // the stack file is --file only.
  auto common = [&f](CLI::App* cmd, bool short_file = true) {
    cmd->add_option(short_file ? "-f,--file" : "--file", f.file, "the stack file (default ./berth.yaml)");
    cmd->add_option("--env", f.env, "the environment (dev, prod, ...)")->required();
  };
  auto* plan = app.add_subcommand("plan", "show what apply would change");
  common(plan);
  plan->add_flag("--detailed-exitcode", f.detailed_exitcode, "exit 2 when there are changes (as Terraform does)");
  auto* apply = app.add_subcommand("apply", "create or update the environment and wait for a steady state");
  common(apply);
  apply->add_flag("--auto-approve", f.auto_approve, "do not ask for confirmation");
  apply->add_flag("--no-wait", f.no_wait, "do not wait for the services to reach a steady state");
  apply->add_option("--wait-seconds", f.wait_seconds, "how long to wait for a steady state")->capture_default_str();
  auto* destroy = app.add_subcommand("destroy", "delete what berth manages for the environment");
  common(destroy);
  destroy->add_flag("--auto-approve", f.auto_approve, "do not ask for confirmation");
  destroy->add_option("--target", f.targets, "only this: service.NAME (keeps repositories, roles, logs) or an address");
  auto* output = app.add_subcommand("output", "the environment's names, addresses and endpoints");
  common(output);
  output->add_flag("--json", f.json, "as JSON");
  auto* cost = app.add_subcommand("cost", "the environment's monthly cost on AWS, line by line");
  common(cost);
  cost->add_option("--log-gb-per-task", f.log_gb_per_task, "assumed log volume per task and month (GB)")
      ->capture_default_str();
  cost->add_option("--spot-discount", f.spot_discount, "Fargate Spot's discount off on-demand (0-1)")
      ->capture_default_str();
  cost->add_flag("--metered", f.metered, "what the tasks that ran cost so far, from CloudWatch's task-minutes");
  cost->add_option("--since", f.metered_since, "with --metered: how far back (90m, 36h, 15d; at most 455d)")
      ->capture_default_str();
  common(app.add_subcommand("status", "the environment's services, counts and deployments"));
  common(app.add_subcommand("ps", "the environment's tasks: status, health, address"));
  auto* events = app.add_subcommand("events", "a service's events (oldest first)");
  common(events);
  events->add_option("service", f.service, "the service")->required();
  auto* logs = app.add_subcommand("logs", "a service's logs from CloudWatch Logs");
  common(logs, false);
  logs->add_option("service", f.service, "the service")->required();
  logs->add_flag("-f,--follow", f.follow, "keep printing new events");
  logs->add_option("--since", f.since_minutes, "minutes back to start from")->capture_default_str();
  auto* exp = app.add_subcommand("export", "the stack as CloudFormation or Terraform for real AWS");
  exp->require_subcommand(1);
  auto* cfn = exp->add_subcommand("cloudformation", "one environment as a CloudFormation template (JSON)");
  common(cfn);
  cfn->add_option("-o,--output", f.output, "write the template here (default: stdout)");
  auto* tf = exp->add_subcommand("terraform", "the stack as a Terraform module with one .tfvars per environment");
  tf->add_option("-f,--file", f.file, "the stack file (default ./berth.yaml)");
  tf->add_option("--env", f.env_list, "write only these environments' .tfvars (default: all)");
  tf->add_option("-o,--output", f.output, "write the module into this directory (default: the .tf files to stdout)");
}

int runStackCommand(const Connection& c, CLI::App& app, const StackFlags& f) {
  if (app.got_subcommand("plan")) return runPlan(c, f);
  if (app.got_subcommand("apply")) return runApply(c, f);
  if (app.got_subcommand("destroy")) return runDestroy(c, f);
  if (app.got_subcommand("output")) return runOutput(c, f);
  if (app.got_subcommand("cost")) return runCost(c, f);
  if (app.got_subcommand("status")) return runStatus(c, f);
  if (app.got_subcommand("ps")) return runPs(c, f);
  if (app.got_subcommand("events")) return runEvents(c, f);
  if (app.got_subcommand("logs")) return runLogs(c, f);
  if (auto* exp = app.get_subcommand("export"); exp->parsed()) {
    if (exp->got_subcommand("cloudformation")) return runExportCloudFormation(f);
    return runExportTerraform(f);
  }
  return -1;
}

}  // namespace berth::cli
