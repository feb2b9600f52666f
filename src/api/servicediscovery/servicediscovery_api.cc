#include "api/servicediscovery/servicediscovery_api.h"

namespace berth::api {

AwsReply invokeServiceDiscovery(servicediscovery::CloudMap& cloud_map, const AwsCall& call) {
  return cloud_map.invoke(call.operation->name, call.input);
}

}  // namespace berth::api
