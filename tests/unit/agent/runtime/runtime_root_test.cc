// The real container runtime on this kernel: berth-monitor + cgroups with
// berth's own launcher ("native") and with runc, running busybox containers:
// every test runs once per runtime. Needs root and /bin/busybox (and runc
// for the runc runs); skips visibly otherwise. Each test uses its own data dir and cgroup parent
// (berth-test-<pid>-<n>) and removes containers, runc state, cgroups and
// files in TearDown. Containers get fresh network namespaces (no traffic).
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <condition_variable>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "agent/runtime/layout.h"
#include "agent/runtime/log_format.h"
#include "agent/runtime/oci_runtime.h"
#include "agent/runtime/process.h"
#include "agent/runtime/spec.h"
#include "common/json.h"

namespace berth::agent::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

// Collects exits reported by the runtime's watcher thread.
class Exits {
 public:
  ExitCallback callback() {
    return [this](const ContainerRef& r, const ExitStatus& s) {
      std::lock_guard lock(mu_);
      got_[r.task_id + "/" + r.name] = s;
      cv_.notify_all();
    };
  }
  std::optional<ExitStatus> waitFor(const ContainerRef& r, std::chrono::seconds t = 30s) {
    std::unique_lock lock(mu_);
    std::string k = r.task_id + "/" + r.name;
    if (!cv_.wait_for(lock, t, [&] { return got_.contains(k); })) return std::nullopt;
    return got_[k];
  }

 private:
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ExitStatus> got_;
};

std::string findRunc() {
  for (const char* p : {"/usr/sbin/runc", "/usr/bin/runc"})
    if (::access(p, X_OK) == 0) return p;
  return {};
}

class RuntimeRootTest : public ::testing::TestWithParam<std::string> {
 protected:
  void SetUp() override {
    if (::geteuid() != 0) GTEST_SKIP() << "ROOT_ test: needs root (cgroups, namespaces, runc)";
    if (::access("/bin/busybox", X_OK) != 0) GTEST_SKIP() << "ROOT_ test: needs /bin/busybox (busybox-static)";
    if (GetParam() == "runc" && findRunc().empty()) GTEST_SKIP() << "ROOT_ test: needs runc";
    char tmpl[] = "/tmp/berth-rt-test-XXXXXX";
    data_ = ::mkdtemp(tmpl);
    static int n = 0;
    parent_ = "berth-test-" + std::to_string(::getpid()) + "-" + std::to_string(n++);
    // A busybox rootfs: the static binary and its applets as symlinks.
    rootfs_ = data_ / "rootfs";
    fs::create_directories(rootfs_ / "bin");
    fs::create_directories(rootfs_ / "etc");
    fs::create_directories(rootfs_ / "tmp");
    fs::copy_file("/bin/busybox", rootfs_ / "bin/busybox");
    for (const char* a : {"sh", "echo", "sleep", "true", "false", "tail", "dd", "cat", "ls", "id", "grep", "awk", "sort",
                          "hostname", "touch", "wc"})
      fs::create_symlink("busybox", rootfs_ / "bin" / a);
    std::ofstream(rootfs_ / "etc/passwd") << "root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534::/:/bin/sh\n";
    std::ofstream(rootfs_ / "etc/group") << "root:x:0:\nnogroup:x:65534:\n";
    auto rt = makeRuntime();
    ASSERT_TRUE(rt) << rt.error().message;
    runtime_ = std::move(*rt);
  }

  void TearDown() override {
    if (data_.empty()) return;
    if (!runtime_) runtime_ = std::move(makeRuntime().value());
    for (const auto& r : started_) {
      auto st = runtime_->remove(r);
      EXPECT_TRUE(st) << st.error().message;
    }
    for (const auto& t : tasks_) {
      auto st = runtime_->removeTaskCgroup(t);
      EXPECT_TRUE(st) << st.error().message;
    }
    if (auto* oci = dynamic_cast<OciRuntime*>(runtime_.get())) {
      auto st = oci->cgroups().removeParent();
      EXPECT_TRUE(st) << st.error().message;
    }
    runtime_.reset();
    fs::remove_all(data_);
    // Nothing of ours is left in any cgroup hierarchy.
    for (const auto& h : fs::directory_iterator("/sys/fs/cgroup"))
      EXPECT_FALSE(fs::exists(h.path() / parent_)) << h.path();
  }

