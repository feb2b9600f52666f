#include "store/store.h"

#include <fcntl.h>
#include <gtest/gtest.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "store/sqlite_migrations.h"

namespace berth::store {
namespace {

namespace fs = std::filesystem;

// A fresh directory, removed with everything in it at the end of the test.
class TempDir {
 public:
  TempDir() {
    std::string tmpl = (fs::temp_directory_path() / "berth-store-XXXXXX").string();
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

std::string errorText(const Error& err) { return std::string(errorCodeName(err.code)) + ": " + err.message; }

#define ASSERT_OK(expr)                                                                    \
  do {                                                                                     \
    auto&& ok_result_ = (expr);                                                            \
    ASSERT_TRUE(ok_result_.has_value()) << #expr << ": " << errorText(ok_result_.error()); \
  } while (0)

// Runs statements on a database file directly, bypassing the store.
void rawExec(const fs::path& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  ASSERT_EQ(sqlite3_open(db_file.c_str(), &db), SQLITE_OK);
  char* msg = nullptr;
  int rc = sqlite3_exec(db, sql.c_str(), nullptr, nullptr, &msg);
  std::string text = msg != nullptr ? msg : "";
  sqlite3_free(msg);
  sqlite3_close(db);
  ASSERT_EQ(rc, SQLITE_OK) << text;
}

// The first column of the first row of `sql`, as text.
std::string rawQuery(const fs::path& db_file, const std::string& sql) {
  sqlite3* db = nullptr;
  std::string out = "<error>";
  if (sqlite3_open_v2(db_file.c_str(), &db, SQLITE_OPEN_READONLY, nullptr) == SQLITE_OK) {
    sqlite3_stmt* stmt = nullptr;
    if (sqlite3_prepare_v2(db, sql.c_str(), -1, &stmt, nullptr) == SQLITE_OK) {
      int rc = sqlite3_step(stmt);
      if (rc == SQLITE_ROW) {
        const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
        out = text != nullptr ? text : "<null>";
      } else if (rc == SQLITE_DONE) {
        out = "<none>";
      }
    }
    sqlite3_finalize(stmt);
  }
  sqlite3_close(db);
  return out;
}

int latestVersion() { return static_cast<int>(sqlite::builtinMigrations().size()); }

// ---------------------------------------------------------------------------
// The contract, run over every implementation.

struct MemoryImpl {
  static std::unique_ptr<Store> open(const fs::path&) { return makeMemoryStore(); }
};

struct SqliteImpl {
  static std::unique_ptr<Store> open(const fs::path& dir) {
    auto store = openSqliteStore(dir / "state.db");
    if (!store) {
      ADD_FAILURE() << errorText(store.error());
      return nullptr;
    }
    return std::move(*store);
  }
};

template <typename Impl>
class StoreContract : public ::testing::Test {
 protected:
  void SetUp() override {
    store_ = Impl::open(dir_.path());
    ASSERT_NE(store_, nullptr);
  }

  std::vector<std::string> keys(std::string_view kind) {
    std::vector<std::string> out;
    auto records = store_->loadAll(kind);
    EXPECT_TRUE(records.has_value());
    if (!records) return out;
    for (const Record& r : *records) out.push_back(r.key);
    return out;
  }

  std::optional<std::string> value(std::string_view kind, std::string_view key) {
    auto got = store_->get(kind, key);
    EXPECT_TRUE(got.has_value()) << errorText(got.error());
    return got ? *got : std::nullopt;
  }

  TempDir dir_;
  std::unique_ptr<Store> store_;
};

class ImplName {
 public:
  template <typename T>
  static std::string GetName(int) {
    return std::is_same_v<T, MemoryImpl> ? "Memory" : "Sqlite";
  }
};

using Impls = ::testing::Types<MemoryImpl, SqliteImpl>;
TYPED_TEST_SUITE(StoreContract, Impls, ImplName);

TYPED_TEST(StoreContract, EmptyStoreHasNothing) {
  EXPECT_EQ(this->keys("cluster"), std::vector<std::string>{});
  EXPECT_EQ(this->value("cluster", "default"), std::nullopt);
  EXPECT_EQ(this->value("", ""), std::nullopt);
}

TYPED_TEST(StoreContract, PutThenGetAndOverwrite) {
  Batch batch;
  batch.put("cluster", "default", R"({"status":"ACTIVE"})");
  ASSERT_OK(this->store_->commit(batch));
  EXPECT_EQ(this->value("cluster", "default"), R"({"status":"ACTIVE"})");
  EXPECT_EQ(this->value("service", "default"), std::nullopt);

  batch.clear();
  batch.put("cluster", "default", R"({"status":"INACTIVE"})");
  ASSERT_OK(this->store_->commit(batch));
  EXPECT_EQ(this->value("cluster", "default"), R"({"status":"INACTIVE"})");
  EXPECT_EQ(this->keys("cluster"), std::vector<std::string>{"default"});
}

TYPED_TEST(StoreContract, EraseRemovesAndToleratesAbsentKeys) {
  Batch batch;
  batch.put("cluster", "a", "1");
  batch.put("cluster", "b", "2");
  ASSERT_OK(this->store_->commit(batch));

  batch.clear();
  batch.erase("cluster", "a");
  batch.erase("cluster", "never-was");
  batch.erase("other-kind", "b");
  ASSERT_OK(this->store_->commit(batch));
  EXPECT_EQ(this->value("cluster", "a"), std::nullopt);
  EXPECT_EQ(this->keys("cluster"), std::vector<std::string>{"b"});
}

TYPED_TEST(StoreContract, LoadAllIsSortedBytewiseAndScopedToKind) {
  Batch batch;
  for (std::string key : {"b", "a/b", "B", "a", "", "\xff", "ab", "a\x01"}) {
    batch.put("task", key, "v:" + key);
  }
  batch.put("tas", "z", "x");    // a kind that is a prefix
  batch.put("task2", "0", "x");  // a kind the prefix of which is the kind
  ASSERT_OK(this->store_->commit(batch));

  auto records = this->store_->loadAll("task");
  ASSERT_OK(records);
  std::vector<std::string> want = {"", "B", "a", "a\x01", "a/b", "ab", "b", "\xff"};
  ASSERT_EQ(records->size(), want.size());
  for (size_t i = 0; i < want.size(); ++i) {
    EXPECT_EQ((*records)[i].kind, "task");
    EXPECT_EQ((*records)[i].key, want[i]);
    EXPECT_EQ((*records)[i].value, "v:" + want[i]);
  }
  EXPECT_EQ(this->keys("tas"), std::vector<std::string>{"z"});
  EXPECT_EQ(this->keys("task2"), std::vector<std::string>{"0"});
}

TYPED_TEST(StoreContract, ValuesAreOpaqueBytes) {
  std::string binary("a\0b\xc3\x28\xff", 6);  // a NUL and invalid UTF-8
  std::string big(1 << 20, 'x');
  Batch batch;
  batch.put("blob", "binary", binary);
  batch.put("blob", "big", big);
  batch.put("blob", "empty", "");
  ASSERT_OK(this->store_->commit(batch));
  EXPECT_EQ(this->value("blob", "binary"), binary);
  EXPECT_EQ(this->value("blob", "big"), big);
  EXPECT_EQ(this->value("blob", "empty"), "");
}

TYPED_TEST(StoreContract, BatchAppliesChangesInOrder) {
  Batch batch;
  batch.put("k", "put-then-erase", "1");
  batch.erase("k", "put-then-erase");
  batch.erase("k", "erase-then-put");
  batch.put("k", "erase-then-put", "2");
  batch.put("k", "put-twice", "first");
  batch.put("k", "put-twice", "second");
  EXPECT_EQ(batch.size(), 6u);
  ASSERT_OK(this->store_->commit(batch));
  EXPECT_EQ(this->keys("k"), (std::vector<std::string>{"erase-then-put", "put-twice"}));
  EXPECT_EQ(this->value("k", "erase-then-put"), "2");
  EXPECT_EQ(this->value("k", "put-twice"), "second");
}

TYPED_TEST(StoreContract, FailingChangeMidBatchAppliesNothing) {
  Batch setup;
  setup.put("service", "web", "v1");
  ASSERT_OK(this->store_->commit(setup));

  for (bool fail_with_erase : {false, true}) {
    Batch batch;
    batch.put("service", "api", "v1");
    batch.put("service", "web", "v2");
    batch.erase("service", "web");
    if (fail_with_erase) {
      batch.erase("", "x");
    } else {
      batch.put("", "x", "y");  // invalid: empty kind
    }
    batch.put("task", "t1", "v1");
    auto status = this->store_->commit(batch);
    ASSERT_FALSE(status.has_value());
    EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument) << errorText(status.error());
    EXPECT_EQ(this->keys("service"), std::vector<std::string>{"web"});
    EXPECT_EQ(this->value("service", "web"), "v1");
    EXPECT_EQ(this->keys("task"), std::vector<std::string>{});
  }

  // The store is still usable.
  Batch next;
  next.put("service", "api", "v1");
  ASSERT_OK(this->store_->commit(next));
  EXPECT_EQ(this->keys("service"), (std::vector<std::string>{"api", "web"}));
}

TYPED_TEST(StoreContract, EmptyBatchSucceeds) {
  Batch batch;
  EXPECT_TRUE(batch.empty());
  ASSERT_OK(this->store_->commit(batch));
}

TYPED_TEST(StoreContract, SequencesCountFromOnePerName) {
  for (int64_t want = 1; want <= 3; ++want) {
    auto got = this->store_->nextSequence("taskdef/web");
    ASSERT_OK(got);
    EXPECT_EQ(*got, want);
  }
  auto other = this->store_->nextSequence("taskdef/api");
  ASSERT_OK(other);
  EXPECT_EQ(*other, 1);
  auto empty = this->store_->nextSequence("");
  ASSERT_FALSE(empty.has_value());
  EXPECT_EQ(empty.error().code, ErrorCode::kInvalidArgument);
}

TYPED_TEST(StoreContract, FaultInjectorFailsNthAndLaterCommits) {
  FaultInjectingStore faulty(*this->store_);
  faulty.failCommitsFrom(3);
  for (int i = 1; i <= 4; ++i) {
    Batch batch;
    batch.put("n", std::to_string(i), "v");
    auto status = faulty.commit(batch);
    if (i < 3) {
      ASSERT_OK(status);
    } else {
      ASSERT_FALSE(status.has_value()) << "commit " << i;
      EXPECT_EQ(status.error().code, ErrorCode::kIo);
      EXPECT_EQ(status.error().sys_errno, EIO);
    }
  }
  EXPECT_EQ(faulty.commitCalls(), 4u);
  EXPECT_EQ(faulty.failedCommits(), 2u);
  // Failed commits never reached the inner store; reads pass through.
  EXPECT_EQ(this->keys("n"), (std::vector<std::string>{"1", "2"}));
  auto through = faulty.loadAll("n");
  ASSERT_OK(through);
  EXPECT_EQ(through->size(), 2u);

  faulty.clearFaults();
  Batch batch;
  batch.put("n", "5", "v");
  ASSERT_OK(faulty.commit(batch));
  EXPECT_EQ(this->value("n", "5"), "v");
}

TYPED_TEST(StoreContract, FaultInjectorPredicateAndSequences) {
  FaultInjectingStore faulty(*this->store_);
  faulty.failCommitsIf([](const Batch& b) {
    for (const auto& change : b.changes()) {
      if (change.kind == "service") return true;
    }
    return false;
  });
  Batch task;
  task.put("task", "t", "v");
  ASSERT_OK(faulty.commit(task));
  Batch service;
  service.put("task", "t2", "v");
  service.put("service", "s", "v");
  ASSERT_FALSE(faulty.commit(service).has_value());
  EXPECT_EQ(this->keys("task"), std::vector<std::string>{"t"});

  faulty.failSequences(true);
  auto seq = faulty.nextSequence("rev");
  ASSERT_FALSE(seq.has_value());
  EXPECT_EQ(seq.error().code, ErrorCode::kIo);
  faulty.failSequences(false);
  auto first = faulty.nextSequence("rev");
  ASSERT_OK(first);
  EXPECT_EQ(*first, 1);  // the failed call consumed nothing
}

TEST(FaultInjectingStore, OwnsItsInnerStore) {
  FaultInjectingStore faulty(makeMemoryStore());
  faulty.failCommitsFrom(faulty.commitCalls() + 1);
  Batch batch;
  batch.put("k", "v", "x");
  EXPECT_FALSE(faulty.commit(batch).has_value());
  auto got = faulty.inner().get("k", "v");
  ASSERT_OK(got);
  EXPECT_EQ(*got, std::nullopt);
}

// ---------------------------------------------------------------------------
// SQLite specifics: files, durability across reopen, schema, locking.

class SqliteStoreTest : public ::testing::Test {
 protected:
  Result<std::unique_ptr<Store>> open(SqliteOptions options = {}) { return openSqliteStore(db_, options); }

