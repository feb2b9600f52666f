// RealAgent's per-task state (private to real_agent*.cc). Everything in a
// Task except `launch` (immutable) and `stop_requested` is touched only on
// its strand.
#pragma once

#include <optional>

#include <boost/asio/strand.hpp>

#include "agent/container_plan.h"
#include "agent/health_tracker.h"
#include "agent/real_agent.h"
#include "agent/task_record.h"

namespace berth::agent {

inline constexpr const char* kOomReason = "OutOfMemoryError: Container killed due to memory usage";

struct RealAgent::Container {
  ContainerPlan plan;
  image::ImageConfig image;  // from the pull (or empty after a recovery)
  std::string image_digest;
  std::string endpoint_id;  // the metadata endpoint's id (registerMetadata)
  std::string docker_id;    // the metadata's DockerId
  int stop_signal = 15;     // the image's STOPSIGNAL, else SIGTERM
  bool rootfs = false;      // an overlay was mounted for it
  std::filesystem::path rootfs_path;
  enum class State { kPending, kRunning, kStopped } state = State::kPending;
  bool started = false;    // runtime.start() succeeded: needs remove()
  bool signalled = false;  // its stop signal was sent
  std::optional<int> exit_code;
  std::string reason;
  std::optional<HealthTracker> health;
  bool health_in_flight = false;
  TimerQueue::Id health_timer = 0;
  TimerQueue::Id kill_timer = 0;
  TimerQueue::Id start_timer = 0;  // its startTimeout as a dependency
  bool start_timed_out = false;
  std::optional<logging::AwslogsConfig> awslogs;  // set once its group and stream exist
  // Its output.log: shipped by the driver while kWatching; finish() asked
  // (kDraining); all shipped (kDrained).
  enum class Logs { kNone, kWatching, kDraining, kDrained } logs = Logs::kNone;

  bool running() const { return state == State::kRunning; }
  bool exited() const { return state == State::kStopped && started; }
  const char* lastStatus() const {
    return state == State::kRunning ? "RUNNING" : state == State::kStopped ? "STOPPED" : "PENDING";
  }
};

struct RealAgent::Task {
  Task(TaskLaunch l, TaskPlan p, boost::asio::strand<boost::asio::any_io_executor> s)
      : launch(std::move(l)), plan(std::move(p)), strand(std::move(s)) {}

  TaskLaunch launch;
  TaskPlan plan;
  boost::asio::strand<boost::asio::any_io_executor> strand;
  std::vector<Container> containers;  // plan order

  TaskPhase phase = TaskPhase::kProvisioning;
  std::optional<WallTime> pull_started_at, pull_stopped_at, running_at;
  std::optional<net::TaskAttachment> attachment;
  bool network = false;  // prepare() was attempted: cleanup() needed
  bool cgroup = false;
  bool usage_probe = false;  // registered with RealAgent::usage_
  TaskEtcFiles etc;
  bool stopping = false;
  bool deprovisioned = false;  // torn down; STOPPED once the logs are shipped
  TimerQueue::Id drain_timer = 0;
  bool done = false;  // STOPPED reported
  std::string stop_code, stopped_reason;

  // Set by stop() (any thread): the launch steps stop early; stop()'s own
  // handler, queued on the strand, does the stopping.
  std::atomic<bool> stop_requested{false};

  Container* container(const std::string& name) {
    for (auto& c : containers)
      if (c.plan.name == name) return &c;
    return nullptr;
  }
  std::filesystem::path rootfsBase(const std::filesystem::path& data_dir) const {
    return taskDir(data_dir, launch.task_id) / "rootfs";
  }
};

}  // namespace berth::agent
