import type { Kysely } from "kysely";
import type { SyncStore } from "../core/store-contract.js";
import type { DialectSpec } from "./dialect.js";
import type { ClerkSyncDatabase } from "./schema/database.js";
import type { MigrateResult } from "./schema/migrations.js";

/**
 * A database clerk-sync writes to: the sync engine's transaction contract plus what the
 * service needs around it. Every dialect passes the same conformance suite.
 */
export interface ClerkSyncStore extends SyncStore<Kysely<ClerkSyncDatabase>> {
  readonly dialect: DialectSpec;
  /** A Kysely instance for queries over the mirrored tables. */
  readonly db: Kysely<ClerkSyncDatabase>;
  /** Brings the schema up to date; safe to call from several processes at once. */
  migrate(): Promise<MigrateResult>;
  /** Migrations not applied yet (every one on an empty database). */
  pendingMigrations(): Promise<string[]>;
  /** Resolves when the database answers; rejects otherwise (readiness). */
  ping(): Promise<void>;
  /** Closes the connection(s). */
  close(): Promise<void>;
}
