import type { ErrorCode } from "./errors.js";
import type { DeliveryOutcome } from "./schema.js";

/**
 * What one webhook request came to, as the handler answered it:
 * - a delivery the engine took: its outcome (`applied`, `stale`, `duplicate`, `ignored`), or
 *   `failed` with the code of the failure (`store_unavailable`, `unstorable_payload`,
 *   `hook_failed`, `internal_error`);
 * - a request refused before the engine (bad signature, body, method, size): `rejected` with its code.
 */
export interface DeliveryObservation {
  readonly outcome: DeliveryOutcome | "rejected";
  /** The event's type; null when the request was refused before its body was parsed. */
  readonly type: string | null;
  /** The error code of a `failed` or `rejected` request; null otherwise. */
  readonly code: ErrorCode | null;
  /** The HTTP status answered. */
  readonly status: number;
  /** Seconds the engine took to apply it (its batch's commit included); absent for `rejected`. */
  readonly applySeconds?: number;
}

/** One batch the group commit handed the store. */
export interface BatchObservation {
  /** `plans` (deliveries without hooks) or `jobs` (with hooks). */
  readonly kind: "plans" | "jobs";
  /** Deliveries in the batch. */
  readonly size: number;
  /** The code of each delivery of the batch that the store failed (a whole failed batch: one per delivery). */
  readonly failures: readonly ErrorCode[];
}

/**
 * Hooks the core calls as deliveries go through, for metrics and the like. Every member is
 * optional; each is called synchronously and must not throw (a throw is swallowed so that a
 * faulty observer never changes a reply). The core imports no metrics library: the service's
 * Prometheus metrics (src/server/metrics.ts) are one implementation.
 *
 * @example
 * const observer: SyncObserver = { delivery: (o) => counts[o.outcome]++ };
 * const sync = createClerkSync({ observer });
 */
export interface SyncObserver {
  delivery?(observation: DeliveryObservation): void;
  batch?(observation: BatchObservation): void;
  /** Refusals the rejections log dropped (its queue full, or its write failed). */
  rejectionsDropped?(observation: { readonly count: number }): void;
}

/**
 * Calls `observer[member]` with `observation`, swallowing what it throws.
 *
 * @example
 * observe(options.observer, "batch", { kind: "plans", size: 3, failures: [] });
 */
export function observe<K extends keyof SyncObserver>(
  observer: SyncObserver | undefined,
  member: K,
  observation: Parameters<NonNullable<SyncObserver[K]>>[0],
): void {
  const call = observer?.[member] as ((o: typeof observation) => void) | undefined;
  if (!call) return;
  try {
    call.call(observer, observation);
  } catch {
    // An observer's fault must not change a delivery's reply.
  }
}
