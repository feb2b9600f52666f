// Store: the control plane's durable state (ARCHITECTURE.md, "store").
//
// The control plane keeps its whole model in memory and writes every change
// through to a Store before it answers the API call that made the change; on
// start it reads everything back with loadAll(). The store knows nothing about
// clusters or services: it holds opaque values (JSON text) under a
// (kind, key) pair, e.g. ("service", "<cluster-arn>/<name>").
//
// Durability contract: when commit() or nextSequence() returns success, the
// change is on disk and survives kill -9 of berthd (and, with the default
// SqliteOptions, a power loss). A failed commit() applied nothing, with one
// exception documented at commit().
//
// Threads: a Store is used by one thread at a time. In berthd that is the
// control plane's executor; calling from another thread is fine as long as
// calls do not overlap. Implementations serialize their calls internally, so
// an accidental overlap is safe, only slow.
#pragma once

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "common/result.h"

namespace berth::store {

// One stored value. `kind` is never empty.
struct Record {
  std::string kind;
  std::string key;
  std::string value;  // opaque to the store (JSON text by convention)
};

// A set of changes that commit() applies atomically, in the order they were
// added: a later put or erase of the same (kind, key) wins. A Batch is a plain
// value; build it on any thread.
class Batch {
 public:
  enum class Op : uint8_t { kPut, kErase };
  struct Change {
    Op op;
    std::string kind;
    std::string key;
    std::string value;  // empty for kErase
  };

  // Inserts or replaces the value of (kind, key). `kind` must not be empty:
  // commit() rejects the whole batch with kInvalidArgument otherwise.
  void put(std::string kind, std::string key, std::string value);
  // Removes (kind, key); erasing an absent key is not an error.
  void erase(std::string kind, std::string key);
  void clear() { changes_.clear(); }

  bool empty() const { return changes_.empty(); }
  size_t size() const { return changes_.size(); }

  // The changes in the order they were added; for Store implementations.
  const std::vector<Change>& changes() const { return changes_; }

 private:
  std::vector<Change> changes_;
};

class Store {
 public:
  virtual ~Store() = default;

  // Every record of `kind`, sorted by key (bytewise, as std::string orders).
  virtual Result<std::vector<Record>> loadAll(std::string_view kind) = 0;

  // The value of (kind, key), or nullopt if there is none.
  virtual Result<std::optional<std::string>> get(std::string_view kind, std::string_view key) = 0;

  // Applies every change of `batch` or none of them; durable when it returns
  // success. An empty batch succeeds without touching the disk.
  // Errors: kInvalidArgument (a change is invalid, e.g. an empty kind),
  // kResourceExhausted (disk full) and others leave the store as it was.
  // kIo means the disk failed while the commit was being made durable, so the
  // batch may or may not be on disk: the store then refuses every later
  // write with kIo, and the caller should restart and reload from loadAll(),
  // which is the truth. (LevelDB treats a failed sync the same way.)
  virtual Status commit(const Batch& batch) = 0;

  // Increments the durable counter `name` (created on first use) and returns
  // its new value: 1, 2, 3, ... Never returns a value twice, even across
  // crashes; a value taken by a caller whose later commit() failed is simply
  // skipped (gaps are possible). Used for task-definition revisions.
  // `name` must not be empty.
  virtual Result<int64_t> nextSequence(std::string_view name) = 0;
};

struct SqliteOptions {
  // synchronous=FULL: fsync the WAL on every commit, so an acknowledged
  // change survives a power loss, not only a crash of berthd. NORMAL syncs
  // only at checkpoints: still safe against kill -9, several times faster,
  // but the last commits may vanish on power loss. Tests may choose NORMAL.
  bool synchronous_full = true;
};

// Opens (creating if needed, mode 0600) the SQLite database `db_file` in WAL
// mode and brings its schema up to date. Takes an exclusive flock on
// "<db_file>.lock" for the lifetime of the returned Store, so a second berthd
// on the same data dir fails here with kFailedPrecondition. Also fails with
// kFailedPrecondition if the database was written by a newer berth (its schema
// version is higher than this code knows) or is not a berth database; such
// files are left as they were. The parent directory must exist. The lock file
// stays after close (removing it would race with the next opener). A process
// forked from berthd without exec shares the lock: it must not outlive berthd
// holding it, or the next berthd cannot open the store.
Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& db_file, SqliteOptions options = {});

// A Store in memory, with the same semantics as the SQLite one except that
// "durable" means "until the object is destroyed". For tests and benchmarks.
std::unique_ptr<Store> makeMemoryStore();

// Test helper (LevelDB's fault-injecting Env, STYLE.md 2): forwards to an
// inner store, but fails chosen commits with kIo (sys_errno EIO) without
// forwarding them, so the inner store is left untouched. Reads always pass
// through. Fault controls may be called from any thread.
class FaultInjectingStore final : public Store {
 public:
  // Owns `inner`.
  explicit FaultInjectingStore(std::unique_ptr<Store> inner);
  // Borrows `inner`, which must outlive this object.
  explicit FaultInjectingStore(Store& inner);

  Result<std::vector<Record>> loadAll(std::string_view kind) override;
  Result<std::optional<std::string>> get(std::string_view kind, std::string_view key) override;
  Status commit(const Batch& batch) override;
  Result<int64_t> nextSequence(std::string_view name) override;

  // Fails commit number `n` and every later one, counting every commit()
  // call on this object from 1 (failed ones included). failCommitsFrom(1)
  // fails all; failCommitsFrom(commitCalls() + 1) fails from the next one.
  void failCommitsFrom(uint64_t n);
  // Fails each commit whose batch makes `pred` return true (in addition to
  // failCommitsFrom). Pass nullptr to remove. `pred` runs with this object's
  // lock held and must not call back into it.
  void failCommitsIf(std::function<bool(const Batch&)> pred);
  // Fails nextSequence() calls while `fail` is true.
  void failSequences(bool fail);
  // Removes every fault.
  void clearFaults();

  uint64_t commitCalls() const;    // commit() calls so far
  uint64_t failedCommits() const;  // of which were failed by injection
  Store& inner() { return *inner_; }

 private:
  bool shouldFailLocked(const Batch& batch);

  std::unique_ptr<Store> owned_;
  Store* inner_;
  mutable std::mutex mu_;
  uint64_t commit_calls_ = 0;
  uint64_t failed_commits_ = 0;
  uint64_t fail_from_ = 0;  // 0: off
  std::function<bool(const Batch&)> fail_pred_;
  bool fail_sequences_ = false;
};

}  // namespace berth::store
