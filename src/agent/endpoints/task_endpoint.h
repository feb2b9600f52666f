// The task metadata and credentials endpoint tasks reach at 169.254.170.2:
//
//   GET /v4/<id>                 the container's metadata
//   GET /v4/<id>/task            its task's metadata
//   GET /v4/<id>/taskWithTags    the same with TaskTags
//   GET /v4/<id>/stats           the container's Docker stats
//   GET /v4/<id>/task/stats      every container's stats, by DockerId
//   GET /v3/<id>[/task|/stats|/task/stats]   v3 aliases (same documents)
//   GET /v2/credentials/<id>     task role credentials
//
// Answers, statuses and error texts follow ECS's agent: an unknown v4 id is
// a 404 whose body is a JSON string ("V4 container metadata handler: ...");
// an unknown credentials id is a 400 {"code":"InvalidIdInRequest",
// "message":"CredentialsV2Request: Credentials not found","HTTPErrorCode":400};
// any other path is Go's "404 page not found".
//
// Threads: TaskEndpointHandler is called on the HTTP server's connection
// strands, concurrently; it reads the registry's snapshots, samples stats
// synchronously (StatsSource::sample must be quick) and answers inline.
// The registry, stats source, credentials provider and clock must outlive
// the handler.
#pragma once

#include <cstdint>
#include <memory>
#include <string>

#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>

#include "agent/endpoints/credentials.h"
#include "agent/endpoints/stats_source.h"
#include "agent/endpoints/task_metadata.h"
#include "common/clock.h"
#include "common/result.h"
#include "http/server.h"

namespace berth::agent::endpoints {

class TaskEndpointHandler final : public http::Handler {
 public:
  // `credentials` may be null: every credentials id is then unknown.
  TaskEndpointHandler(TaskMetadataRegistry& registry, StatsSource& stats, const CredentialsProvider* credentials,
                      const Clock& clock);

  void handle(http::Request request, http::Respond respond) override;
  // The answer to one request from `peer`, computed inline (handle() sends it).
  http::Response answer(const http::Request& request, const boost::asio::ip::address& peer = {});

 private:
  http::Response metadata(unsigned version, const std::string& id, const std::string& rest, unsigned http_version);
  http::Response containerStats(unsigned version, const std::string& id, unsigned http_version);
  http::Response taskStats(unsigned version, const std::string& id, unsigned http_version);
  http::Response credentialsFor(const std::string& id, const boost::asio::ip::address& peer, unsigned http_version);
  // Whether `peer` is the address of `task_arn` (its awsvpc ENI).
  bool fromTask(const std::string& task_arn, const boost::asio::ip::address& peer) const;
  // One container's stats as JSON, or nullopt when the source fails.
  std::optional<boost::json::object> sampleStats(const TaskMetadata& task, const ContainerMetadata& c);

  TaskMetadataRegistry& registry_;
  StatsSource& stats_;
  const CredentialsProvider* credentials_;
  const Clock& clock_;
};

struct TaskEndpointOptions {
  // berthd binds the link-local address on the task bridge (the network
  // setup must have added it there); tests bind 127.0.0.1 and port 0.
  std::string host = std::string(kTaskEndpointAddress);
  uint16_t port = 80;
};

// The handler on its own HTTP server, run by the io_context's threads.
// Destroy it only after the io_context stopped running (as http::Server).
class TaskEndpointServer {
 public:
  TaskEndpointServer(boost::asio::io_context& io, TaskMetadataRegistry& registry, StatsSource& stats,
                     const CredentialsProvider* credentials, const Clock& clock);
  ~TaskEndpointServer();

  // Binds and starts accepting; returns the bound endpoint (port 0 picks one).
  Result<boost::asio::ip::tcp::endpoint> listen(const TaskEndpointOptions& options);
  // Stops accepting; idempotent.
  void stop();

 private:
  TaskEndpointHandler handler_;
  std::unique_ptr<http::Server> server_;
};

}  // namespace berth::agent::endpoints
