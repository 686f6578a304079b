import type { Kysely } from "kysely";
import type { Mutation } from "../core/mappers.js";
import type { SyncStore, SyncTransaction } from "../core/store-contract.js";
import type { SnapshotOutcome } from "../core/sync-rules.js";
import type { DialectSpec } from "./dialect.js";
import type { ClerkSyncDatabase } from "./schema/database.js";
import type { MigrateResult } from "./schema/migrations.js";

/**
 * A database clerk-sync writes to: the sync engine's contract (`applyPlans`, `applyJobs`) plus
 * what the service needs around it. Every dialect passes the same conformance suite.
 */
export interface ClerkSyncStore extends SyncStore<Kysely<ClerkSyncDatabase>> {
  readonly dialect: DialectSpec;
  /** A Kysely instance for queries over the mirrored tables. */
  readonly db: Kysely<ClerkSyncDatabase>;
  /**
   * Runs `work` in one write transaction with the sync rules' operations, for writes that are
   * not webhook deliveries (and the store conformance suite). Durable once it resolves; rolled
   * back if `work` throws. On a network database it runs again while it loses a race with
   * another receiver, so `work` must be safe to repeat.
   */
  transaction<T>(work: (tx: SyncTransaction<Kysely<ClerkSyncDatabase>>) => Promise<T>): Promise<T>;
  /**
   * Writes a page of objects read from Clerk's Backend API (their mutations, from `mapSnapshot`)
   * in one durable transaction through `applySnapshot`, and runs `checkpoint` with the outcomes
   * in the same transaction (a backfill's cursor commits with its page). Answers each
   * mutation's outcome, in order. On PostgreSQL and MySQL the page goes set-based (one locking
   * read, a few multi-row writes) and falls back to row by row when a webhook wrote one of its
   * rows meanwhile; `checkpoint` may then run more than once, each time in a new transaction.
   */
  applySnapshots(
    mutations: readonly Mutation[],
    options: {
      hard: boolean;
      checkpoint?: (outcomes: readonly SnapshotOutcome[], db: Kysely<ClerkSyncDatabase>) => Promise<void>;
    },
  ): Promise<SnapshotOutcome[]>;
  /** Brings the schema up to date; safe to call from several processes at once. */
  migrate(): Promise<MigrateResult>;
  /** Migrations not applied yet (every one on an empty database). */
  pendingMigrations(): Promise<string[]>;
  /**
   * Resolves when the database answers and takes writes; rejects otherwise (readiness). A write
   * probe that commits nothing durable: SQLite rewrites `user_version` and fails while its last
   * batch failed as a whole until the probe commits with room on the disk; network databases
   * claim a probe delivery id in a transaction they roll back.
   */
  ping(): Promise<void>;
  /** Closes the connection(s). */
  close(): Promise<void>;
}