  Result<std::unique_ptr<ContainerRuntime>> makeRuntime() {
    RuntimeOptions o;
    o.data_dir = data_;
    o.cgroup_parent = parent_;
    o.kind = GetParam() == "native" ? OciRuntimeKind::kNative : OciRuntimeKind::kRunc;
    // BERTH_TEST_SPARES=N: that many spare monitors (the start-path benchmark compares 0 and 2).
    if (const char* sp = std::getenv("BERTH_TEST_SPARES")) o.spare_monitors = std::atoi(sp);
    // BERTH_TEST_RUNTIME=crun runs the runc tests with crun (on hosts where it works).
    if (const char* k = std::getenv("BERTH_TEST_RUNTIME"); k && std::string(k) == "crun" && GetParam() == "runc")
      o.kind = OciRuntimeKind::kCrun;
    auto rt = makeOciRuntime(o);
    if (rt) (*rt)->setExitCallback(exits_.callback());
    return rt;
  }

  ContainerConfig config(const std::string& task, const std::string& name, std::vector<std::string> argv) {
    ContainerConfig c;
    c.task_id = task;
    c.name = name;
    c.runtime_id = parent_ + "-" + task + "-" + name;
    c.rootfs = rootfs_;
    c.argv = std::move(argv);
    c.hostname = "task-" + task;
    return c;
  }

  Result<StartedContainer> start(const ContainerConfig& c) {
    started_.push_back({c.task_id, c.name});
    return runtime_->start(c);
  }

  void makeTask(const TaskLimits& l) {
    tasks_.push_back(l.task_id);
    auto st = runtime_->createTaskCgroup(l);
    ASSERT_TRUE(st) << st.error().message;
  }

  fs::path data_, rootfs_;
  std::string parent_;
  Exits exits_;
  std::unique_ptr<ContainerRuntime> runtime_;
  std::vector<ContainerRef> started_;
  std::vector<std::string> tasks_;
};

TEST_P(RuntimeRootTest, ROOT_EchoExitCodeAndLog) {
  makeTask({"t1", 256, 64, 64});
  auto c = config("t1", "app", {"sh", "-c", "echo hello; echo oops >&2; printf partial; exit 3"});
  auto s = start(c);
  ASSERT_TRUE(s) << s.error().message;
  EXPECT_GT(s->pid, 0);
  auto e = exits_.waitFor({"t1", "app"});
  ASSERT_TRUE(e) << "no exit reported";
  EXPECT_EQ(e->exit_code, 3);
  EXPECT_FALSE(e->oom_killed);
  std::string log = slurp(runtime_->logPath({"t1", "app"}));
  EXPECT_NE(log.find(" stdout F hello\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stderr F oops\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stdout P partial\n"), std::string::npos) << log;
  LogRecord r;
  EXPECT_TRUE(parseLogRecord(log.substr(0, log.find('\n')), r));
  // The exit is recorded on disk too (for recovery).
  EXPECT_TRUE(fs::exists(layout::containerDir(data_, "t1", "app") / layout::kExitFile));
}

