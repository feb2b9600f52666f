// Application Auto Scaling (AnyScaleFrontendService, model
// "application-autoscaling") for ECS services: scalable targets, target
// tracking and step scaling policies, scheduled actions and the scaling
// activities they cause, as botocore's model defines them.
//
// The model is kept in memory as AWS-shaped JSON (ScalableTarget,
// ScalingPolicy, ScheduledAction, ScalingActivity) and written through to
// the Store (kinds "aas.target", "aas.policy", "aas.action", "aas.activity"):
// a mutating call commits before it returns, and nothing changes in memory
// when the commit fails.
//
// How it acts (docs/autoscaling.md has the whole story and the formulas):
// - Target tracking creates two CloudWatch alarms through CloudWatch's own
//   PutMetricAlarm, named as AWS names them: "TargetTracking-<resource>-
//   AlarmHigh-<uuid>" (3 of 3 one-minute datapoints above the target) and,
//   unless DisableScaleIn, "...-AlarmLow-<uuid>" (15 of 15 below 90 % of the
//   target). Their actions name the policy ARN; CloudWatch hands them to
//   this class as its AlarmActionSink (while an alarm stays in ALARM, once
//   a minute). The new capacity is ceil(capacity x metric / target), within
//   [MinCapacity, MaxCapacity].
// - Step scaling runs the step whose interval holds (metric - threshold) of
//   the alarm that invoked it.
// - Cooldowns: a scale-in waits out the policy's scale-in cooldown since its
//   last scale-in; during a scale-out cooldown, a further scale-out is
//   computed from the capacity before the scale-out that started it, so
//   that the tasks still starting are not counted twice. No scale-in while
//   the ECS service is deploying, nor while DynamicScalingInSuspended.
// - Scheduled actions (schedule.h: at, rate, cron with a time zone) set a
//   target's MinCapacity/MaxCapacity when they fire; the capacity follows
//   when it is outside the new range. tick() fires them.
//
// Threads: single writer. Every method must be called on the control
// executor (CloudWatch calls the sink there too).
#pragma once

#include <chrono>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include <boost/json.hpp>

#include "common/clock.h"
#include "common/result.h"
#include "common/time_zone.h"
#include "control/autoscaling/schedule.h"
#include "control/cloudwatch/cloudwatch.h"
#include "store/store.h"

namespace berth::autoscaling {

namespace bj = boost::json;

// What Application Auto Scaling scales: ECS services here
// (EcsScalableResources); a fake in tests.
class ScalableResources {
 public:
  struct State {
    int64_t capacity = 0;    // the service's desiredCount
    bool deploying = false;  // a deployment is in progress (no scale-in)
  };
  virtual ~ScalableResources() = default;
  // The resource's state; kNotFound when it does not exist (or is not
  // ACTIVE).
  virtual Result<State> state(std::string_view resource_id) = 0;
  // Sets its capacity (UpdateService desiredCount).
  virtual Status setCapacity(std::string_view resource_id, int64_t capacity) = 0;
};

struct AutoScalingConfig {
  std::string region = "us-east-1";
  std::string account_id = "000000000000";
  // Scaling activities are described this long (AWS: six weeks).
  std::chrono::seconds activity_retention{std::chrono::hours(24 * 42)};
};

// Target tracking's new capacity: ceil(capacity x metric / target) (1 from
// nothing when the metric is above the target). Not clamped.
int64_t targetTrackingCapacity(int64_t capacity, double metric, double target);
// A PercentChangeInCapacity step's change: capacity x percent / 100, rounded
// toward zero, at least `min_magnitude` (and at least 1) in size.
int64_t percentChange(int64_t capacity, double percent, int64_t min_magnitude);

class ApplicationAutoScaling final : public cloudwatch::AlarmActionSink {
 public:
  ApplicationAutoScaling(AutoScalingConfig config, store::Store& store, const Clock& clock,
                         cloudwatch::CloudWatch& cloudwatch, ScalableResources& resources);

  // Loads targets, policies, actions and activities. Call once, first.
  Status load();

  // Runs one operation; `input` is type-checked against the model by the
  // protocol layer. Unknown operations: kUnimplemented.
  Result<bj::value> invoke(std::string_view operation, const bj::object& input);
  bool supports(std::string_view operation) const;

  // Fires due scheduled actions and forgets old activities. Call at least
  // every few seconds of control time.
  void tick();

  // CloudWatch alarm actions naming a scaling policy ARN.
  Status invoke(std::string_view action_arn, const cloudwatch::AlarmEvent& event) override;

  size_t targetCount() const { return targets_.size(); }

