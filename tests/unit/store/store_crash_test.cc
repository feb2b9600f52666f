// kill -9 in the middle of commits: every acknowledged batch survives and no
// batch is half there.
//
// A forked writer commits numbered batches as fast as it can and reports the
// number of each one whose commit() returned success on a pipe. The parent
// SIGKILLs it after a random short time, reopens the store and checks it
// against what was acknowledged. Several rounds run on the same database, so
// recovery from a crash is itself crashed into; the first round may land
// while the database is still being created and migrated.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include "store/store.h"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

constexpr int kRounds = 6;
constexpr int kPartsPerBatch = 4;
constexpr int kMaxLifeMs = 250;

std::string partKey(int64_t batch, int part) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%010lld/%d", static_cast<long long>(batch), part);
  return buf;
}

std::string partValue(int64_t batch, int part) {
  return "{\"batch\":" + std::to_string(batch) + ",\"part\":" + std::to_string(part) + "}";
}

// The child: commits batches first, first + 1, ... until killed. Each batch
// puts kPartsPerBatch records, moves the single "tmp" record from the previous
// batch's key to its own (an erase and a put), records the last batch number
// and the sequence value it took. Never returns.
[[noreturn]] void runWriter(const fs::path& db_file, int64_t first, int ack_fd) {
  auto store = openSqliteStore(db_file);
  if (!store) {
    std::fprintf(stderr, "writer: open: %s\n", store.error().message.c_str());
    ::_exit(2);
  }
  for (int64_t n = first;; ++n) {
    auto seq = (*store)->nextSequence("crash");
    if (!seq) ::_exit(3);
    Batch batch;
    for (int part = 0; part < kPartsPerBatch; ++part) {
      batch.put("crash-part", partKey(n, part), partValue(n, part));
    }
    batch.erase("crash-tmp", partKey(n - 1, 0));
    batch.put("crash-tmp", partKey(n, 0), "");
    batch.put("crash-meta", "last", std::to_string(n));
    batch.put("crash-meta", "seq", std::to_string(*seq));
    if (!(*store)->commit(batch)) ::_exit(4);
    if (::write(ack_fd, &n, sizeof n) != sizeof n) ::_exit(5);
  }
}

int64_t toInt(const std::optional<std::string>& s) { return s ? std::stoll(*s) : 0; }

// Removes the test's directory however the test ends.
struct RemoveOnExit {
  fs::path dir;
  ~RemoveOnExit() {
    std::error_code ec;
    fs::remove_all(dir, ec);
  }
};

TEST(StoreCrash, AcknowledgedBatchesSurviveSigkill) {
  std::string tmpl = (fs::temp_directory_path() / "berth-crash-XXXXXX").string();
  ASSERT_NE(::mkdtemp(tmpl.data()), nullptr);
  const fs::path dir = tmpl;
  const fs::path db_file = dir / "state.db";
  RemoveOnExit cleanup{dir};

  const unsigned seed = std::random_device{}();
  SCOPED_TRACE("seed " + std::to_string(seed));
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> life_ms(1, kMaxLifeMs);

  int64_t committed = 0;  // highest batch number on disk after the last round
  int64_t total_acks = 0;
  for (int round = 0; round < kRounds; ++round) {
    SCOPED_TRACE("round " + std::to_string(round));
    int fds[2];
    ASSERT_EQ(::pipe2(fds, O_CLOEXEC), 0);
    // Big enough that the writer never blocks on it within kMaxLifeMs.
    ::fcntl(fds[1], F_SETPIPE_SZ, 1 << 20);
    pid_t pid = ::fork();
    ASSERT_GE(pid, 0);
    if (pid == 0) {
      ::close(fds[0]);
      runWriter(db_file, committed + 1, fds[1]);
    }
    ::close(fds[1]);
    std::this_thread::sleep_for(std::chrono::milliseconds(life_ms(rng)));
    ASSERT_EQ(::kill(pid, SIGKILL), 0);
    int wstatus = 0;
    ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
    ASSERT_TRUE(WIFSIGNALED(wstatus) && WTERMSIG(wstatus) == SIGKILL)
        << "the writer ended by itself, status " << wstatus;

    std::vector<int64_t> acks;
    int64_t n;
    ssize_t got;
    while ((got = ::read(fds[0], &n, sizeof n)) == sizeof n) acks.push_back(n);
    ::close(fds[0]);
    ASSERT_EQ(got, 0) << "torn ack";
    for (size_t i = 0; i < acks.size(); ++i) ASSERT_EQ(acks[i], committed + 1 + int64_t(i));
    const int64_t last_ack = acks.empty() ? committed : acks.back();
    total_acks += static_cast<int64_t>(acks.size());

    auto store = openSqliteStore(db_file);
    ASSERT_TRUE(store.has_value()) << store.error().message;

    // Every acknowledged batch is there; at most one more committed batch
    // whose ack the kill beat.
    auto last = (*store)->get("crash-meta", "last");
    ASSERT_TRUE(last.has_value());
    const int64_t on_disk = toInt(*last);
    EXPECT_GE(on_disk, last_ack);
    EXPECT_LE(on_disk, last_ack + 1);

    // Batches 1..on_disk are whole, and nothing beyond is there.
    auto parts = (*store)->loadAll("crash-part");
    ASSERT_TRUE(parts.has_value());
    ASSERT_EQ(parts->size(), static_cast<size_t>(on_disk * kPartsPerBatch));
    size_t i = 0;
    for (int64_t b = 1; b <= on_disk; ++b) {
      for (int part = 0; part < kPartsPerBatch; ++part, ++i) {
        ASSERT_EQ((*parts)[i].key, partKey(b, part));
        ASSERT_EQ((*parts)[i].value, partValue(b, part));
      }
    }
    // The erase and the put of the moving record happened together.
    auto tmp = (*store)->loadAll("crash-tmp");
    ASSERT_TRUE(tmp.has_value());
    if (on_disk == 0) {
      EXPECT_TRUE(tmp->empty());
    } else {
      ASSERT_EQ(tmp->size(), 1u);
      EXPECT_EQ(tmp->front().key, partKey(on_disk, 0));
    }
    // The counter never goes back: the next value is beyond every value a
    // committed batch took.
    auto seq_used = (*store)->get("crash-meta", "seq");
    ASSERT_TRUE(seq_used.has_value());
    auto next_seq = (*store)->nextSequence("crash");
    ASSERT_TRUE(next_seq.has_value());
    EXPECT_GT(*next_seq, toInt(*seq_used));

    committed = on_disk;
    if (HasFailure()) break;
  }
  RecordProperty("acknowledged_batches", static_cast<int>(total_acks));
  std::printf("[          ] %lld batches acknowledged over %d kills\n", static_cast<long long>(total_acks), kRounds);
}

}  // namespace
}  // namespace berth::store