  TempDir dir_;
  fs::path db_ = dir_.path() / "state.db";
};

TEST_F(SqliteStoreTest, ReopenKeepsDataAndSequences) {
  for (bool full : {true, false}) {
    SCOPED_TRACE(full ? "synchronous FULL" : "synchronous NORMAL");
    fs::remove(db_);
    {
      auto store = open({.synchronous_full = full});
      ASSERT_OK(store);
      Batch batch;
      batch.put("cluster", "default", "{}");
      batch.put("service", "web", "{\"desired\":2}");
      batch.put("service", "gone", "{}");
      ASSERT_OK((*store)->commit(batch));
      batch.clear();
      batch.erase("service", "gone");
      ASSERT_OK((*store)->commit(batch));
      ASSERT_OK((*store)->nextSequence("rev"));
      ASSERT_OK((*store)->nextSequence("rev"));
    }
    auto store = open({.synchronous_full = full});
    ASSERT_OK(store);
    auto services = (*store)->loadAll("service");
    ASSERT_OK(services);
    ASSERT_EQ(services->size(), 1u);
    EXPECT_EQ((*services)[0].key, "web");
    EXPECT_EQ((*services)[0].value, "{\"desired\":2}");
    auto rev = (*store)->nextSequence("rev");
    ASSERT_OK(rev);
    EXPECT_EQ(*rev, 3);
  }
}

TEST_F(SqliteStoreTest, FilesAreOwnerOnlyAndJournalIsWal) {
  mode_t old_umask = ::umask(022);
  {
    auto store = open();
    ASSERT_OK(store);
    Batch batch;
    batch.put("k", "k", "v");
    ASSERT_OK((*store)->commit(batch));
    for (const char* suffix : {"", "-wal", "-shm", ".lock"}) {
      fs::path file = db_.string() + suffix;
      struct stat st {};
      ASSERT_EQ(::stat(file.c_str(), &st), 0) << file;
      EXPECT_EQ(st.st_mode & 07777, 0600u) << file;
    }
    EXPECT_EQ(rawQuery(db_, "PRAGMA journal_mode"), "wal");
  }
  ::umask(old_umask);
}

TEST_F(SqliteStoreTest, TightensModeOfExistingFile) {
  { std::ofstream(db_.string()); }
  fs::permissions(db_, fs::perms::owner_read | fs::perms::owner_write | fs::perms::group_read | fs::perms::others_read);
  ASSERT_OK(open());
  EXPECT_EQ(fs::status(db_).permissions(), fs::perms::owner_read | fs::perms::owner_write);
}

TEST_F(SqliteStoreTest, MigratesAnEmptyDatabaseFromVersionZero) {
  rawExec(db_, "PRAGMA user_version = 0;");  // an existing, empty database
  ASSERT_EQ(rawQuery(db_, "PRAGMA user_version"), "0");
  ASSERT_OK(open());
  EXPECT_EQ(rawQuery(db_, "PRAGMA user_version"), std::to_string(latestVersion()));
  EXPECT_EQ(rawQuery(db_, "PRAGMA application_id"), std::to_string(sqlite::kApplicationId));
  EXPECT_EQ(rawQuery(db_,
                     "SELECT group_concat(name) FROM "
                     "(SELECT name FROM sqlite_schema WHERE type = 'table' ORDER BY name)"),
            "records,sequences");
  // Opening again runs nothing and keeps the version.
  ASSERT_OK(open());
  EXPECT_EQ(rawQuery(db_, "PRAGMA user_version"), std::to_string(latestVersion()));
}

TEST_F(SqliteStoreTest, RefusesNewerSchemaWithoutTouchingIt) {
  ASSERT_OK(open());
  int newer = latestVersion() + 1;
  rawExec(db_, "PRAGMA user_version = " + std::to_string(newer));
  auto store = open();
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find("newer berth"), std::string::npos) << store.error().message;
  EXPECT_NE(store.error().message.find(std::to_string(newer)), std::string::npos);
  EXPECT_EQ(rawQuery(db_, "PRAGMA user_version"), std::to_string(newer));
}

TEST_F(SqliteStoreTest, RefusesForeignDatabases) {
  rawExec(db_, "CREATE TABLE photos (id INTEGER PRIMARY KEY);");
  auto store = open();
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find("not berth's"), std::string::npos) << store.error().message;
  EXPECT_EQ(rawQuery(db_, "PRAGMA journal_mode"), "delete");  // left as it was