TEST_P(RuntimeRootTest, ROOT_TaskCgroupLimitsAreVisible) {
  makeTask({"t2", 512, 96, 50});
  auto s = start(config("t2", "app", {"sleep", "30"}));
  ASSERT_TRUE(s) << s.error().message;
  fs::path cpu = fs::path("/sys/fs/cgroup/cpu") / parent_ / "t2";
  fs::path mem = fs::path("/sys/fs/cgroup/memory") / parent_ / "t2";
  if (fs::exists(cpu)) {
    EXPECT_EQ(std::stoll(slurp(cpu / "cpu.cfs_quota_us")), 50000);
    EXPECT_EQ(std::stoll(slurp(cpu / "cpu.cfs_period_us")), 100000);
    EXPECT_EQ(std::stoll(slurp(mem / "memory.limit_in_bytes")), 96LL << 20);
    // The container's cgroup is a child of the task's, holding its pid.
    EXPECT_NE(slurp(mem / "app" / "cgroup.procs").find(std::to_string(s->pid)), std::string::npos);
  } else {
    fs::path t = fs::path("/sys/fs/cgroup") / parent_ / "t2";
    EXPECT_EQ(slurp(t / "cpu.max"), "50000 100000\n");
    EXPECT_EQ(std::stoll(slurp(t / "memory.max")), 96LL << 20);
  }
  auto stats = runtime_->taskStats("t2");
  ASSERT_TRUE(stats) << stats.error().message;
  EXPECT_EQ(stats->memory_limit_bytes, 96ull << 20);
  EXPECT_GT(stats->memory_usage_bytes, 0u);
  EXPECT_GE(stats->pids_current, 1u);
  // The container's own cgroup: its processes, no hard limit of its own.
  auto own = runtime_->containerStats({"t2", "app"});
  ASSERT_TRUE(own) << own.error().message;
  EXPECT_GE(own->pids_current, 1u);
  EXPECT_GT(own->memory_usage_bytes, 0u);
  EXPECT_EQ(own->memory_limit_bytes, 0u);
  EXPECT_EQ(runtime_->containerStats({"t2", "nope"}).error().code, ErrorCode::kNotFound);
  ASSERT_TRUE(runtime_->signal({"t2", "app"}, SIGKILL));
  auto e = exits_.waitFor({"t2", "app"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 137);
  EXPECT_FALSE(e->oom_killed);
}

TEST_P(RuntimeRootTest, ROOT_MemoryHogIsOomKilled) {
  makeTask({"t3", 256, 6, 0});
  auto s = start(config("t3", "hog", {"tail", "/dev/zero"}));
  ASSERT_TRUE(s) << s.error().message;
  auto e = exits_.waitFor({"t3", "hog"}, 60s);
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 137);
  EXPECT_EQ(e->signal, SIGKILL);
  EXPECT_TRUE(e->oom_killed);
}

TEST_P(RuntimeRootTest, ROOT_ExecHealthCheck) {
  makeTask({"t4", 0, 0, 0});
  auto s = start(config("t4", "app", {"sleep", "60"}));
  ASSERT_TRUE(s) << s.error().message;
  auto ok = runtime_->exec({"t4", "app"}, {"true"}, 10s);
  ASSERT_TRUE(ok) << ok.error().message;
  EXPECT_EQ(*ok, 0);
  auto seven = runtime_->exec({"t4", "app"}, {"sh", "-c", "[ $(hostname) = task-t4 ] && exit 7"}, 10s);
  ASSERT_TRUE(seven) << seven.error().message;
  EXPECT_EQ(*seven, 7);
  auto slow = runtime_->exec({"t4", "app"}, {"sleep", "20"}, 700ms);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, ErrorCode::kResourceExhausted);
  EXPECT_EQ(runtime_->exec({"t4", "nope"}, {"true"}, 1s).error().code, ErrorCode::kNotFound);
}

TEST_P(RuntimeRootTest, ROOT_SigtermStopsASleepingContainerWithInit) {
  makeTask({"t5", 0, 0, 0});
  auto c = config("t5", "app", {"sleep", "60"});
  c.init_process_enabled = true;
  auto s = start(c);
  ASSERT_TRUE(s) << s.error().message;
  ASSERT_TRUE(runtime_->signal({"t5", "app"}, SIGTERM));
  auto e = exits_.waitFor({"t5", "app"}, 20s);
  ASSERT_TRUE(e) << "SIGTERM did not stop it";
  EXPECT_EQ(e->exit_code, 143);
  // Signalling an exited container is fine; an unknown one is not.
  EXPECT_TRUE(runtime_->signal({"t5", "app"}, SIGKILL));
  EXPECT_EQ(runtime_->signal({"t5", "zzz"}, SIGKILL).error().code, ErrorCode::kNotFound);
}

