import Database from "better-sqlite3";
import { Kysely, SqliteDialect } from "kysely";
import type { ChildSet } from "../core/mappers.js";
import {
  CHILD_TABLES,
  type ChildTableName,
  type DeliveryStatus,
  ENTITY_TABLES,
  type EntityTableName,
} from "../core/schema.js";
import type {
  BatchJob,
  ClaimResult,
  DeliveryRecord,
  EntityState,
  Settled,
  SyncTransaction,
} from "../core/transaction.js";
import type { ClerkSyncDatabase } from "./database.js";
import { SQLITE } from "./dialects.js";
import { migrate, pendingMigrations } from "./migrations.js";
import { startCheckpointer, WalFlusher } from "./sqlite-durability.js";
import type { ClerkSyncStore } from "./store.js";

export interface SqliteStoreOptions {
  /** A file path, or `:memory:`. */
  filename: string;
  /** Milliseconds to wait for another process's write lock. Default 5000. */
  busyTimeoutMs?: number;
}

type Statement = Database.Statement<unknown[], unknown>;

/**
 * The SQLite store: one better-sqlite3 connection in WAL mode with `synchronous = FULL`, so a
 * commit is on disk before it returns. Concurrent deliveries share one commit (group commit).
 *
 * @example
 * const store = openSqliteStore({ filename: "./clerk-sync.db" });
 * await store.migrate();
 */