  fs::remove(db_);
  {
    std::ofstream out(db_.string());
    out << std::string(8192, 'j');
  }
  store = open();
  ASSERT_FALSE(store.has_value());
  EXPECT_EQ(store.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(store.error().message.find("not a SQLite database"), std::string::npos) << store.error().message;
}

TEST_F(SqliteStoreTest, SecondOpenerIsRefusedUntilTheFirstCloses) {
  auto first = open();
  ASSERT_OK(first);
  auto second = open();
  ASSERT_FALSE(second.has_value());
  EXPECT_EQ(second.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_NE(second.error().message.find("another berthd"), std::string::npos) << second.error().message;
  EXPECT_NE(second.error().message.find("pid " + std::to_string(::getpid())), std::string::npos)
      << second.error().message;

  // Another process is refused too.
  pid_t pid = ::fork();
  ASSERT_GE(pid, 0);
  if (pid == 0) {
    auto other = openSqliteStore(db_);
    ::_exit(!other && other.error().code == ErrorCode::kFailedPrecondition ? 0 : 1);
  }
  int wstatus = 0;
  ASSERT_EQ(::waitpid(pid, &wstatus, 0), pid);
  EXPECT_TRUE(WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) << "child could open the store";

  first->reset();
  ASSERT_OK(open());
}

TEST_F(SqliteStoreTest, StatementFailingMidTransactionRollsBack) {
  ASSERT_OK(open());
  // A trigger makes one particular, otherwise valid insert fail inside the
  // transaction, after other statements of the batch have run.
  rawExec(db_,
          "CREATE TRIGGER poison BEFORE INSERT ON records WHEN NEW.key = 'poison' "
          "BEGIN SELECT RAISE(ABORT, 'poisoned'); END;");
  auto store = open();
  ASSERT_OK(store);
  Batch batch;
  batch.put("k", "a", "1");
  batch.put("k", "b", "2");
  batch.put("k", "poison", "3");
  auto status = (*store)->commit(batch);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kInvalidArgument);
  EXPECT_NE(status.error().message.find("poisoned"), std::string::npos) << status.error().message;
  auto records = (*store)->loadAll("k");
  ASSERT_OK(records);
  EXPECT_TRUE(records->empty());

  batch.clear();
  batch.put("k", "a", "1");
  ASSERT_OK((*store)->commit(batch));
  store->reset();
  EXPECT_EQ(rawQuery(db_, "SELECT group_concat(key) FROM records"), "a");
}

// A SQLite VFS over the default one whose WAL fsyncs fail on demand: the disk
// failing at the moment a commit is made durable.
class FailingSyncVfs {
 public:
  FailingSyncVfs() {
    real_ = sqlite3_vfs_find(nullptr);
    vfs_ = *real_;
    vfs_.szOsFile = static_cast<int>(sizeof(File)) + real_->szOsFile;
    vfs_.zName = "berth-failing-sync";
    vfs_.xOpen = &FailingSyncVfs::open;
    methods_ = {};
    instance_ = this;
    sqlite3_vfs_register(&vfs_, /*makeDflt=*/1);
  }
  ~FailingSyncVfs() {
    sqlite3_vfs_unregister(&vfs_);
    sqlite3_vfs_register(real_, 1);
    instance_ = nullptr;
  }
  void failWalSyncs(bool fail) { fail_wal_syncs_ = fail; }
  int failedSyncs() const { return failed_syncs_; }

