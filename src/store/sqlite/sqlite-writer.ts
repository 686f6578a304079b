import type Database from "better-sqlite3";
import type { DeliveryOutcome } from "../../core/schema.js";
import type { Settled } from "../../core/store-contract.js";
import { applyInSavepoints, type BatchDelivery, type Savepoints } from "../../core/sync-rules.js";
import { storeError } from "../dialect.js";
import { SQLITE } from "./sqlite-dialect.js";
import { type SyncFile, WalFlusher } from "./sqlite-durability.js";
import { SqliteTransaction } from "./sqlite-transaction.js";

type PreparedStatement = Database.Statement<unknown[], unknown>;

/** The page size of databases clerk-sync creates (SQLite's default is 4096). */
export const SQLITE_PAGE_SIZE = 2048;

/**
 * The page cache of each connection, KiB (SQLite's `cache_size`). Pages of the database file are
 * read through the memory map and need no cache; what the cache holds is the pages written since
 * the last checkpoint and those the map cannot serve. A larger cache only holds more process
 * memory (and glibc does not hand freed pages back), for no measured gain: see
 * docs/performance.md, "Memory".
 */
export const SQLITE_CACHE_KIB = 8192;

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
  // A bounded page cache (see SQLITE_CACHE_KIB); memory-mapped reads spare a system call per page read.
  sqlite.pragma(`cache_size = -${SQLITE_CACHE_KIB}`);
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
  readonly #begin: PreparedStatement;
  readonly #commit: PreparedStatement;
  readonly #rollback: PreparedStatement;
  readonly #savepoints: Savepoints;
  /** Prepared on first use: the tables may not exist until migrate() ran. */
  #tx: SqliteTransaction<Db> | undefined;
  #transactions: Promise<void> = Promise.resolve();
  /** Why the last batch failed as a whole (the database refused it), or undefined once one commits. */
  #writeFailure: unknown;

  constructor(sqlite: Database.Database, db: Db, options: { onDisk: boolean; lockTimeoutMs: number; sync?: SyncFile }) {
    this.#sqlite = sqlite;
    this.#db = db;
    this.#flusher = options.onDisk ? new WalFlusher(sqlite.name, { sync: options.sync }) : undefined;
    this.#lockTimeoutMs = options.lockTimeoutMs;
    this.#begin = sqlite.prepare("BEGIN IMMEDIATE");
    this.#commit = sqlite.prepare("COMMIT");
    this.#rollback = sqlite.prepare("ROLLBACK");
    const open = sqlite.prepare("SAVEPOINT delivery");
    const release = sqlite.prepare("RELEASE delivery");
    const rollbackTo = sqlite.prepare("ROLLBACK TO delivery");
    this.#savepoints = {
      open: () => void open.run(),
      release: () => void release.run(),
      rollback: () => {
        rollbackTo.run();
        release.run();
        this.#tx?.forgetPending();
      },
    };
  }

  /**
   * Runs `work` in a write transaction of its own, with the sync rules' operations, and makes it
   * durable (migrations; writes that are not deliveries).
   */
  async exclusive<T>(work: (tx: SqliteTransaction<Db>) => Promise<T>): Promise<T> {
    return this.#locked(async () => {
      await this.#beginImmediate();
      try {
        this.#tx ??= new SqliteTransaction(this.#sqlite, this.#db);
        const result = await work(this.#tx);
        this.#commit.run();
        return result;
      } catch (error) {
        this.#tx?.forgetPending();
        if (this.#sqlite.inTransaction) this.#rollback.run();
        throw error;
      }
    }, true);
  }

  /**
   * Applies the deliveries in one transaction, each in its own savepoint (a failing one is
   * recorded as `failed`, alone); resolves once durable.
   */
  run(deliveries: readonly BatchDelivery<Db>[]): Promise<Settled<DeliveryOutcome>[]> {
    return this.#locked(
      () => this.#transaction(deliveries),
      (results) => results.some((r) => r.ok),
    )
      .catch((error: unknown) => deliveries.map((): Settled<DeliveryOutcome> => ({ ok: false, error })))
      .then((results) => results.map((r) => (r.ok ? r : { ok: false, error: storeError(SQLITE, r.error) })));
  }

  /** Why commits can no longer be made durable (a failed WAL sync), or undefined. */
  get durabilityFailure(): unknown {
    return this.#flusher?.failure;
  }

  /**
   * Why the last batch of deliveries failed as a whole (its transaction could not begin or
   * commit: a read-only file, a full disk), or undefined when it committed. One delivery that
   * fails alone in its savepoint is not the database's failure and does not count.
   */
  get writeFailure(): unknown {
    return this.#writeFailure;
  }

  /** Forgets the last batch's failure: a write has succeeded since (see the store's readiness probe). */
  clearWriteFailure(): void {
    this.#writeFailure = undefined;
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

  async #transaction(deliveries: readonly BatchDelivery<Db>[]): Promise<Settled<DeliveryOutcome>[]> {
    try {
      this.#tx ??= new SqliteTransaction(this.#sqlite, this.#db);
      await this.#beginImmediate();
      const results = await applyInSavepoints(this.#tx, this.#savepoints, deliveries);
      this.#commit.run();
      this.#writeFailure = undefined;
      return results;
    } catch (error) {
      this.#writeFailure = error;
      this.#tx?.forgetPending();
      if (this.#sqlite.inTransaction) this.#rollback.run();
      return deliveries.map(() => ({ ok: false, error }));
    }
  }
}
