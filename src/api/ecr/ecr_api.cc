#include "api/ecr/ecr_api.h"

#include <fmt/format.h>

#include "common/json.h"

namespace berth::api {

AwsReply invokeEcr(ecr::Ecr& ecr, const EcrApiOptions& options, const AwsCall& call) {
  if (call.operation->name != "GetAuthorizationToken") return ecr.invoke(call.operation->name, call.input);
  auto ids = json::stringList(call.input, "registryIds");
  if (ids.empty()) ids.push_back(options.account_id);
  boost::json::array data;
  for (const auto& id : ids) {
    if (id != options.account_id)
      return fail(ErrorCode::kInvalidArgument,
                  fmt::format("Invalid parameter at 'registryIds' failed to satisfy constraint: 'berth serves only "
                              "registry {}'",
                              options.account_id),
                  "InvalidParameterException");
    auto token = options.tokens->issue();
    data.push_back(boost::json::object{{"authorizationToken", token.authorization_token},
                                       {"expiresAt", toEpochSeconds(token.expires_at)},
                                       {"proxyEndpoint", options.proxy_endpoint}});
  }
  return boost::json::object{{"authorizationData", std::move(data)}};
}

}  // namespace berth::api
