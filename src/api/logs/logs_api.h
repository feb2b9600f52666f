// The CloudWatch Logs front end (Logs_20140328): groups, streams, retention,
// tags, PutLogEvents, GetLogEvents, FilterLogEvents and StartLiveTail (an
// event stream, live_tail.h) over logs::LogStore.
//
// The store is thread-safe, so calls run on a small pool of their own
// (`LogsService`): a FilterLogEvents that scans a gigabyte must not hold up
// the control plane or the I/O threads. PutLogEvents answers once its batch
// is durable (the store's group commit), from the store's writer thread.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/any_io_executor.hpp>

#include "api/logs/live_tail.h"
#include "api/service.h"
#include "common/clock.h"
#include "logs/log_store.h"

namespace berth::api {

struct LogsApiOptions {
  std::string account_id = "000000000000";
  std::string region = "us-east-1";  // used when the call's scope names none
  // Where Live Tail sessions run (their timers); without one, StartLiveTail
  // is refused.
  boost::asio::any_io_executor live_tail_executor;
  LiveTailOptions live_tail;
};

class LogsApi {
 public:
  LogsApi(logs::LogStore& store, const Clock& clock, LogsApiOptions options);

  // Runs one call and completes `done` exactly once, on this thread or (for
  // PutLogEvents) the store's writer thread.
  void invoke(const AwsCall& call, AwsDone done);

  // Ends every Live Tail session and refuses new ones; call before the
  // live-tail executor's pool joins.
  void stopLiveTails();
  size_t liveTailSessions() const { return live_tail_ ? live_tail_->sessionCount() : 0; }

 private:
  using Object = boost::json::object;
  AwsReply createLogGroup(const AwsCall& call);
  AwsReply deleteLogGroup(const AwsCall& call);
  AwsReply describeLogGroups(const AwsCall& call);
  AwsReply putRetentionPolicy(const AwsCall& call);
  AwsReply deleteRetentionPolicy(const AwsCall& call);
  AwsReply createLogStream(const AwsCall& call);
  AwsReply deleteLogStream(const AwsCall& call);
  AwsReply describeLogStreams(const AwsCall& call);
  void putLogEvents(const AwsCall& call, AwsDone done);
  AwsReply getLogEvents(const AwsCall& call);
  AwsReply filterLogEvents(const AwsCall& call);
  void startLiveTail(const AwsCall& call, AwsDone done);
  Result<LiveTailSpec> liveTailSpec(const AwsCall& call) const;
  AwsReply tagLogGroup(const AwsCall& call);
  AwsReply untagLogGroup(const AwsCall& call);
  AwsReply listTagsLogGroup(const AwsCall& call);
  AwsReply tagResource(const AwsCall& call);
  AwsReply untagResource(const AwsCall& call);
  AwsReply listTagsForResource(const AwsCall& call);

  // The group a call names by logGroupName or logGroupIdentifier (a name or
  // an ARN).
  Result<std::string> groupOf(const AwsCall& call) const;
  // The group named by a log group ARN (`arn:aws:logs:<r>:<acct>:log-group:<name>[:*]`).
  Result<std::string> groupOfArn(std::string_view arn) const;
  std::string region(const AwsCall& call) const;
  std::string groupArn(const AwsCall& call, std::string_view group) const;  // without ":*"

  // Opaque, tamper-evident tokens over a store position: GetLogEvents'
  // "f/<56 digits>" and "b/<56 digits>", and FilterLogEvents' nextToken.
  std::string positionDigits(const logs::Position& p, std::string_view scope) const;
  Result<logs::Position> parsePositionDigits(std::string_view digits, std::string_view scope) const;
  // A paging token over a list sorted by name: the last name returned.
  std::string nameToken(std::string_view op, std::string_view last) const;
  Result<std::string> parseNameToken(std::string_view op, std::string_view token) const;

  logs::LogStore& store_;
  const Clock& clock_;
  LogsApiOptions options_;
  std::string token_key_;
  std::unique_ptr<LiveTail> live_tail_;
};

// An AwsService that runs LogsApi calls on `executor` (a pool).
class LogsService final : public AwsService {
 public:
  LogsService(LogsApi& api, boost::asio::any_io_executor executor) : api_(api), executor_(std::move(executor)) {}
  std::string_view modelId() const override { return "logs"; }
  void call(AwsCall call, AwsDone done) override;

 private:
  LogsApi& api_;
  boost::asio::any_io_executor executor_;
};

}  // namespace berth::api
