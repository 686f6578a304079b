import type Database from "better-sqlite3";
import type { ChildSet } from "../../core/mappers.js";
import {
  CHILD_TABLES,
  type ChildTableName,
  type ColumnType,
  type DeliveryStatus,
  ENTITY_TABLES,
  type EntityTableName,
} from "../../core/schema.js";
import type {
  BatchJob,
  ClaimResult,
  DeliveryRecord,
  EntityState,
  Settled,
  SyncTransaction,
} from "../../core/store-contract.js";
import { DELIVERIES, DELIVERY_COLUMNS, deliveryRow, encodeEntityValue } from "../write/write-rows.js";
import { SQLITE } from "./sqlite-dialect.js";
import { type SyncFile, WalFlusher } from "./sqlite-durability.js";

type Statement = Database.Statement<unknown[], unknown>;

/** The page size of databases clerk-sync creates (SQLite's default is 4096). */
export const SQLITE_PAGE_SIZE = 2048;

/**
 * Sets a connection up the way every clerk-sync SQLite connection runs: WAL, durability from
 * {@link WalFlusher} (an fsync of the WAL before every acknowledgement, off the event loop) rather
 * than from `synchronous = FULL`, checkpoints left to the checkpointer thread. Answers whether
 * the database is a file (in memory there is nothing to flush).
 */
export function configureSqlite(sqlite: Database.Database): boolean {
  // Takes effect only on a new database. Each commit writes every page it changed to the WAL, and
  // most of a delivery's changes are one index entry on a page of its own: smaller pages write
  // (and checksum) far fewer bytes per delivery (see docs/performance.md).
  sqlite.pragma(`page_size = ${SQLITE_PAGE_SIZE}`);
  const onDisk = sqlite.pragma("journal_mode = WAL", { simple: true }) === "wal";
  sqlite.pragma(onDisk ? "synchronous = NORMAL" : "synchronous = OFF");
  sqlite.pragma("temp_store = MEMORY");
  sqlite.pragma("wal_autocheckpoint = 0");
  // A larger page cache and memory-mapped reads spare a system call per page read.
  sqlite.pragma("cache_size = -65536");
  sqlite.pragma("mmap_size = 268435456");
  // Waiting for another connection's lock happens in beginImmediate(), without blocking the thread.
  sqlite.pragma("busy_timeout = 0");
  return onDisk;
}

/**
 * Runs batches on one connection: one write transaction at a time, a savepoint per job, and the
 * WAL flushed to disk after the commit (outside the lock, so the next batch can commit meanwhile).
 * The service's writer thread and the in-thread path both write through it.
 */
export class SqliteWriter<Db> {
  readonly #sqlite: Database.Database;
  readonly #db: Db;
  readonly #flusher: WalFlusher | undefined;
  readonly #lockTimeoutMs: number;
  readonly #begin: Statement;
  readonly #commit: Statement;
  readonly #rollback: Statement;
  readonly #savepoint: Statement;
  readonly #release: Statement;
  readonly #rollbackTo: Statement;
  /** Prepared on first use: the tables may not exist until migrate() ran. */
  #tx: SqliteTransaction<Db> | undefined;
  #transactions: Promise<void> = Promise.resolve();

  constructor(sqlite: Database.Database, db: Db, options: { onDisk: boolean; lockTimeoutMs: number; sync?: SyncFile }) {
    this.#sqlite = sqlite;
    this.#db = db;
    this.#flusher = options.onDisk ? new WalFlusher(sqlite.name, { sync: options.sync }) : undefined;
    this.#lockTimeoutMs = options.lockTimeoutMs;
    this.#begin = sqlite.prepare("BEGIN IMMEDIATE");
    this.#commit = sqlite.prepare("COMMIT");
    this.#rollback = sqlite.prepare("ROLLBACK");
    this.#savepoint = sqlite.prepare("SAVEPOINT job");
    this.#release = sqlite.prepare("RELEASE job");
    this.#rollbackTo = sqlite.prepare("ROLLBACK TO job");
  }