export function openSqliteStore(options: SqliteStoreOptions): ClerkSyncStore {
  const sqlite = new Database(options.filename);
  const onDisk = sqlite.pragma("journal_mode = WAL", { simple: true }) === "wal";
  // Durability comes from WalFlusher (an fsync of the WAL before every acknowledgement), off
  // the event loop; checkpoints run in a worker thread. In memory, there is nothing to flush.
  sqlite.pragma(onDisk ? "synchronous = NORMAL" : "synchronous = OFF");
  sqlite.pragma("temp_store = MEMORY");
  sqlite.pragma("wal_autocheckpoint = 0");
  // A larger page cache and memory-mapped reads spare a system call per page read.
  sqlite.pragma("cache_size = -65536");
  sqlite.pragma("mmap_size = 268435456");
  const flusher = onDisk ? new WalFlusher(sqlite.name) : undefined;
  const checkpointer = onDisk ? startCheckpointer(sqlite.name) : undefined;
  // Waiting for another process's lock happens in beginImmediate(), without blocking the event loop.
  sqlite.pragma("busy_timeout = 0");
  const lockTimeoutMs = options.busyTimeoutMs ?? 5000;
  const db = new Kysely<ClerkSyncDatabase>({ dialect: new SqliteDialect({ database: sqlite }) });
  // Prepared on first use: the tables may not exist until migrate() ran.
  let tx: SqliteTransaction | undefined;
  const begin = sqlite.prepare("BEGIN IMMEDIATE");
  const commit = sqlite.prepare("COMMIT");
  const rollback = sqlite.prepare("ROLLBACK");
  const savepoint = sqlite.prepare("SAVEPOINT job");
  const release = sqlite.prepare("RELEASE job");
  const rollbackTo = sqlite.prepare("ROLLBACK TO job");
  let closed = false;
  let transactions: Promise<void> = Promise.resolve();

  async function beginImmediate(): Promise<void> {
    const deadline = Date.now() + lockTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        begin.run();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  return {
    dialect: SQLITE,
    db: db,
    async migrate() {
      // BEGIN IMMEDIATE takes SQLite's write lock: concurrent processes migrate one at a time,
      // and the later ones find the work done.
      await beginImmediate();
      try {
        const result = await migrate(db as Kysely<unknown>, SQLITE, { inOuterTransaction: true });
        commit.run();
        await flusher?.flush();
        return result;
      } catch (error) {
        if (sqlite.inTransaction) rollback.run();
        throw error;
      }
    },
    pendingMigrations: () => pendingMigrations(db as Kysely<unknown>, SQLITE),
    async ping() {
      if (closed) throw new Error("The store is closed");
      sqlite.prepare("SELECT 1").get();
    },
    async close() {
      if (closed) return;
      closed = true;
      await transactions;
      await checkpointer?.close();
      await db.destroy(); // closes the better-sqlite3 connection too
    },
    // While one batch waits for its fsync, the next one can already run its transaction.
    maxConcurrentBatches: 4,
    async runBatch<T>(jobs: readonly BatchJob<T, Kysely<ClerkSyncDatabase>>[]): Promise<Settled<T>[]> {
      // One transaction at a time on the connection; the flush happens outside this lock.
      const previous = transactions;
      let unlock!: () => void;
      transactions = new Promise((resolve) => {
        unlock = resolve;
      });
      await previous;
      let results: Settled<T>[];
      try {
        results = await runTransaction(jobs);
      } finally {
        unlock();
      }
      if (flusher && results.some((r) => r.ok)) {
        try {
          await flusher.flush();
        } catch (error) {
          return jobs.map(() => ({ ok: false, error }));
        }
      }
      return results;
    },
  };

  async function runTransaction<T>(jobs: readonly BatchJob<T, Kysely<ClerkSyncDatabase>>[]): Promise<Settled<T>[]> {
    const results: Settled<T>[] = [];
    try {
      tx ??= new SqliteTransaction(sqlite, db);
      await beginImmediate();
      for (const job of jobs) {
        savepoint.run();
        try {
          const value = await job.run(tx);
          release.run();
          results.push({ ok: true, value });
        } catch (error) {
          rollbackTo.run();
          release.run();
          tx.forgetPending();
          await job.fail?.(tx, error);
          results.push({ ok: false, error });
        }
      }
      commit.run();
      return results;
    } catch (error) {
      tx?.forgetPending();
      if (sqlite.inTransaction) rollback.run();
      return jobs.map(() => ({ ok: false, error }));
    }
  }
}

/** The write path on prepared statements, one instance per connection. */
class SqliteTransaction implements SyncTransaction<Kysely<ClerkSyncDatabase>> {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Statement>();
  /** Claims of new delivery ids, inserted with their outcome by finishDelivery (one write). */
  readonly #pending = new Map<string, { record: DeliveryRecord; recorded: boolean }>();
  readonly #selectDelivery: Statement;
  readonly #countDuplicate: Statement;
  readonly #insertDelivery: Statement;
  readonly #updateDelivery: Statement;
  readonly #recordFailure: Statement;

  /** Kysely on the same connection: inside runBatch it runs within the batch transaction. */
  readonly db: Kysely<ClerkSyncDatabase>;

  constructor(db: Database.Database, kysely: Kysely<ClerkSyncDatabase>) {
    this.#db = db;
    this.db = kysely;
    this.#selectDelivery = db.prepare("SELECT status FROM clerk_webhook_events WHERE svix_id = ?");
    this.#countDuplicate = db.prepare(
      "UPDATE clerk_webhook_events SET delivery_count = delivery_count + 1, last_received_at = ?, last_outcome = 'duplicate' WHERE svix_id = ?",
    );
    this.#insertDelivery = db.prepare(
      `INSERT INTO clerk_webhook_events (svix_id, type, object_type, object_id, event_timestamp,
        first_received_at, last_received_at, delivery_count, status, last_outcome, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?, ?, ?)`,
    );
    this.#updateDelivery = db.prepare(
      `UPDATE clerk_webhook_events SET status = ?, last_outcome = ?, last_received_at = ?,
        delivery_count = delivery_count + 1, error_code = NULL, error_message = NULL WHERE svix_id = ?`,
    );
    this.#recordFailure = db.prepare(
      `INSERT INTO clerk_webhook_events (svix_id, type, object_type, object_id, event_timestamp,
        first_received_at, last_received_at, delivery_count, status, last_outcome, error_code, error_message, payload)
       VALUES (?, ?, ?, ?, ?, ?, ?, 1, 'failed', 'failed', ?, ?, ?)
       ON CONFLICT (svix_id) DO UPDATE SET delivery_count = delivery_count + 1, last_received_at = excluded.last_received_at,
        error_code = CASE WHEN status = 'failed' THEN excluded.error_code ELSE error_code END,
        error_message = CASE WHEN status = 'failed' THEN excluded.error_message ELSE error_message END,
        last_outcome = CASE WHEN status = 'failed' THEN 'failed' ELSE last_outcome END`,
    );
  }

  forgetPending(): void {
    this.#pending.clear();
  }

  #statement(key: string, build: () => string): Statement {
    let stmt = this.#cache.get(key);
    if (!stmt) {
      stmt = this.#db.prepare(build());
      this.#cache.set(key, stmt);
    }
    return stmt;
  }

  claimDelivery(record: DeliveryRecord): ClaimResult {
    const row = this.#selectDelivery.get(record.svixId) as { status: string } | undefined;
    if (!row || row.status === "failed") {
      this.#pending.set(record.svixId, { record, recorded: row !== undefined });
      return row ? "retry" : "new";
    }
    this.#countDuplicate.run(record.receivedAt, record.svixId);
    return "duplicate";
  }

  finishDelivery(svixId: string, status: DeliveryStatus): void {
    const pending = this.#pending.get(svixId);
    this.#pending.delete(svixId);
    if (!pending) throw new Error(`finishDelivery without claimDelivery for ${svixId}`);
    const { record } = pending;
    if (pending.recorded) {
      this.#updateDelivery.run(status, status, record.receivedAt, svixId);
      return;
    }
    this.#insertDelivery.run(...deliveryColumns(record), status, status, record.payload);
  }

  recordFailure(record: DeliveryRecord, error: { code: string; message: string }): void {
    this.#recordFailure.run(...deliveryColumns(record), error.code, error.message, record.payload);
  }

  readState(table: EntityTableName, id: string): EntityState | undefined {
    const row = this.#statement(`state:${table}`, () => `SELECT version, deleted_at FROM ${table} WHERE id = ?`).get(
      id,
    ) as { version: number; deleted_at: number | null } | undefined;
    return row && { version: row.version, deletedAt: row.deleted_at };
  }

  upsertEntity(table: EntityTableName, id: string, version: number, values: Record<string, unknown>): void {
    const columns = ENTITY_TABLES[table].columns;
    const names = Object.keys(columns);
    const stmt = this.#statement(`upsert:${table}`, () => {
      const all = ["id", "version", ...names];
      return `INSERT INTO ${table} (${all.join(", ")}) VALUES (${all.map(() => "?").join(", ")})
        ON CONFLICT (id) DO UPDATE SET ${all
          .slice(1)
          .map((c) => `${c} = excluded.${c}`)
          .join(", ")}`;
    });
    const params: unknown[] = [id, version];
    for (const name of names) params.push(SQLITE.encode(columns[name] as "text", values[name]));
    stmt.run(params);
  }

  markDeleted(table: EntityTableName, id: string, deletedAt: number, hard: boolean): void {
    const def = ENTITY_TABLES[table];
    const names = Object.keys(def.columns).filter((c) => !def.keep?.includes(c));
    const stmt = this.#statement(`delete:${table}:${hard}`, () => {
      const clear = hard ? `, version = excluded.deleted_at, ${names.map((c) => `${c} = NULL`).join(", ")}` : "";
      return `INSERT INTO ${table} (id, version, deleted_at) VALUES (?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET deleted_at = ${SQLITE.greatest}(COALESCE(${table}.deleted_at, 0), excluded.deleted_at)${clear}`;
    });
    stmt.run(id, hard ? deletedAt : 0, deletedAt);
  }

  replaceChildren(set: ChildSet): void {
    this.deleteChildren(set.table, set.parentId);
    const def = CHILD_TABLES[set.table];
    const names = Object.keys(def.columns);
    const stmt = this.#statement(`child:${set.table}`, () => {
      return `INSERT INTO ${set.table} (${names.join(", ")}) VALUES (${names.map(() => "?").join(", ")})
        ON CONFLICT (id) DO UPDATE SET ${names
          .filter((c) => c !== "id")
          .map((c) => `${c} = excluded.${c}`)
          .join(", ")}`;
    });
    for (const row of set.rows) {
      stmt.run(names.map((name) => SQLITE.encode(def.columns[name] as "text", row[name])));
    }
  }

  deleteChildren(table: ChildTableName, parentId: string): void {
    const def = CHILD_TABLES[table];
    this.#statement(`unchild:${table}`, () => `DELETE FROM ${table} WHERE ${def.parentColumn} = ?`).run(parentId);
  }
}

/** The leading columns of a `clerk_webhook_events` insert, in the statements' order. */
function deliveryColumns(record: DeliveryRecord): unknown[] {
  return [
    record.svixId,
    record.type,
    record.objectType,
    record.objectId,
    record.eventTimestamp,
    record.receivedAt,
    record.receivedAt,
  ];
}