TEST_P(RuntimeRootTest, ROOT_StartFailureIsReported) {
  makeTask({"t6", 0, 0, 0});
  auto s = start(config("t6", "app", {"/no/such/binary"}));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().aws_type, "CannotStartContainerError");
  EXPECT_FALSE(s.error().message.empty());
  auto u = config("t6", "user", {"true"});
  u.user = "nosuchuser";
  started_.push_back({"t6", "user"});
  EXPECT_EQ(runtime_->start(u).error().aws_type, "CannotStartContainerError");
}

TEST_P(RuntimeRootTest, ROOT_RestartRecoversRunningAndExitedContainers) {
  makeTask({"t7", 0, 0, 0});
  // One waits for a file the test creates later; one exits while "berthd" is down.
  auto waiter = config("t7", "waiter", {"sh", "-c", "while [ ! -e /tmp/go ]; do sleep 0.1; done; echo done; exit 5"});
  auto quick = config("t7", "quick", {"sh", "-c", "sleep 0.5; exit 4"});
  ASSERT_TRUE(start(waiter));
  ASSERT_TRUE(start(quick));
  runtime_.reset();  // berthd "crashes": monitors and containers go on

  fs::path quick_exit = layout::containerDir(data_, "t7", "quick") / layout::kExitFile;
  for (int i = 0; i < 200 && !fs::exists(quick_exit); ++i) std::this_thread::sleep_for(50ms);
  ASSERT_TRUE(fs::exists(quick_exit));

  auto rt = makeRuntime();
  ASSERT_TRUE(rt);
  runtime_ = std::move(*rt);
  auto found = runtime_->recover();
  ASSERT_TRUE(found) << found.error().message;
  std::map<std::string, RecoveredContainer> by;
  for (const auto& r : *found) by[r.ref.name] = r;
  ASSERT_EQ(by.size(), 2u);
  EXPECT_EQ(by["waiter"].state, ContainerState::kRunning);
  EXPECT_GT(by["waiter"].pid, 0);
  EXPECT_EQ(by["quick"].state, ContainerState::kExited);
  ASSERT_TRUE(by["quick"].exit);
  EXPECT_EQ(by["quick"].exit->exit_code, 4);

  // The adopted container can be exec'd into and its exit arrives later.
  auto ok = runtime_->exec({"t7", "waiter"}, {"true"}, 10s);
  ASSERT_TRUE(ok) << ok.error().message;
  std::ofstream(rootfs_ / "tmp/go") << "";
  auto e = exits_.waitFor({"t7", "waiter"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 5);
  EXPECT_NE(slurp(runtime_->logPath({"t7", "waiter"})).find("stdout F done"), std::string::npos);
}

// A real `kill -9` of the process that owns the runtime (berthd's role):
// the container keeps running, its output keeps being logged, and a new
// runtime adopts it and reports its exit code.
TEST_P(RuntimeRootTest, ROOT_Kill9OfTheOwnerLosesNothing) {
  makeTask({"t9", 0, 0, 0});
  auto c =
      config("t9", "app", {"sh", "-c", "echo before; while [ ! -e /tmp/go ]; do sleep 0.1; done; echo after; exit 9"});
  started_.push_back({"t9", "app"});
  runtime_.reset();  // no other threads in this process while forking
  int ready[2];
  ASSERT_EQ(::pipe(ready), 0);
  pid_t owner = ::fork();
  ASSERT_GE(owner, 0);
  if (owner == 0) {
    ::close(ready[0]);
    auto rt = makeRuntime();
    char ok = rt && (*rt)->start(c) ? 'y' : 'n';
    (void)!::write(ready[1], &ok, 1);
    ::pause();
    _exit(0);
  }
  ::close(ready[1]);
  char ok = 0;
  (void)!::read(ready[0], &ok, 1);
  ::close(ready[0]);
  ::kill(owner, SIGKILL);
  ::waitpid(owner, nullptr, 0);
  ASSERT_EQ(ok, 'y');

  auto rt = makeRuntime();
  ASSERT_TRUE(rt);
  runtime_ = std::move(*rt);
  auto found = runtime_->recover();
  ASSERT_TRUE(found) << found.error().message;
  ASSERT_EQ(found->size(), 1u);
  EXPECT_EQ((*found)[0].state, ContainerState::kRunning);
  std::ofstream(rootfs_ / "tmp/go") << "";
  auto e = exits_.waitFor({"t9", "app"});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 9);
  std::string log = slurp(runtime_->logPath({"t9", "app"}));
  EXPECT_NE(log.find("stdout F before"), std::string::npos) << log;
  EXPECT_NE(log.find("stdout F after"), std::string::npos) << log;
}

