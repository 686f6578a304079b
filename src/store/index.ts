export type { ClerkSyncDatabase } from "./database.js";
export { DIALECTS, type DialectName, type DialectSpec } from "./dialects.js";
export {
  MIGRATION_TABLE,
  type MigrateOptions,
  type MigrateResult,
  migrate,
  migrationNames,
  pendingMigrations,
} from "./migrations.js";
export { type MysqlStoreOptions, openMysqlStore } from "./mysql-store.js";
export { DEFAULT_DATABASE_URL, openStore, sqlitePath } from "./open.js";
export { openPostgresStore, type PostgresStoreOptions } from "./postgres-store.js";
export {
  type ClerkMembership,
  type ClerkOrganization,
  type ClerkUser,
  findUserByEmail,
  findUserById,
  listOrganizationMembers,
  listUserOrganizations,
  normalizeRow,
  type OrganizationMember,
  type Queryable,
  type QueryOptions,
  type UserOrganization,
} from "./queries.js";
export { openSqliteStore, type SqliteStoreOptions } from "./sqlite-store.js";
export { type SyncStatusReport, syncStatus } from "./status.js";
export type { ClerkSyncStore } from "./store.js";
