#include "api/admin/admin_api.h"

#include <fmt/format.h>

#include "common/json.h"

namespace berth::api {
namespace {

namespace bj = boost::json;

AwsReply spotInterrupt(ecs::Ecs& ecs, const bj::object& in) {
  ecs::SpotInterruption what;
  what.cluster = json::stringOr(in, "cluster", "default");
  what.service = json::stringOr(in, "service");
  what.tasks = json::stringList(in, "taskArns");
  what.count = json::getInt(in, "count").value_or(0);
  std::vector<std::string> arns = BERTH_TRY(ecs.interruptSpotTasks(what));
  bj::array out;
  for (auto& a : arns) out.push_back(bj::string(a));
  return bj::object{{"taskArns", std::move(out)}};
}

}  // namespace

AwsReply invokeAdmin(ecs::Ecs& ecs, const AdminApiOptions& options, const AwsCall& call) {
  if (call.principal.access_key_id != options.root_access_key_id)
    return fail(ErrorCode::kPermissionDenied,
                fmt::format("{} is not authorized to perform: berth:{}: only berthd's root credentials may call the "
                            "admin API.",
                            call.principal.arn, call.operation->name),
                "AccessDeniedException");
  const std::string& op = call.operation->name;
  const bj::object& in = call.input;
  if (op == "SpotInterrupt") return spotInterrupt(ecs, in);
  if (op == "SetSpotCapacity") {
    bool available = json::getBool(in, "available").value_or(true);
    BERTH_TRY(ecs.setSpotCapacity(available));
    return bj::object{{"available", available}};
  }
  if (op == "GetSpotCapacity")
    return bj::object{{"available", ecs.spotCapacityAvailable()},
                      {"interruptionRatePerTaskPerHour", ecs.spotInterruptionRate()}};
  if (op == "SetSpotInterruptionRate") {
    const bj::value* rate = json::find(in, "perTaskPerHour");
    std::optional<uint64_t> seed;
    if (auto s = json::getInt(in, "seed")) seed = static_cast<uint64_t>(*s);
    BERTH_TRY(ecs.setSpotInterruptionRate(rate && rate->is_number() ? rate->to_number<double>() : -1, seed));
    return bj::object{{"perTaskPerHour", ecs.spotInterruptionRate()}};
  }
  return fail(ErrorCode::kUnimplemented, "", "UnknownOperationException");
}

}  // namespace berth::api
