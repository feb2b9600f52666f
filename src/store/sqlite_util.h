// Internal to src/store: thin RAII and error helpers over the SQLite C API.
// Not part of the store's public interface; tests of the store may use it.
#pragma once

#include <sqlite3.h>

#include <memory>
#include <string>
#include <string_view>

#include "common/result.h"

namespace berth::store::sqlite {

// The Error for SQLite result code `rc` (extended codes welcome), with the
// connection's message and system errno when `db` is given. `what` names the
// operation. Mapping: constraint and too-big -> kInvalidArgument, full ->
// kResourceExhausted, busy/locked -> kFailedPrecondition, I/O, corruption,
// permission and open failures -> kIo, anything else -> kInternal.
Error error(sqlite3* db, int rc, std::string_view what);

// True for result codes that mean the disk or file failed (kIo above).
bool isIoFailure(int rc);

struct DbCloser {
  void operator()(sqlite3* db) const { sqlite3_close_v2(db); }
};
using DbPtr = std::unique_ptr<sqlite3, DbCloser>;

struct StmtFinalizer {
  void operator()(sqlite3_stmt* stmt) const { sqlite3_finalize(stmt); }
};
using StmtPtr = std::unique_ptr<sqlite3_stmt, StmtFinalizer>;

// Compiles `sql` for repeated use (SQLITE_PREPARE_PERSISTENT).
Result<StmtPtr> prepare(sqlite3* db, std::string_view sql);

// Runs one or more statements that return no rows.
Status exec(sqlite3* db, const char* sql, std::string_view what);

// Resets and unbinds a cached statement when the scope ends, so that it does
// not keep a read transaction (and thereby the WAL) pinned.
class StmtScope {
 public:
  explicit StmtScope(sqlite3_stmt* stmt) : stmt_(stmt) {}
  ~StmtScope() {
    sqlite3_reset(stmt_);
    sqlite3_clear_bindings(stmt_);
  }
  StmtScope(const StmtScope&) = delete;
  StmtScope& operator=(const StmtScope&) = delete;

 private:
  sqlite3_stmt* stmt_;
};

// Binds text without copying: the caller keeps `text` alive until the
// statement is reset.
inline int bindText(sqlite3_stmt* stmt, int index, std::string_view text) {
  return sqlite3_bind_text64(stmt, index, text.data(), text.size(), SQLITE_STATIC, SQLITE_UTF8);
}

// Column `col` of the current row as a string (empty for NULL).
std::string columnText(sqlite3_stmt* stmt, int col);

}  // namespace berth::store::sqlite