// berth's launcher gives a container exactly what runc gives it for the
// same config.json: capabilities, no_new_privs, seccomp, user, hostname,
// limits, /dev, the device allow-list, every mount point with its options,
// masked and read-only paths, the cgroup view, namespaces (own pid 1).
TEST_P(RuntimeRootTest, ROOT_NativeMatchesRunc) {
  if (GetParam() != "native") GTEST_SKIP() << "runs once, in the native instance (it starts runc itself)";
  if (findRunc().empty()) GTEST_SKIP() << "ROOT_ test: needs runc to compare with";
  RuntimeOptions o;
  o.data_dir = data_;
  o.cgroup_parent = parent_;
  o.kind = OciRuntimeKind::kRunc;
  auto runc = makeOciRuntime(o);
  ASSERT_TRUE(runc) << runc.error().message;
  (*runc)->setExitCallback(exits_.callback());
  const std::string probe =
      "grep -E '^(Cap|NoNewPrivs|Seccomp)' /proc/self/status; id; hostname; echo pid=$$; ulimit -n; ls -l /dev | "
      "awk '{print $1, $5, $6, $NF}'; cat /sys/fs/cgroup/devices/devices.list; ls /sys/fs/cgroup; "
      "awk '{print $5, $6}' /proc/self/mountinfo | sort; cat /proc/kcore | wc -c; ls /sys/firmware | wc -l; "
      "touch /proc/sys/kernel/x 2>&1; echo ro=$?; touch /newfile; echo rootfs=$?; cat /proc/self/limits | grep -i "
      "'open files'; ls /dev/init";
  std::map<std::string, std::string> out;
  for (const std::string kind : {"native", "runc"}) {
    ContainerRuntime& rt = kind == "native" ? *runtime_ : **runc;
    std::string task = "tp" + kind;
    tasks_.push_back(task);
    ASSERT_TRUE(rt.createTaskCgroup({task, 512, 128, 100}));
    auto c = config(task, "app", {"sh", "-c", probe});
    c.hostname = "parity";  // the same in both
    c.user = "nobody";
    c.read_only_rootfs = true;
    c.init_process_enabled = false;
    c.ulimits = {{"nofile", 1000, 2000}};
    c.memory_mib = 64;
    c.cpu_shares = 256;
    auto s = rt.start(c);
    ASSERT_TRUE(s) << kind << ": " << s.error().message;
    ASSERT_TRUE(exits_.waitFor({task, "app"})) << kind;
    std::string log = slurp(rt.logPath({task, "app"}));
    // Per stream: the order between stdout and stderr (two pipes) is not
    // deterministic.
    std::string text, err_text;
    std::istringstream in(log);
    std::string line;
    while (std::getline(in, line)) {
      LogRecord r;
      if (parseLogRecord(line, r)) (r.stream == "stderr" ? err_text : text) += r.stream + " " + r.text + "\n";
    }
    text += err_text;
    // The container's own cgroup path differs by task id.
    for (size_t at; (at = text.find(task)) != std::string::npos;) text.replace(at, task.size(), "TASK");
    out[kind] = text;
    ASSERT_TRUE(rt.remove({task, "app"}));
  }
  // The one deliberate difference: the spec asks for /sys/fs/cgroup "ro";
  // runc (v1) makes only the hierarchies under it read-only, berth the
  // tmpfs holding them too.
  std::string ro_tmpfs = "stdout /sys/fs/cgroup ro,nosuid,nodev,noexec,relatime\n";
  std::string rw_tmpfs = "stdout /sys/fs/cgroup rw,nosuid,nodev,noexec,relatime\n";
  if (auto at = out["runc"].find(rw_tmpfs); at != std::string::npos) out["runc"].replace(at, rw_tmpfs.size(), ro_tmpfs);
  EXPECT_EQ(out["native"], out["runc"]);
  EXPECT_NE(out["native"].find("uid=65534"), std::string::npos) << out["native"];
  EXPECT_NE(out["native"].find("NoNewPrivs:\t1"), std::string::npos) << out["native"];
}

