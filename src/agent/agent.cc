#include "agent/agent.h"

namespace berth::agent {

const char* taskPhaseName(TaskPhase phase) {
  switch (phase) {
    case TaskPhase::kProvisioning:
      return "PROVISIONING";
    case TaskPhase::kPending:
      return "PENDING";
    case TaskPhase::kActivating:
      return "ACTIVATING";
    case TaskPhase::kRunning:
      return "RUNNING";
    case TaskPhase::kDeactivating:
      return "DEACTIVATING";
    case TaskPhase::kStopping:
      return "STOPPING";
    case TaskPhase::kDeprovisioning:
      return "DEPROVISIONING";
    case TaskPhase::kStopped:
      return "STOPPED";
  }
  return "UNKNOWN";
}

}  // namespace berth::agent