 private:
  struct Target {
    bj::object doc;  // ScalableTarget shape
    bj::object tags;
  };
  // What a policy remembers beyond its document (stored beside it).
  struct Cooldowns {
    double last_scale_out = 0;     // when it last scaled out
    int64_t before_scale_out = 0;  // the capacity before that scale-out
    double last_scale_in = 0;      // when it last scaled in
  };
  struct Policy {
    bj::object doc;  // ScalingPolicy shape
    Cooldowns cooldowns;
  };
  struct Action {
    bj::object doc;                    // ScheduledAction shape
    std::optional<Schedule> schedule;  // parsed from doc (prepare())
    std::optional<TimeZone> zone;
    double next_run = 0;  // epoch seconds; 0: never again
  };
  using Handler = Result<bj::value> (ApplicationAutoScaling::*)(const bj::object&);
  static const std::map<std::string, Handler, std::less<>>& handlers();

  // Targets (targets.cc).
  Result<bj::value> registerScalableTarget(const bj::object& in);
  Result<bj::value> deregisterScalableTarget(const bj::object& in);
  Result<bj::value> describeScalableTargets(const bj::object& in);
  Result<bj::value> tagResource(const bj::object& in);
  Result<bj::value> untagResource(const bj::object& in);
  Result<bj::value> listTagsForResource(const bj::object& in);
  Result<Target*> targetByArn(std::string_view arn);
  // Checks ServiceNamespace, ScalableDimension and the ResourceId's form.
  Status checkIdentity(const bj::object& in) const;
  Result<Target*> findTarget(const bj::object& in);

  // Policies (policies.cc).
  Result<bj::value> putScalingPolicy(const bj::object& in);
  Result<bj::value> describeScalingPolicies(const bj::object& in);
  Result<bj::value> deleteScalingPolicy(const bj::object& in);
  // Creates or updates the target tracking alarms of `policy` in CloudWatch.
  Result<bj::array> putTargetTrackingAlarms(const bj::object& policy, const bj::array& old_alarms);
  void deleteAlarms(const bj::array& alarms);
  // The latest datapoint of the alarm's metric and statistic.
  std::optional<double> latestValue(const bj::object& metric_alarm) const;

  // Scheduled actions (scheduled.cc).
  Result<bj::value> putScheduledAction(const bj::object& in);
  Result<bj::value> describeScheduledActions(const bj::object& in);
  Result<bj::value> deleteScheduledAction(const bj::object& in);
  void runScheduledAction(Action& action);
  static Status prepare(Action& action);
  double nextRun(const Action& action, WallTime after) const;

  // Activities (activities.cc).
  Result<bj::value> describeScalingActivities(const bj::object& in);
  struct Activity {
    std::string description;
    std::string cause;
    std::string status_code = "Successful";
    std::string status_message;
    bj::array not_scaled;  // NotScaledReason items
  };
  // Records an activity of `target` (best effort: a failed commit loses
  // only the record).
  void recordActivity(const bj::object& target, Activity activity);
  // Sets the capacity of `target` to `capacity`, recording the activity
  // ("Setting desired count to N.") with its outcome. Returns whether the
  // resource took it.
  bool scaleTo(const bj::object& target, int64_t capacity, std::string cause);
  // Moves the capacity of `target` inside its [min, max] when it is
  // outside (Register and scheduled actions).
  void clampCapacity(const bj::object& target);
  void pruneActivities();

  // Shared (autoscaling.cc).
  static std::string targetKey(std::string_view resource_id, std::string_view dimension);
  static std::string targetKey(const bj::object& o);
  std::string policyArn(const bj::object& target, std::string_view name) const;
  std::string actionArn(const bj::object& target, std::string_view name) const;
  void persist(store::Batch& batch, const Target& t) const;
  void persist(store::Batch& batch, const Policy& p) const;
  void persist(store::Batch& batch, const Action& a) const;
  Status commit(store::Batch& batch);

  AutoScalingConfig config_;
  store::Store& store_;
  const Clock& clock_;
  cloudwatch::CloudWatch& cloudwatch_;
  ScalableResources& resources_;
  std::map<std::string, Target, std::less<>> targets_;   // by "<resource>|<dimension>"
  std::map<std::string, Policy, std::less<>> policies_;  // by policy ARN
  std::map<std::string, Action, std::less<>> actions_;   // by scheduled action ARN
  // Activities by store key "<micros>-<seq>": oldest first.
  std::map<std::string, bj::object, std::less<>> activities_;
  uint64_t activity_seq_ = 0;
};

}  // namespace berth::autoscaling
