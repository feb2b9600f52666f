#include "store/sqlite_util.h"

namespace berth::store::sqlite {

bool isIoFailure(int rc) {
  switch (rc & 0xff) {
    case SQLITE_IOERR:
    case SQLITE_CORRUPT:
    case SQLITE_NOTADB:
    case SQLITE_CANTOPEN:
    case SQLITE_PERM:
    case SQLITE_READONLY:
      return true;
    default:
      return false;
  }
}

Error error(sqlite3* db, int rc, std::string_view what) {
  Error err;
  switch (rc & 0xff) {
    case SQLITE_CONSTRAINT:
    case SQLITE_TOOBIG:
    case SQLITE_MISMATCH:
      err.code = ErrorCode::kInvalidArgument;
      break;
    case SQLITE_FULL:
      err.code = ErrorCode::kResourceExhausted;
      break;
    case SQLITE_BUSY:
    case SQLITE_LOCKED:
      err.code = ErrorCode::kFailedPrecondition;
      break;
    default:
      err.code = isIoFailure(rc) ? ErrorCode::kIo : ErrorCode::kInternal;
  }
  err.message = "store: ";
  err.message += what;
  err.message += ": ";
  // sqlite3_errmsg describes the connection's most recent failure, which is
  // the one at hand only if the caller asks right after it; fall back to the
  // generic text of the code.
  bool current = db != nullptr && (sqlite3_extended_errcode(db) == rc || sqlite3_errcode(db) == rc);
  const char* detail = current ? sqlite3_errmsg(db) : sqlite3_errstr(rc);
  err.message += detail;
  if (db != nullptr && err.code == ErrorCode::kIo) err.sys_errno = sqlite3_system_errno(db);
  return err;
}

Result<StmtPtr> prepare(sqlite3* db, std::string_view sql) {
  sqlite3_stmt* raw = nullptr;
  int rc = sqlite3_prepare_v3(db, sql.data(), static_cast<int>(sql.size()), SQLITE_PREPARE_PERSISTENT, &raw, nullptr);
  StmtPtr stmt(raw);
  if (rc != SQLITE_OK) return std::unexpected(error(db, rc, "prepare " + std::string(sql)));
  return stmt;
}

Status exec(sqlite3* db, const char* sql, std::string_view what) {
  int rc = sqlite3_exec(db, sql, nullptr, nullptr, nullptr);
  if (rc != SQLITE_OK) return std::unexpected(error(db, rc, what));
  return {};
}

std::string columnText(sqlite3_stmt* stmt, int col) {
  const auto* text = reinterpret_cast<const char*>(sqlite3_column_text(stmt, col));
  int len = sqlite3_column_bytes(stmt, col);
  return text == nullptr ? std::string() : std::string(text, static_cast<size_t>(len));
}

}  // namespace berth::store::sqlite
