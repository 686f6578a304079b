import { statfsSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import { ClerkSyncError, describeError } from "../../core/errors.js";
import type { DeliveryOutcome } from "../../core/schema.js";
import type { DeliveryJob, DeliveryPlan, Settled } from "../../core/store-contract.js";
import { applySnapshot, type SnapshotOutcome } from "../../core/sync-rules.js";
import { storeError } from "../dialect.js";
import type { ClerkSyncDatabase } from "../schema/database.js";
import { migrate, pendingMigrations } from "../schema/migrations.js";
import type { ClerkSyncStore } from "../store.js";
import { SQLITE } from "./sqlite-dialect.js";
import { startCheckpointer } from "./sqlite-durability.js";
import { configureSqlite, SqliteWriter } from "./sqlite-writer.js";
import { WriterThread } from "./sqlite-writer-thread.js";

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  filename: string;
  /** Milliseconds to wait for another connection's write lock. Default 5000. */
  busyTimeoutMs?: number;
  /**
   * Apply deliveries without hooks on a worker thread with its own connection (default true for
   * a file), so SQLite's work runs beside the HTTP and verification of the next requests. Jobs
   * with hooks always run on the store's connection, where `ctx.db` is.
   */
  writerThread?: boolean;
  /**
   * Milliseconds the writer thread stays without a batch before it ends, handing its memory back
   * (default 30 000); the next batch starts a new one.
   */
  writerIdleMs?: number;
}

/**
 * The SQLite store: WAL, and every acknowledged commit fsynced to disk first. Concurrent
 * deliveries share one commit (group commit); deliveries without hooks are written on a worker
 * thread (see {@link WriterThread}).
 *
 * @example
 * const store = openSqliteStore({ filename: "./clerk-sync.db" });
 * await store.migrate();
 */
export function openSqliteStore(options: SqliteStoreOptions): ClerkSyncStore {
  let sqlite: Database.Database;
  let onDisk: boolean;
  try {
    sqlite = new Database(options.filename);
    onDisk = configureSqlite(sqlite);
  } catch (cause) {
    // better-sqlite3 throws a TypeError for a missing directory: the database's failure, not a bug.
    throw new ClerkSyncError("store_unavailable", `The SQLite database could not be opened (${describeError(cause)})`, {
      cause,
    });
  }
  const lockTimeoutMs = options.busyTimeoutMs ?? 5000;
  const checkpointer = onDisk ? startCheckpointer(sqlite.name) : undefined;
  const db = new Kysely<ClerkSyncDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  const writer = new SqliteWriter(sqlite, db, { onDisk, lockTimeoutMs });
  const useThread = onDisk && options.writerThread !== false;
  // Started on the first batch of plans: after migrate(), and never for CLI commands that only read.
  let thread: WriterThread | undefined;
  let closed = false;

  return {
    dialect: SQLITE,
    db: db,
    // BEGIN IMMEDIATE takes SQLite's write lock: concurrent processes migrate one at a time,
    // and the later ones find the work done.
    migrate: () =>
      writer
        .exclusive(() => migrate(db as Kysely<unknown>, SQLITE, { inOuterTransaction: true }))
        .catch((error: unknown) => {
          // A receiver migrates on its first delivery: a read-only or full disk answers 503.
          throw storeError(SQLITE, error);
        }),
    transaction: (work) => {
      if (closed) return Promise.reject(new ClerkSyncError("store_unavailable", "The store is closed"));
      return writer.exclusive(work);
    },
    applySnapshots: (mutations, { hard, checkpoint }) => {
      if (closed) return Promise.reject(new ClerkSyncError("store_unavailable", "The store is closed"));
      return writer.exclusive(async (tx) => {
        const outcomes: SnapshotOutcome[] = [];
        for (const m of mutations) outcomes.push(await applySnapshot(tx, m, hard));
        await checkpoint?.(outcomes, db);
        return outcomes;
      });
    },
    pendingMigrations: () => pendingMigrations(db as Kysely<unknown>, SQLITE),
    async ping() {
      if (closed) throw new Error("The store is closed");
      const unsynced = writer.durabilityFailure ?? thread?.durabilityFailure;
      if (unsynced !== undefined) {
        throw new ClerkSyncError(
          "store_unavailable",
          "SQLite can no longer make commits durable (a sync of its WAL failed); restart the service",
          { cause: unsynced },
        );
      }
      sqlite.prepare("SELECT 1").get();
      const refused = writer.writeFailure ?? thread?.writeFailure;
      try {
        probeWrite(sqlite, refused !== undefined);
        if (refused !== undefined && onDisk) checkFreeSpace(sqlite.name);
      } catch (error) {
        throw new ClerkSyncError("store_unavailable", "SQLite refuses writes (read-only file or disk full?)", {
          cause: error,
        });
      }
      if (refused === undefined) return;
      // The probe committed a write: the database takes writes again.
      writer.clearWriteFailure();
      thread?.clearWriteFailure();
    },
    async close() {
      if (closed) return;
      closed = true;
      await thread?.close();
      await writer.idle();
      await checkpointer?.close();
      await db.destroy(); // closes the better-sqlite3 connection too
    },
    // While one batch waits for its fsync, the next one can already run its transaction.
    maxConcurrentBatches: 4,
    async applyPlans(plans: readonly DeliveryPlan[]): Promise<Settled<DeliveryOutcome>[]> {
      if (closed) return refuse(plans);
      if (useThread) {
        // A thread that ended after an idle spell: start another (the old one is closing or gone).
        if (thread?.retired) thread = undefined;
        thread ??= WriterThread.start({ filename: sqlite.name, lockTimeoutMs }, { idleMs: options.writerIdleMs });
        const results = await thread?.run(plans);
        if (results) return results;
      }
      return writer.run(plans.map((plan) => ({ plan })));
    },
    async applyJobs(jobs: readonly DeliveryJob<Kysely<ClerkSyncDatabase>>[]): Promise<Settled<DeliveryOutcome>[]> {
      if (closed) return refuse(jobs);
      return writer.run(jobs);
    },
  };
}

