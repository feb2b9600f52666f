// OciRuntime and berth-monitor without root: a shell script stands in for
// runc (enough of its CLI: run --detach, exec, delete), and a temporary
// directory for /sys/fs/cgroup. The "container" is a host shell running a
// harmless command, so this covers supervision, logging, exit files, exec,
// signals and recovery on any developer machine; runtime_root_test.cc covers
// the real runc.
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <condition_variable>
#include <fstream>
#include <map>
#include <mutex>
#include <sstream>

#include <gtest/gtest.h>

#include "agent/runtime/layout.h"
#include "agent/runtime/oci_runtime.h"

namespace berth::agent::runtime {
namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;

constexpr const char* kFakeRunc = R"(#!/bin/sh
# Stand-in for runc. The command of a container is <container dir>/fake-cmd.
log=
while [ $# -gt 0 ]; do
  case "$1" in
    --log) log=$2; shift 2;;
    --root|--log-format) shift 2;;
    *) break;;
  esac
done
verb=$1; shift
case "$verb" in
  run)  # --detach --bundle B --pid-file P ID
    bundle=$3; pidfile=$5
    if [ ! -f "$bundle/../fake-cmd" ]; then
      echo '{"level":"error","msg":"fake: no such command","time":"x"}' >> "$log"
      exit 1
    fi
    # As with runc, the container is not this process's child (a shell may
    # reap its own background jobs), and its pid is in the pid file before
    # this exits.
    ( sh -c 'echo $$ > "$1.tmp" && mv "$1.tmp" "$1"; exec sh "$2"' _ "$pidfile" "$bundle/../fake-cmd" & )
    while [ ! -s "$pidfile" ]; do :; done
    exit 0;;
  exec)  # --pid-file P ID argv...
    pidfile=$2; shift 3
    "$@" &
    echo $! > "$pidfile"
    wait $!;;
  delete) exit 0;;
  *) exit 2;;
esac
)";

std::string slurp(const fs::path& p) {
  std::ifstream in(p);
  std::stringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

class FakeBinaryTest : public ::testing::Test {
 protected:
  void SetUp() override {
    char tmpl[] = "/tmp/berth-rt-fake-XXXXXX";
    dir_ = ::mkdtemp(tmpl);
    fs::create_directories(dir_ / "cgroup/memory");
    fs::create_directories(dir_ / "rootfs");
    std::ofstream(dir_ / "runc") << kFakeRunc;
    ::chmod((dir_ / "runc").c_str(), 0755);
    runtime_ = make();
  }
  void TearDown() override {
    if (!runtime_) runtime_ = make();
    for (const auto& r : refs_) EXPECT_TRUE(runtime_->remove(r));
    runtime_.reset();
    fs::remove_all(dir_);
  }

  std::unique_ptr<ContainerRuntime> make() {
    RuntimeOptions o;
    o.data_dir = dir_ / "data";
    o.runtime_binary = dir_ / "runc";
    o.cgroup_root = dir_ / "cgroup";
    auto rt = makeOciRuntime(o);
    EXPECT_TRUE(rt) << rt.error().message;
    (*rt)->setExitCallback([this](const ContainerRef& r, const ExitStatus& s) {
      std::lock_guard lock(mu_);
      exits_[r.name] = s;
      cv_.notify_all();
    });
    return std::move(*rt);
  }

  ContainerConfig prepare(const std::string& name, const std::string& script) {
    fs::path cdir = layout::containerDir(dir_ / "data", "task", name);
    fs::create_directories(cdir);
    if (!script.empty()) std::ofstream(cdir / "fake-cmd") << script;
    refs_.push_back({"task", name});
    ContainerConfig c;
    c.task_id = "task";
    c.name = name;
    c.runtime_id = "fake-" + name + "-" + std::to_string(::getpid());
    c.rootfs = dir_ / "rootfs";
    c.argv = {"ignored"};
    return c;
  }

  std::optional<ExitStatus> waitExit(const std::string& name) {
    std::unique_lock lock(mu_);
    if (!cv_.wait_for(lock, 20s, [&] { return exits_.contains(name); })) return std::nullopt;
    return exits_[name];
  }

  fs::path dir_;
  std::unique_ptr<ContainerRuntime> runtime_;
  std::vector<ContainerRef> refs_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::map<std::string, ExitStatus> exits_;
};

TEST_F(FakeBinaryTest, ExitCodeAndOutputReachTheLog) {
  auto s = runtime_->start(prepare("a", "echo out; echo err >&2; exit 3\n"));
  ASSERT_TRUE(s) << s.error().message;
  auto e = waitExit("a");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 3);
  EXPECT_FALSE(e->oom_killed);
  EXPECT_GT(e->exited_at.time_since_epoch().count(), 0);
  std::string log = slurp(runtime_->logPath({"task", "a"}));
  EXPECT_NE(log.find(" stdout F out\n"), std::string::npos) << log;
  EXPECT_NE(log.find(" stderr F err\n"), std::string::npos) << log;
}