 private:
  struct File {
    sqlite3_file base;
    sqlite3_file* real;
    bool is_wal;
  };
  static sqlite3_file* real(sqlite3_file* f) { return reinterpret_cast<File*>(f)->real; }

  static int open(sqlite3_vfs*, const char* name, sqlite3_file* f, int flags, int* out) {
    auto* file = reinterpret_cast<File*>(f);
    file->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(f) + sizeof(File));
    file->is_wal = (flags & SQLITE_OPEN_WAL) != 0;
    int rc = instance_->real_->xOpen(instance_->real_, name, file->real, flags, out);
    if (file->real->pMethods == nullptr) {
      file->base.pMethods = nullptr;
      return rc;
    }
    instance_->buildMethods(file->real->pMethods);
    file->base.pMethods = &instance_->methods_;
    return rc;
  }

  static int sync(sqlite3_file* f, int flags) {
    if (reinterpret_cast<File*>(f)->is_wal && instance_->fail_wal_syncs_) {
      ++instance_->failed_syncs_;
      return SQLITE_IOERR_FSYNC;
    }
    return real(f)->pMethods->xSync(real(f), flags);
  }

  void buildMethods(const sqlite3_io_methods* r) {
    if (methods_.iVersion != 0) return;
    methods_.iVersion = r->iVersion;
    methods_.xClose = [](sqlite3_file* f) { return real(f)->pMethods->xClose(real(f)); };
    methods_.xRead = [](sqlite3_file* f, void* p, int n, sqlite3_int64 o) {
      return real(f)->pMethods->xRead(real(f), p, n, o);
    };
    methods_.xWrite = [](sqlite3_file* f, const void* p, int n, sqlite3_int64 o) {
      return real(f)->pMethods->xWrite(real(f), p, n, o);
    };
    methods_.xTruncate = [](sqlite3_file* f, sqlite3_int64 n) { return real(f)->pMethods->xTruncate(real(f), n); };
    methods_.xSync = &FailingSyncVfs::sync;
    methods_.xFileSize = [](sqlite3_file* f, sqlite3_int64* n) { return real(f)->pMethods->xFileSize(real(f), n); };
    methods_.xLock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xLock(real(f), l); };
    methods_.xUnlock = [](sqlite3_file* f, int l) { return real(f)->pMethods->xUnlock(real(f), l); };
    methods_.xCheckReservedLock = [](sqlite3_file* f, int* out) {
      return real(f)->pMethods->xCheckReservedLock(real(f), out);
    };
    methods_.xFileControl = [](sqlite3_file* f, int op, void* arg) {
      return real(f)->pMethods->xFileControl(real(f), op, arg);
    };
    methods_.xSectorSize = [](sqlite3_file* f) { return real(f)->pMethods->xSectorSize(real(f)); };
    methods_.xDeviceCharacteristics = [](sqlite3_file* f) {
      return real(f)->pMethods->xDeviceCharacteristics(real(f));
    };
    methods_.xShmMap = [](sqlite3_file* f, int page, int size, int extend, void volatile** out) {
      return real(f)->pMethods->xShmMap(real(f), page, size, extend, out);
    };
    methods_.xShmLock = [](sqlite3_file* f, int offset, int n, int flags) {
      return real(f)->pMethods->xShmLock(real(f), offset, n, flags);
    };
    methods_.xShmBarrier = [](sqlite3_file* f) { real(f)->pMethods->xShmBarrier(real(f)); };
    methods_.xShmUnmap = [](sqlite3_file* f, int del) { return real(f)->pMethods->xShmUnmap(real(f), del); };
    methods_.xFetch = [](sqlite3_file* f, sqlite3_int64 o, int n, void** out) {
      return real(f)->pMethods->xFetch(real(f), o, n, out);
    };
    methods_.xUnfetch = [](sqlite3_file* f, sqlite3_int64 o, void* p) {
      return real(f)->pMethods->xUnfetch(real(f), o, p);
    };
  }

