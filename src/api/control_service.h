// An AwsService whose calls run on the control plane's executor: the single
// writer (ARCHITECTURE.md). The call is posted there, run, and its reply
// handed back to the front door's callback.
#pragma once

#include <functional>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "api/service.h"

namespace berth::api {

class ControlService final : public AwsService {
 public:
  // `invoke` runs on `executor` and must not block for long.
  using Invoke = std::function<AwsReply(const AwsCall&)>;

  ControlService(std::string model_id, boost::asio::any_io_executor executor, Invoke invoke)
      : model_id_(std::move(model_id)), executor_(std::move(executor)), invoke_(std::move(invoke)) {}

  std::string_view modelId() const override { return model_id_; }
  void call(AwsCall call, AwsDone done) override;

 private:
  std::string model_id_;
  boost::asio::any_io_executor executor_;
  Invoke invoke_;
};

}  // namespace berth::api

namespace berth::api {

// An AwsService that answers on the calling I/O thread: for services whose
// state is immutable after start-up (the EC2 network inventory).
class InlineService final : public AwsService {
 public:
  using Invoke = std::function<AwsReply(const AwsCall&)>;
  InlineService(std::string model_id, Invoke invoke) : model_id_(std::move(model_id)), invoke_(std::move(invoke)) {}
  std::string_view modelId() const override { return model_id_; }
  void call(AwsCall call, AwsDone done) override { done(invoke_(call)); }

 private:
  std::string model_id_;
  Invoke invoke_;
};

}  // namespace berth::api
