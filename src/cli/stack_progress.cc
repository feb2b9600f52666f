#include "cli/stack_progress.h"

#include <sys/ioctl.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <cstdlib>
#include <map>
#include <string>
#include <thread>
#include <vector>

#include <fmt/format.h>

#include "common/json.h"
#include "stack/render.h"

namespace berth::cli {

namespace bj = boost::json;

bool colorOut() { return isatty(STDOUT_FILENO) != 0; }

// Whether stdout takes colour and cursor movement: a terminal, NO_COLOR
// unset or empty (no-color.org) and TERM not "dumb".
bool fancyOut() {
  if (!colorOut()) return false;
  const char* no_color = std::getenv("NO_COLOR");
  const char* term = std::getenv("TERM");
  return (no_color == nullptr || *no_color == '\0') && (term == nullptr || std::string_view(term) != "dumb");
}

// ANSI colour for a word when stdout is a terminal.
std::string paint(std::string_view word, std::string_view code) {
  if (!colorOut()) return std::string(word);
  return fmt::format("\033[{}m{}\033[0m", code, word);
}

std::string paintStatus(std::string_view status) {
  if (status == "RUNNING" || status == "HEALTHY" || status == "COMPLETED" || status == "ACTIVE")
    return paint(status, "32");
  if (status == "STOPPED" || status == "UNHEALTHY" || status == "FAILED") return paint(status, "31");
  return paint(status, "33");
}

namespace {

// A task of a service as the last poll saw it.
struct TaskView {
  std::string arn;
  std::string status;  // lastStatus
  std::string health;  // healthStatus; UNKNOWN without a health check

  std::string shortId() const { return arn.substr(arn.rfind('/') + 1, 8); }
  // The health when known, and not after the task has stopped.
  bool healthKnown() const { return !health.empty() && health != "UNKNOWN" && status != "STOPPED"; }
  // "RUNNING (HEALTHY)".
  std::string state() const { return healthKnown() ? fmt::format("{} ({})", status, health) : status; }
};

struct ServiceView {
  std::string name;
  int64_t desired = 0, running = 0, pending = 0;
  size_t deployments = 0;
  std::string rollout;  // the PRIMARY deployment's rolloutState
  std::string rollout_reason;
  std::vector<TaskView> tasks;  // by ARN

  // Its desired count running on one completed deployment.
  bool steady() const {
    return deployments == 1 && running == desired && pending == 0 && (rollout.empty() || rollout == "COMPLETED");
  }
  // "  name: 1 running, 0 pending of 1 desired; 1 deployment (COMPLETED)".
  std::string countsLine(bool colour) const {
    std::string state = rollout.empty() ? "" : fmt::format(" ({})", colour ? paintStatus(rollout) : rollout);
    return fmt::format("  {}: {} running, {} pending of {} desired; {} deployment{}{}", name, running, pending, desired,
                       deployments, deployments == 1 ? "" : "s", state);
  }
};

// Polls an environment's services and their tasks: one DescribeServices,
// one ListTasks per service and one DescribeTasks per 100 tasks a poll.
// A task stays watched after it leaves ListTasks (it is being stopped) until
// it is seen STOPPED, so that its last change shows too.
class ServiceWatch {
 public:
  ServiceWatch(stack::AwsApi& api, const stack::Environment& env) : api_(api), cluster_(env.cluster) {
    for (const auto& s : env.services) names_.emplace_back(stack::ecsServiceName(env, s));
  }

