/**
 * Retention of the delivery log: the rejections log bounded by age and rows, and the payloads of
 * `clerk_webhook_events` pruned by age and/or rows (the delivery row and its status stay, marked
 * `payload_pruned_at`). Pruning goes in small batches, each a short transaction of its own
 * through the store's writer, with a pause between batches, so deliveries never wait behind it.
 * The payloads of `failed` deliveries are kept whatever their age: they are what a replay needs.
 * (Attempts are bounded per delivery where they are written: `attemptsPerDelivery`.)
 */
import type { Kysely } from "kysely";
import type { Queryable } from "./queries.js";
import type { ClerkSyncDatabase } from "./schema/database.js";
import type { ClerkSyncStore } from "./store.js";

/** Bounds of the rejections log: rows older than `maxAgeMs` go, and all but the newest `maxRows`. */
export interface RejectionRetention {
  readonly maxAgeMs?: number | undefined;
  readonly maxRows?: number | undefined;
}

/** Bounds of the kept payloads: older than `maxAgeMs`, or beyond the newest `maxRows`, are pruned. */
export interface PayloadRetention {
  readonly maxAgeMs?: number | undefined;
  readonly maxRows?: number | undefined;
}

export interface RetentionSettings {
  readonly rejections?: RejectionRetention | undefined;
  readonly payloads?: PayloadRetention | undefined;
}

/** What one pass of pruning removed. */
export interface PruneResult {
  rejections: number;
  payloads: number;
  /** Batches (transactions) it took. */
  batches: number;
}

/** What pruning needs of a store: queries, and short write transactions through its writer. */
export type PrunableStore = Queryable & Pick<ClerkSyncStore, "transaction">;

/** Rows per pruning transaction. */
export const PRUNE_BATCH = 500;

type Db = Kysely<ClerkSyncDatabase>;

/**
 * One pass of retention: prunes in batches of {@link PRUNE_BATCH} until within bounds. `pause`
 * runs between batches (default: a turn of the event loop), so deliveries go first.
 *
 * @example
 * await pruneOnce(store, { payloads: { maxAgeMs: 30 * 86_400_000 } }, Date.now());
 */
export async function pruneOnce(
  store: PrunableStore,
  settings: RetentionSettings,
  now: number,
  pause: () => Promise<void> = () => new Promise((resolve) => setImmediate(resolve)),
): Promise<PruneResult> {
  const result: PruneResult = { rejections: 0, payloads: 0, batches: 0 };
  if (settings.rejections) {
    const removed = await pruneRejections(store, settings.rejections, now);
    result.rejections += removed;
    if (removed > 0) result.batches++;
  }
  const payloads = settings.payloads;
  if (payloads && (payloads.maxAgeMs !== undefined || payloads.maxRows !== undefined)) {
    const cutoff = await payloadCutoff(store.db, payloads, now);
    if (cutoff !== undefined) {
      for (;;) {
        const pruned = await store.transaction((tx) => prunePayloadBatch(tx.db, cutoff, now));
        result.payloads += pruned;
        result.batches++;
        if (pruned < PRUNE_BATCH) break;
        await pause();
      }
    }
  }
  return result;
}

/**
 * Deliveries first received before this time (ms) lose their payload: the earlier of the age
 * bound and the receipt time of the newest delivery beyond `maxRows`. undefined: none.
 */
async function payloadCutoff(db: Db, bounds: PayloadRetention, now: number): Promise<number | undefined> {
  let cutoff = bounds.maxAgeMs === undefined ? undefined : now - bounds.maxAgeMs;
  if (bounds.maxRows !== undefined) {
    // The (maxRows + 1)-th newest delivery: read along the index (first_received_at, svix_id).
    const row = await db
      .selectFrom("clerk_webhook_events")
      .select("first_received_at")
      .orderBy("first_received_at", "desc")
      .orderBy("svix_id", "desc")
      .limit(1)
      .offset(bounds.maxRows)
      .executeTakeFirst();
    // Deliveries received at that time or before go: `< time + 1`.
    const byRows = row === undefined ? undefined : Number(row.first_received_at) + 1;
    if (byRows !== undefined) cutoff = cutoff === undefined ? byRows : Math.max(cutoff, byRows);
  }
  return cutoff;
}