  /** Runs `work` in a write transaction of its own and makes it durable (migrations). */
  async exclusive<T>(work: () => Promise<T>): Promise<T> {
    return this.#locked(async () => {
      await this.#beginImmediate();
      try {
        const result = await work();
        this.#commit.run();
        return result;
      } catch (error) {
        if (this.#sqlite.inTransaction) this.#rollback.run();
        throw error;
      }
    }, true);
  }

  /** Runs the jobs in one transaction, each in its own savepoint; resolves once durable. */
  run<T>(jobs: readonly BatchJob<T, Db>[]): Promise<Settled<T>[]> {
    return this.#locked(
      () => this.#transaction(jobs),
      (results) => results.some((r) => r.ok),
    ).catch((error: unknown) => jobs.map(() => ({ ok: false, error })));
  }

  /** Why commits can no longer be made durable (a failed WAL sync), or undefined. */
  get durabilityFailure(): unknown {
    return this.#flusher?.failure;
  }

  /** Resolves once no transaction is under way. */
  idle(): Promise<void> {
    return this.#transactions;
  }

  async #locked<T>(work: () => Promise<T>, flush: boolean | ((result: T) => boolean)): Promise<T> {
    // One transaction at a time on the connection; the flush happens outside this lock.
    const previous = this.#transactions;
    let unlock!: () => void;
    this.#transactions = new Promise((resolve) => {
      unlock = resolve;
    });
    await previous;
    let result: T;
    try {
      result = await work();
    } finally {
      unlock();
    }
    if (this.#flusher && (typeof flush === "boolean" ? flush : flush(result))) await this.#flusher.flush();
    return result;
  }

  async #beginImmediate(): Promise<void> {
    const deadline = Date.now() + this.#lockTimeoutMs;
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        this.#begin.run();
        return;
      } catch (error) {
        if ((error as { code?: string }).code !== "SQLITE_BUSY" || Date.now() >= deadline) throw error;
        await new Promise((resolve) => setTimeout(resolve, wait));
      }
    }
  }

  async #transaction<T>(jobs: readonly BatchJob<T, Db>[]): Promise<Settled<T>[]> {
    const results: Settled<T>[] = [];
    try {
      this.#tx ??= new SqliteTransaction(this.#sqlite, this.#db);
      const tx = this.#tx;
      await this.#beginImmediate();
      for (const job of jobs) {
        this.#savepoint.run();
        try {
          const value = await job.run(tx);
          this.#release.run();
          results.push({ ok: true, value });
        } catch (error) {
          this.#rollbackTo.run();
          this.#release.run();
          tx.forgetPending();
          await job.fail?.(tx, error);
          results.push({ ok: false, error });
        }
      }
      this.#commit.run();
      return results;
    } catch (error) {
      this.#tx?.forgetPending();
      if (this.#sqlite.inTransaction) this.#rollback.run();
      return jobs.map(() => ({ ok: false, error }));
    }
  }
}

/** The write path on prepared statements, one instance per connection. */
class SqliteTransaction<Db> implements SyncTransaction<Db> {
  readonly #db: Database.Database;
  readonly #cache = new Map<string, Statement>();
  /** Claims of new delivery ids, inserted with their outcome by finishDelivery (one write). */
  readonly #pending = new Map<string, { record: DeliveryRecord; recorded: boolean }>();
  readonly #selectDelivery: Statement;
  readonly #countDuplicate: Statement;
  readonly #insertDelivery: Statement;
  readonly #updateDelivery: Statement;
  readonly #recordFailure: Statement;

  /** The caller's handle on the same connection (Kysely for hooks); inside a batch it runs within it. */
  readonly db: Db;

  constructor(db: Database.Database, handle: Db) {
    this.#db = db;
    this.db = handle;
    this.#selectDelivery = db.prepare("SELECT status FROM clerk_webhook_events WHERE svix_id = ?");
    this.#countDuplicate = db.prepare(
      "UPDATE clerk_webhook_events SET delivery_count = delivery_count + 1, last_received_at = ?, last_outcome = 'duplicate' WHERE svix_id = ?",
    );
    const insert = `INSERT INTO ${DELIVERIES} (${DELIVERY_COLUMNS.join(", ")}) VALUES (${DELIVERY_COLUMNS.map(() => "?").join(", ")})`;
    this.#insertDelivery = db.prepare(insert);
    this.#updateDelivery = db.prepare(
      `UPDATE clerk_webhook_events SET status = ?, last_outcome = ?, last_received_at = ?,
        delivery_count = delivery_count + 1, error_code = NULL, error_message = NULL WHERE svix_id = ?`,
    );
    this.#recordFailure = db.prepare(
      `${insert} ON CONFLICT (svix_id) DO UPDATE SET delivery_count = delivery_count + 1, last_received_at = excluded.last_received_at,
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
    this.#insertDelivery.run(deliveryRow(record, status));
  }

  recordFailure(record: DeliveryRecord, error: { code: string; message: string }): void {
    this.#recordFailure.run(deliveryRow(record, "failed", error));
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
    for (const name of names) params.push(encodeEntityValue(SQLITE, name, columns[name] as ColumnType, values[name]));
    stmt.run(params);
  }

  markDeleted(table: EntityTableName, id: string, deletedAt: number, hard: boolean): void {
    const def = ENTITY_TABLES[table];
    const names = Object.keys(def.columns).filter((c) => !def.keep?.includes(c));
    const stmt = this.#statement(`delete:${table}:${hard}`, () => {
      const clear = hard ? `, version = excluded.deleted_at, ${names.map((c) => `${c} = NULL`).join(", ")}` : "";
      return `INSERT INTO ${table} (id, version, deleted_at) VALUES (?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET deleted_at = ${SQLITE.syntax.greatest}(COALESCE(${table}.deleted_at, 0), excluded.deleted_at)${clear}`;
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
      stmt.run(names.map((name) => SQLITE.types.encode(def.columns[name] as "text", row[name])));
    }
  }

  deleteChildren(table: ChildTableName, parentId: string): void {
    const def = CHILD_TABLES[table];
    this.#statement(`unchild:${table}`, () => `DELETE FROM ${table} WHERE ${def.parentColumn} = ?`).run(parentId);
  }
}