// Containers are started by spare monitors (waiting ahead of need) once
// they are ready, and such a monitor, whose command line names no
// container, is still recognised and adopted after a restart.
TEST_P(RuntimeRootTest, ROOT_SpareMonitorsStartContainersAndAreAdopted) {
  makeTask({"ts", 0, 0, 0});
  std::string spare_started;
  for (int i = 0; i < 20 && spare_started.empty(); ++i) {
    std::this_thread::sleep_for(50ms);  // the watcher thread starts the spares
    std::string name = "c" + std::to_string(i);
    ASSERT_TRUE(start(config("ts", name, {"sleep", "30"})));
    std::string pid = slurp(layout::containerDir(data_, "ts", name) / layout::kMonitorPidFile);
    std::string cmd = slurp("/proc/" + std::to_string(std::atoi(pid.c_str())) + "/cmdline");
    std::replace(cmd.begin(), cmd.end(), '\0', ' ');
    if (cmd.find(" spare") != std::string::npos) spare_started = name;
  }
  ASSERT_FALSE(spare_started.empty()) << "no container was started by a spare monitor";
  runtime_.reset();
  auto rt = makeRuntime();
  ASSERT_TRUE(rt);
  runtime_ = std::move(*rt);
  auto found = runtime_->recover();
  ASSERT_TRUE(found) << found.error().message;
  bool adopted = false;
  for (const auto& r : *found) adopted |= r.ref.name == spare_started && r.state == ContainerState::kRunning;
  EXPECT_TRUE(adopted);
  ASSERT_TRUE(runtime_->signal({"ts", spare_started}, SIGKILL));
  auto e = exits_.waitFor({"ts", spare_started});
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 137);
}

// berth-monitor costs well under 1 MB of PSS per running container.
TEST_P(RuntimeRootTest, ROOT_MonitorIsSmall) {
  makeTask({"t8", 0, 0, 0});
  ASSERT_TRUE(start(config("t8", "app", {"sleep", "30"})));
  int mpid = std::atoi(slurp(layout::containerDir(data_, "t8", "app") / layout::kMonitorPidFile).c_str());
  ASSERT_GT(mpid, 0);
  std::string rollup = slurp("/proc/" + std::to_string(mpid) + "/smaps_rollup");
  size_t at = rollup.find("\nPss:");
  ASSERT_NE(at, std::string::npos) << rollup;
  long pss_kb = std::atol(rollup.c_str() + at + 5);
  auto field = [&](const char* name) {
    size_t f = rollup.find(std::string("\n") + name + ":");
    return f == std::string::npos ? -1L : std::atol(rollup.c_str() + f + std::strlen(name) + 2);
  };
  std::printf("berth-monitor PSS: %ld kB (RSS %ld kB, private %ld kB)\n", pss_kb, field("Rss"),
              field("Private_Clean") + field("Private_Dirty"));
  EXPECT_GT(pss_kb, 0);
  EXPECT_LT(pss_kb, 1024);

  // With several containers the monitors share their text pages.
  long total = 0;
  const int n = 5;
  for (int i = 0; i < n; ++i) {
    std::string name = "more" + std::to_string(i);
    ASSERT_TRUE(start(config("t8", name, {"sleep", "30"})));
  }
  for (int i = 0; i < n; ++i) {
    std::string pid = slurp(layout::containerDir(data_, "t8", "more" + std::to_string(i)) / layout::kMonitorPidFile);
    std::string r = slurp("/proc/" + std::to_string(std::atoi(pid.c_str())) + "/smaps_rollup");
    size_t p = r.find("\nPss:");
    ASSERT_NE(p, std::string::npos);
    total += std::atol(r.c_str() + p + 5);
  }
  std::printf("berth-monitor PSS with %d more running: %ld kB each on average\n", n + 1, total / n);
  EXPECT_LT(total / n, 1024);
}

