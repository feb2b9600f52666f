// The ECS control plane: clusters, task definitions, services and tasks, as
// the ECS API (AmazonEC2ContainerServiceV20141113) defines them.
//
// The model is kept in memory as AWS-shaped JSON documents (the shapes of
// botocore's ECS model: the wire format is the interface, ARCHITECTURE.md
// decision 1) and written through to the Store: a mutating call commits
// before it returns, and nothing is changed in memory when the commit fails.
//
// Threads: single writer. Every method must be called on the control
// executor; the Agent reports back through events posted to it.
#pragma once

#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <boost/json.hpp>

#include "agent/agent.h"
#include "common/clock.h"
#include "common/result.h"
#include "control/ecs/service_registries.h"
#include "control/ecs/usage_view.h"
#include "control/network.h"
#include "store/store.h"

namespace berth::ecs {

namespace bj = boost::json;

struct EcsConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Stopped tasks stay describable this long (AWS: at least one hour).
  std::chrono::seconds stopped_task_retention{3600};
  // Testing and chaos (berthd --spot-interrupt-after): every FARGATE_SPOT
  // task is interrupted this long after it reached RUNNING, as if AWS took
  // the capacity back. 0: never (berth has no Spot market of its own).
  std::chrono::seconds spot_interrupt_after{0};
  // Seeds the random Spot interruptions (Ecs::setSpotInterruptionRate) until
  // a seed is given with the rate.
  uint64_t spot_seed = 1;
};

// The wait before a service's next launch after `consecutive_failures`
// tasks in a row stopped before reaching RUNNING (0: no wait).
double launchThrottleDelay(int64_t consecutive_failures);
// The deployment circuit breaker's failure threshold for a desired count.
int64_t circuitBreakerThreshold(int64_t desired_count);

// Capacity provider strategies (validated: items {capacityProvider, base,
// weight} with base and weight present). The provider ECS places the next
// task on, given the live tasks per provider of the same group (a service
// deployment or one RunTask call): a provider with a base gets tasks until
// it has its base; beyond the base, the provider furthest below its
// weight's share of the tasks beyond base goes next, ties to the earlier
// item.
std::string nextCapacityProvider(const boost::json::array& strategy, const std::map<std::string, int64_t>& counts);
// How ECS splits `count` tasks over a strategy: nextCapacityProvider applied
// `count` times from nothing.
std::map<std::string, int64_t> capacityProviderSplit(const boost::json::array& strategy, int64_t count);

// What a Fargate Spot interruption applies to (Ecs::interruptSpotTasks).
struct SpotInterruption {
  std::string cluster = "default";  // name or ARN
  std::string service;              // only this service's tasks (optional)
  std::vector<std::string> tasks;   // exactly these tasks, ids or ARNs (optional)
  int64_t count = 0;                // at most this many, oldest first (0: all)
};
inline constexpr std::string_view kSpotInterruptionReason = "Your Spot Task was interrupted.";
// Why a FARGATE_SPOT placement fails while Spot capacity is off (RunTask's
// failures[].reason; services say it in their "unable to place" event).
inline constexpr std::string_view kSpotCapacityUnavailable =
    "Capacity is unavailable at this time. Please try again later or in a different availability zone";
// The service tag that opts into berth's Spot fallback (an extension: ECS
// has none). With value "FARGATE", the service places on FARGATE what
// FARGATE_SPOT cannot take while Spot capacity is off, and moves it back to
// FARGATE_SPOT when capacity returns. See docs/capacity-providers.md.
inline constexpr std::string_view kSpotFallbackTag = "berth:spot-fallback";

struct CallContext {
  std::string principal_arn;
  std::string request_id;
};

class Ecs {
 public:
  Ecs(EcsConfig config, store::Store& store, const Clock& clock, const control::NetworkInventory& network);
  ~Ecs();

