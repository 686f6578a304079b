/**
 * The contract between the sync engine and a store: what the engine hands over (plans and
 * jobs), what a store answers, and the transaction operations the sync rules run on. Every
 * store passes the same conformance suite against it (test/conformance/store-suite.ts).
 */
import type { ChildSet, Mutation } from "./mappers.js";
import type { AttemptSource, ChildTableName, DeliveryOutcome, DeliveryStatus, EntityTableName } from "./schema.js";

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
  /**
   * What made this attempt (default `webhook`). A `force` replay is processed again even when
   * its delivery id is recorded as processed (its hooks run once more).
   */
  readonly source?: AttemptSource;
  /** Attempts kept per delivery id in `clerk_webhook_attempts` (default {@link DEFAULT_ATTEMPTS_KEPT}). */
  readonly keepAttempts?: number;
}

/** Attempts kept per delivery id unless configured (`attemptsPerDelivery`). */
export const DEFAULT_ATTEMPTS_KEPT = 20;

/**
 * A delivery's whole effect as plain data (structured-clone safe): what to record and what to
 * write. A plan runs none of the caller's code, so a store may apply it wherever and however it
 * likes (on another thread, set-based with other plans) as long as the effect is that of
 * `applyDelivery` (core/sync-rules.ts).
 */
export interface DeliveryPlan {
  readonly record: DeliveryRecord;
  readonly mutations: readonly Mutation[];
  /** Deletions clear the data (hard) or only set `deleted_at` (soft). */
  readonly hard: boolean;
}

/** Runs inside a delivery's transaction after its mutations, before its outcome is recorded (hooks). */
export type BeforeFinish<Db> = (db: Db, status: Exclude<DeliveryStatus, "failed">) => Promise<void>;

/**
 * A delivery with hooks: its plan, and the caller's code to run in the same transaction. A store
 * runs it on a connection where `db` is, in a savepoint of its own: if it throws, the delivery's
 * effects roll back and it is recorded as `failed`, alone.
 */
export interface DeliveryJob<Db = unknown> {
  readonly plan: DeliveryPlan;
  readonly beforeFinish: BeforeFinish<Db>;
}

/** Per-delivery result of a batch: deliveries fail alone; the batch commits the others. */
export type Settled<T> = { ok: true; value: T } | { ok: false; error: unknown };

/**
 * What the sync engine needs of a store. Both methods apply their deliveries in one durable
 * transaction (the commit is on disk before the promise resolves), each delivery isolated so
 * that a failing one leaves no trace but its `failed` record while the others commit, and
 * answer each delivery's outcome in the order given.
 */
export interface SyncStore<Db = unknown> {
  /** Deliveries without hooks: pure data, the fast path. */
  applyPlans(plans: readonly DeliveryPlan[]): Promise<Settled<DeliveryOutcome>[]>;
  /** Deliveries with hooks, each run where its hooks get the transaction's `db`. */
  applyJobs(jobs: readonly DeliveryJob<Db>[]): Promise<Settled<DeliveryOutcome>[]>;
  /**
   * How many batches may be under way at once (e.g. one committing while another waits for its
   * disk flush, or one per pooled connection). Default 1.
   */
  readonly maxConcurrentBatches?: number;
}

/** What became of a delivery id that is already recorded. */
export type ClaimResult = "new" | "retry" | "duplicate";

/**
 * The operations the sync rules (core/sync-rules.ts) perform inside one database transaction.
 * A store implements them for its database; the conformance suite holds every store to them.
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
   * the row (`upsertEntity` or `markDeleted`) whenever this answers `undefined` (the sync rules
   * always do), so a placeholder never commits; a rolled-back savepoint removes it too.
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
