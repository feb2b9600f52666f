#include "store/sqlite_migrations.h"

#include <string>

#include "store/sqlite_util.h"

namespace berth::store::sqlite {
namespace {

// WITHOUT ROWID: records are looked up and scanned by (kind, key) only, so
// the primary key is the table and loadAll is an in-order range scan.
// The CHECKs keep an empty kind or sequence name out even if a caller
// bypasses the store's own validation.
constexpr Migration kMigrations[] = {
    {1, R"sql(
      PRAGMA application_id = 1651668072;
      CREATE TABLE records (
        kind  TEXT NOT NULL CHECK (kind <> ''),
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (kind, key)
      ) WITHOUT ROWID;
      CREATE TABLE sequences (
        name  TEXT NOT NULL PRIMARY KEY CHECK (name <> ''),
        value INTEGER NOT NULL
      ) WITHOUT ROWID;
    )sql"},
};
static_assert(kApplicationId == 1651668072, "migration 1 spells the application id out");

}  // namespace

std::span<const Migration> builtinMigrations() { return kMigrations; }

Result<int> schemaVersion(sqlite3* db) {
  auto stmt = BERTH_TRY(prepare(db, "PRAGMA user_version"));
  int rc = sqlite3_step(stmt.get());
  if (rc != SQLITE_ROW) return std::unexpected(error(db, rc, "read schema version"));
  return sqlite3_column_int(stmt.get(), 0);
}

Status migrate(sqlite3* db, std::span<const Migration> migrations) {
  for (size_t i = 0; i < migrations.size(); ++i) {
    if (migrations[i].version != static_cast<int>(i) + 1) {
      return fail(ErrorCode::kInternal, "store: migration list is not numbered 1, 2, ...");
    }
  }
  const int latest = static_cast<int>(migrations.size());
  for (;;) {
    // Read the version inside the write transaction, so what we migrate from
    // is what we saw (the data-dir lock makes this belt and braces).
    BERTH_TRY(exec(db, "BEGIN IMMEDIATE", "begin migration"));
    auto current = schemaVersion(db);
    if (!current || *current >= latest) {
      static_cast<void>(exec(db, "ROLLBACK", "end migration check"));
      if (!current) return std::unexpected(current.error());
      if (*current > latest) {
        return fail(ErrorCode::kFailedPrecondition,
                    "store: the database has schema version " + std::to_string(*current) +
                        " but this berth only knows versions up to " + std::to_string(latest) +
                        "; it was written by a newer berth: upgrade berth, or use another "
                        "data directory");
      }
      return {};
    }
    const Migration& next = migrations[*current];
    std::string sql(next.sql);
    sql += "\nPRAGMA user_version = " + std::to_string(next.version) + ";";
    auto ran = exec(db, sql.c_str(), "migrate to schema version " + std::to_string(next.version));
    if (ran) ran = exec(db, "COMMIT", "commit migration");
    if (!ran) {
      if (sqlite3_get_autocommit(db) == 0) {
        static_cast<void>(exec(db, "ROLLBACK", "roll back migration"));
      }
      return ran;
    }
  }
}

}  // namespace berth::store::sqlite