  static inline FailingSyncVfs* instance_ = nullptr;
  sqlite3_vfs* real_;
  sqlite3_vfs vfs_;
  sqlite3_io_methods methods_;
  std::atomic<bool> fail_wal_syncs_{false};
  std::atomic<int> failed_syncs_{0};
};

TEST_F(SqliteStoreTest, FailedSyncAtCommitRefusesLaterWrites) {
  FailingSyncVfs vfs;
  {
    auto store = open();
    ASSERT_OK(store);
    Batch before;
    before.put("k", "before", "1");
    ASSERT_OK((*store)->commit(before));

    vfs.failWalSyncs(true);
    Batch doubtful;
    doubtful.put("k", "doubtful-a", "2");
    doubtful.put("k", "doubtful-b", "2");
    auto status = (*store)->commit(doubtful);
    ASSERT_FALSE(status.has_value());
    EXPECT_GE(vfs.failedSyncs(), 1);
    EXPECT_EQ(status.error().code, ErrorCode::kIo) << errorText(status.error());
    vfs.failWalSyncs(false);

    // The disk works again, but whether `doubtful` is on it is unknown: the
    // store refuses writes until berthd restarts and reloads.
    Batch after;
    after.put("k", "after", "3");
    auto refused = (*store)->commit(after);
    ASSERT_FALSE(refused.has_value());
    EXPECT_EQ(refused.error().code, ErrorCode::kIo);
    EXPECT_NE(refused.error().message.find("restart"), std::string::npos);
    auto seq = (*store)->nextSequence("rev");
    ASSERT_FALSE(seq.has_value());
    EXPECT_EQ(seq.error().code, ErrorCode::kIo);
    ASSERT_OK((*store)->get("k", "before"));  // reads still work
  }
  // After a restart the batch is whole or absent, and writes work.
  auto store = open();
  ASSERT_OK(store);
  auto records = (*store)->loadAll("k");
  ASSERT_OK(records);
  ASSERT_TRUE(records->size() == 1 || records->size() == 3) << records->size();
  EXPECT_EQ(records->front().key, "before");
  Batch after;
  after.put("k", "after", "3");
  ASSERT_OK((*store)->commit(after));
}