/**
 * Readiness' write probe on the store's own connection: `user_version` set to its own value in
 * a `BEGIN IMMEDIATE` transaction, a page written to the WAL and committed (not synced: it
 * changes nothing). A connection SQLite opened read-only (the file was read-only or immutable at
 * start) accepts `BEGIN IMMEDIATE` and refuses only the write. Another transaction holding the
 * write lock (SQLITE_BUSY, or one of this connection's own under way) proves nothing either
 * way: the last batch's outcome (`lastFailed`) then stands.
 */
function probeWrite(sqlite: Database.Database, lastFailed: boolean): void {
  if (sqlite.inTransaction) {
    if (lastFailed) throw new Error("The last write failed");
    return;
  }
  try {
    sqlite.exec("BEGIN IMMEDIATE");
  } catch (error) {
    if ((error as { code?: string }).code !== "SQLITE_BUSY") throw error;
    if (lastFailed) throw new Error("The last write failed", { cause: error });
    return;
  }
  try {
    sqlite.pragma(`user_version = ${Number(sqlite.pragma("user_version", { simple: true }))}`);
    sqlite.exec("COMMIT");
  } catch (error) {
    if (sqlite.inTransaction) sqlite.exec("ROLLBACK");
    throw error;
  }
}

/**
 * Room a file system must have before a failed write counts as over: a probe's one-page commit
 * can land in WAL space SQLite already holds while a delivery's commit still finds the disk full.
 */
export const MIN_FREE_BYTES_TO_RECOVER = 4 * 1024 * 1024;

function checkFreeSpace(filename: string): void {
  const { bavail, bsize } = statfsSync(dirname(filename));
  if (bavail * bsize < MIN_FREE_BYTES_TO_RECOVER) {
    throw new Error(`The disk holding ${filename} has less than ${MIN_FREE_BYTES_TO_RECOVER} bytes free`);
  }
}

/** Every delivery of a batch refused: the store is closed. */
function refuse(batch: readonly unknown[]): Settled<DeliveryOutcome>[] {
  const error = new ClerkSyncError("store_unavailable", "The store is closed");
  return batch.map(() => ({ ok: false, error }));
}
