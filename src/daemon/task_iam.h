// What IAM gives a task, handed over on its way to the real agent: an
// agent::Agent in front of it that, for each launch,
//
// - checks that the execution role exists and that its policies allow what
//   the agent does with it: ecr:GetAuthorizationToken, ecr:BatchGetImage
//   and ecr:GetDownloadUrlForLayer for images in berth's ECR, and
//   logs:CreateLogStream and logs:PutLogEvents (logs:CreateLogGroup with
//   awslogs-create-group) for awslogs containers; the task stops with ECS's
//   ResourceInitializationError otherwise;
// - resolves the containers' `secrets` from SSM Parameter Store with the
//   task's execution role as the caller (its policies must allow
//   ssm:GetParameters, and kms:Decrypt for SecureStrings); when they do not,
//   the task stops before anything starts, with ECS's
//   "ResourceInitializationError: unable to pull secrets or registry auth:
//   ..." reason;
// - assumes the task role for ecs-tasks.amazonaws.com (its trust policy must
//   allow that) and puts the session's credentials in the task endpoint's
//   CredentialsStore under the task's credentials id
//   (agent/endpoints/credentials.h), where only the task's own address may
//   fetch them.
//
// Credentials are re-issued when less than a quarter of their life is left
// (refresh(), periodic) and revoked when the task stops (onTaskEvent()), so
// a stopped task's keys stop working at once; after a restart of berthd,
// recover() issues them again to the tasks the agent re-adopted.
//
// Threads: everything on the control executor (launch() and stop() are
// called there, like Iam and Ssm).
#pragma once

#include <chrono>
#include <map>
#include <string>

#include "agent/agent.h"
#include "agent/endpoints/credentials.h"
#include "common/clock.h"
#include "control/ecs/ecs.h"
#include "control/iam/iam.h"
#include "control/ssm/ssm.h"

namespace berth::daemon {

class TaskIamAgent final : public agent::Agent {
 public:
  TaskIamAgent(agent::Agent& inner, iam::Iam& iam, ssm::Ssm& ssm, agent::endpoints::CredentialsStore& credentials,
               std::string credentials_key, const Clock& clock);

  void launch(agent::TaskLaunch launch) override;
  void stop(const std::string& task_arn, agent::StopRequest request) override { inner_.stop(task_arn, request); }
  std::vector<std::string> knownTasks() const override { return inner_.knownTasks(); }
  std::string_view name() const override { return inner_.name(); }
  void sampleUsage(std::vector<agent::TaskUsage>& out) override { inner_.sampleUsage(out); }

  // After a restart of berthd: issues credentials again to the running
  // tasks the agent re-adopted that have a task role (the store is in
  // memory; the ids are derived, so the containers' environment still
  // points at them). Call once, after ecs.attachAgent(this).
  void recover(ecs::Ecs& ecs);
  // A task stopped: its credentials go.
  void onTaskEvent(const agent::TaskEvent& event);
  // Re-issues credentials that are near their end.
  void refresh();

  size_t issuedCount() const { return issued_.size(); }

 private:
  struct Issued {
    std::string credentials_id;
    std::string role_arn;
    std::string task_id;
    std::vector<std::string> access_key_ids;  // every session issued, revoked at the end
    WallTime expiration;
    std::chrono::seconds lifetime{0};
  };

  // What the execution role must be allowed before anything starts: pull
  // the images from berth's ECR and write the awslogs streams. Sets
  // launch_error when it may not.
  void checkExecutionRole(agent::TaskLaunch& launch);
  // Resolves `launch`'s secrets into launch.secrets, or sets launch_error.
  void resolveSecrets(agent::TaskLaunch& launch);
  Status issue(const std::string& task_arn, Issued& entry);
  iam::Caller roleCaller(const std::string& role_arn) const;

  agent::Agent& inner_;
  iam::Iam& iam_;
  ssm::Ssm& ssm_;
  agent::endpoints::CredentialsStore& credentials_;
  std::string credentials_key_;
  const Clock& clock_;
  std::map<std::string, Issued> issued_;  // by task ARN
};

}  // namespace berth::daemon
