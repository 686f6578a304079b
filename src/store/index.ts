export type { ClerkSyncDatabase } from "./schema/database.js";

import type { DialectName, DialectSpec } from "./dialect.js";
import { MYSQL } from "./mysql/mysql-dialect.js";
import { POSTGRES } from "./postgres/postgres-dialect.js";
import { SQLITE } from "./sqlite/sqlite-dialect.js";

export type { DialectName, DialectSpec, NetworkDialectSpec } from "./dialect.js";
/** Each supported database's dialect. */
export const DIALECTS: Readonly<Record<DialectName, DialectSpec>> = {
  sqlite: SQLITE,
  postgres: POSTGRES,
  mysql: MYSQL,
};
export {
  type DeliveryAttempt,
  type DeliveryCounts,
  type DeliveryDetail,
  type DeliveryFilter,
  type DeliverySummary,
  deliveryCounts,
  getDelivery,
  listDeliveries,
  listRejections,
  type Page,
  type PageRequest,
  type Rejection,
  type RejectionFilter,
} from "./delivery-log.js";
export { type MysqlStoreOptions, openMysqlStore } from "./mysql/mysql-store.js";
export { DEFAULT_DATABASE_URL, openStore, sqlitePath } from "./open.js";
export { openPostgresStore, type PostgresStoreOptions } from "./postgres/postgres-store.js";
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
export {
  MIGRATION_TABLE,
  type MigrateOptions,
  type MigrateResult,
  migrate,
  migrationNames,
  pendingMigrations,
} from "./schema/migrations.js";
export { openSqliteStore, type SqliteStoreOptions } from "./sqlite/sqlite-store.js";
export { type SyncStatusReport, syncStatus } from "./status.js";
export type { ClerkSyncStore } from "./store.js";
