/**
 * The sync rules, defined once: claim the delivery id, pass every mutation through the version
 * guard and the tombstone rules, run hooks, record the outcome; a delivery that fails fails
 * alone. Every store path runs these functions: the SQLite writer (in-thread and on its
 * thread), the network stores' job-by-job path, and the set-based batches (which run them
 * against rows read beforehand, recording the writes instead of making them).
 */
import { type ClerkSyncError, toStoreError } from "./errors.js";
import type { Mutation } from "./mappers.js";
import type { DeliveryOutcome, DeliveryStatus } from "./schema.js";
import type {
  Awaitable,
  DeliveryPlan,
  DeliveryRecord,
  EntityState,
  Settled,
  SyncTransaction,
} from "./store-contract.js";

/** What the version guard decides for one mutation against the stored row's state. */
export type MutationOutcome = "applied" | "stale";

/**
 * Applies one delivery inside `tx`: claims its id, passes every mutation through the version
 * guard, runs `beforeFinish` (hooks) with the outcome, records the outcome.
 */
export async function applyDelivery<Db>(
  tx: SyncTransaction<Db>,
  plan: DeliveryPlan,
  beforeFinish?: (status: Exclude<DeliveryStatus, "failed">) => Promise<void>,
): Promise<DeliveryOutcome> {
  const claim = await tx.claimDelivery(plan.record);
  if (claim === "duplicate") return "duplicate";
  let status: Exclude<DeliveryStatus, "failed"> = plan.mutations.length === 0 ? "ignored" : "stale";
  for (const mutation of plan.mutations) {
    if ((await applyMutation(tx, mutation, plan.hard)) === "applied") status = "applied";
  }
  if (beforeFinish) await beforeFinish(status);
  await tx.finishDelivery(plan.record.svixId, status);
  return status;
}

/** The version guard and tombstone rules for one mutation. */
export async function applyMutation<Db>(tx: SyncTransaction<Db>, m: Mutation, hard: boolean): Promise<MutationOutcome> {
  return writeMutation(tx, m, hard, await tx.readState(m.table, m.id));
}

/** What a snapshot (an object as Clerk's Backend API answers it, not a webhook) did to its row. */
export type SnapshotOutcome = "inserted" | "updated" | "unchanged" | "stale";

/**
 * Applies an object read from Clerk's Backend API (backfill, reconciliation, read-through of a
 * missing row): the same version guard and tombstone rules as a webhook's mutation, with the
 * object's `updated_at` as its version and no delivery id to claim. A row already at this
 * version is left alone (`unchanged`); a newer row, or a tombstone newer than the snapshot,
 * keeps what it has (`stale`), so a snapshot never undoes a webhook and a later, older webhook
 * never undoes a snapshot.
 */
export async function applySnapshot<Db>(tx: SyncTransaction<Db>, m: Mutation, hard: boolean): Promise<SnapshotOutcome> {
  const state = await tx.readState(m.table, m.id);
  if (state !== undefined && state.version === m.version && state.deletedAt === null) return "unchanged";
  if ((await writeMutation(tx, m, hard, state)) === "stale") return "stale";
  return state === undefined ? "inserted" : "updated";
}

/** {@link applyMutation} once the row's state is read. */
async function writeMutation<Db>(
  tx: SyncTransaction<Db>,
  m: Mutation,
  hard: boolean,
  state: EntityState | undefined,
): Promise<MutationOutcome> {
  if (m.op === "delete") {
    if (state?.deletedAt != null && state.deletedAt >= m.version) return "stale";
    await tx.markDeleted(m.table, m.id, m.version, hard);
    if (hard) for (const child of m.children) await tx.deleteChildren(child, m.id);
    return "applied";
  }
  if (state && m.version < state.version) return "stale";
  const tombstoned = state?.deletedAt != null;
  if (tombstoned && hard) return "stale";
  // Soft tombstones still take newer data (last writer by version wins), so that any order of
  // the same deliveries ends with the same row; the row stays deleted either way.
  await tx.upsertEntity(m.table, m.id, m.version, m.values);
  for (const set of m.children) await tx.replaceChildren(set);
  return tombstoned ? "stale" : "applied";
}

