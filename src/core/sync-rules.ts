import { toStoreError } from "./errors.js";
import type { Mutation } from "./mappers.js";
import type { DeliveryOutcome, DeliveryStatus } from "./schema.js";
import type { BatchJob, DeliveryRecord, SyncTransaction } from "./store-contract.js";

/**
 * A delivery's whole effect as plain data (structured-clone safe): what to record and what to
 * write. A job that carries a plan runs no code of the caller, so a store may apply it on another
 * thread, or set-based with other plans, instead of calling the job's `run`, as long as the
 * effect is that of {@link applyDelivery}.
 */
export interface DeliveryPlan {
  readonly record: DeliveryRecord;
  readonly mutations: readonly Mutation[];
  /** Deletions clear the data (hard) or only set `deleted_at` (soft). */
  readonly hard: boolean;
}

/** Runs inside a delivery's transaction after its mutations, before its outcome is recorded. */
export type BeforeFinish<Db> = (tx: SyncTransaction<Db>, status: Exclude<DeliveryStatus, "failed">) => Promise<void>;

/**
 * The batch job of one delivery: {@link applyDelivery} in its savepoint, and on failure the
 * delivery recorded as `failed` with its code. Without `beforeFinish` (hooks) it carries its plan,
 * so a store may apply it elsewhere.
 */
export function deliveryJob<Db = unknown>(
  plan: DeliveryPlan,
  beforeFinish?: BeforeFinish<Db>,
): BatchJob<DeliveryOutcome, Db> {
  const first = plan.mutations[0];
  return {
    lockOrder: `${first ? `${first.table}\u0000${first.id}` : ""}\u0000${plan.record.svixId}`,
    plan: beforeFinish ? undefined : plan,
    run: (tx) => applyDelivery(tx, plan, beforeFinish && ((status) => beforeFinish(tx, status))),
    fail: (tx, error) => {
      const coded = toStoreError(error);
      return tx.recordFailure(plan.record, { code: coded.code, message: coded.message });
    },
  };
}

/** What the version guard decides for one mutation against the stored row's state. */
export type MutationOutcome = "applied" | "stale";

/**
 * Applies one delivery inside `tx`: claims its id, passes every mutation through the version
 * guard, runs `beforeFinish` (hooks) with the outcome, records the outcome. The single
 * definition of the sync rules; every store path runs it.
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
  const state = await tx.readState(m.table, m.id);
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