// Start-path latency against a bare `runc run` of the same bundle (the
// issue's benchmark baseline). Opt-in: BERTH_RUNTIME_BENCH=<runs>.
TEST_P(RuntimeRootTest, ROOT_StartPathVsBareRunc) {
  const char* runs_env = std::getenv("BERTH_RUNTIME_BENCH");
  if (!runs_env) GTEST_SKIP() << "benchmark: set BERTH_RUNTIME_BENCH=<runs> to run it";
  int runs = std::max(1, std::atoi(runs_env));
  std::string runc = findRunc();
  if (runc.empty()) GTEST_SKIP() << "benchmark: needs runc";
  makeTask({"tb", 1024, 128, 0});
  auto median = [](std::vector<double> v) {
    std::sort(v.begin(), v.end());
    return v[v.size() / 2];
  };
  auto* oci = dynamic_cast<OciRuntime*>(runtime_.get());
  ASSERT_NE(oci, nullptr);

  // Bare: `runc run` (foreground) of a bundle with the same spec, to exit.
  fs::path bundle = data_ / "bare-bundle";
  fs::create_directories(bundle);
  SpecInputs in;
  in.cgroups_path = oci->cgroups().containerCgroupsPath("tb", "bare");
  in.max_nofile = 20000;
  auto c = config("tb", "bare", {"true"});
  std::ofstream(bundle / "config.json") << json::serialize(makeOciSpec(c, in).value());
  std::vector<double> bare, ours, ours_start;
  // Interleaved, so load changes on this shared machine hit both alike.
  for (int i = 0; i < runs; ++i) {
    auto t0 = std::chrono::steady_clock::now();
    auto out = runProcess({runc, "--root", (data_ / "bare-root").string(), "run", "--bundle", bundle.string(),
                           parent_ + "-bare-" + std::to_string(i)},
                          30s);
    auto t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(out && out->status == 0) << (out ? out->err : out.error().message);
    bare.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());

    auto cc = config("tb", "c" + std::to_string(i), {"true"});
    t0 = std::chrono::steady_clock::now();
    auto s = start(cc);
    t1 = std::chrono::steady_clock::now();
    ASSERT_TRUE(s) << s.error().message;
    ASSERT_TRUE(exits_.waitFor({"tb", cc.name}));
    auto t2 = std::chrono::steady_clock::now();
    ours_start.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    ours.push_back(std::chrono::duration<double, std::milli>(t2 - t0).count());
    ASSERT_TRUE(runtime_->remove({"tb", cc.name}));
  }
  std::printf(
      "runs=%d  bare runc run (exec->exited) median %.1f ms | berth start() median %.1f ms, start->exit "
      "reported median %.1f ms\n",
      runs, median(bare), median(ours_start), median(ours));
}

INSTANTIATE_TEST_SUITE_P(Runtimes, RuntimeRootTest, ::testing::Values("native", "runc"),
                         [](const ::testing::TestParamInfo<std::string>& info) { return info.param; });

}  // namespace
}  // namespace berth::agent::runtime