TEST_F(FakeBinaryTest, StartFailureCarriesTheRuntimesMessage) {
  auto s = runtime_->start(prepare("bad", ""));
  ASSERT_FALSE(s);
  EXPECT_EQ(s.error().aws_type, "CannotStartContainerError");
  EXPECT_EQ(s.error().message, "fake: no such command");
}

TEST_F(FakeBinaryTest, SignalExecAndDuplicateStart) {
  auto c = prepare("b", "exec sleep 30\n");
  ASSERT_TRUE(runtime_->start(c));
  EXPECT_EQ(runtime_->start(c).error().code, ErrorCode::kAlreadyExists);
  auto code = runtime_->exec({"task", "b"}, {"sh", "-c", "exit 6"}, 10s);
  ASSERT_TRUE(code) << code.error().message;
  EXPECT_EQ(*code, 6);
  auto slow = runtime_->exec({"task", "b"}, {"sleep", "10"}, 300ms);
  ASSERT_FALSE(slow);
  EXPECT_EQ(slow.error().code, ErrorCode::kResourceExhausted);
  ASSERT_TRUE(runtime_->signal({"task", "b"}, SIGTERM));
  auto e = waitExit("b");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 143);
  EXPECT_EQ(e->signal, SIGTERM);
}

TEST_F(FakeBinaryTest, RecoverAdoptsRunningAndReportsExited) {
  fs::path go = dir_ / "go";
  ASSERT_TRUE(runtime_->start(prepare("run", "while [ ! -e " + go.string() + " ]; do sleep 0.05; done; exit 12\n")));
  ASSERT_TRUE(runtime_->start(prepare("done", "exit 2\n")));
  ASSERT_TRUE(waitExit("done"));
  runtime_.reset();  // "berthd" goes away; monitors stay
  runtime_ = make();
  auto found = runtime_->recover();
  ASSERT_TRUE(found) << found.error().message;
  std::map<std::string, RecoveredContainer> by;
  for (const auto& r : *found) by[r.ref.name] = r;
  EXPECT_EQ(by["run"].state, ContainerState::kRunning);
  EXPECT_EQ(by["done"].state, ContainerState::kExited);
  ASSERT_TRUE(by["done"].exit);
  EXPECT_EQ(by["done"].exit->exit_code, 2);
  std::ofstream(go) << "";
  auto e = waitExit("run");
  ASSERT_TRUE(e);
  EXPECT_EQ(e->exit_code, 12);
  // remove() leaves only the log behind; recover() no longer lists it.
  ASSERT_TRUE(runtime_->remove({"task", "done"}));
  EXPECT_TRUE(fs::exists(runtime_->logPath({"task", "done"})));
  auto again = runtime_->recover();
  ASSERT_TRUE(again);
  for (const auto& r : *again) EXPECT_NE(r.ref.name, "done");
}

}  // namespace
}  // namespace berth::agent::runtime
