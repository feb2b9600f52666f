// The SQLite Store: one connection in WAL mode, every commit one IMMEDIATE
// transaction over cached prepared statements.
#include <fcntl.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <mutex>
#include <string>
#include <utility>

#include "store/sqlite_migrations.h"
#include "store/sqlite_util.h"
#include "store/store.h"

namespace berth::store {
namespace {

using sqlite::DbPtr;
using sqlite::StmtPtr;
using sqlite::StmtScope;

// How long a statement waits for a lock held by another connection. Only an
// operator's sqlite3 shell can hold one (the data-dir lock keeps other
// berthds out), so this bounds how long such a shell can stall the executor.
constexpr int kBusyTimeoutMs = 5000;
// After a checkpoint, truncate the WAL back to this size so one burst of
// writes does not keep a large file around.
constexpr int64_t kWalSizeLimitBytes = 64 << 20;

class FdCloser {
 public:
  explicit FdCloser(int fd = -1) : fd_(fd) {}
  FdCloser(FdCloser&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  FdCloser& operator=(FdCloser&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~FdCloser() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

std::string readSmallFile(int fd) {
  char buf[64];
  ssize_t n = ::pread(fd, buf, sizeof buf, 0);
  if (n <= 0) return {};
  std::string s(buf, static_cast<size_t>(n));
  while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.pop_back();
  return s;
}

// Takes the data directory's exclusive lock: an flock on "<db>.lock", held
// until the returned descriptor is closed (or the process dies). flock locks
// belong to the open file description, so a second open in this process
// conflicts too. The file records the holder's pid for the error message.
// O_CLOEXEC keeps the lock from leaking into exec'd children; a child forked
// without exec would still share it.
Result<FdCloser> lockDataDir(const std::filesystem::path& lock_file) {
  FdCloser fd(::open(lock_file.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0600));
  if (fd.get() < 0) return failErrno("store: open " + lock_file.string(), errno);
  if (::flock(fd.get(), LOCK_EX | LOCK_NB) != 0) {
    int err = errno;
    if (err != EWOULDBLOCK) return failErrno("store: flock " + lock_file.string(), err);
    std::string holder = readSmallFile(fd.get());
    return fail(ErrorCode::kFailedPrecondition, "store: " + lock_file.string() + " is locked" +
                                                    (holder.empty() ? "" : " by pid " + holder) +
                                                    ": another berthd is using this data directory");
  }
  std::string pid = std::to_string(::getpid()) + "\n";
  // The pid is a diagnostic only; failing to write it is not worth failing for.
  if (::ftruncate(fd.get(), 0) == 0) {
    static_cast<void>(::pwrite(fd.get(), pid.data(), pid.size(), 0));
  }
  return fd;
}

// Creates the database file with mode 0600 before SQLite sees it: SQLite
// would create it 0644, and gives the -wal and -shm files the mode of the
// database file. A new file's directory entry is synced so that the file
// itself survives a power loss.
Status prepareDbFile(const std::filesystem::path& db_file) {
  FdCloser fd(::open(db_file.c_str(), O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600));
  bool created = fd.get() >= 0;
  if (!created) {
    if (errno != EEXIST) return failErrno("store: create " + db_file.string(), errno);
    fd = FdCloser(::open(db_file.c_str(), O_RDWR | O_CLOEXEC));
    if (fd.get() < 0) return failErrno("store: open " + db_file.string(), errno);
  }
  struct stat st {};
  if (::fstat(fd.get(), &st) != 0) return failErrno("store: stat " + db_file.string(), errno);
  if (!S_ISREG(st.st_mode)) {
    return fail(ErrorCode::kFailedPrecondition, "store: " + db_file.string() + " is not a file");
  }
  // Also covers a umask that took the owner's write bit away.
  if ((st.st_mode & 07777) != 0600 && ::fchmod(fd.get(), 0600) != 0) {
    return failErrno("store: chmod " + db_file.string(), errno);
  }
  if (created) {
    std::filesystem::path dir = db_file.parent_path();
    if (dir.empty()) dir = ".";
    FdCloser dir_fd(::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (dir_fd.get() < 0) return failErrno("store: open " + dir.string(), errno);
    if (::fsync(dir_fd.get()) != 0) return failErrno("store: fsync " + dir.string(), errno);
  }
  return {};
}

Result<std::string> pragmaText(sqlite3* db, const char* sql) {
  auto stmt = BERTH_TRY(sqlite::prepare(db, sql));
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return std::unexpected(sqlite::error(db, rc, sql));
  return sqlite::columnText(stmt.get(), 0);
}

// Refuses files that are SQLite databases but not berth's, before any
// migration writes to them.
Status checkIsBerthDb(sqlite3* db, const std::filesystem::path& db_file) {
  int version = BERTH_TRY(sqlite::schemaVersion(db));
  std::string app_id = BERTH_TRY(pragmaText(db, "PRAGMA application_id"));
  std::string tables = BERTH_TRY(pragmaText(db, "SELECT count(*) FROM sqlite_schema"));
  bool ours = version == 0 ? tables == "0" : app_id == std::to_string(sqlite::kApplicationId);
  if (!ours) {
    return fail(ErrorCode::kFailedPrecondition,
                "store: " + db_file.string() + " is a SQLite database, but not berth's");
  }
  return {};
}

class SqliteStore final : public Store {
 public:
  static Result<std::unique_ptr<Store>> open(const std::filesystem::path& db_file, SqliteOptions options);

  Result<std::vector<Record>> loadAll(std::string_view kind) override;
  Result<std::optional<std::string>> get(std::string_view kind, std::string_view key) override;
  Status commit(const Batch& batch) override;
  Result<int64_t> nextSequence(std::string_view name) override;

 private:
  SqliteStore(FdCloser lock, DbPtr db) : lock_(std::move(lock)), db_(std::move(db)) {}
  Status prepareStatements();
  // Runs a statement that returns no rows; the error names `what`.
  Status stepDone(sqlite3_stmt* stmt, std::string_view what);
  Status failedError() const;
  // Remembers an error after which the disk's state is unknown.
  void poison(const Error& err) { failed_ = err; }

  // Destroyed in reverse order: statements, then the connection, then the lock.
  FdCloser lock_;
  DbPtr db_;
  StmtPtr begin_, commit_, rollback_, put_, erase_, get_, load_, sequence_;

  std::mutex mu_;  // serializes calls; the connection is opened NOMUTEX
  std::optional<Error> failed_;
};

Result<std::unique_ptr<Store>> SqliteStore::open(const std::filesystem::path& db_file, SqliteOptions options) {
  FdCloser lock = BERTH_TRY(lockDataDir(db_file.string() + ".lock"));
  BERTH_TRY(prepareDbFile(db_file));

  sqlite3* raw = nullptr;
  int rc = sqlite3_open_v2(db_file.c_str(), &raw, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX | SQLITE_OPEN_EXRESCODE,
                           nullptr);
  DbPtr db(raw);
  if (rc != SQLITE_OK) {
    return std::unexpected(sqlite::error(db.get(), rc, "open " + db_file.string()));
  }
  sqlite3_extended_result_codes(db.get(), 1);
  sqlite3_busy_timeout(db.get(), kBusyTimeoutMs);

  // Identify the file before changing anything in it (even its journal
  // mode). This is the first read: a file that is not SQLite fails here.
  if (auto ours = checkIsBerthDb(db.get(), db_file); !ours) {
    if ((sqlite3_errcode(db.get()) & 0xff) == SQLITE_NOTADB) {
      return fail(ErrorCode::kFailedPrecondition, "store: " + db_file.string() + " is not a SQLite database");
    }
    return std::unexpected(std::move(ours).error());
  }
  auto mode = pragmaText(db.get(), "PRAGMA journal_mode = WAL");
  if (!mode) return std::unexpected(mode.error());
  if (*mode != "wal") {
    return fail(ErrorCode::kFailedPrecondition,
                "store: " + db_file.string() + " cannot use WAL mode (got " + *mode + ")");
  }
  // FULL: a commit is acknowledged to the API caller only once it is on disk,
  // so the WAL is fsynced at every commit. See SqliteOptions.
  BERTH_TRY(sqlite::exec(db.get(),
                         options.synchronous_full ? "PRAGMA synchronous = FULL" : "PRAGMA synchronous = NORMAL",
                         "set synchronous"));
  std::string pragmas =
      "PRAGMA foreign_keys = ON; PRAGMA journal_size_limit = " + std::to_string(kWalSizeLimitBytes) + ";";
  BERTH_TRY(sqlite::exec(db.get(), pragmas.c_str(), "set pragmas"));

  BERTH_TRY(sqlite::migrate(db.get(), sqlite::builtinMigrations()));

  std::unique_ptr<SqliteStore> store(new SqliteStore(std::move(lock), std::move(db)));
  BERTH_TRY(store->prepareStatements());
  return store;
}

Status SqliteStore::prepareStatements() {
  sqlite3* db = db_.get();
  begin_ = BERTH_TRY(sqlite::prepare(db, "BEGIN IMMEDIATE"));
  commit_ = BERTH_TRY(sqlite::prepare(db, "COMMIT"));
  rollback_ = BERTH_TRY(sqlite::prepare(db, "ROLLBACK"));
  put_ = BERTH_TRY(sqlite::prepare(db,
                                   "INSERT INTO records (kind, key, value) VALUES (?1, ?2, ?3) "
                                   "ON CONFLICT (kind, key) DO UPDATE SET value = excluded.value"));
  erase_ = BERTH_TRY(sqlite::prepare(db, "DELETE FROM records WHERE kind = ?1 AND key = ?2"));
  get_ = BERTH_TRY(sqlite::prepare(db, "SELECT value FROM records WHERE kind = ?1 AND key = ?2"));
  load_ = BERTH_TRY(sqlite::prepare(db, "SELECT key, value FROM records WHERE kind = ?1 ORDER BY key"));
  sequence_ = BERTH_TRY(sqlite::prepare(db,
                                        "INSERT INTO sequences (name, value) VALUES (?1, 1) "
                                        "ON CONFLICT (name) DO UPDATE SET value = value + 1 RETURNING value"));
  return {};
}

Status SqliteStore::stepDone(sqlite3_stmt* stmt, std::string_view what) {
  StmtScope scope(stmt);
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) return std::unexpected(sqlite::error(db_.get(), rc, what));
  return {};
}

Status SqliteStore::failedError() const {
  Error err = *failed_;
  err.message = "store: refusing writes after an earlier disk failure (restart berthd): " + failed_->message;
  return std::unexpected(std::move(err));
}

Result<std::vector<Record>> SqliteStore::loadAll(std::string_view kind) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = load_.get();
  StmtScope scope(stmt);
  sqlite::bindText(stmt, 1, kind);
  std::vector<Record> out;
  int rc;
  while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
    out.push_back(Record{std::string(kind), sqlite::columnText(stmt, 0), sqlite::columnText(stmt, 1)});
  }
  if (rc != SQLITE_DONE) return std::unexpected(sqlite::error(db_.get(), rc, "load records"));
  return out;
}

Result<std::optional<std::string>> SqliteStore::get(std::string_view kind, std::string_view key) {
  std::lock_guard lock(mu_);
  sqlite3_stmt* stmt = get_.get();
  StmtScope scope(stmt);
  sqlite::bindText(stmt, 1, kind);
  sqlite::bindText(stmt, 2, key);
  int rc = sqlite3_step(stmt);
  if (rc == SQLITE_DONE) return std::nullopt;
  if (rc != SQLITE_ROW) return std::unexpected(sqlite::error(db_.get(), rc, "get record"));
  return sqlite::columnText(stmt, 0);
}

Status SqliteStore::commit(const Batch& batch) {
  std::lock_guard lock(mu_);
  if (failed_) return failedError();
  if (batch.empty()) return {};

  BERTH_TRY(stepDone(begin_.get(), "begin transaction"));
  Status status;
  for (const Batch::Change& change : batch.changes()) {
    // The schema's CHECK rejects an empty kind on insert, but not in a
    // DELETE; check here so both kinds of change fail alike (and like the
    // memory store).
    if (change.kind.empty()) {
      status = fail(ErrorCode::kInvalidArgument, "store commit: empty kind");
      break;
    }
    sqlite3_stmt* stmt = change.op == Batch::Op::kPut ? put_.get() : erase_.get();
    sqlite::bindText(stmt, 1, change.kind);
    sqlite::bindText(stmt, 2, change.key);
    if (change.op == Batch::Op::kPut) sqlite::bindText(stmt, 3, change.value);
    status = stepDone(stmt, change.op == Batch::Op::kPut ? "put record" : "erase record");
    if (!status) break;
  }
  if (status) {
    int rc = sqlite3_step(commit_.get());
    if (rc != SQLITE_DONE) {
      status = std::unexpected(sqlite::error(db_.get(), rc, "commit"));
      // The WAL frames may have reached the disk although the sync failed:
      // whether this batch survives a restart is unknown, so the in-memory
      // model of the caller can no longer be trusted to match the disk.
      if (sqlite::isIoFailure(rc)) poison(status.error());
    }
    sqlite3_reset(commit_.get());
  }
  if (!status && sqlite3_get_autocommit(db_.get()) == 0) {
    // SQLite rolls back by itself after some errors; otherwise we must.
    if (auto rolled = stepDone(rollback_.get(), "roll back"); !rolled) poison(rolled.error());
  }
  return status;
}

Result<int64_t> SqliteStore::nextSequence(std::string_view name) {
  std::lock_guard lock(mu_);
  if (failed_) return std::unexpected(failedError().error());
  if (name.empty()) return fail(ErrorCode::kInvalidArgument, "store sequence: empty name");
  sqlite3_stmt* stmt = sequence_.get();
  StmtScope scope(stmt);
  sqlite::bindText(stmt, 1, name);
  int rc = sqlite3_step(stmt);
  if (rc != SQLITE_ROW) return std::unexpected(sqlite::error(db_.get(), rc, "next sequence"));
  int64_t value = sqlite3_column_int64(stmt, 0);
  // The statement's implicit transaction commits (and syncs) when it runs to
  // completion; only then is the value durable.
  rc = sqlite3_step(stmt);
  if (rc != SQLITE_DONE) {
    Error err = sqlite::error(db_.get(), rc, "commit sequence");
    if (sqlite::isIoFailure(rc)) poison(err);
    return std::unexpected(std::move(err));
  }
  return value;
}

}  // namespace

Result<std::unique_ptr<Store>> openSqliteStore(const std::filesystem::path& db_file, SqliteOptions options) {
  return SqliteStore::open(db_file, options);
}

}  // namespace berth::store