  // Loads the model from the store. Call once, before anything else.
  Status load();
  // Attaches the agent (after load). Tasks the store says are running but
  // the agent no longer knows are marked STOPPED.
  void attachAgent(agent::Agent* agent);
  // Forgets the agent (berthd shutting down): nothing is launched or stopped after this.
  void detachAgent() { agent_ = nullptr; }
  // Attaches Cloud Map (optional; borrowed): tasks of services with
  // serviceRegistries are registered there (service_registration.cc).
  void setServiceRegistries(ServiceRegistries* registries) { registries_ = registries; }

  // Runs one ECS operation. `input` is type-checked against the model by the
  // protocol layer. Unknown operations: kUnimplemented.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input, const CallContext& ctx);
  bool supports(std::string_view operation) const;

  // An agent's report of a task state change.
  void onTaskEvent(const agent::TaskEvent& event);
  // Periodic work: services reconcile, old stopped tasks are forgotten.
  void tick();

  // Interrupts running FARGATE_SPOT tasks as AWS does when it reclaims Spot
  // capacity: each task gets stopCode SpotInterruption and stoppedReason
  // "Your Spot Task was interrupted." at once (that is AWS's two-minute
  // warning), and the agent stops it (SIGTERM, then SIGKILL after the
  // containers' stopTimeout). Services launch replacements at once, on the
  // same strategy (Spot again: ECS never falls back to FARGATE), and an
  // interruption never counts against a deployment's circuit breaker.
  // Berth's hook for operators and tests (the EventBridge event is not
  // modelled). Returns the interrupted task ARNs; a named task that is not a
  // live FARGATE_SPOT task of the cluster is an InvalidParameterException.
  Result<std::vector<std::string>> interruptSpotTasks(const SpotInterruption& what);

  // Fargate Spot capacity (spot.cc): berth's controls, not ECS API (berthd's
  // admin API and tests call them). Both settings are stored (kind
  // "ecs.spot"): a restarted berthd keeps them; the random draw starts again
  // from the seed.
  //
  // Off: every FARGATE_SPOT placement fails with kSpotCapacityUnavailable
  // (RunTask lists it in failures; services retry every tick and say so in
  // a throttled event), except for services with the kSpotFallbackTag tag.
  // Back on: placements succeed again, and fallback services move their
  // FARGATE stand-ins back to FARGATE_SPOT within their deployment
  // percentages. Fails (changing nothing) when the store cannot take it.
  Status setSpotCapacity(bool available);
  bool spotCapacityAvailable() const { return spot_available_; }
  // Random interruptions for chaos testing: each running FARGATE_SPOT task
  // is interrupted (as interruptSpotTasks does) at `per_task_per_hour`, a
  // Poisson rate drawn on every tick() from the injected clock and an RNG
  // seeded with `seed` (EcsConfig::spot_seed when absent). 0 turns them
  // off. kInvalidArgument unless 0 <= rate <= 3600.
  Status setSpotInterruptionRate(double per_task_per_hour, std::optional<uint64_t> seed = std::nullopt);
  double spotInterruptionRate() const { return spot_rate_; }

  size_t clusterCount() const { return clusters_.size(); }
  size_t taskCount() const { return tasks_.size(); }

  // For usage metrics (usage_view.cc). The task's grouping and reservation,
  // also after it stopped (while it is still describable); nullopt when
  // unknown.
  std::optional<UsageTaskInfo> usageTaskInfo(std::string_view task_arn) const;
  // Task counts of every ACTIVE cluster and its ACTIVE services.
  std::vector<UsageClusterCounts> usageCounts() const;