// ---------------------------------------------------------------------------
// Migration machinery, with made-up migration lists.

class MigrationTest : public ::testing::Test {
 protected:
  void SetUp() override { ASSERT_EQ(sqlite3_open(":memory:", &db_), SQLITE_OK); }
  void TearDown() override { sqlite3_close(db_); }

  int version() {
    auto v = sqlite::schemaVersion(db_);
    EXPECT_TRUE(v.has_value());
    return v.value_or(-1);
  }
  std::string query(const char* sql) {
    sqlite3_stmt* stmt = nullptr;
    std::string out = "<error>";
    if (sqlite3_prepare_v2(db_, sql, -1, &stmt, nullptr) == SQLITE_OK && sqlite3_step(stmt) == SQLITE_ROW) {
      const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, 0));
      out = text != nullptr ? text : "<null>";
    }
    sqlite3_finalize(stmt);
    return out;
  }

  sqlite3* db_ = nullptr;
};

TEST_F(MigrationTest, AppliesOnlyNewerMigrationsInOrder) {
  const sqlite::Migration v1[] = {
      {1, "CREATE TABLE log (step TEXT); INSERT INTO log VALUES ('1');"},
  };
  ASSERT_OK(sqlite::migrate(db_, v1));
  EXPECT_EQ(version(), 1);

  const sqlite::Migration v3[] = {
      {1, "INSERT INTO log VALUES ('1 again');"},
      {2, "INSERT INTO log VALUES ('2');"},
      {3, "INSERT INTO log VALUES ('3');"},
  };
  ASSERT_OK(sqlite::migrate(db_, v3));
  EXPECT_EQ(version(), 3);
  EXPECT_EQ(query("SELECT group_concat(step, ',') FROM log"), "1,2,3");
  ASSERT_OK(sqlite::migrate(db_, v3));  // nothing left to do
  EXPECT_EQ(query("SELECT count(*) FROM log"), "3");
}

