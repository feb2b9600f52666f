// RealAgent's container health checks: the command runs through the
// runtime's exec on the worker executor (outside the task's strand, since it
// blocks up to the check's timeout); results come back to the strand.
#include <boost/asio/post.hpp>

#include "agent/real_agent_task.h"

namespace berth::agent {

void RealAgent::scheduleHealthCheck(const TaskPtr& t, Container& c, std::chrono::seconds after) {
  timers_.cancel(c.health_timer);
  c.health_timer = timers_.scheduleAfter(
      after, [this, t, name = c.plan.name] { post(t, [this, t, name] { runHealthCheck(t, name); }); });
}

void RealAgent::runHealthCheck(const TaskPtr& t, const std::string& name) {
  Container* c = t->container(name);
  if (!c || !c->running() || t->stopping || !c->health || c->health_in_flight) return;
  c->health_timer = 0;
  c->health_in_flight = true;
  runtime::ContainerRef ref{t->launch.task_id, name};
  std::vector<std::string> argv = c->health->spec().argv();
  auto timeout = std::chrono::duration_cast<std::chrono::milliseconds>(c->health->spec().timeout);
  boost::asio::post(executor_, [this, t, ref, argv, timeout] {
    auto result = runtime_.exec(ref, argv, timeout);
    bool success = result && *result == 0;
    post(t, [this, t, name = ref.name, success] { onHealthResult(t, name, success); });
  });
}

void RealAgent::onHealthResult(const TaskPtr& t, const std::string& name, bool success) {
  Container* c = t->container(name);
  if (!c || !c->health) return;
  c->health_in_flight = false;
  if (!c->running() || t->stopping) return;
  bool changed = c->health->record(success, clock_.now());
  scheduleHealthCheck(t, *c, c->health->spec().interval);
  if (!changed) return;
  emit(t);
  startReady(t);  // HEALTHY dependents
}

}  // namespace berth::agent