 private:
  struct Cluster {
    bj::object doc;  // Cluster shape; counts are computed on read
  };
  // What the scheduler remembers about a service beyond its document: none
  // of it is part of the Service shape, so it is stored beside the document
  // (ecs.cc persist/load), never in it.
  struct SchedulerState {
    int64_t launch_failures = 0;    // consecutive tasks that stopped before RUNNING
    double next_launch_at = 0;      // launch throttle: no launches before this
    double steady_event_at = 0;     // last "steady state" event; 0 while not steady
    double placement_event_at = 0;  // last "unable to place" event; 0 while placing
    bj::object last_completed;      // the last COMPLETED deployment, for rollback
    bool operator==(const SchedulerState&) const = default;
  };
  struct Service {
    bj::object doc;  // Service shape, with deployments and events
    std::string cluster_name;
    SchedulerState sched;
    // Until this time tick() skips the service: its last reconcile found it
    // steady and changed nothing, and only time (the steady-state event) or
    // a change to it or its tasks can give reconcile work again. Every path
    // that changes those calls reconcile(), which resets it, or resets it
    // itself. Not stored: 0 after a restart. (Issue 6: a pass's work grows
    // with what changed, not with the number of services.)
    double quiet_until = 0;
  };
  struct Task {
    bj::object doc;  // Task shape
    std::string cluster_name;
    std::string service_name;   // empty unless started by a service
    std::string deployment_id;  // the service deployment it belongs to
  };
  struct TaskDefinition {
    bj::object doc;  // TaskDefinition shape
    bj::array tags;
  };