TEST_F(MigrationTest, FailingMigrationLeavesThePreviousVersion) {
  const sqlite::Migration list[] = {
      {1, "CREATE TABLE a (x);"},
      {2, "CREATE TABLE b (x); INSERT INTO no_such_table VALUES (1);"},
  };
  auto status = sqlite::migrate(db_, list);
  ASSERT_FALSE(status.has_value());
  EXPECT_NE(status.error().message.find("schema version 2"), std::string::npos) << status.error().message;
  EXPECT_EQ(version(), 1);
  EXPECT_EQ(query("SELECT count(*) FROM sqlite_schema WHERE name = 'b'"), "0");
  EXPECT_EQ(sqlite3_get_autocommit(db_), 1);
}

TEST_F(MigrationTest, RefusesNewerDatabaseAndBadLists) {
  ASSERT_EQ(sqlite3_exec(db_, "PRAGMA user_version = 7", nullptr, nullptr, nullptr), SQLITE_OK);
  const sqlite::Migration list[] = {{1, "CREATE TABLE a (x);"}};
  auto status = sqlite::migrate(db_, list);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kFailedPrecondition);
  EXPECT_EQ(version(), 7);
  EXPECT_EQ(query("SELECT count(*) FROM sqlite_schema"), "0");

  const sqlite::Migration gap[] = {{1, "SELECT 1;"}, {3, "SELECT 1;"}};
  status = sqlite::migrate(db_, gap);
  ASSERT_FALSE(status.has_value());
  EXPECT_EQ(status.error().code, ErrorCode::kInternal);
}

TEST(BuiltinMigrations, AreNumberedFromOne) {
  auto list = sqlite::builtinMigrations();
  ASSERT_FALSE(list.empty());
  for (size_t i = 0; i < list.size(); ++i) EXPECT_EQ(list[i].version, static_cast<int>(i) + 1);
}

}  // namespace
}  // namespace berth::store
