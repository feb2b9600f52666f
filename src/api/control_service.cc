#include "api/control_service.h"

#include <boost/asio/post.hpp>

namespace berth::api {

void ControlService::call(AwsCall call, AwsDone done) {
  boost::asio::post(executor_,
                    [this, call = std::move(call), done = std::move(done)]() mutable { done(invoke_(call)); });
}

}  // namespace berth::api