  using Handler = Result<bj::value> (Ecs::*)(const bj::object&, const CallContext&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  // Clusters (clusters.cc).
  Result<bj::value> createCluster(const bj::object& in, const CallContext& ctx);
  Result<bj::value> describeClusters(const bj::object& in, const CallContext& ctx);
  Result<bj::value> listClusters(const bj::object& in, const CallContext& ctx);
  Result<bj::value> deleteCluster(const bj::object& in, const CallContext& ctx);
  Result<bj::value> updateCluster(const bj::object& in, const CallContext& ctx);
  Result<bj::value> updateClusterSettings(const bj::object& in, const CallContext& ctx);
  Result<bj::value> putClusterCapacityProviders(const bj::object& in, const CallContext& ctx);
  Result<bj::value> describeCapacityProviders(const bj::object& in, const CallContext& ctx);
  // Task definitions (task_definitions.cc).
  Result<bj::value> registerTaskDefinition(const bj::object& in, const CallContext& ctx);
  Result<bj::value> describeTaskDefinition(const bj::object& in, const CallContext& ctx);
  Result<bj::value> listTaskDefinitions(const bj::object& in, const CallContext& ctx);
  Result<bj::value> listTaskDefinitionFamilies(const bj::object& in, const CallContext& ctx);
  Result<bj::value> deregisterTaskDefinition(const bj::object& in, const CallContext& ctx);
  Result<bj::value> deleteTaskDefinitions(const bj::object& in, const CallContext& ctx);
  // Services (services.cc).
  Result<bj::value> createService(const bj::object& in, const CallContext& ctx);
  Result<bj::value> updateService(const bj::object& in, const CallContext& ctx);
  Result<bj::value> describeServices(const bj::object& in, const CallContext& ctx);
  Result<bj::value> listServices(const bj::object& in, const CallContext& ctx);
  Result<bj::value> deleteService(const bj::object& in, const CallContext& ctx);
  // Tasks (tasks.cc).
  Result<bj::value> runTask(const bj::object& in, const CallContext& ctx);
  Result<bj::value> startTask(const bj::object& in, const CallContext& ctx);
  Result<bj::value> stopTask(const bj::object& in, const CallContext& ctx);
  Result<bj::value> describeTasks(const bj::object& in, const CallContext& ctx);
  Result<bj::value> listTasks(const bj::object& in, const CallContext& ctx);
  // Tags and account settings (tags.cc).
  Result<bj::value> tagResource(const bj::object& in, const CallContext& ctx);
  Result<bj::value> untagResource(const bj::object& in, const CallContext& ctx);
  Result<bj::value> listTagsForResource(const bj::object& in, const CallContext& ctx);
  // Applies `edit` to the tags of the resource an ARN names, durably.
  Status editTags(const std::string& resource, const std::function<void(bj::array&)>& edit);
  Result<bj::value> listAccountSettings(const bj::object& in, const CallContext& ctx);
  Result<bj::value> putAccountSetting(const bj::object& in, const CallContext& ctx);
  Result<bj::value> putAccountSettingDefault(const bj::object& in, const CallContext& ctx);
  Result<bj::value> deleteAccountSetting(const bj::object& in, const CallContext& ctx);

  // Shared helpers (ecs.cc).
  std::string arn(std::string_view resource) const;
  std::string clusterArn(std::string_view name) const { return arn("cluster/" + std::string(name)); }
  // Resolves `cluster` (a name or ARN; default "default") to an ACTIVE cluster.
  Result<Cluster*> activeCluster(const bj::object& in);
  Result<const TaskDefinition*> resolveTaskDefinition(std::string_view ref) const;
  bj::object clusterView(const Cluster& c, const std::vector<std::string>& include) const;
  bj::object serviceView(const Service& s, bool with_tags) const;
  bj::object taskView(const Task& t, bool with_tags) const;
  Status validateNetworkConfiguration(const bj::object* network_configuration, const bj::object& task_definition) const;
  // Picks launchType or a capacity provider strategy from the request or the
  // cluster's default strategy. Sets exactly one of the outputs.
  Status resolveLaunch(const bj::object& in, const Cluster& cluster, std::string* launch_type,
                       bj::array* strategy) const;
  Status commit(store::Batch& batch);
  void persist(store::Batch& batch, const Cluster& c) const;
  void persist(store::Batch& batch, const Service& s) const;
  void persist(store::Batch& batch, const Task& t) const;
  void persist(store::Batch& batch, const TaskDefinition& td) const;
  std::string encodeToken(std::string_view op, std::string_view position) const;
  Result<std::string> decodeToken(std::string_view op, const bj::object& in) const;

  // Tasks and scheduling (tasks.cc, scheduler.cc).
  struct LaunchParams {
    std::string launch_type;      // FARGATE (when no strategy)
    bj::array capacity_strategy;  // or a capacity provider strategy
    bj::object network_configuration;
    bj::object overrides;
    std::string started_by;
    std::string group;
    std::string platform_version;
    bool enable_execute_command = false;
    bj::array tags;
    std::string service_name;
    std::string deployment_id;
    // Berth's Spot fallback applies to this group (wantsSpotFallback).
    bool spot_fallback = false;
    // The provider placeProvider chose for the next makeTask; "": makeTask
    // chooses by the strategy.
    std::string provider;
    // Live tasks of this group (a service deployment, or one RunTask call)
    // per capacity provider, availability zone and subnet: counted once by
    // the caller (countPlacements) and updated by makeTask, which places
    // each task by them.
    std::map<std::string, int64_t> provider_counts;
    std::map<std::string, int64_t> zone_counts;
    std::map<std::string, int64_t> subnet_counts;
  };
  Task makeTask(const Cluster& cluster, const TaskDefinition& td, LaunchParams& p, const CallContext& ctx);
  // Places the next task of `p` on a capacity provider (sets p.provider), or
  // returns false when it goes to FARGATE_SPOT while Spot capacity is off:
  // the failed placement still counts in p.provider_counts, so the rest of
  // the strategy's split goes where it would have (ECS keeps the FARGATE
  // share running). With p.spot_fallback the task goes to FARGATE instead.
  bool placeProvider(LaunchParams& p) const;
  // Adds `tasks` to the placement counts of `p`.
  static void countPlacements(const std::vector<Task*>& tasks, LaunchParams& p);
  void launchTask(const Task& task);
  void applyStop(Task& task, std::string stop_code, std::string reason);
  // Brings the task's Cloud Map registrations in line with its state
  // (service_registration.cc). Called after every task state change.
  void syncRegistration(const Task& task);
  // Checks a request's serviceRegistries: ARN format, an existing Cloud Map
  // service (when Cloud Map is attached), port vs containerName/containerPort.
  Status validateServiceRegistries(const bj::object& in) const;
  void reconcile(Service& service);
  // A PRIMARY deployment for the service document as it now stands
  // (services.cc).
  static bj::object newPrimaryDeployment(const bj::object& service, double now);
  // Applies what a task's state change means to its service (on a copy the
  // caller commits): failed launches feed the launch throttle and the
  // deployment's failedTasks, a task turning healthy resets both, and the
  // circuit breaker may trip. Returns whether `service` changed.
  bool noteTaskOutcome(Service& service, const Task& before, const Task& after);
  // Counts one failed task against deployment `deployment_id` if it is in
  // progress and in the circuit breaker stage the failure belongs to
  // (1: failed to start, 2: failed after RUNNING).
  void recordDeploymentFailure(Service& service, const std::string& deployment_id, int stage);
  // Trips the circuit breaker of the PRIMARY deployment when its failedTasks
  // reached the threshold: FAILED, and with rollback a new PRIMARY deployment
  // of the last COMPLETED one.
  void checkCircuitBreaker(Service& service);
  // Whether any task of the deployment has reached RUNNING (breaker stage 2).
  bool deploymentRan(const Service& service, const std::string& deployment_id) const;
  bool isHealthy(const Task& task) const;
  void addServiceEvent(Service& service, std::string message);
  std::vector<Task*> tasksOf(const Service& service);
  void pruneStopped();
  // EcsConfig::spot_interrupt_after: interrupts the FARGATE_SPOT tasks that
  // have run that long (spot.cc).
  void interruptExpiredSpotTasks();
  // setSpotInterruptionRate's draw, once per tick (spot.cc).
  void interruptRandomSpotTasks();
  // Whether a service document carries kSpotFallbackTag = FARGATE.
  static bool wantsSpotFallback(const bj::object& service_doc);
  // The task map and its index by service: tasks_ is keyed by ARN, which
  // begins with "task/<cluster>/", so a cluster's tasks are one key range.
  void insertTask(Task task);
  void eraseTask(const std::string& task_arn);
  std::string taskArnPrefix(std::string_view cluster_name) const {
    return arn("task/" + std::string(cluster_name) + "/");
  }
  template <typename F>
  void forEachTaskInCluster(std::string_view cluster_name, F&& f) const {
    std::string prefix = taskArnPrefix(cluster_name);
    for (auto it = tasks_.lower_bound(prefix); it != tasks_.end() && it->first.starts_with(prefix); ++it) f(it->second);
  }

  EcsConfig config_;
  store::Store& store_;
  const Clock& clock_;
  const control::NetworkInventory& network_;
  agent::Agent* agent_ = nullptr;
  ServiceRegistries* registries_ = nullptr;

  std::map<std::string, Cluster, std::less<>> clusters_;                                    // by name
  std::map<std::string, std::map<int64_t, TaskDefinition>, std::less<>> task_definitions_;  // family -> revision
  std::map<std::string, Service, std::less<>> services_;                                    // "cluster/name"
  std::map<std::string, Task, std::less<>> tasks_;                                          // by task ARN
  std::map<std::string, std::set<std::string>, std::less<>> tasks_by_service_;              // "cluster/service" -> ARNs
  std::map<std::string, bj::object, std::less<>> account_settings_;                         // by "principal|name"
  std::string token_key_;
  // pruneStopped scans every task: at most once a minute (retention is an
  // hour), so that a tick's work does not grow with the number of tasks.
  double next_prune_at_ = 0;
  // Spot capacity controls (spot.cc).
  bool spot_available_ = true;
  double spot_rate_ = 0;         // interruptions per task-hour; 0: off
  double spot_drawn_until_ = 0;  // the random interruptions are drawn up to here
  uint64_t spot_seed_ = 0;       // the seed spot_rng_ was last given
  std::mt19937_64 spot_rng_;
  // Writes the Spot settings as they are in memory.
  Status persistSpot(bool available, double rate, uint64_t seed);
};

}  // namespace berth::ecs
