import type { ChildSet } from "./mappers.js";
import type { ChildTableName, DeliveryStatus, EntityTableName } from "./schema.js";
import type { DeliveryPlan } from "./sync-rules.js";

/** A value or a promise of it: SQLite answers synchronously, network databases do not. */
export type Awaitable<T> = T | Promise<T>;

/** What the version guard needs to know of a stored row. */
export interface EntityState {
  /** Data version (ms); 0 for a tombstone that never had data. */
  readonly version: number;
  /** Deletion time (ms) when the row is a tombstone, else null. */
  readonly deletedAt: number | null;
}

/** A delivery as the store records it in `clerk_webhook_events`. */
export interface DeliveryRecord {
  readonly svixId: string;
  readonly type: string;
  readonly objectType: string | null;
  readonly objectId: string | null;
  /** The envelope timestamp, normalised to ms. */
  readonly eventTimestamp: number | null;
  /** When this attempt was received (ms). */
  readonly receivedAt: number;
  /** The raw body exactly as received. */
  readonly payload: string;
}

/** What became of a delivery id that is already recorded. */
export type ClaimResult = "new" | "retry" | "duplicate";

/**
 * The operations the sync engine performs inside one database transaction. Each store
 * implements them for its dialect; the conformance suite holds every store to the same contract.
 */
export interface SyncTransaction<Db = unknown> {
  /** The store's database handle bound to this transaction, handed to hooks. */
  readonly db: Db;
  /**
   * Records the delivery id. `new`: first time; `retry`: recorded before as `failed`, process it
   * again; `duplicate`: already processed, do nothing (its delivery count is bumped). While
   * another transaction holds a claim on the same id, this waits for it to end.
   */
  claimDelivery(record: DeliveryRecord): Awaitable<ClaimResult>;
  /**
   * Reads the version and tombstone of a row, locking it against concurrent writers until the
   * transaction ends, and this even when the row does not exist yet: otherwise two transactions
   * could both read "absent" and the older write could land last. Stores with row locks
   * (PostgreSQL, MySQL) insert a placeholder row (version -1, answered as `undefined`) before the
   * locking read, so a concurrent writer of the same id waits on its key. The caller must write
   * the row (`upsertEntity` or `markDeleted`) whenever this answers `undefined` (the engine
   * always does), so a placeholder never commits; a rolled-back savepoint removes it too.
   */
  readState(table: EntityTableName, id: string): Awaitable<EntityState | undefined>;
  /** Inserts the row, or replaces its data columns and version. Never touches `deleted_at`. */
  upsertEntity(table: EntityTableName, id: string, version: number, values: Record<string, unknown>): Awaitable<void>;
  /**
   * Marks the row deleted at `deletedAt` (keeping the later of two deletions), inserting a bare
   * tombstone if the row is absent. `hard` also clears the data columns and sets version to the
   * deletion time.
   */
  markDeleted(table: EntityTableName, id: string, deletedAt: number, hard: boolean): Awaitable<void>;
  /** Puts `set.rows` in place of every current child row of `set.parentId`. */
  replaceChildren(set: ChildSet): Awaitable<void>;
  /** Removes every child row of a parent. */
  deleteChildren(table: ChildTableName, parentId: string): Awaitable<void>;
  /** Records the outcome of a claimed delivery. */
  finishDelivery(svixId: string, status: DeliveryStatus): Awaitable<void>;
  /**
   * Records a delivery whose processing failed (its effects already rolled back). On a row that
   * is not `failed` (another receiver processed the delivery meanwhile) it only counts the attempt.
   */
  recordFailure(record: DeliveryRecord, error: { code: string; message: string }): Awaitable<void>;
}

/** One unit of work in a batch: `run` goes inside its own savepoint of the batch transaction. */
export interface BatchJob<T, Db = unknown> {
  /**
   * The order in which this job takes its row locks relative to other jobs (the engine uses
   * the object's table and id, then the delivery id). A store whose transactions lock rows runs
   * a batch's jobs sorted by it, so that receivers sharing a database lock rows in one order
   * and rarely deadlock; results still come back in submission order.
   */
  readonly lockOrder?: string;
  /**
   * The job as data, when it runs none of the caller's code (no hooks). A store may then apply
   * it itself (on another thread, or set-based with the batch's other plans) instead of calling
   * `run` and `fail`, with the same effect: that of `applyDelivery`, failures recorded alike.
   */
  readonly plan?: DeliveryPlan;
  run(tx: SyncTransaction<Db>): Promise<T>;
  /** Called after `run` threw and its savepoint was rolled back, still inside the batch. */
  fail?(tx: SyncTransaction<Db>, error: unknown): Awaitable<void>;
}

/** Per-job result of a batch: jobs fail alone; the batch commits the others. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * What the sync engine needs of a store: run jobs in one durable transaction (the commit is
 * flushed to disk before the promise resolves), each job isolated by a savepoint so that one
 * failing job leaves no trace while the others commit.
 */
export interface SyncStore<Db = unknown> {
  runBatch<T>(jobs: readonly BatchJob<T, Db>[]): Promise<Settled<T>[]>;
  /**
   * How many batches may be under way at once (e.g. one committing while another waits for its
   * disk flush, or one per pooled connection). Default 1.
   */
  readonly maxConcurrentBatches?: number;
}