  Result<std::vector<ServiceView>> poll() {
    auto out = BERTH_TRY(api_.json("ecs", "DescribeServices", bj::object{{"cluster", cluster_}, {"services", names_}}));
    std::vector<ServiceView> views;
    if (const bj::array* services = json::getArray(out, "services"))
      for (const auto& v : *services) views.push_back(serviceView(v.as_object()));
    for (const auto& view : views) {
      auto list =
          BERTH_TRY(api_.json("ecs", "ListTasks", bj::object{{"cluster", cluster_}, {"serviceName", view.name}}));
      if (const bj::array* arns = json::getArray(list, "taskArns"))
        for (const auto& arn : *arns)
          if (arn.is_string()) watched_[std::string(arn.as_string())] = view.name;
    }
    std::vector<std::string> arns;
    for (const auto& [arn, service] : watched_) arns.push_back(arn);
    for (size_t first = 0; first < arns.size(); first += kDescribeBatch) {
      bj::array batch;
      for (size_t i = first; i < std::min(arns.size(), first + kDescribeBatch); ++i) batch.emplace_back(arns[i]);
      auto described =
          BERTH_TRY(api_.json("ecs", "DescribeTasks", bj::object{{"cluster", cluster_}, {"tasks", std::move(batch)}}));
      if (const bj::array* tasks = json::getArray(described, "tasks"))
        for (const auto& t : *tasks) place(t.as_object(), views);
      if (const bj::array* failures = json::getArray(described, "failures"))
        for (const auto& f : *failures) watched_.erase(json::stringOr(f.as_object(), "arn"));
    }
    return views;
  }

 private:
  static constexpr size_t kDescribeBatch = 100;  // DescribeTasks' limit

  static ServiceView serviceView(const bj::object& svc) {
    ServiceView view;
    view.name = json::stringOr(svc, "serviceName");
    view.desired = json::getInt(svc, "desiredCount").value_or(0);
    view.running = json::getInt(svc, "runningCount").value_or(0);
    view.pending = json::getInt(svc, "pendingCount").value_or(0);
    if (const bj::array* deployments = json::getArray(svc, "deployments")) {
      view.deployments = deployments->size();
      for (const auto& d : *deployments)
        if (json::stringOr(d.as_object(), "status") == "PRIMARY") {
          view.rollout = json::stringOr(d.as_object(), "rolloutState");
          view.rollout_reason = json::stringOr(d.as_object(), "rolloutStateReason");
        }
    }
    return view;
  }

  // Adds a described task to its service's view; a STOPPED one is watched
  // no longer.
  void place(const bj::object& task, std::vector<ServiceView>& views) {
    TaskView view{json::stringOr(task, "taskArn"), json::stringOr(task, "lastStatus"),
                  json::stringOr(task, "healthStatus")};
    auto watched = watched_.find(view.arn);
    if (watched == watched_.end()) return;
    for (auto& service : views)
      if (service.name == watched->second) service.tasks.push_back(view);
    if (view.status == "STOPPED") watched_.erase(watched);
  }

  stack::AwsApi& api_;
  std::string cluster_;
  bj::array names_;
  std::map<std::string, std::string> watched_;  // task ARN -> service name
};

// For logs and pipes: a service's counts and a task's state as plain lines,
// each when it changes.
class PlainProgress {
 public:
  void show(const std::vector<ServiceView>& services) {
    for (const auto& service : services) {
      std::string counts = service.countsLine(false);
      if (counts_[service.name] != counts) fmt::print("{}\n", counts);
      counts_[service.name] = counts;
      for (const auto& task : service.tasks) {
        std::string& shown = tasks_[task.arn];
        std::string state = task.state();
        if (shown == state) continue;
        fmt::print("  {}: task {} {}{}\n", service.name, task.shortId(), shown.empty() ? "" : shown + " -> ", state);
        shown = state;
      }
    }
    std::fflush(stdout);
  }

