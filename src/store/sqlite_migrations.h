// Internal to src/store: the SQLite schema and how it moves forward.
//
// The schema version lives in the database header (PRAGMA user_version);
// 0 is an empty database. Migration N takes the schema from version N-1 to N.
// Each runs in its own IMMEDIATE transaction together with the user_version
// bump, so a crash mid-migration leaves the previous version intact and the
// next start runs it again. Migrations are append-only: never edit one that
// has shipped, add a new one. A migration must be valid inside a transaction
// (no VACUUM, no journal_mode changes).
#pragma once

#include <sqlite3.h>

#include <cstdint>
#include <span>
#include <string_view>

#include "common/result.h"

namespace berth::store::sqlite {

struct Migration {
  int version;           // the version this migration produces: 1, 2, ...
  std::string_view sql;  // one or more statements
};

// berth's migrations, in order; the last one's version is the schema version
// this code writes.
std::span<const Migration> builtinMigrations();

// Marks a database as berth's (PRAGMA application_id, "brth").
inline constexpr int32_t kApplicationId = 0x62727468;

// Reads the database's schema version.
Result<int> schemaVersion(sqlite3* db);

// Applies, in order, every migration of `migrations` newer than the
// database's version. `migrations` must be numbered 1, 2, ... without gaps.
// Fails with kFailedPrecondition, touching nothing, if the database's version
// is newer than the last migration: it was written by a newer berth. A failed
// migration leaves the database at the version before it.
Status migrate(sqlite3* db, std::span<const Migration> migrations);

}  // namespace berth::store::sqlite
