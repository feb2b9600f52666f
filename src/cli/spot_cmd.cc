#include "cli/spot_cmd.h"

#include <fmt/format.h>

#include "common/json.h"

namespace berth::cli {
namespace {

namespace bj = boost::json;

Result<bj::object> runSpotCommand(const Connection& c, CLI::App& spot, const SpotFlags& f, std::string* text) {
  Endpoint endpoint = BERTH_TRY(parseEndpoint(c.endpoint));
  HttpClient http(std::move(endpoint));
  AwsCredentials credentials = findCredentials(c.data_dir);
  std::string region = defaultRegion();
  if (spot.got_subcommand("interrupt")) {
    bj::object in{{"cluster", f.cluster}};
    if (!f.service.empty()) in["service"] = f.service;
    if (!f.tasks.empty()) {
      bj::array tasks;
      for (const auto& t : f.tasks) tasks.push_back(bj::string(t));
      in["taskArns"] = std::move(tasks);
    }
    if (f.count > 0) in["count"] = f.count;
    bj::object out = BERTH_TRY(callAdmin(http, credentials, region, "SpotInterrupt", in));
    for (const auto& arn : json::stringList(out, "taskArns")) *text += arn + "\n";
    return out;
  }
  if (spot.got_subcommand("capacity")) {
    if (!f.capacity.empty())
      BERTH_TRY(callAdmin(http, credentials, region, "SetSpotCapacity", bj::object{{"available", f.capacity == "on"}}));
    bj::object out = BERTH_TRY(callAdmin(http, credentials, region, "GetSpotCapacity", {}));
    *text = fmt::format("Spot capacity: {}\n", json::getBool(out, "available").value_or(true) ? "on" : "off");
    return out;
  }
  if (spot.got_subcommand("rate")) {
    bj::object in{{"perTaskPerHour", f.rate}};
    if (f.seed >= 0) in["seed"] = f.seed;
    bj::object out = BERTH_TRY(callAdmin(http, credentials, region, "SetSpotInterruptionRate", in));
    const bj::value* rate = json::find(out, "perTaskPerHour");
    double r = rate && rate->is_number() ? rate->to_number<double>() : f.rate;
    *text =
        r == 0 ? "Random Spot interruptions: off\n" : fmt::format("Random Spot interruptions: {} per task-hour\n", r);
    return out;
  }
  return fail(ErrorCode::kInvalidArgument, "spot: interrupt, capacity or rate");
}

}  // namespace

Result<bj::object> callAdmin(HttpClient& http, const AwsCredentials& credentials, const std::string& region,
                             std::string_view operation, const bj::object& input) {
  HttpResponse r = BERTH_TRY(postSignedJson(http, credentials, region, "berth",
                                            fmt::format("BerthAdmin.{}", operation), json::serialize(input)));
  std::optional<bj::value> doc = json::parse(r.body);
  if (r.status != 200) {
    std::string type, message = r.body;
    if (doc && doc->is_object()) {
      type = json::stringOr(doc->as_object(), "__type");
      message = json::stringOr(doc->as_object(), "message", json::stringOr(doc->as_object(), "Message"));
    }
    return fail(r.status < 500 ? ErrorCode::kInvalidArgument : ErrorCode::kInternal,
                fmt::format("{}: {}", type.empty() ? std::to_string(r.status) : type, message), type);
  }
  if (!doc || !doc->is_object())
    return fail(ErrorCode::kInternal, fmt::format("{}: the answer is not JSON", operation));
  return doc->as_object();
}

CLI::App* addSpotCommands(CLI::App& app, SpotFlags& f) {
  auto* spot = app.add_subcommand("spot", "Fargate Spot controls (berthd's admin API; root credentials)");
  spot->require_subcommand(1);
  auto* interrupt = spot->add_subcommand(
      "interrupt", "interrupt running FARGATE_SPOT tasks as AWS does (SIGTERM, SIGKILL after stopTimeout)");
  interrupt->add_option("--cluster", f.cluster, "cluster name or ARN")->capture_default_str();
  auto* service = interrupt->add_option("--service", f.service, "only this service's Spot tasks");
  auto* task = interrupt->add_option("--task", f.tasks, "exactly this task (id or ARN; repeatable)");
  service->excludes(task);
  interrupt->add_option("--count", f.count, "at most this many, oldest first (default: all)")
      ->check(CLI::NonNegativeNumber);
  auto* capacity =
      spot->add_subcommand("capacity", "turn Spot capacity off (FARGATE_SPOT placements fail) or on; show it");
  capacity->add_option("state", f.capacity, "on | off")->check(CLI::IsMember({"on", "off"}));
  auto* rate = spot->add_subcommand("rate", "random Spot interruptions per task-hour (chaos testing; 0: off)");
  rate->add_option("per_task_per_hour", f.rate, "interruptions per running Spot task per hour")->required();
  rate->add_option("--seed", f.seed, "seed of the interruptions' random draw (reproducible runs)")
      ->check(CLI::NonNegativeNumber);
  return spot;
}

int runSpot(const Connection& c, CLI::App& spot, const SpotFlags& flags) {
  std::string text;
  auto done = runSpotCommand(c, spot, flags, &text);
  if (!done) {
    fmt::print(stderr, "berth spot: {}\n", done.error().message);
    return 1;
  }
  fmt::print("{}", text);
  return 0;
}

}  // namespace berth::cli
