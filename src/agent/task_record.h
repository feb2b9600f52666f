// What the real agent keeps on disk per task, so that a restarted berthd can
// re-adopt the task (ARCHITECTURE.md "Data directory"). The agent's part of
// the task directory, drawn once:
//
//   <data-dir>/tasks/<task-id>/
//     task.json          TaskRecord (below), replaced atomically on each change
//     awslogs.json       the task's awslogs containers (AwslogsRecord), written
//                        before they start; outlives task.json until their
//                        logs are shipped, so a restarted berthd finds them
//     etc/hosts          bind-mounted at /etc/hosts in every container
//     etc/resolv.conf    nameserver = the subnet's .2 (the VPC resolver)
//     etc/hostname       bind-mounted at /etc/hostname
//     rootfs/<name>/rootfs/{upper,work,merged}   per container (image::RootfsManager)
//     netns              the pinned network namespace (net::TaskNetwork)
//     containers/<name>/ the runtime's state and logs (runtime/layout.h)
//
// task.json is written with write-to-temp + rename and no fsync: it must
// survive kill -9 of berthd (the page cache does), not a power loss, and the
// task start path stays fast. Files are small (a few KiB: the task
// definition is kept so that recovery needs nothing from the control plane).
//
// Threads: plain functions; callers serialize writes per task (the agent
// does them on the task's strand).
#pragma once

#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include "agent/agent.h"
#include "agent/logging/awslogs_config.h"
#include "common/result.h"

namespace berth::agent {

struct ContainerRecord {
  std::string name;
  std::string image_digest;
  int stop_signal = 15;
  bool started = false;  // runtime.start() succeeded: it must be removed
  std::optional<int> exit_code;
  std::string reason;
  std::string endpoint_id;  // in its ECS_CONTAINER_METADATA_URI_V4: kept across restarts
  std::string docker_id;
};

struct TaskRecord {
  TaskLaunch launch;
  TaskPhase phase = TaskPhase::kProvisioning;  // last phase reported
  std::optional<WallTime> pull_started_at, pull_stopped_at, running_at;
  bool stopping = false;  // teardown began; stop_code/stopped_reason say why
  std::string stop_code, stopped_reason;
  std::vector<ContainerRecord> containers;
};

std::filesystem::path taskDir(const std::filesystem::path& data_dir, const std::string& task_id);

Status writeTaskRecord(const std::filesystem::path& data_dir, const TaskRecord& record);
// Every task.json under <data-dir>/tasks; unreadable ones are skipped.
Result<std::vector<TaskRecord>> loadTaskRecords(const std::filesystem::path& data_dir);
// Removes task.json and etc/ (the task's record of itself). Idempotent.
Status removeTaskRecord(const std::filesystem::path& data_dir, const std::string& task_id);

// One awslogs container of a task.
struct AwslogsRecord {
  std::string container;
  logging::AwslogsConfig config;
};
Status writeAwslogsRecords(const std::filesystem::path& data_dir, const std::string& task_id,
                           const std::vector<AwslogsRecord>& records);
// The task's awslogs.json; empty when there is none (or it is unreadable).
std::vector<AwslogsRecord> loadAwslogsRecords(const std::filesystem::path& data_dir, const std::string& task_id);
// Ids of the directories under <data-dir>/tasks without a task.json: tasks
// deprovisioned whose directory (logs) is still there.
std::vector<std::string> finishedTaskDirs(const std::filesystem::path& data_dir);
// Deletes <data-dir>/tasks/<id>/ and all in it. Idempotent.
Status removeTaskDir(const std::filesystem::path& data_dir, const std::string& task_id);

struct TaskEtcFiles {
  std::filesystem::path hosts, resolv_conf, hostname;
};
// Writes etc/hosts (localhost and the task's address with its names),
// etc/resolv.conf and etc/hostname for a task.
Result<TaskEtcFiles> writeTaskEtcFiles(const std::filesystem::path& data_dir, const std::string& task_id,
                                       const std::string& address, const std::string& hostname,
                                       const std::string& nameserver);

}  // namespace berth::agent