 private:
  std::map<std::string, std::string> counts_;  // service -> its last counts line
  std::map<std::string, std::string> tasks_;   // task ARN -> its last state
};

// The columns a line takes on a terminal: its bytes less the ANSI escape
// sequences and UTF-8 continuation bytes.
size_t visibleWidth(std::string_view line) {
  size_t width = 0;
  for (size_t i = 0; i < line.size(); ++i) {
    if (line[i] == '\033' && i + 1 < line.size() && line[i + 1] == '[') {
      i += 2;
      while (i < line.size() && (line[i] < 0x40 || line[i] > 0x7e)) ++i;  // up to the final byte
      continue;
    }
    if ((static_cast<unsigned char>(line[i]) & 0xc0) != 0x80) ++width;
  }
  return width;
}

// A block of lines redrawn in place on a terminal: each frame moves the
// cursor up over the previous one (ESC[nA), clears to the end of the screen
// (ESC[J) and prints the new lines, all in one write.
class LiveBlock {
 public:
  void draw(const std::vector<std::string>& lines) {
    std::string out;
    if (rows_ > 0) out += fmt::format("\r\033[{}A\033[J", rows_);
    rows_ = 0;
    size_t columns = terminalColumns();
    for (const auto& line : lines) {
      out += line;
      out += '\n';
      // A line longer than the terminal wraps onto more rows.
      size_t width = visibleWidth(line);
      rows_ += columns == 0 || width <= columns ? 1 : (width + columns - 1) / columns;
    }
    std::fwrite(out.data(), 1, out.size(), stdout);
    std::fflush(stdout);
  }

 private:
  static size_t terminalColumns() {
    winsize size{};
    return ioctl(STDOUT_FILENO, TIOCGWINSZ, &size) == 0 ? size.ws_col : 0;
  }

  size_t rows_ = 0;  // terminal rows the last frame took
};

// A terminal frame: each service's counts and rollout state, then its tasks
// with their status and health.
std::vector<std::string> liveFrame(const std::vector<ServiceView>& services) {
  auto column = [](const std::string& word, size_t width) {
    return paintStatus(word) + std::string(word.size() < width ? width - word.size() : 0, ' ');
  };
  std::vector<std::string> lines;
  for (const auto& service : services) {
    lines.push_back(service.countsLine(true));
    for (const auto& task : service.tasks) {
      lines.push_back(fmt::format(
          "    task {}  {}", task.shortId(),
          task.healthKnown() ? column(task.status, 14) + paintStatus(task.health) : paintStatus(task.status)));
    }
  }
  return lines;
}

}  // namespace

// Waits until every service of the environment runs its desired count on
// one completed deployment. On a terminal a block of the services and their
// tasks is redrawn in place twice a second, with a spinner and the seconds
// waited; otherwise counts and task states print as plain lines when they
// change.
Status waitForSteadyState(stack::AwsApi& api, const stack::Environment& env, int seconds) {
  if (env.services.empty()) return {};
  static constexpr std::string_view kSpinner = "|/-\\";
  const bool fancy = fancyOut();
  auto start = std::chrono::steady_clock::now();
  auto deadline = start + std::chrono::seconds(seconds);
  ServiceWatch watch(api, env);
  LiveBlock block;
  PlainProgress plain;
  fmt::print("\nWaiting for the services to reach a steady state...\n");
  std::fflush(stdout);
  for (size_t frame = 0;; ++frame) {
    auto services = BERTH_TRY(watch.poll());
    bool all = std::ranges::all_of(services, &ServiceView::steady);
    auto failed = std::ranges::find(services, "FAILED", &ServiceView::rollout);
    auto now = std::chrono::steady_clock::now();
    bool last = all || failed != services.end() || now > deadline;
    if (fancy) {
      auto lines = liveFrame(services);
      if (!last)
        lines.push_back(fmt::format("  {} {}s", kSpinner[frame % kSpinner.size()],
                                    std::chrono::duration_cast<std::chrono::seconds>(now - start).count()));
      block.draw(lines);
    } else {
      plain.show(services);
    }
    if (failed != services.end())
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("service {}: the deployment failed ({})", failed->name, failed->rollout_reason));
    if (all) {
      fmt::print("All services are steady.\n");
      return {};
    }
    if (now > deadline)
      return fail(ErrorCode::kFailedPrecondition,
                  fmt::format("the services did not reach a steady state within {} s", seconds));
    std::this_thread::sleep_for(std::chrono::milliseconds(500));
  }
}

}  // namespace berth::cli
