// The awslogs ingestion path inside berthd, in process, without a container:
// a CRI output.log as berth-monitor writes it (16 KiB pipe reads of numbered
// 100-byte lines, like bench/logs.sh's task) is shipped by AwslogsDriver
// into a LogStore with fdatasync, in a temp dir under $TMPDIR. It isolates
// what bench/logs.sh's ingest part measures of berthd (driver thread +
// store writer thread) from the container, the monitor and the page cache
// of a file still being written, and needs no root.
//
//   BM_AwslogsIngest/MB:<n>/in_flight:<k>  finish() of a source whose file
//       is complete, with AwslogsDriverOptions::appends_in_flight k: MB/s
//       of lines, and CPU per MB of the process (ms_per_MB) and of its two
//       busiest threads (driver, writer; busiest first).
//
//   build/bin/awslogs_ingest_bench --benchmark_repetitions=3
#include <sys/resource.h>
#include <unistd.h>

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include <benchmark/benchmark.h>
#include <fmt/format.h>

#include "agent/logging/awslogs_driver.h"
#include "agent/runtime/log_format.h"
#include "common/clock.h"
#include "logs/log_store.h"

namespace berth::agent::logging {
namespace {

namespace fs = std::filesystem;

constexpr size_t kLineBytes = 100;   // with its '\n'
constexpr size_t kPipeRead = 16384;  // berth-monitor's read size

class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "berth-awslogs-bench-XXXXXX").string();
    if (::mkdtemp(tmpl.data()) == nullptr) std::abort();
    path_ = tmpl;
  }
  ~TempDir() {
    std::error_code ec;
    fs::remove_all(path_, ec);
  }
  const fs::path& path() const { return path_; }

 private:
  fs::path path_;
};

// `lines` numbered lines in CRI records, cut as 16 KiB reads of a pipe.
void writeLog(const fs::path& path, size_t lines) {
  std::string text;
  text.reserve(lines * kLineBytes);
  std::string pad(kLineBytes - 8 - 1 - 1, 'x');
  for (size_t i = 0; i < lines; ++i) fmt::format_to(std::back_inserter(text), "{} {}\n", 10000001 + i, pad);
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  std::string records;
  for (size_t pos = 0; pos < text.size(); pos += kPipeRead) {
    records.clear();
    runtime::appendLogRecords(records, "stdout", std::string_view(text).substr(pos, kPipeRead), ts);
    out.write(records.data(), static_cast<std::streamsize>(records.size()));
    ts.tv_nsec += 20000;
    if (ts.tv_nsec >= 1000000000) {
      ts.tv_nsec -= 1000000000;
      ++ts.tv_sec;
    }
  }
}

// CPU seconds of each thread of this process, by tid.
std::map<int, double> threadCpu() {
  std::map<int, double> out;
  static const double tick = static_cast<double>(::sysconf(_SC_CLK_TCK));
  for (const auto& entry : fs::directory_iterator("/proc/self/task")) {
    std::ifstream in(entry.path() / "stat");
    std::string stat((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    size_t close = stat.rfind(')');
    if (close == std::string::npos) continue;
    // Fields after the comm: state is field 3; utime, stime are 14 and 15.
    std::vector<std::string> fields;
    size_t pos = close + 2;
    while (pos < stat.size()) {
      size_t sp = stat.find(' ', pos);
      if (sp == std::string::npos) sp = stat.size();
      fields.push_back(stat.substr(pos, sp - pos));
      pos = sp + 1;
    }
    if (fields.size() < 13) continue;
    out[std::stoi(entry.path().filename().string())] = (std::stod(fields[11]) + std::stod(fields[12])) / tick;
  }
  return out;
}

double processCpu() {
  rusage ru{};
  ::getrusage(RUSAGE_SELF, &ru);
  auto sec = [](const timeval& tv) { return static_cast<double>(tv.tv_sec) + static_cast<double>(tv.tv_usec) / 1e6; };
  return sec(ru.ru_utime) + sec(ru.ru_stime);
}

void BM_AwslogsIngest(benchmark::State& state) {
  size_t mb = static_cast<size_t>(state.range(0));
  size_t lines = mb * 1000000 / kLineBytes;
  TempDir dir;
  fs::path log = dir.path() / "output.log";
  writeLog(log, lines);
  double total_s = 0, cpu_s = 0, busiest_s = 0, second_s = 0;
  int run = 0;
  for (auto _ : state) {
    state.PauseTiming();
    fs::path store_dir = dir.path() / fmt::format("logs{}", run++);
    auto store = logs::LogStore::open(logs::LogStoreOptions{.dir = store_dir, .clock = &SystemClock::instance()});
    if (!store) {
      state.SkipWithError(store.error().message.c_str());
      return;
    }
    (void)(*store)->createGroup(logs::GroupInfo{.name = "/bench/ingest"});
    (void)(*store)->createStream("/bench/ingest", "bench");
    AwslogsDriverOptions options;
    options.appends_in_flight = static_cast<int>(state.range(1));
    auto driver = AwslogsDriver::start(**store, SystemClock::instance(), options);
    if (!driver) {
      state.SkipWithError(driver.error().message.c_str());
      return;
    }
    AwslogsConfig config;
    config.group = "/bench/ingest";
    config.stream = "bench";
    config.mode = LogMode::kBlocking;
    std::map<int, double> threads_before = threadCpu();
    double cpu_before = processCpu();
    state.ResumeTiming();

    auto start = std::chrono::steady_clock::now();
    std::mutex mu;
    std::condition_variable cv;
    bool done = false;
    (*driver)->watch("t/app", log, config);
    (*driver)->finish("t/app", [&] {
      std::lock_guard lock(mu);
      done = true;
      cv.notify_all();
    });
    {
      std::unique_lock lock(mu);
      cv.wait(lock, [&] { return done; });
    }
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    state.SetIterationTime(seconds);

    state.PauseTiming();
    double cpu = processCpu() - cpu_before;
    std::vector<double> per_thread;
    for (const auto& [tid, s] : threadCpu())
      per_thread.push_back(s - (threads_before.contains(tid) ? threads_before[tid] : 0));
    std::sort(per_thread.rbegin(), per_thread.rend());
    per_thread.resize(std::max<size_t>(per_thread.size(), 2));
    auto stats = (*driver)->stats("t/app");
    if (!stats || stats->events != lines) {
      state.SkipWithError(fmt::format("{} events stored of {}", stats ? stats->events : 0, lines).c_str());
      return;
    }
    driver->reset();
    store->reset();
    fs::remove_all(store_dir);
    total_s += seconds;
    cpu_s += cpu;
    busiest_s += per_thread[0];
    second_s += per_thread[1];
    state.ResumeTiming();
  }
  double bytes_mb = static_cast<double>(lines * kLineBytes) / 1e6 * static_cast<double>(state.iterations());
  state.counters["MB_per_s"] = bytes_mb / total_s;
  state.counters["ms_per_MB"] = cpu_s * 1e3 / bytes_mb;
  state.counters["busiest_thread_ms_per_MB"] = busiest_s * 1e3 / bytes_mb;
  state.counters["second_thread_ms_per_MB"] = second_s * 1e3 / bytes_mb;
}
BENCHMARK(BM_AwslogsIngest)
    ->ArgNames({"MB", "in_flight"})
    ->Args({200, 1})
    ->Args({200, 2})
    ->Args({200, 3})
    ->Args({200, 4})
    ->Iterations(1)
    ->UseManualTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
}  // namespace berth::agent::logging

BENCHMARK_MAIN();