/** A delivery to apply in a batch: its plan, and for a delivery with hooks the code to run before it finishes. */
export interface BatchDelivery<Db> {
  readonly plan: DeliveryPlan;
  readonly beforeFinish?: ((db: Db, status: Exclude<DeliveryStatus, "failed">) => Promise<void>) | undefined;
}

/** A transaction's savepoints, as the store spells them. */
export interface Savepoints {
  open(): Awaitable<void>;
  release(): Awaitable<void>;
  /** Rolls back to the open savepoint and releases it. */
  rollback(): Awaitable<void>;
}

/**
 * Applies `deliveries` in the open transaction `tx`, in `order` (indexes into `deliveries`),
 * each in a savepoint of its own: a delivery that throws is rolled back alone and recorded as
 * `failed` with its error's code. Errors for which `poisons` answers true (a lost race, which
 * aborts the whole transaction) are thrown instead. Results come back in the order given.
 */
export async function applyInSavepoints<Db>(
  tx: SyncTransaction<Db>,
  savepoints: Savepoints,
  deliveries: readonly BatchDelivery<Db>[],
  order: readonly number[] = deliveries.map((_, i) => i),
  poisons: (error: unknown) => boolean = () => false,
): Promise<Settled<DeliveryOutcome>[]> {
  const results: Settled<DeliveryOutcome>[] = new Array(deliveries.length);
  for (const index of order) {
    const { plan, beforeFinish } = deliveries[index] as BatchDelivery<Db>;
    await savepoints.open();
    try {
      const value = await applyDelivery(tx, plan, beforeFinish && ((status) => beforeFinish(tx.db, status)));
      await savepoints.release();
      results[index] = { ok: true, value };
    } catch (error) {
      if (poisons(error)) throw error;
      await savepoints.rollback();
      const coded = toStoreError(error);
      // Recorded in a savepoint of its own: a record the database refuses too (a delivery id or
      // object id too long for its key) must not abort the others' transaction. Such a delivery
      // still gets its coded answer; only its row is missing from the log.
      await recordFailure(tx, savepoints, plan.record, coded, poisons);
      results[index] = { ok: false, error: coded };
    }
  }
  return results;
}

/**
 * Records a failed delivery, each attempt in a savepoint of its own, so that a record the
 * database refuses too cannot abort the transaction the batch's other deliveries share. When
 * the record is refused (an object id longer than the key column, an event time out of the
 * column's range), it is recorded once more without `object_type`, `object_id` and
 * `event_timestamp` (the raw payload, which holds them, stays whole); when even that is refused
 * (a delivery id or type the key column cannot hold) the delivery keeps its coded answer but
 * has no row in the log.
 */
async function recordFailure<Db>(
  tx: SyncTransaction<Db>,
  savepoints: Savepoints,
  record: DeliveryRecord,
  coded: ClerkSyncError,
  poisons: (error: unknown) => boolean,
): Promise<void> {
  const bare = { ...record, objectType: null, objectId: null, eventTimestamp: null };
  const attempts: [DeliveryRecord, string][] = [
    [record, coded.message],
    [bare, `(object_type, object_id and event_timestamp left empty: the database refused them too) ${coded.message}`],
  ];
  for (const [attempt, message] of attempts) {
    await savepoints.open();
    try {
      await tx.recordFailure(attempt, { code: coded.code, message });
      await savepoints.release();
      return;
    } catch (error) {
      if (poisons(error)) throw error;
      await savepoints.rollback();
    }
  }
}

/**
 * The order in which a delivery takes its row locks relative to others: its first object's
 * table and id, then its delivery id. Stores whose transactions lock rows apply a batch in this
 * order, so that receivers sharing a database lock rows in one order and rarely deadlock.
 */
export function lockKey(plan: DeliveryPlan): string {
  const first = plan.mutations[0];
  return `${first ? `${first.table}\u0000${first.id}` : ""}\u0000${plan.record.svixId}`;
}

/** The indexes of `plans` sorted by {@link lockKey} (stable). */
export function lockOrder(plans: readonly DeliveryPlan[]): number[] {
  const keys = plans.map(lockKey);
  return keys
    .map((_, i) => i)
    .sort((a, b) => {
      const x = keys[a] as string;
      const y = keys[b] as string;
      return x < y ? -1 : x > y ? 1 : a - b;
    });
}