/** Prunes up to {@link PRUNE_BATCH} payloads of deliveries first received before `cutoff`; answers how many. */
async function prunePayloadBatch(db: Db, cutoff: number, now: number): Promise<number> {
  const ids = (
    await db
      .selectFrom("clerk_webhook_events")
      .select("svix_id")
      .where("first_received_at", "<", cutoff)
      .where("payload_pruned_at", "is", null)
      .where("status", "<>", "failed")
      .orderBy("first_received_at")
      .limit(PRUNE_BATCH)
      .execute()
  ).map((r) => r.svix_id);
  if (ids.length === 0) return 0;
  await db
    .updateTable("clerk_webhook_events")
    .set({ payload: "", payload_pruned_at: now })
    .where("svix_id", "in", ids)
    .where("payload_pruned_at", "is", null)
    // A delivery retried to `failed` since it was read keeps its payload.
    .where("status", "<>", "failed")
    .execute();
  return ids.length;
}

/**
 * Bounds the rejections log: removes rows older than `maxAgeMs` and all but the newest
 * `maxRows`, in batches. Answers how many went.
 *
 * @example
 * await pruneRejections(store, { maxRows: 10_000, maxAgeMs: 7 * 86_400_000 }, Date.now());
 */
export async function pruneRejections(store: PrunableStore, bounds: RejectionRetention, now: number): Promise<number> {
  const byAge = bounds.maxAgeMs === undefined ? undefined : now - bounds.maxAgeMs;
  // The newest row beyond `maxRows`, by (received_at, id): it and every older row go, exactly.
  const beyond =
    bounds.maxRows === undefined
      ? undefined
      : await store.db
          .selectFrom("clerk_webhook_rejections")
          .select(["received_at", "id"])
          .orderBy("received_at", "desc")
          .orderBy("id", "desc")
          .limit(1)
          .offset(bounds.maxRows)
          .executeTakeFirst();
  if (byAge === undefined && beyond === undefined) return 0;
  let removed = 0;
  for (;;) {
    const count = await store.transaction(async (tx) => {
      const ids = (
        await tx.db
          .selectFrom("clerk_webhook_rejections")
          .select("id")
          .where((eb) => {
            const old = [];
            if (byAge !== undefined) old.push(eb("received_at", "<", byAge));
            if (beyond !== undefined) {
              const at = Number(beyond.received_at);
              old.push(eb("received_at", "<", at));
              old.push(eb.and([eb("received_at", "=", at), eb("id", "<=", beyond.id)]));
            }
            return eb.or(old);
          })
          .limit(PRUNE_BATCH)
          .execute()
      ).map((r) => r.id);
      if (ids.length > 0) await tx.db.deleteFrom("clerk_webhook_rejections").where("id", "in", ids).execute();
      return ids.length;
    });
    removed += count;
    if (count < PRUNE_BATCH) return removed;
  }
}

/**
 * Runs {@link pruneOnce} every `intervalMs` (default one minute) on a timer that keeps no
 * process alive; `stop()` waits for a pass under way.
 *
 * @example
 * const retention = startRetention(() => store.open(), settings);
 * await retention.stop();
 */
export function startRetention(
  store: () => Promise<PrunableStore>,
  settings: RetentionSettings,
  options: { intervalMs?: number; now?: () => number; onError?: (error: unknown) => void } = {},
): { stop(): Promise<void>; runNow(): Promise<PruneResult> } {
  let running: Promise<PruneResult> | undefined;
  const now = options.now ?? Date.now;
  const pass = (): Promise<PruneResult> => {
    running ??= (async () => pruneOnce(await store(), settings, now()))().finally(() => {
      running = undefined;
    });
    return running;
  };
  const timer = setInterval(() => {
    pass().catch((error: unknown) => options.onError?.(error));
  }, options.intervalMs ?? 60_000);
  timer.unref?.();
  return {
    async stop() {
      clearInterval(timer);
      await running?.catch(() => undefined);
    },
    runNow: pass,
  };
}
