/**
 * Replay: stored payloads of `clerk_webhook_events` through the same engine and the same rules
 * as a webhook (`SyncEngine.process` with `source: "replay"`), so a replay never overwrites newer
 * data (the version guard) and a delivery already processed is a no-op (its id is a duplicate)
 * unless forced, when it is processed once more and its hooks run again. Each replay is recorded
 * as an attempt in the same transaction as its outcome.
 */
import type { DeliveryResult, ProcessOptions } from "../core/engine.js";
import { ClerkSyncError, isClerkSyncError } from "../core/errors.js";
import { parseEvent } from "../core/validate.js";
import { checkFilter, type DeliveryFilter, getDelivery, listDeliveries } from "../store/delivery-log.js";
import type { Queryable } from "../store/queries.js";

/** Which deliveries to replay: `ids`, or a filter (at least one of status, type, since/until). */
export interface ReplaySelection extends Pick<DeliveryFilter, "status" | "type" | "since" | "until"> {
  /** Delivery ids (`svix-id`), replayed in the order given. */
  readonly ids?: readonly string[] | undefined;
}

export interface ReplayOptions {
  /** Report what would be replayed; change nothing. */
  readonly dryRun?: boolean | undefined;
  /** Process deliveries already processed once more (their hooks run again). */
  readonly force?: boolean | undefined;
  /** Most deliveries a filter selects (default 10,000): more is an `invalid_filter` error. */
  readonly max?: number | undefined;
}

/** What became of one delivery. */
export interface ReplayItem {
  readonly svixId: string;
  readonly type: string | null;
  /** Its status before the replay (null for an unknown id). */
  readonly before: string | null;
  /**
   * The replay's outcome (`applied`, `stale`, `ignored`, `duplicate` for a no-op, `failed`), or
   * for a dry run `would-replay` / `no-op`; `error` for an id that could not be replayed.
   */
  readonly outcome: string;
  readonly error?: { readonly code: string; readonly message: string };
}

export interface ReplayResult {
  readonly dryRun: boolean;
  readonly items: ReplayItem[];
  /** Items by outcome. */
  readonly counts: Record<string, number>;
}

/** What replay needs: the store to read the log from, and an engine to process payloads with. */
export interface ReplayTarget {
  readonly store: Queryable;
  readonly engine: {
    process(
      delivery: { svixId: string; rawBody: string; parsed: ReturnType<typeof parseEvent> },
      options?: ProcessOptions,
    ): Promise<DeliveryResult>;
  };
}

const DEFAULT_MAX = 10_000;

/**
 * Replays stored deliveries through `target.engine` (its hooks run as for a webhook). Failed
 * deliveries are processed again; processed ones are a no-op (`duplicate`) unless `force`.
 * Deliveries selected by a filter go oldest first. An unknown id (`unknown_delivery`) or a
 * pruned payload (`payload_pruned`) is reported on its item; a filter that means nothing throws
 * `invalid_filter`.
 *
 * @example
 * const engine = new SyncEngine(store); // or the receiver's: sync.replay(…)
 * const { counts } = await replayDeliveries({ store, engine }, { status: "failed" });
 */
export async function replayDeliveries(
  target: ReplayTarget,
  selection: ReplaySelection,
  options: ReplayOptions = {},
): Promise<ReplayResult> {
  const ids = await selectIds(target.store, selection, options.max ?? DEFAULT_MAX);
  const items: ReplayItem[] = [];
  const source = options.force ? "force" : "replay";
  for (const svixId of ids) items.push(await replayOne(target, svixId, source, options.dryRun === true));
  const counts: Record<string, number> = {};
  for (const item of items) counts[item.outcome] = (counts[item.outcome] ?? 0) + 1;
  return { dryRun: options.dryRun === true, items, counts };
}

async function selectIds(store: Queryable, selection: ReplaySelection, max: number): Promise<string[]> {
  const { ids, ...filter } = selection;
  const filtered = Object.values(filter).some((v) => v !== undefined);
  if (ids !== undefined && ids.length > 0) {
    if (filtered) throw new ClerkSyncError("invalid_filter", "Replay either delivery ids or a filter, not both");
    return [...new Set(ids)];
  }
  if (!filtered) {
    throw new ClerkSyncError(
      "invalid_filter",
      "Name the deliveries to replay: ids, or a filter (status, type, since/until)",
    );
  }
  const where: DeliveryFilter = filter;
  checkFilter(where);
  const found: string[] = [];
  let after: string | undefined;
  do {
    const page = await listDeliveries(store, where, { limit: 500, after });
    for (const item of page.items) found.push(item.svixId);
    if (found.length > max) {
      throw new ClerkSyncError(
        "invalid_filter",
        `More than ${max} deliveries match: narrow the filter (since/until) or raise the maximum`,
      );
    }
    after = page.next;
  } while (after !== undefined);
  return found.reverse(); // oldest first
}

async function replayOne(
  target: ReplayTarget,
  svixId: string,
  source: "replay" | "force",
  dryRun: boolean,
): Promise<ReplayItem> {
  const stored = await getDelivery(target.store, svixId);
  if (!stored) {
    return failedItem(svixId, null, null, new ClerkSyncError("unknown_delivery", `No delivery ${svixId} is recorded`));
  }
  const base = { svixId, type: stored.type, before: stored.status };
  if (stored.payload === null) {
    const error = new ClerkSyncError("payload_pruned", `The payload of ${svixId} was removed by retention`);
    return failedItem(svixId, stored.type, stored.status, error);
  }
  if (dryRun) {
    const again = stored.status === "failed" || source === "force";
    return { ...base, outcome: again ? "would-replay" : "no-op" };
  }
  try {
    const parsed = parseEvent(stored.payload);
    const result = await target.engine.process({ svixId, rawBody: stored.payload, parsed }, { source });
    return { ...base, outcome: result.outcome };
  } catch (error) {
    return failedItem(svixId, stored.type, stored.status, error);
  }
}

function failedItem(svixId: string, type: string | null, before: string | null, error: unknown): ReplayItem {
  const code = isClerkSyncError(error) ? error.code : "internal_error";
  const message = error instanceof Error ? error.message : String(error);
  // A delivery that failed again is recorded as failed (its attempt says why): outcome `failed`.
  const outcome = code === "unknown_delivery" || code === "payload_pruned" ? "error" : "failed";
  return { svixId, type, before, outcome, error: { code, message } };
}
